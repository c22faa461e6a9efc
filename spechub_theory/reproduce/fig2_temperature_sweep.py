"""Temperature sweep: tokens per step of a 31-node binary tree at T = 0.1 .. 1.0.

RRS, RRS without replacement and SpecHub on the shipped data (i.i.d. node pool, exact values),
beside the authors' reported sweep for Llama-2-7B with JackFram/llama-68m on CNN/DailyMail (Sun et
al., EMNLP 2024; ``data/spechub_reported.csv``; their log notes that the T = 0.1 runs of RRS
without replacement and SpecHub were likely truncated).
"""

from __future__ import annotations

from .common import binary_tree_rows, plot_beside, positions, reported_binary_trees

NAME = "fig2_temperature_sweep"
TEMPERATURES = tuple(round(0.1 * i, 1) for i in range(1, 11))
NODES = 31


def compute(quick: bool) -> tuple[list[dict], list[dict]]:
    temperatures = (0.1, 0.5, 1.0) if quick else TEMPERATURES
    return binary_tree_rows(temperatures, (NODES,), positions(quick)), reported_binary_trees("temperature_sweep", TEMPERATURES)


def plot(ours: list[dict], theirs: list[dict]):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    plot_beside(ax, ours, theirs, "temperature", "tokens_per_step")
    ax.set_xlabel("temperature")
    ax.set_ylabel(f"tokens per step ({NODES}-node binary tree)")
    ax.grid(alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    return fig
