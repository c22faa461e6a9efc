"""Temperature sweep: tokens per step of a 31-node binary tree at T = 0.1 .. 1.0.

RRS, RRS without replacement and SpecHub on the shipped data (i.i.d. node pool, exact values),
beside the authors' reported sweep for Llama-2-7B with JackFram/llama-68m on CNN/DailyMail (Sun et
al., EMNLP 2024; ``reference/spechub_reported.csv``; their log notes that the T = 0.1 runs of RRS
without replacement and SpecHub were likely truncated).

    python figures/fig2_temperature_sweep.py [--out DIR] [--positions N]
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from _common import COLORS, LABELS, METHODS, tokens_per_step_rows
from _common import main as run


TEMPERATURES = tuple(round(0.1 * i, 1) for i in range(1, 11))
NODES = 31
NAME = "fig2_temperature_sweep"


def reproduced(positions: int | None = None) -> list[dict]:
    return tokens_per_step_rows(TEMPERATURES, (NODES,), positions)


def plot(ours: list[dict], theirs: list[dict]):
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for method in METHODS:
        for rows, style, who in ((ours, "-o", "SmolLM2 (here)"), (theirs, "--s", "Llama-2 (reported)")):
            pts = sorted((r["temperature"], r["tokens_per_step"]) for r in rows if r["method"] == method)
            if pts:
                ax.plot(*zip(*pts), style, color=COLORS[method], label=f"{LABELS[method]}, {who}", ms=4)
    ax.set_xlabel("temperature")
    ax.set_ylabel(f"tokens per step ({NODES}-node binary tree)")
    ax.grid(alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    return fig


def main(argv=None) -> int:
    return run(NAME, __doc__, reproduced, "temperature_sweep", TEMPERATURES, plot, argv)


if __name__ == "__main__":
    raise SystemExit(main())
