"""Writes fig6_where_spechub_loses.{png,pdf,csv,json} here; the figure is defined in spechub_theory.reproduce.fig6_where_spechub_loses.

    python figures/fig6_where_spechub_loses.py [--quick] [--out DIR]
"""

from pathlib import Path

from spechub_theory.reproduce import figure_main

if __name__ == "__main__":
    raise SystemExit(figure_main("fig6_where_spechub_loses", Path(__file__).resolve().parent))
