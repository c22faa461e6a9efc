"""Figure 7: every verifier on its own optimal tree (Sequoia's programme), 4 to 64 nodes.

For each node-wise verifier and the shipped SmolLM2 data at T = 0.6 and 1.0, the exact tokens per
step of the best tree of each budget under the i.i.d.-node model
(:func:`spechub_theory.tree.choose.optimal_tree_for`: the programme is exactly optimal for that
model), unbounded in depth and with at most 8 levels of drafts. Nodes may have up to four children
where the verifier allows it (RRS, K-SEQ, NSS, greedy), two for SpecHub (its pair) and for RRS
without replacement (three children would cost about 2e11 rejected draft prefixes per level on
this data). Beside them, the best *binary* trees (at most two children) at 3, 7, 15 and 31 nodes
against the full binary trees of Figure 1 and the values the SpecHub authors reported for their
binary trees (Sun et al., EMNLP 2024; Llama-2-7B with JackFram/llama-68m; ``data/spechub_reported.csv``).

The "half the tree" question is asked on each method's own optimal trees: does SpecHub at ``n``
nodes reach RRS (or RRS without replacement) at ``2n``?
"""

from __future__ import annotations

from ..logged import load_logged
from ..tree import NodePool, Tree, tokens_per_step
from ..tree.choose import kept_of, optimal_tree, optimal_values
from .common import COLORS, LABELS, positions, reported_binary_trees

NAME = "fig7_optimal_trees"
TEMPERATURES = (0.6, 1.0)
BUDGETS = tuple(range(4, 65))
DEPTHS = (None, 8)
BINARY_SIZES = (3, 7, 15, 31)
#: The numbers of children each verifier's nodes may have.
WIDTHS = {"rrs": (1, 2, 3, 4), "rrs_wo": (1, 2), "spechub": (1, 2), "kseq": (1, 2, 3, 4), "nss": (1, 2, 3, 4),
          "greedy": (1, 2, 3, 4)}
#: Budgets whose optimal shapes the JSON keeps.
SHAPES = (8, 16, 32, 64)


def compute(quick: bool) -> tuple[list[dict], list[dict]]:
    rows = []
    budgets = BUDGETS[::4] + (64,) if quick else BUDGETS
    budgets = tuple(sorted(set(budgets) | set(SHAPES)))
    for temperature in TEMPERATURES:
        data = load_logged(temperature=temperature)
        pool = NodePool(data.p, data.q, positions=positions(quick))
        for method, widths in WIDTHS.items():
            kept = kept_of(method, pool, widths)
            for depth in DEPTHS:
                values = optimal_values(kept, max(budgets), depth)
                for n in budgets:
                    row = {"temperature": temperature, "method": method, "shape": "optimal",
                           "widths": max(widths), "max_depth": "none" if depth is None else depth, "nodes": n,
                           "tokens_per_step": float(values[n])}
                    if n in SHAPES and depth is None:
                        row["children"] = [list(c) for c in optimal_tree(kept, n, depth).tree.children]
                    rows.append(row)
            if method in ("rrs", "rrs_wo", "spechub"):
                binary = kept_of(method, pool, (1, 2))
                for n in BINARY_SIZES:
                    rows.append({"temperature": temperature, "method": method, "shape": "optimal binary",
                                 "widths": 2, "max_depth": "none", "nodes": n,
                                 "tokens_per_step": optimal_tree(binary, n).tokens_per_step})
                    rows.append({"temperature": temperature, "method": method, "shape": "full binary",
                                 "widths": 2, "max_depth": "none", "nodes": n,
                                 "tokens_per_step": tokens_per_step(Tree.full(2, n), method, pool)})
    return rows, [dict(r, shape="reported binary") for r in reported_binary_trees("binary_trees_sequoia", TEMPERATURES)]


def value(rows, temperature: float, method: str, nodes: int, shape: str = "optimal", max_depth="none") -> float:
    """The tokens per step of one row of :func:`compute`."""
    return next(r["tokens_per_step"] for r in rows if r["temperature"] == temperature and r["method"] == method
                and r["nodes"] == nodes and r["shape"] == shape and r["max_depth"] == max_depth)


def half_tree(rows, better: str, worse: str, temperature: float, sizes=(8, 16, 32)) -> list[tuple[int, float, float]]:
    """``(n, better at n nodes, worse at 2n nodes)`` on each method's own optimal trees."""
    return [(n, value(rows, temperature, better, n), value(rows, temperature, worse, 2 * n)) for n in sizes]


def plot(ours: list[dict], theirs: list[dict]):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(TEMPERATURES), figsize=(10, 7.5), sharey="row")
    for col, temperature in enumerate(TEMPERATURES):
        ax = axes[0, col]
        for method in WIDTHS:
            for depth, style in (("none", "-"), (8, ":")):
                pts = sorted((r["nodes"], r["tokens_per_step"]) for r in ours if r["shape"] == "optimal"
                             and r["method"] == method and r["temperature"] == temperature and r["max_depth"] == depth)
                label = f"{LABELS[method]}" + (" (depth <= 8)" if depth == 8 else "")
                ax.plot(*zip(*pts), style, color=COLORS[method], label=label, lw=1.5 if depth == "none" else 1)
        ax.set_xscale("log", base=2)
        ax.set_xticks([4, 8, 16, 32, 64], ["4", "8", "16", "32", "64"])
        ax.set_title(f"each verifier's optimal tree, T = {temperature}", fontsize=9)
        ax.set_xlabel("nodes (root included)")
        ax.grid(alpha=0.3)
        ax = axes[1, col]
        for method in ("rrs", "rrs_wo", "spechub"):
            for shape, style in (("optimal binary", "-o"), ("full binary", "--s")):
                pts = sorted((r["nodes"], r["tokens_per_step"]) for r in ours if r["shape"] == shape
                             and r["method"] == method and r["temperature"] == temperature)
                ax.plot(*zip(*pts), style, color=COLORS[method], ms=4, label=f"{LABELS[method]}, {shape}")
            pts = sorted((r["nodes"], r["tokens_per_step"]) for r in theirs
                         if r["method"] == method and r["temperature"] == temperature)
            if pts:
                ax.plot(*zip(*pts), ":^", color=COLORS[method], ms=4, alpha=0.6,
                        label=f"{LABELS[method]}, Llama-2 binary (reported)")
        ax.set_xscale("log", base=2)
        ax.set_xticks(BINARY_SIZES, [str(s) for s in BINARY_SIZES])
        ax.set_title(f"binary trees: optimised against full, T = {temperature}", fontsize=9)
        ax.set_xlabel("nodes (root included)")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("tokens per step (SmolLM2, i.i.d. nodes)")
    axes[1, 0].set_ylabel("tokens per step")
    axes[0, 0].legend(fontsize=6, ncol=2, loc="upper left")  # the depth <= 8 lines lie under the unbounded ones
    axes[1, 0].legend(fontsize=6, ncol=1, loc="upper left")
    fig.tight_layout()
    return fig
