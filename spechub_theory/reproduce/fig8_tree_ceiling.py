r"""Figure 8: the ceiling of tree verification, and the share of it each verifier reaches.

For a tree shape drafted with a sibling law (``iid``, ``wo``, ``hub``), the ceiling is the best
tokens per step of any lossless verifier (:func:`spechub_theory.tree.tree_optimum`, a linear
programme). Each verifier that drafts the same law is placed on the gap from single-draft decoding
along a chain of the same depth (``T_single``) to the ceiling (``T*``):

.. math:: \text{gap closed} = \frac{T_{\text{verifier}} - T_{\text{single}}}{T^* - T_{\text{single}}},

1 for a verifier at the ceiling, 0 for one no better than a single draft. The verifiers: RRS and
Traversal Verification (``iid``), RRS without replacement and Traversal without replacement
(``wo``), SpecHub (``hub``), and Block Verification on chains (``iid``; RRS on a chain is the single
draft, so it is left out there). Instances are context-independent models, one ``(p, q)`` row per
depth (a :class:`~spechub_theory.NodePool` of one row per depth), on which every value is exact:

* synthetic: LLM-like pairs (:func:`spechub_theory.synthetic.llm_like_logits`, temperature 1) over
  ``V`` tokens, one seeded draw per depth and instance;
* shipped: the SmolLM2 log at T = 0.6 and 1.0, consecutive positions as the depths, each
  restricted to its top ``V`` tokens by ``p + q`` and renormalised (the rows report the mass kept);
  a block of positions where a restricted ``q`` has fewer than two tokens is skipped and counted.

Beside them (rows of ``kind`` ``example`` and ``smallest``): the worked example where Traversal
falls short of the ceiling on a 4-node tree at V = 2 (23/9 against 8/3, derived by hand in
``tests/test_fig8_tree_ceiling.py``), the one-level case where RRS, hence Traversal, falls short of
the i.i.d. OTM optimum (16/9 against 17/9), and a search over every tree of at most 4 nodes on
seeded V = 2 models for the largest shortfall of Traversal: none up to 3 nodes without
replacement (a chain is Block Verification's optimum, one level at V = 2 drafts both tokens).

References
----------
Sun et al., "Block Verification Accelerates Speculative Decoding", ICLR 2025, arXiv 2403.10444.
Weng et al., "Traversal Verification for Speculative Tree Decoding", NeurIPS 2025, arXiv 2505.12398.
"""

from __future__ import annotations

import numpy as np

from ..logged import load_logged
from ..synthetic import llm_like_logits, process
from ..tree import NodePool, Tree, tokens_per_step
from ..tree.ceiling import tree_optimum, verifier_values

NAME = "fig8_tree_ceiling"


def spine(depth: int) -> Tree:
    """The binary tree of depth ``depth`` whose first path branches at every level: ``2 depth + 1`` nodes."""
    children = [()]
    node = 0
    for _ in range(depth):
        a, b = len(children), len(children) + 1
        children[node] = (a, b)
        children += [(), ()]
        node = a
    return Tree(tuple(children))


#: The tree shapes, by the name the rows and the report use.
SHAPES = {"one level": Tree.from_levels([2]), "chain 2": Tree.chain(2), "chain 3": Tree.chain(3),
          "binary 7": Tree.full(2, 7), "spine 7": spine(3), "binary 15": Tree.full(2, 15)}
#: ``(shape, law, V)`` of the synthetic instances (V = 3 on depth 3: the LP of the 7-node spine at
#: V = 4 takes 1.8 s with i.i.d. siblings, 0.17 s at V = 3).
SYNTHETIC = ([("one level", law, 4) for law in ("iid", "wo", "hub")]
             + [("chain 2", "iid", 4), ("chain 3", "iid", 4)]
             + [("binary 7", law, 4) for law in ("iid", "wo", "hub")]
             + [("spine 7", law, 3) for law in ("iid", "wo", "hub")]
             + [("binary 15", "hub", 3)])
#: ``(shape, law, V)`` of the shipped-data instances.
SHIPPED = ([("one level", law, 3) for law in ("iid", "wo", "hub")] + [("chain 3", "iid", 3)]
           + [(shape, law, 3) for shape in ("binary 7", "spine 7") for law in ("iid", "wo", "hub")])
TEMPERATURES = (0.6, 1.0)
#: Instances per case: full run, quick run.
INSTANCES = {False: 16, True: 2}
#: Below this ``T* - T_single`` the gap closed is undefined (``nan``) and left out of the summaries.
DEGENERATE = 1e-9
#: The worked example: ``p``, ``q`` at every depth, V = 2.
EXAMPLE_P, EXAMPLE_Q = (1 / 3, 2 / 3), (2 / 3, 1 / 3)
#: The trees of at most 4 nodes searched for Traversal's smallest shortfall (3 children need V >= 3 under wo).
SMALL = {"chain 1": Tree.chain(1), "chain 2": Tree.chain(2), "one level": Tree.from_levels([2]),
         "chain 3": Tree.chain(3), "fork, first child extended": Tree(((1, 2), (3,), (), ())),
         "fork, second child extended": Tree(((1, 2), (), (3,), ())), "chain then fork": Tree(((1,), (2, 3), (), ())),
         "three children": Tree.from_levels([3])}
SEARCH_MODELS = 24
TRAVERSAL = {"iid": "traversal", "wo": "traversal_wo"}


def per_depth_pool(p, q) -> NodePool:
    """A one-row-per-depth pool from ``p``, ``q`` of shape ``(depths, V)``."""
    return NodePool(np.asarray(p)[:, None, :], np.asarray(q)[:, None, :])


def synthetic_pool(depth: int, v: int, seed) -> NodePool:
    """LLM-like laws over ``v`` tokens at temperature 1, one pair per depth ``0 .. depth``."""
    target, draft = llm_like_logits(depth + 1, v, seed=seed)
    return per_depth_pool(process(target), process(draft))


def restricted(p, q, v: int):
    """``p``, ``q`` of shape ``(V_full,)`` restricted to their top ``v`` tokens by ``p + q`` and renormalised,
    with the masses ``p(top)``, ``q(top)`` kept."""
    top = np.sort(np.argsort(-(p + q), kind="stable")[:v])
    kept_p, kept_q = float(p[top].sum()), float(q[top].sum())
    return p[top] / kept_p, q[top] / kept_q, kept_p, kept_q


def shipped_pools(temperature: float, depth: int, v: int, n: int):
    """``n`` one-row-per-depth pools from blocks of ``depth + 1`` consecutive shipped positions, each restricted
    to its top ``v`` tokens; returns ``(pools, kept p masses, kept q masses, blocks skipped)``."""
    data = load_logged(temperature=temperature)
    pools, mass_p, mass_q, skipped, start = [], [], [], 0, 0
    while len(pools) < n:
        if start + depth + 1 > len(data):
            raise ValueError(f"the shipped data hold too few usable blocks of {depth + 1} positions for {n} instances")
        rows = [restricted(data.p[j], data.q[j], v) for j in range(start, start + depth + 1)]
        start += depth + 1
        if any(np.count_nonzero(r[1] > 0) < 2 for r in rows):
            skipped += 1
            continue
        pools.append(per_depth_pool([r[0] for r in rows], [r[1] for r in rows]))
        mass_p += [r[2] for r in rows]
        mass_q += [r[3] for r in rows]
    return pools, mass_p, mass_q, skipped


def gap_rows(tree_name: str, law: str, pool: NodePool, **labels) -> list[dict]:
    """One row per verifier of ``law`` on ``SHAPES[tree_name]`` over ``pool``: its value, the ceiling, the
    single-draft chain and the gap closed."""
    tree = SHAPES[tree_name]
    result = tree_optimum(tree, law, pool)
    if not result.success:
        raise RuntimeError(f"the ceiling LP of {tree_name} ({law}) was not solved: {result.message}")
    base = tokens_per_step(Tree.chain(tree.depth), "single", pool)
    chain = all(len(k) <= 1 for k in tree.children)
    rows = []
    for method, value in verifier_values(tree, law, pool).items():
        if chain and method == "rrs":
            continue
        span = result.value - base
        rows.append({"kind": "instance", **labels, "shape": tree_name, "nodes": tree.n_nodes, "depth": tree.depth,
                     "law": law, "method": method, "tokens_per_step": value, "ceiling": result.value,
                     "single_chain": base, "gap_closed": (value - base) / span if span > DEGENERATE else float("nan"),
                     "lp_seconds": result.seconds})
    return rows


def summaries(rows: list[dict]) -> list[dict]:
    """Median and quartiles of the gap closed per ``(data, shape, law, V, method)``; ``nan`` gaps left out and counted."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        if r["kind"] == "instance":
            groups.setdefault((r["data"], r["shape"], r["law"], r["vocab"], r["method"]), []).append(r)
    out = []
    for (data, shape, law, vocab, method), members in groups.items():
        gaps = np.array([r["gap_closed"] for r in members])
        ok = gaps[~np.isnan(gaps)]
        q1, median, q3 = np.quantile(ok, [0.25, 0.5, 0.75]) if ok.size else (np.nan,) * 3
        at_ceiling = sum(r["ceiling"] - r["tokens_per_step"] < 1e-6 for r in members)
        out.append({"kind": "summary", "data": data, "shape": shape, "law": law, "vocab": vocab, "method": method,
                    "instances": len(members), "degenerate": int(gaps.size - ok.size), "median": float(median),
                    "q1": float(q1), "q3": float(q3), "min": float(ok.min()) if ok.size else np.nan,
                    "max": float(ok.max()) if ok.size else np.nan, "at_ceiling": int(at_ceiling),
                    "mean_ceiling": float(np.mean([r["ceiling"] for r in members])),
                    "mean_tokens_per_step": float(np.mean([r["tokens_per_step"] for r in members]))})
    return out


def example_rows() -> list[dict]:
    """The worked examples at ``p = (1/3, 2/3)``, ``q = (2/3, 1/3)`` at every depth (exact values by hand in the tests)."""
    pool = per_depth_pool([EXAMPLE_P] * 3, [EXAMPLE_Q] * 3)
    rows = []
    for name, tree, law, exact in (("fork, first child extended", SMALL["fork, first child extended"], "wo",
                                    {"ceiling": "8/3", "traversal_wo": "23/9", "rrs_wo": "22/9"}),
                                   ("one level", SMALL["one level"], "iid",
                                    {"ceiling": "17/9", "traversal": "16/9", "rrs": "16/9"})):
        ceiling = tree_optimum(tree, law, pool).value
        rows.append({"kind": "example", "shape": name, "nodes": tree.n_nodes, "law": law, "vocab": 2, "method": "ceiling",
                     "tokens_per_step": ceiling, "exact": exact["ceiling"]})
        for method, value in verifier_values(tree, law, pool).items():
            rows.append({"kind": "example", "shape": name, "nodes": tree.n_nodes, "law": law, "vocab": 2,
                         "method": method, "tokens_per_step": value, "exact": exact.get(method, "")})
    return rows


def smallest_rows(models: int) -> list[dict]:
    """The largest ``ceiling - Traversal`` over ``models`` seeded LLM-like V = 2 models, per tree of at most 4 nodes and law."""
    rows = []
    for name, tree in SMALL.items():
        for law in ("iid", "wo"):
            if law == "wo" and max(map(len, tree.children)) > 2:
                continue
            gaps = []
            for i in range(models):
                pool = synthetic_pool(tree.depth, 2, np.random.SeedSequence([8, 2, i]))
                gaps.append(tree_optimum(tree, law, pool).value - tokens_per_step(tree, TRAVERSAL[law], pool))
            worst = int(np.argmax(gaps))
            rows.append({"kind": "smallest", "shape": name, "nodes": tree.n_nodes, "depth": tree.depth, "law": law,
                         "vocab": 2, "method": TRAVERSAL[law], "models": models, "max_gap": float(gaps[worst]),
                         "worst_model": worst})
    return rows


def compute(quick: bool) -> tuple[list[dict], list[dict]]:
    n = INSTANCES[quick]
    rows = []
    for c, (shape, law, v) in enumerate(SYNTHETIC):
        depth = SHAPES[shape].depth
        for i in range(n):
            pool = synthetic_pool(depth, v, np.random.SeedSequence([8, c, i]))
            rows += gap_rows(shape, law, pool, data="synthetic", vocab=v, instance=i)
    for temperature in TEMPERATURES:
        for shape, law, v in SHIPPED:
            pools, mass_p, mass_q, skipped = shipped_pools(temperature, SHAPES[shape].depth, v, n)
            for i, pool in enumerate(pools):
                rows += gap_rows(shape, law, pool, data=f"SmolLM2, T = {temperature}", vocab=v, instance=i)
            rows.append({"kind": "restriction", "data": f"SmolLM2, T = {temperature}", "shape": shape, "law": law,
                         "vocab": v, "instances": n, "skipped": skipped, "mean_kept_p": float(np.mean(mass_p)),
                         "mean_kept_q": float(np.mean(mass_q)), "min_kept_p": float(np.min(mass_p))})
    rows += summaries(rows) + example_rows() + smallest_rows(4 if quick else SEARCH_MODELS)
    return rows, []


def _tag(text: str) -> str:
    words = {"one level": "OneLevel", "chain 2": "ChainTwo", "chain 3": "ChainThree", "binary 7": "BinSeven",
             "spine 7": "SpineSeven", "binary 15": "BinFifteen", "iid": "Iid", "wo": "Wo", "hub": "Hub", "rrs": "Rrs",
             "rrs_wo": "RrsWo", "spechub": "Spechub", "traversal": "Trav", "traversal_wo": "TravWo", "block": "Block",
             "synthetic": "Syn", "SmolLM2, T = 0.6": "Six", "SmolLM2, T = 1.0": "One"}
    return words[text]


def numbers(rows: list[dict]) -> dict[str, str]:
    """LaTeX macros (name without the backslash: text) for the report's section on the ceiling.

    ``CeilGap<data><shape><law><method>``: ``median [q1, q3]`` of the gap closed; ``CeilInstances``;
    the restriction's kept masses; the worked example; Traversal's count at the ceiling on branching trees.
    """
    macros = {}
    for r in rows:
        if r["kind"] == "summary":
            name = "CeilGap" + "".join(_tag(r[key]) for key in ("data", "shape", "law", "method"))
            macros[name] = f"{r['median']:.2f} [{r['q1']:.2f}, {r['q3']:.2f}]"
    summary = [r for r in rows if r["kind"] == "summary"]
    macros["CeilInstances"] = f"{summary[0]['instances']}"
    for data in ("synthetic", "SmolLM2, T = 0.6", "SmolLM2, T = 1.0"):
        trav = [r for r in summary if r["data"] == data and r["method"] in TRAVERSAL.values()
                and r["shape"] not in ("chain 2", "chain 3")]
        macros[f"CeilTravAtCeiling{_tag(data)}"] = f"{sum(r['at_ceiling'] for r in trav)}"
        macros[f"CeilTravInstances{_tag(data)}"] = f"{sum(r['instances'] for r in trav)}"
        block = [r for r in summary if r["data"] == data and r["method"] == "block"]
        macros[f"CeilBlockMin{_tag(data)}"] = f"{min(r['min'] for r in block):.6f}"
    for temperature, tag in ((0.6, "Six"), (1.0, "One")):
        kept = [r for r in rows if r["kind"] == "restriction" and r["data"] == f"SmolLM2, T = {temperature}"]
        macros[f"CeilKeptP{tag}"] = f"{np.mean([r['mean_kept_p'] for r in kept]):.2f}"
        macros[f"CeilKeptQ{tag}"] = f"{np.mean([r['mean_kept_q'] for r in kept]):.2f}"
        macros[f"CeilSkipped{tag}"] = f"{max(r['skipped'] for r in kept)}"
    ex = {(r["shape"], r["method"]): r["tokens_per_step"] for r in rows if r["kind"] == "example"}
    macros["CeilExampleCeiling"] = f"{ex[('fork, first child extended', 'ceiling')]:.6f}"
    macros["CeilExampleTraversal"] = f"{ex[('fork, first child extended', 'traversal_wo')]:.6f}"
    macros["CeilExampleIidCeiling"] = f"{ex[('one level', 'ceiling')]:.6f}"
    macros["CeilExampleIidTraversal"] = f"{ex[('one level', 'traversal')]:.6f}"
    small = [r for r in rows if r["kind"] == "smallest"]
    macros["CeilSearchModels"] = f"{small[0]['models']}"
    mantissa, exponent = f"{max(r['max_gap'] for r in small if r['law'] == 'wo' and r['nodes'] <= 3):.1e}".split("e")
    macros["CeilSmallWoMaxGapThree"] = f"${mantissa} \\times 10^{{{int(exponent)}}}$"
    macros["CeilSmallWoMaxGapFour"] = f"{max(r['max_gap'] for r in small if r['law'] == 'wo' and r['nodes'] == 4):.3f}"
    macros["CeilSmallIidMaxGapThree"] = f"{max(r['max_gap'] for r in small if r['law'] == 'iid' and r['nodes'] <= 3):.3f}"
    return macros


MARKERS = {"rrs": ("tab:blue", "o"), "traversal": ("tab:purple", "D"), "block": ("tab:red", "s"),
           "rrs_wo": ("tab:orange", "o"), "traversal_wo": ("tab:brown", "D"), "spechub": ("tab:green", "^")}
LABELS = {"rrs": "RRS", "traversal": "Traversal", "block": "Block", "rrs_wo": "RRS w/o repl.",
          "traversal_wo": "Traversal w/o repl.", "spechub": "SpecHub"}


def plot(ours: list[dict], theirs: list[dict]):
    import matplotlib.pyplot as plt

    datasets = ("synthetic", "SmolLM2, T = 0.6", "SmolLM2, T = 1.0")
    summary = [r for r in ours if r["kind"] == "summary"]
    fig, axes = plt.subplots(1, len(datasets), figsize=(13, 5.2), sharey=True)
    seen = set()
    for ax, data in zip(axes, datasets):
        cases = list(dict.fromkeys((r["shape"], r["law"], r["vocab"]) for r in summary if r["data"] == data))
        for x, (shape, law, vocab) in enumerate(cases):
            methods = [r for r in summary if r["data"] == data and (r["shape"], r["law"], r["vocab"]) == (shape, law, vocab)]
            for j, r in enumerate(methods):
                dx = (j - (len(methods) - 1) / 2) * 0.22
                color, marker = MARKERS[r["method"]]
                pts = [i["gap_closed"] for i in ours if i["kind"] == "instance" and i["data"] == data
                       and (i["shape"], i["law"], i["vocab"], i["method"]) == (shape, law, vocab, r["method"])]
                ax.scatter(np.full(len(pts), x + dx), pts, s=5, color=color, alpha=0.35, lw=0)
                label = LABELS[r["method"]] if r["method"] not in seen else None
                seen.add(r["method"])
                ax.errorbar(x + dx, r["median"], yerr=[[r["median"] - r["q1"]], [r["q3"] - r["median"]]], fmt=marker,
                            color=color, ms=5, capsize=2, label=label)
        ax.set_xticks(range(len(cases)), [f"{s}\n{l}, V={v}" for s, l, v in cases], rotation=90, fontsize=7)
        ax.axhline(1.0, color="k", lw=0.8, ls="--")
        ax.axhline(0.0, color="gray", lw=0.6)
        ax.set_title(data if data != "synthetic" else "LLM-like synthetic, T = 1", fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel("gap closed: (T - T_single) / (T* - T_single)")
    fig.legend(loc="upper center", ncol=6, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return fig


if __name__ == "__main__":
    from pathlib import Path

    from . import figure_main

    raise SystemExit(figure_main(NAME, Path("figures")))
