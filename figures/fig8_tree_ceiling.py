"""Writes fig8_tree_ceiling.{png,pdf,csv,json} here; the figure is defined in spechub_theory.reproduce.fig8_tree_ceiling.

    python figures/fig8_tree_ceiling.py [--quick] [--out DIR]
"""

from pathlib import Path

from spechub_theory.reproduce import figure_main

if __name__ == "__main__":
    raise SystemExit(figure_main("fig8_tree_ceiling", Path(__file__).resolve().parent))
