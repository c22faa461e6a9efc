"""Writes fig1_tokens_per_step.{png,pdf,csv,json} here; the figure is defined in spechub_theory.reproduce.fig1_tokens_per_step.

    python figures/fig1_tokens_per_step.py [--quick] [--out DIR]
"""

from pathlib import Path

from spechub_theory.reproduce import figure_main

if __name__ == "__main__":
    raise SystemExit(figure_main("fig1_tokens_per_step", Path(__file__).resolve().parent))
