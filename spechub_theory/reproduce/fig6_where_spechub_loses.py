"""Where SpecHub loses to RRS: the plane of (single-draft acceptance a1, hub mass q(a)).

Each point is one (p, q) pair at k = 2: Dirichlet pairs over V = 3 .. 50 tokens at several
concentrations, and the shipped SmolLM2 positions at T = 0.6 and 1.0. A point is marked where
RRS's exact acceptance exceeds SpecHub's. The curve is ``q(a) = (1 - a1) / (2 - a1)``: above it,
the hub condition under which the SpecHub paper (Sun et al., EMNLP 2024) has SpecHub accept at
least as often as RRS (proved in ``paper/main.tex``, Proposition 4: the condition says
``1 / (1 - q(a)) >= 2 - a1``, RRS's second threshold, so SpecHub's rejection sum is termwise the
smaller); below it, either can win.
"""

from __future__ import annotations

import numpy as np

from ..acceptance import acceptance_rate
from ..synthetic import dirichlet_pairs
from .common import positions, shipped_rows

NAME = "fig6_where_spechub_loses"
VOCABS = (3, 5, 10, 50)
CONCENTRATIONS = (0.1, 0.3, 1.0, 3.0)


def hub_stats(p, q) -> np.ndarray:
    """Per pair (k = 2): ``a1 = sum min(p, q)``, the hub mass ``q(a) = max q``, and SpecHub minus RRS acceptance."""
    diff = acceptance_rate(p, q, "spechub", 2) - acceptance_rate(p, q, "rrs", 2)
    return np.column_stack([np.minimum(p, q).sum(-1), q.max(-1), np.atleast_1d(diff)])


def hub_rows(source: str, stats: np.ndarray) -> list[dict]:
    """One row per pair of :func:`hub_stats`, with whether the hub condition holds."""
    return [{"data": source, "a1": a1, "hub_mass": hub, "spechub_minus_rrs": diff, "condition": bool(hub >= (1 - a1) / (2 - a1))}
            for a1, hub, diff in stats.tolist()]


def compute(quick: bool) -> tuple[list[dict], list[dict]]:
    rows = []
    n = 40 if quick else 250
    seeds = np.random.SeedSequence(6).spawn(len(VOCABS) * len(CONCENTRATIONS))
    for seed, (vocab, c) in zip(seeds, [(v, c) for v in VOCABS for c in CONCENTRATIONS]):
        rows += hub_rows("Dirichlet", hub_stats(*dirichlet_pairs(n, vocab, seed=seed, concentration=c)))
    for temperature in (0.6, 1.0):
        rows += hub_rows(f"SmolLM2, T = {temperature}", shipped_rows(temperature, hub_stats, positions(quick)))
    return rows, []


def plot(ours: list[dict], theirs: list[dict]):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), sharey=True)
    for ax, synthetic in zip(axes, (True, False)):
        rows = [r for r in ours if (r["data"] == "Dirichlet") == synthetic]
        for loses, color, label in ((False, "tab:green", "SpecHub >= RRS"), (True, "tab:red", "RRS > SpecHub")):
            pts = [(r["a1"], r["hub_mass"]) for r in rows if (r["spechub_minus_rrs"] < -1e-12) == loses]
            if pts:
                ax.scatter(*zip(*pts), s=4, color=color, alpha=0.5, label=f"{label} ({len(pts)})")
        a1 = np.linspace(0, 1, 200)
        ax.plot(a1, (1 - a1) / (2 - a1), "k-", lw=1, label="q(a) = (1 - a1) / (2 - a1)")
        ax.set_xlabel("single-draft acceptance a1 = sum min(p, q)")
        ax.set_title("Dirichlet pairs, V = 3 .. 50" if synthetic else "shipped SmolLM2 positions, T = 0.6 and 1.0", fontsize=9)
        ax.legend(fontsize=7, loc="upper right", markerscale=3)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("hub mass q(a) = max q")
    fig.tight_layout()
    return fig
