"""Figure 1 analogue: tokens per step against the size of a full binary token tree.

RRS, RRS without replacement and SpecHub on the shipped SmolLM2-135M-Instruct / early-exit-draft
data (node pairs drawn i.i.d. from its positions, exact values from
:func:`spechub_theory.tokens_per_step`), at temperatures 0.6 and 1.0, beside the values the SpecHub
authors reported for Llama-2-7B with JackFram/llama-68m on CNN/DailyMail (Sun et al., EMNLP 2024;
``reference/spechub_reported.csv``).

    python figures/fig1_tokens_per_step.py [--out DIR] [--positions N]

writes ``fig1_tokens_per_step.{png,pdf,csv,json}``; the JSON records the command and versions.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from _common import COLORS, LABELS, METHODS, tokens_per_step_rows
from _common import main as run


SIZES = (3, 7, 15, 31)
TEMPERATURES = (0.6, 1.0)
NAME = "fig1_tokens_per_step"


def reproduced(positions: int | None = None) -> list[dict]:
    return tokens_per_step_rows(TEMPERATURES, SIZES, positions)


def plot(ours: list[dict], theirs: list[dict]):
    fig, axes = plt.subplots(1, len(TEMPERATURES), figsize=(9, 4.2), sharey=True)
    for ax, temperature in zip(axes, TEMPERATURES):
        for method in METHODS:
            for rows, style, who in ((ours, "-o", "SmolLM2 (here)"), (theirs, "--s", "Llama-2 (reported)")):
                pts = sorted(
                    (r["nodes"], r["tokens_per_step"])
                    for r in rows
                    if r["method"] == method and r["temperature"] == temperature
                )
                if pts:
                    ax.plot(*zip(*pts), style, color=COLORS[method], label=f"{LABELS[method]}, {who}", ms=4)
        ax.set_xscale("log", base=2)
        ax.set_xticks(SIZES, [str(s) for s in SIZES])
        ax.set_xlabel("nodes in the binary tree")
        ax.set_title(f"T = {temperature}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("tokens per step")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    return fig


def main(argv=None) -> int:
    return run(NAME, __doc__, reproduced, "binary_trees_sequoia", TEMPERATURES, plot, argv)


if __name__ == "__main__":
    raise SystemExit(main())
