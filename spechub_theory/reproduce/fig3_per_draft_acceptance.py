"""First- and second-draft acceptance of a two-draft node against temperature.

For RRS, RRS without replacement and SpecHub with k = 2 on the shipped data: the mean probability
that the first draft is kept, that the second is (:func:`spechub_theory.acceptance_by_position`),
and their sum, the acceptance rate. Beside them, the authors' measured per-draft acceptance for
Llama-2-7B with JackFram/llama-68m on CNN/DailyMail (Sun et al., EMNLP 2024;
``data/spechub_reported.csv``). The single-draft acceptance ``sum min(p, q)`` is drawn for scale.

SpecHub's split is that of the authors' own verifier (:mod:`spechub_theory.verifiers.spechub`):
the pair ``(i, a)`` serves ``p(i)`` first, the pair ``(a, i)`` what is left of it, and the hub is
served by the ``(a, i)`` pairs before the ``(i, a)`` ones, so the same procedure is on both sides of
the comparison. Any lossless verifier of the hub law with SpecHub's acceptance has the same sum;
the split between the two drafts depends on that order (at ``p = q`` it is ``(1, 0)``).
"""

from __future__ import annotations

from ..logged import load_logged
from ..trees import NodePool
from .common import TREE_METHODS, plot_beside, positions, reported

NAME = "fig3_per_draft_acceptance"
TEMPERATURES = tuple(round(0.1 * i, 1) for i in range(1, 11))
METRICS = {"accept_draft1": "first draft kept", "accept_draft2": "second draft kept",
           "accept_two_drafts": "acceptance rate (k = 2)"}


def compute(quick: bool) -> tuple[list[dict], list[dict]]:
    rows = []
    for temperature in ((0.3, 0.6, 1.0) if quick else TEMPERATURES):
        data = load_logged(temperature=temperature)
        pool = NodePool(data.p, data.q, positions=positions(quick))
        single = float(pool.mean_kept("single", 1, 0)[0])
        rows.append({"temperature": temperature, "method": "single", "metric": "accept_draft1", "value": single})
        for method in TREE_METHODS:
            kept = pool.mean_kept(method, 2, 0)
            for metric, value in zip(METRICS, (kept[0], kept[1], kept.sum())):
                rows.append({"temperature": temperature, "method": method, "metric": metric, "value": float(value)})
    theirs = [{k: r[k] for k in ("temperature", "method", "metric", "value")}
              for r in reported("per_draft_acceptance") if r["tree"] == "one-node-2-children"]
    return rows, theirs


def plot(ours: list[dict], theirs: list[dict]):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(METRICS), figsize=(11, 3.8))
    for ax, (metric, title) in zip(axes, METRICS.items()):
        plot_beside(ax, ours, theirs, "temperature", "value", metric=metric)
        ax.set_title(title)
        ax.set_xlabel("temperature")
        ax.grid(alpha=0.3)
    single = sorted((r["temperature"], r["value"]) for r in ours if r["method"] == "single")
    axes[0].plot(*zip(*single), ":", color="black", lw=1.5, zorder=5,
                 label="sum min(p, q), SmolLM2 (here; equals RRS's first draft)")
    axes[0].set_ylabel("probability")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.15, 1, 1))
    return fig
