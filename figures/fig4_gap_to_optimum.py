"""Writes fig4_gap_to_optimum.{png,pdf,csv,json} here; the figure is defined in spechub_theory.reproduce.fig4_gap_to_optimum.

    python figures/fig4_gap_to_optimum.py [--quick] [--out DIR]
"""

from pathlib import Path

from spechub_theory.reproduce import figure_main

if __name__ == "__main__":
    raise SystemExit(figure_main("fig4_gap_to_optimum", Path(__file__).resolve().parent))
