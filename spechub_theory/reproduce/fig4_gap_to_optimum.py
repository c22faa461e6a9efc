"""Every verifier against the optimum of its own draft law (the OTM value), synthetic and real.

For each method the exact acceptance rate and the optimal acceptance rate of the draft law it
verifies (:func:`spechub_theory.optimal_acceptance_rate`: i.i.d. for RRS, K-SEQ and NSS, without
replacement for RRS-wo, the hub pair for SpecHub, top-(k-1)-plus-one for greedy), averaged over
the shipped positions at T = 0.6 and 1.0 (k = 2) and over LLM-like synthetic pairs at V = 1000
(k = 2 and 3). The gap ``optimum - acceptance`` is what a better verifier of the same drafts could
still gain; comparing optima across laws shows what a better draft law could gain.
"""

from __future__ import annotations

import numpy as np

from ..acceptance import acceptance_rate
from ..optimal import optimal_acceptance_rate
from ..synthetic import llm_like_logits, process
from ..verifiers import VERIFIERS
from .common import COLORS, LABELS, positions, shipped_rows

NAME = "fig4_gap_to_optimum"
METHODS = ("rrs", "kseq", "nss", "rrs_wo", "spechub", "greedy")
SYNTHETIC_VOCAB = 1000


def _rows(source: str, k: int, pairs) -> list[dict]:
    """Mean acceptance and own-law optimum per method, from ``pairs(fn)`` that maps ``fn(p, q)`` over the data."""
    methods = [m for m in METHODS if VERIFIERS[m].supports(k)]

    def per_position(p, q):
        cols = [acceptance_rate(p, q, m, k) for m in methods]
        cols += [optimal_acceptance_rate(p, q, VERIFIERS[m].law, k) for m in methods]
        return np.column_stack(cols)

    means = pairs(per_position).mean(0)
    rows = []
    for i, m in enumerate(methods):
        acc, opt = float(means[i]), float(means[len(methods) + i])
        rows.append({"data": source, "k": k, "method": m, "drafts": VERIFIERS[m].law,
                     "acceptance": acc, "optimum": opt, "gap": opt - acc})
    return rows


def compute(quick: bool) -> tuple[list[dict], list[dict]]:
    rows = []
    for temperature in (0.6, 1.0):
        rows += _rows(f"SmolLM2, T = {temperature}", 2,
                      lambda fn, t=temperature: shipped_rows(t, fn, positions(quick)))
    target, draft = llm_like_logits(50 if quick else 200, SYNTHETIC_VOCAB, seed=0)
    p, q = process(target), process(draft)
    for k in (2, 3):
        rows += _rows(f"LLM-like, V = {SYNTHETIC_VOCAB}", k, lambda fn: fn(p, q))
    return rows, []


def plot(ours: list[dict], theirs: list[dict]):
    import matplotlib.pyplot as plt

    panels = sorted({(r["data"], r["k"]) for r in ours}, key=lambda s: (s[0].startswith("LLM"), s))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 4), sharey=True)
    for ax, (source, k) in zip(axes, panels):
        rows = [r for r in ours if r["data"] == source and r["k"] == k]
        for x, r in enumerate(rows):
            ax.bar(x, r["acceptance"], color=COLORS[r["method"]], alpha=0.8)
            ax.plot([x - 0.4, x + 0.4], [r["optimum"]] * 2, color="black", lw=1.5)
        ax.set_xticks(range(len(rows)), [LABELS[r["method"]] for r in rows], rotation=60, ha="right", fontsize=7)
        ax.set_title(f"{source}, k = {k}", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    axes[0].set_ylabel("acceptance rate")
    fig.legend([Patch(color="gray", alpha=0.8), Line2D([], [], color="black", lw=1.5)],
               ["the verifier's acceptance", "optimum of its draft law (OTM)"], loc="upper center", ncol=2, fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig
