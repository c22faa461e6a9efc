"""Writes fig2_temperature_sweep.{png,pdf,csv,json} here; the figure is defined in spechub_theory.reproduce.fig2_temperature_sweep.

    python figures/fig2_temperature_sweep.py [--quick] [--out DIR]
"""

from pathlib import Path

from spechub_theory.reproduce import figure_main

if __name__ == "__main__":
    raise SystemExit(figure_main("fig2_temperature_sweep", Path(__file__).resolve().parent))
