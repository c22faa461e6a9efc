"""Writes fig3_per_draft_acceptance.{png,pdf,csv,json} here; the figure is defined in spechub_theory.reproduce.fig3_per_draft_acceptance.

    python figures/fig3_per_draft_acceptance.py [--quick] [--out DIR]
"""

from pathlib import Path

from spechub_theory.reproduce import figure_main

if __name__ == "__main__":
    raise SystemExit(figure_main("fig3_per_draft_acceptance", Path(__file__).resolve().parent))
