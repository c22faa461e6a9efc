"""Vocabulary size and draft count: acceptance and the optima on synthetic families.

Left column: the acceptance rate of every verifier at k = 2 (single draft at k = 1 for scale) and
the i.i.d. and without-replacement optima, against V = 10 .. 152,064. Right column: against
k = 1 .. 8 at V = 1000 (RRS without replacement up to k = 3, where its exact kernel costs
O(V^(k-1) log V) per position; SpecHub is defined for k = 2 only). Two families: LLM-like
correlated logits and Zipf profiles whose rankings agree in part
(:mod:`spechub_theory.synthetic`), at temperature 1, exact values averaged over positions. At
k = 2 the greedy law (top token plus one sample) and SpecHub's hub pair keep the same expected
mass, ``p(a) + sum_{i != a} min(p_i, q_i / (1 - q(a)))``, so their points coincide; SpecHub is
drawn as open squares.
"""

from __future__ import annotations

import numpy as np

from ..acceptance import acceptance_rate
from ..optimal import optimal_acceptance_rate
from ..synthetic import llm_like_logits, process, zipf_pairs
from ..verifiers import VERIFIERS
from .common import COLORS, LABELS

NAME = "fig5_vocab_and_drafts"
VOCABS = (10, 100, 1000, 10_000, 32_000, 152_064)
DRAFTS = tuple(range(1, 9))
K_VOCAB = 1000
METHODS = ("rrs", "rrs_wo", "spechub", "kseq", "nss", "greedy")
OPTIMA = {"opt_iid": "iid", "opt_wo": "wo"}
MAX_K = {"rrs_wo": 3}


def family(name: str, n: int, vocab: int):
    """``(p, q)`` of ``n`` positions of the named synthetic family (seed 0)."""
    if name == "LLM-like":
        target, draft = llm_like_logits(n, vocab, seed=0)
        return process(target), process(draft)
    return zipf_pairs(n, vocab, seed=0, exponent=1.1, agreement=0.6)


def _point(fam: str, vocab: int, k: int, p, q) -> list[dict]:
    rows = []
    methods = ["single"] if k == 1 else [m for m in METHODS if VERIFIERS[m].supports(k) and k <= MAX_K.get(m, k)]
    values = {m: acceptance_rate(p, q, m, k) for m in methods}
    values |= {name: optimal_acceptance_rate(p, q, law, k) for name, law in OPTIMA.items()}
    for method, value in values.items():
        rows.append({"family": fam, "vocab": vocab, "k": k, "method": method, "acceptance": float(np.mean(value))})
    return rows


def compute(quick: bool) -> tuple[list[dict], list[dict]]:
    n = 16 if quick else 64
    rows = []
    for fam in ("LLM-like", "Zipf"):
        for vocab in VOCABS[:4] if quick else VOCABS:
            p, q = family(fam, n, vocab)
            rows += _point(fam, vocab, 1, p, q) + _point(fam, vocab, 2, p, q)
        p, q = family(fam, n, K_VOCAB)
        rows += [r for k in DRAFTS if k > 2 for r in _point(fam, K_VOCAB, k, p, q)]
    return rows, []


def plot(ours: list[dict], theirs: list[dict]):
    import matplotlib.pyplot as plt

    colors = COLORS | {"opt_iid": "black", "opt_wo": "dimgray"}
    labels = LABELS | {"opt_iid": "optimum, i.i.d.", "opt_wo": "optimum, w/o replacement"}
    families = sorted({r["family"] for r in ours})
    fig, axes = plt.subplots(len(families), 2, figsize=(10, 3.6 * len(families)), squeeze=False)
    for row, fam in zip(axes, families):
        for ax, x, where in ((row[0], "vocab", {"k": 2}), (row[1], "k", {"vocab": K_VOCAB})):
            rows = [r for r in ours if r["family"] == fam and all(r[key] == v for key, v in where.items())]
            if x == "vocab":
                rows += [r | {"method": "single"} for r in ours if r["family"] == fam and r["k"] == 1 and r["method"] == "single"]
            for method in dict.fromkeys(r["method"] for r in rows):
                pts = sorted((r[x], r["acceptance"]) for r in rows if r["method"] == method)
                style = "--" if method in OPTIMA else ("s" if method == "spechub" else "-o")
                ax.plot(*zip(*pts), style, color=colors[method], label=labels[method], ms=7 if method == "spechub" else 3,
                        mfc="none" if method == "spechub" else None, zorder=3 if method == "spechub" else 2)
            ax.set_xlabel("vocabulary size V (k = 2)" if x == "vocab" else f"drafts k (V = {K_VOCAB})")
            ax.set_xscale("log" if x == "vocab" else "linear")
            ax.set_title(fam, fontsize=9)
            ax.grid(alpha=0.3)
        row[0].set_ylabel("acceptance rate")
    handles, labs = axes[0][1].get_legend_handles_labels()
    fig.legend(handles, labs, loc="lower center", ncol=4, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig
