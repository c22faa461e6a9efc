"""Writes fig5_vocab_and_drafts.{png,pdf,csv,json} here; the figure is defined in spechub_theory.reproduce.fig5_vocab_and_drafts.

    python figures/fig5_vocab_and_drafts.py [--quick] [--out DIR]
"""

from pathlib import Path

from spechub_theory.reproduce import figure_main

if __name__ == "__main__":
    raise SystemExit(figure_main("fig5_vocab_and_drafts", Path(__file__).resolve().parent))
