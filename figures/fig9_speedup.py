"""Writes fig9_speedup.{png,pdf,csv,json} here; the figure is defined in spechub_theory.reproduce.fig9_speedup.

    python figures/fig9_speedup.py [--quick] [--out DIR]
"""

from pathlib import Path

from spechub_theory.reproduce import figure_main

if __name__ == "__main__":
    raise SystemExit(figure_main("fig9_speedup", Path(__file__).resolve().parent))
