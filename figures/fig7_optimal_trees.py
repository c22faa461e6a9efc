"""Writes fig7_optimal_trees.{png,pdf,csv,json} here; the figure is defined in spechub_theory.reproduce.fig7_optimal_trees.

    python figures/fig7_optimal_trees.py [--quick] [--out DIR]
"""

from pathlib import Path

from spechub_theory.reproduce import figure_main

if __name__ == "__main__":
    raise SystemExit(figure_main("fig7_optimal_trees", Path(__file__).resolve().parent))
