"""Figure 10: node-wise against sequence-level tree verifiers, and deterministic top-k trees.

On the shipped SmolLM2 data (i.i.d.-node model, T = 0.6 and 1.0), tokens per step of full binary
trees of depth 1 to 5 (3 to 63 nodes) for RRS, RRS without replacement and SpecHub (exact), for
deterministic top-2 trees verified against the target alone (exact: the sum over nodes of the
target probability of the node's path), and for Traversal Verification on trees drafted without
replacement (Weng et al., NeurIPS 2025, arXiv 2505.12398); and of chains of 1 to 5 drafts for
single-draft verification (exact) and Block Verification (Sun et al., ICLR 2025, arXiv 2403.10444).

The exact expectation of a sequence-level verifier over the pool's drafts is out of reach at
V = 49,152, so its value is estimated with a control variate: on ``n`` drafted trees, each drawn
once, the exact per-tree difference between the sequence-level verifier and its token-level
counterpart on the *same* drafts (Traversal minus RRS without replacement; Block minus single-draft),
added to the counterpart's exact expectation. The estimate is unbiased, and its standard error
(shown as bars of two standard errors) is that of the mean paired difference, far smaller than that
of the verifier's own per-tree values.

On real trees (``data/real_tree_verifiers.csv``, :mod:`spechub_theory.reproduce.real_tree_verifiers`:
trees and chains grown by the real models, each verifier exact given each tree's drafts), the mean
over trees with its standard error, and for Traversal and Block the mean
with its standard error (``gap``, ``gap_se``: Traversal and Block minus their token-level counterpart,
paired per tree on the same drafts); and EAGLE-2's dynamic trees reranked to each budget.

Beside it, the Traversal paper's reported average acceptance lengths (Llama-68M drafting for
Llama-2-7B, Spec-Bench, T = 1, its Table 3; ``data/tree_verifiers_reported.csv``): chain of depth 5,
1.99 (token-level RRS without replacement) against 2.10 (Traversal), binary tree of depth 5, 2.44
against 2.56.
"""

from __future__ import annotations

import csv
from importlib.resources import files

import numpy as np

from .. import validate
from ..logged import load_logged
from ..tree import NodePool, Tree, tokens_per_step
from . import real_tree_verifiers
from .common import COLORS, LABELS, positions

NAME = "fig10_tree_verifiers"
TEMPERATURES = (0.6, 1.0)
DEPTHS = (1, 2, 3, 4, 5)
CHAIN = (1, 2, 3, 4, 5)
#: Drafted trees per size for the paired estimates (full run, quick run).
SAMPLES = (400, 40)
#: The Traversal paper's reported numbers (facts carried over with their citation).
REPORTED = files("spechub_theory") / "data" / "tree_verifiers_reported.csv"
EXTRA_LABELS = {"traversal_wo": "Traversal (w/o replacement)", "block": "Block Verification",
                "topk": "deterministic top-2", "single": "single draft", "eagle": "EAGLE-2 dynamic tree"}
EXTRA_COLORS = {"traversal_wo": "tab:purple", "block": "tab:red", "topk": "tab:gray", "single": "tab:blue",
                "eagle": "tab:olive"}
IID, REAL = "i.i.d. nodes", "real trees"


def paired(tree: Tree, method: str, baseline: str, pool, n: int, seed) -> tuple[float, float]:
    """Mean and standard error of ``method - baseline``, exact per tree on ``n`` trees drafted once each
    (``method``'s draft law, which both share)."""
    rng = validate.rng(seed)
    gaps = np.empty(n)
    for i in range(n):
        drafted = pool.draw(tree, method, rng)
        gaps[i] = tokens_per_step(tree, method, drafted) - tokens_per_step(tree, baseline, drafted)
    return float(gaps.mean()), float(gaps.std(ddof=1) / np.sqrt(n))


def compute(quick: bool) -> tuple[list[dict], list[dict]]:
    rows = []
    n = SAMPLES[1] if quick else SAMPLES[0]
    for temperature in TEMPERATURES:
        data = load_logged(temperature=temperature)
        pool = NodePool(data.p, data.q, positions=positions(quick))
        for depth in DEPTHS:
            tree = Tree.full(2, 2 ** (depth + 1) - 1)
            base = {"temperature": temperature, "shape": "full binary", "depth": depth, "nodes": tree.n_nodes}
            for method in ("rrs", "rrs_wo", "spechub", "topk"):
                rows.append(dict(base, method=method, tokens_per_step=tokens_per_step(tree, method, pool),
                                 standard_error=0.0, estimate="exact"))
            exact = rows[-3]["tokens_per_step"]
            gap, se = paired(tree, "traversal_wo", "rrs_wo", pool, n, seed=[7, depth, int(100 * temperature)])
            rows.append(dict(base, method="traversal_wo", tokens_per_step=exact + gap, standard_error=se,
                             estimate=f"rrs_wo exact + paired gap over {n} trees", gap=gap))
        for drafts in CHAIN:
            tree = Tree.chain(drafts)
            base = {"temperature": temperature, "shape": "chain", "depth": drafts, "nodes": tree.n_nodes}
            exact = tokens_per_step(tree, "single", pool)
            rows.append(dict(base, method="single", tokens_per_step=exact, standard_error=0.0, estimate="exact"))
            gap, se = paired(tree, "block", "single", pool, n, seed=[11, drafts, int(100 * temperature)])
            rows.append(dict(base, method="block", tokens_per_step=exact + gap, standard_error=se,
                             estimate=f"single exact + paired gap over {n} trees", gap=gap))
    rows = [dict(r, model=IID) for r in rows] + real_rows()
    return rows, reported()


def real_rows(path=real_tree_verifiers.SUMMARY) -> list[dict]:
    """The real-tree summary as the figure's rows: means over trees with their standard errors, and
    Traversal and Block as the counterpart's mean plus the paired gap (its standard error)."""
    summary = real_tree_verifiers.load(path)
    out = []
    for m in real_tree_verifiers.means(summary):
        depth = m["nodes"] - 1 if m["shape"] == "chain" else int(np.log2(m["nodes"] + 1)) - 1
        method = "eagle" if m["shape"] == "EAGLE-2 budget" else m["method"]
        row = {"temperature": m["temperature"], "shape": m["shape"], "depth": depth, "nodes": m["nodes"],
               "method": method, "model": REAL, "trees": m["trees"]}
        if method in ("traversal_wo", "block"):
            base = "rrs_wo" if method == "traversal_wo" else "single"
            gap, se, n = real_tree_verifiers.paired_gap(summary, m["shape"], method, base, m["temperature"], m["nodes"])
            mean = next(b for b in real_tree_verifiers.means(summary) if b["temperature"] == m["temperature"]
                        and b["shape"] == m["shape"] and b["method"] == base and b["nodes"] == m["nodes"])
            row.update(tokens_per_step=m["tokens_per_step"], standard_error=m["standard_error"], gap=gap, gap_se=se,
                       estimate=f"mean over {m['trees']} trees; gap to {base} paired over {n} roots",
                       counterpart_mean=mean["tokens_per_step"])
        else:
            row.update(tokens_per_step=m["tokens_per_step"], standard_error=m["standard_error"],
                       estimate=f"mean over {m['trees']} trees")
        out.append(row)
    return out


def reported() -> list[dict]:
    """The Traversal paper's rows for the Llama-68M / Llama-2-7B pairing, as plotted."""
    names = {"token-level RRS w/o replacement": "rrs_wo", "traversal": "traversal_wo"}
    out = []
    with REPORTED.open(newline="") as f:
        for r in csv.DictReader(f):
            if r["draft"] != "JackFram/llama-68m" or r["tree"] not in ("chain depth 5", "binary tree depth 5"):
                continue
            chain = r["tree"].startswith("chain")
            method = names[r["method"]]
            out.append({"temperature": float(r["temperature"]), "shape": "chain" if chain else "full binary",
                        "depth": 5, "nodes": 6 if chain else 63,
                        "method": ("block" if method == "traversal_wo" else "single") if chain else method,
                        "tokens_per_step": float(r["value"]), "metric": r["metric"], "paper": r["paper"]})
    return out


def value(rows, temperature: float, shape: str, depth: int, method: str, model: str = IID) -> dict:
    return next(r for r in rows if r["temperature"] == temperature and r["shape"] == shape and r["depth"] == depth
                and r["method"] == method and r["model"] == model)


def plot(ours: list[dict], theirs: list[dict]):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(TEMPERATURES), figsize=(10, 7.5))
    colors = dict(COLORS, **EXTRA_COLORS)
    labels = dict(LABELS, **EXTRA_LABELS)
    for col, temperature in enumerate(TEMPERATURES):
        for row, (shape, methods) in enumerate((("full binary", ("rrs", "rrs_wo", "spechub", "traversal_wo", "topk")),
                                                ("chain", ("single", "block")))):
            ax = axes[row, col]
            for method in methods:
                pts = sorted((r["nodes"], r["tokens_per_step"], r["standard_error"]) for r in ours if r["model"] == IID
                             and r["temperature"] == temperature and r["shape"] == shape and r["method"] == method)
                x, y, se = map(np.array, zip(*pts))
                style = "--" if method in ("traversal_wo", "block") else "-"
                ax.errorbar(x, y, yerr=2 * se, fmt=style + "o", ms=3, capsize=2, color=colors[method],
                            label=labels[method] + (" (estimate, 2 SE)" if se.any() else ""))
            for method in methods + (("eagle",) if shape == "full binary" else ()):
                real = sorted((r["nodes"], r["tokens_per_step"], r["standard_error"]) for r in ours if r["model"] == REAL
                              and r["temperature"] == temperature and r["method"] == method
                              and (r["shape"] == shape or (method == "eagle" and r["shape"] == "EAGLE-2 budget")))
                if real:
                    x, y, se = map(np.array, zip(*real))
                    ax.errorbar(x, y, yerr=2 * se, fmt=":s", ms=3, capsize=2, color=colors[method], alpha=0.7,
                                label=f"{labels[method]}, real trees (2 SE)")
            for r in theirs:
                if r["temperature"] == temperature and r["shape"] == shape:
                    ax.plot([r["nodes"]], [r["tokens_per_step"]], "^", ms=7, mfc="none", color=colors[r["method"]],
                            label=f"{labels[r['method']]}, Llama-2-7B (reported)")
            if shape == "full binary":
                ax.set_xscale("log", base=2)
                ax.set_xticks([3, 7, 15, 31, 63], ["3", "7", "15", "31", "63"])
            else:
                ax.set_xticks([d + 1 for d in CHAIN])
            ax.set_xlabel("nodes (root included)")
            ax.set_title(f"{shape} trees, T = {temperature}", fontsize=9)
            ax.grid(alpha=0.3)
            if col == 0:
                ax.set_ylabel("tokens per step (SmolLM2)")
                ax.legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    return fig
