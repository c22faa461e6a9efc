"""Figure 9: wall-clock speedup of each verifier's fastest tree of each size, under two cost models.

For RRS, RRS without replacement and SpecHub on the shipped SmolLM2 data (i.i.d.-node model, T = 0.6
and 1.0), the largest speedup over plain decoding of a tree of exactly ``n`` nodes, ``n = 1..128``, at
most 12 levels of drafts, each verifier on its own optimal trees (nodes of up to four children for
RRS, two for the other two, as in Figure 7): :func:`spechub_theory.tree.choose.speedups`, exact for
the model ``S = T target(1) / (target(n) + depth draft)``. Two cost models, both stated as models:

* the profile that ships (:meth:`~spechub_theory.tree.choose.CostModel.shipped`): the real models on
  this machine's two-core CPU, where a target pass over ``n`` tokens grows with ``n`` and the
  early-exit draft costs 0.65 of a one-token target pass;
* a memory-bound GPU-like model (:meth:`~spechub_theory.tree.choose.CostModel.memory_bound`): the
  target pass is flat up to 64 tokens, then linear, and a draft pass costs 0.05 of it.

The first says that speculative decoding cannot pay on this CPU with this draft (every tree is slower
than plain decoding); the second shows the shape of the trade-off an engine on a GPU faces.
"""

from __future__ import annotations

import numpy as np

from ..logged import load_logged
from ..tree import NodePool
from ..tree.choose import CostModel, kept_of, speedups
from .common import COLORS, LABELS, positions

NAME = "fig9_speedup"
TEMPERATURES = (0.6, 1.0)
MAX_NODES = 128
MAX_DEPTH = 12
WIDTHS = {"rrs": (1, 2, 3, 4), "rrs_wo": (1, 2), "spechub": (1, 2)}
PROFILES = {
    "cpu": ("measured: SmolLM2 on this CPU (draft 0.65 of a target pass)", CostModel.shipped),
    "gpu-like": ("model: memory-bound GPU (flat to 64 tokens, draft 0.05)", CostModel.memory_bound),
}


def compute(quick: bool) -> tuple[list[dict], list[dict]]:
    rows = []
    max_nodes = 64 if quick else MAX_NODES
    costs = {name: make() for name, (_, make) in PROFILES.items()}
    for temperature in TEMPERATURES:
        data = load_logged(temperature=temperature)
        pool = NodePool(data.p, data.q, positions=positions(quick))
        for method, widths in WIDTHS.items():
            kept = kept_of(method, pool, widths)
            for profile, cost in costs.items():
                values = speedups(kept, cost, max_nodes, MAX_DEPTH)
                best = int(np.argmax(values))
                for n in range(1, max_nodes + 1):
                    rows.append({"temperature": temperature, "method": method, "profile": profile, "nodes": n,
                                 "speedup": float(values[n]), "fastest": n == best})
    return rows, []


def fastest(rows, temperature: float, method: str, profile: str) -> dict:
    """The row of the fastest tree size of one curve."""
    return next(r for r in rows if r["temperature"] == temperature and r["method"] == method
                and r["profile"] == profile and r["fastest"])


def plot(ours: list[dict], theirs: list[dict]):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(PROFILES), len(TEMPERATURES), figsize=(10, 7), sharex=True)
    for row, (profile, (title, _)) in enumerate(PROFILES.items()):
        for col, temperature in enumerate(TEMPERATURES):
            ax = axes[row, col]
            for method in WIDTHS:
                pts = sorted((r["nodes"], r["speedup"]) for r in ours if r["profile"] == profile
                             and r["method"] == method and r["temperature"] == temperature)
                ax.plot(*zip(*pts), color=COLORS[method], lw=1.5,
                        label=f"{LABELS[method]} (up to {max(WIDTHS[method])} children)")
                top = fastest(ours, temperature, method, profile)
                ax.plot([top["nodes"]], [top["speedup"]], "o", color=COLORS[method], ms=5)
            ax.axhline(1.0, color="k", lw=0.8, ls="--", label="plain decoding")
            ax.set_xscale("log", base=2)
            ax.set_xticks([1, 4, 16, 64, 128], ["1", "4", "16", "64", "128"])
            ax.set_title(f"{title}, T = {temperature}", fontsize=8)
            ax.grid(alpha=0.3)
            if row == len(PROFILES) - 1:
                ax.set_xlabel("tree nodes (root included)")
        axes[row, 0].set_ylabel("speedup over plain decoding")
    axes[0, 1].legend(fontsize=7, loc="upper right")
    fig.suptitle("Speedup of each verifier's fastest tree of each size (i.i.d.-node model; dots: the fastest size)",
                 fontsize=9)
    fig.tight_layout()
    return fig
