"""Figure 1 analogue: tokens per step against the size of a full binary token tree.

RRS, RRS without replacement and SpecHub on the shipped SmolLM2-135M-Instruct / early-exit-draft
data (node pairs drawn i.i.d. from its positions, exact values from
:func:`spechub_theory.tokens_per_step`) at temperatures 0.6 and 1.0, beside the values the SpecHub
authors reported for Llama-2-7B with JackFram/llama-68m on CNN/DailyMail (Sun et al., EMNLP 2024,
Figure 1; their run logs, ``data/spechub_reported.csv``). Real draft trees grown by the same
models (:mod:`spechub_theory.reproduce.real_trees`) add their mean tokens per step with one
standard error.
"""

from __future__ import annotations

from . import real_trees
from .common import COLORS, LABELS, TREE_METHODS, binary_tree_rows, plot_beside, positions, reported_binary_trees

NAME = "fig1_tokens_per_step"
SIZES = (3, 7, 15, 31)
TEMPERATURES = (0.6, 1.0)
#: The ``model`` of a reproduced row: node pairs drawn i.i.d. from the shipped data, or real logged trees.
IID, REAL = "i.i.d. nodes", "real trees"


def compute(quick: bool) -> tuple[list[dict], list[dict]]:
    modelled = [dict(r, model=IID) for r in binary_tree_rows(TEMPERATURES, SIZES, positions(quick))]
    real = [dict(r, model=REAL) for r in real_trees.means(real_trees.load()) if r["temperature"] in TEMPERATURES]
    return modelled + real, reported_binary_trees("binary_trees_sequoia", TEMPERATURES)


def rows_of(rows: list[dict], model: str) -> list[dict]:
    """The reproduced rows of one ``model`` (:data:`IID` or :data:`REAL`)."""
    return [r for r in rows if r.get("model") == model]


def plot(ours: list[dict], theirs: list[dict]):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TEMPERATURES), figsize=(9, 4.2), sharey=True)
    for ax, temperature in zip(axes, TEMPERATURES):
        plot_beside(ax, rows_of(ours, IID), theirs, "nodes", "tokens_per_step", ours_label="SmolLM2 i.i.d. nodes (here)",
                    temperature=temperature)
        for method in TREE_METHODS:
            pts = sorted((r["nodes"], r["tokens_per_step"], r["standard_error"]) for r in rows_of(ours, REAL)
                         if r["method"] == method and r["temperature"] == temperature)
            x, y, se = zip(*pts)
            ax.errorbar(x, y, yerr=se, fmt=":^", color=COLORS[method], ms=4, capsize=2,
                        label=f"{LABELS[method]}, SmolLM2 real trees (mean ± SE)")
        ax.set_xscale("log", base=2)
        ax.set_xticks(SIZES, [str(s) for s in SIZES])
        ax.set_xlabel("nodes in the binary tree")
        ax.set_title(f"T = {temperature}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("tokens per step")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    return fig
