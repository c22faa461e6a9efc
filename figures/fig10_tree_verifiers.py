"""Writes fig10_tree_verifiers.{png,pdf,csv,json} here; the figure is defined in spechub_theory.reproduce.fig10_tree_verifiers.

    python figures/fig10_tree_verifiers.py [--quick] [--out DIR]
"""

from pathlib import Path

from spechub_theory.reproduce import figure_main

if __name__ == "__main__":
    raise SystemExit(figure_main("fig10_tree_verifiers", Path(__file__).resolve().parent))
