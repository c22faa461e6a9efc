"""Figure 8 (spechub_theory.reproduce.fig8_tree_ceiling): its numbers against oracles independent of it.

Oracles: the worked examples derived by hand below; the node OTM optimum (the subset form, another
algorithm) on one level; Block Verification's optimality on chains (its Theorem 2); quantiles of
hand-made rows; the restriction to the top tokens on a hand example.
"""

import re

import numpy as np
import pytest

from spechub_theory import optimal_acceptance_rate
from spechub_theory.reproduce import fig8_tree_ceiling as fig8
from spechub_theory.tree import Tree, tokens_per_step

TOL = 1e-7


def test_the_traversal_counterexample_by_hand():
    # Root 0 with children 1, 2 (node 1 first), node 1 with child 3; V = 2, p = (1/3, 2/3) and
    # q = (2/3, 1/3) at every depth; siblings without replacement, so {X1, X2} = {0, 1} always;
    # X1 = 0 w.p. 2/3; X3 ~ q.
    #
    # Ceiling 8/3. E[n] = sum_s C(s) with C(s) <= min(p(s), P(s is a drafted path)):
    #   s = (): 1; (0): min(1/3, 1); (1): min(2/3, 1);
    #   (0,0): min(1/9, 2/3*2/3) = 1/9; (0,1): min(2/9, 2/3*1/3) = 2/9;
    #   (1,0): min(2/9, 1/3*2/3) = 2/9; (1,1): min(4/9, 1/3*1/3) = 1/9;
    #   total 1 + 1 + 6/9 = 8/3, and the LP attains it.
    #
    # Traversal (Weng et al., Alg. 2): pi(child) = min(1, pi(parent) p/q), the first deepest leaf
    # tried first; on rejecting a leaf its parent u gets p_u <- norm((pi_u p_u - q_u)+), q_u without
    # the leaf's token, pi_u <- s / (s + 1 - pi_u), s = sum (pi_u p_u - q_u)+.
    #   X1 = 0 (2/3): pi1 = 1/2. X3 = 1 (1/3): pi3 = 1, 3 tokens. X3 = 0 (2/3): pi3 = 1/4, else
    #     node 1: (1/2 p - q)+ = (1/6 - 2/3, 1/3 - 1/3)+ = 0, so pi1 = 0; root: (p - q)+ = (0, 1/3),
    #     q without 0 is one-hot at 1 = X2, so pi2 = 1: 2 tokens. 1/4*3 + 3/4*2 = 9/4.
    #     Given X1 = 0: 1/3*3 + 2/3*9/4 = 5/2.
    #   X1 = 1 (1/3): pi1 = 1. X3 = 1: pi3 = 1, 3 tokens. X3 = 0: pi3 = 1/2, else node 1 gets
    #     (p - q)+ = (0, 1/3), pi1 = (1/3) / (1/3 + 0) = 1: 2 tokens. 1/2*3 + 1/2*2 = 5/2.
    #     Given X1 = 1: 1/3*3 + 2/3*5/2 = 8/3.
    #   Total 2/3*5/2 + 1/3*8/3 = 15/9 + 8/9 = 23/9.
    #
    # RRS without replacement node by node: the root keeps X1 w.p. sum min(p, q) = 2/3 and X2
    # w.p. 1/3 (it always keeps one, both tokens being drafted); node 1 keeps its one child w.p.
    # 2/3. T = 1 + 2/3 (1 + 2/3) + 1/3 = 22/9.
    #
    # One level, i.i.d. (3 nodes, V = 2): alpha* = 1 + min_H [p(H) - q(H)^2] = 1 + (1/3 - 4/9) = 8/9
    # (H = {0}); RRS: Z_1 = 1 - a1 = 1/3, c_2 = 2 - a1 = 4/3, Z_2 = (1/3 - 8/9)+ + (2/3 - 4/9)+ = 2/9,
    # alpha = 7/9. Traversal on one level is RRS. So 17/9 against 16/9.
    rows = {(r["shape"], r["method"]): r for r in fig8.example_rows()}
    want = {("fork, first child extended", "ceiling"): 8 / 3, ("fork, first child extended", "traversal_wo"): 23 / 9,
            ("fork, first child extended", "rrs_wo"): 22 / 9, ("one level", "ceiling"): 17 / 9,
            ("one level", "traversal"): 16 / 9, ("one level", "rrs"): 16 / 9}
    assert set(rows) == set(want)
    for key, value in want.items():
        assert rows[key]["tokens_per_step"] == pytest.approx(value, abs=TOL if key[1] == "ceiling" else 1e-12), key
        num, den = map(int, rows[key]["exact"].split("/"))
        assert num / den == pytest.approx(value, abs=1e-15)


@pytest.mark.parametrize("law", ["iid", "wo", "hub"])
def test_one_level_rows_are_the_node_otm_optimum(law):
    pool = fig8.synthetic_pool(1, 4, np.random.SeedSequence([8, 1, 0]))
    p, q = pool.row(0, 0)
    rows = fig8.gap_rows("one level", law, pool, data="synthetic", vocab=4, instance=0)
    assert rows
    for r in rows:
        assert r["ceiling"] == pytest.approx(1 + optimal_acceptance_rate(p, q, law=law, k=2), abs=TOL)
        assert r["single_chain"] == pytest.approx(1 + np.minimum(p, q).sum(), abs=1e-12)
        assert r["tokens_per_step"] <= r["ceiling"] + TOL


def test_block_closes_the_whole_gap_on_chains():
    pool = fig8.synthetic_pool(3, 4, np.random.SeedSequence([8, 4, 0]))
    rows = {r["method"]: r for r in fig8.gap_rows("chain 3", "iid", pool, data="synthetic", vocab=4, instance=0)}
    assert set(rows) == {"traversal", "block"}  # RRS on a chain is the single draft: left out
    assert rows["block"]["gap_closed"] == pytest.approx(1.0, abs=1e-6)
    assert rows["block"]["tokens_per_step"] == pytest.approx(tokens_per_step(Tree.chain(3), "block", pool), abs=1e-12)


def test_summaries_are_quantiles_and_count_the_degenerate():
    base = {"kind": "instance", "data": "d", "shape": "binary 7", "law": "iid", "vocab": 3, "method": "rrs",
            "ceiling": 2.0}
    gaps = [0.0, 0.5, 1.0, float("nan")]
    rows = [dict(base, gap_closed=g, tokens_per_step=2.0 if g == 1.0 else 1.5) for g in gaps]
    (s,) = fig8.summaries(rows)
    assert (s["median"], s["q1"], s["q3"], s["min"], s["max"]) == (0.5, 0.25, 0.75, 0.0, 1.0)
    assert (s["instances"], s["degenerate"], s["at_ceiling"]) == (4, 1, 1)


def test_restriction_keeps_the_top_tokens_by_p_plus_q():
    # p + q = (0.6, 0.5, 0.25, 0.65): the top two are tokens 3 and 0, in vocabulary order
    p, q = np.array([0.5, 0.3, 0.15, 0.05]), np.array([0.1, 0.2, 0.1, 0.6])
    rp, rq, kept_p, kept_q = fig8.restricted(p, q, 2)
    assert (kept_p, kept_q) == pytest.approx((0.55, 0.7))
    assert rp == pytest.approx([0.5 / 0.55, 0.05 / 0.55])
    assert rq == pytest.approx([0.1 / 0.7, 0.6 / 0.7])


def test_spine_is_binary_with_a_branching_first_path():
    tree = fig8.spine(3)
    assert tree.n_nodes == 7 and tree.depth == 3
    assert tree.children == ((1, 2), (3, 4), (), (5, 6), (), (), ())


@pytest.fixture(scope="module")
def quick_rows():
    return fig8.compute(True)[0]


def test_quick_run_every_verifier_below_its_ceiling_and_block_at_it(quick_rows):
    instances = [r for r in quick_rows if r["kind"] == "instance"]
    assert {r["data"] for r in instances} == {"synthetic", "SmolLM2, T = 0.6", "SmolLM2, T = 1.0"}
    for r in instances:
        assert r["single_chain"] - TOL <= r["ceiling"] and r["tokens_per_step"] <= r["ceiling"] + TOL, r
        if r["method"] == "block":
            assert r["gap_closed"] == pytest.approx(1.0, abs=1e-6)
    for c, (shape, law, v) in enumerate(fig8.SYNTHETIC):  # one level: the OTM optimum, recomputed
        if shape == "one level":
            pool = fig8.synthetic_pool(1, v, np.random.SeedSequence([8, c, 0]))
            p, q = pool.row(0, 0)
            row = next(r for r in instances if r["data"] == "synthetic" and r["shape"] == shape and r["law"] == law
                       and r["instance"] == 0)
            assert row["ceiling"] == pytest.approx(1 + optimal_acceptance_rate(p, q, law=law, k=2), abs=TOL)


def test_quick_run_search_and_macros(quick_rows):
    small = {(r["shape"], r["law"]): r["max_gap"] for r in quick_rows if r["kind"] == "smallest"}
    # up to 3 nodes without replacement at V = 2 there is nothing to lose: chains are Block's optimum,
    # one level drafts both tokens
    assert all(abs(small[(s, "wo")]) < TOL for s in ("chain 1", "chain 2", "one level"))
    assert small[("fork, first child extended", "wo")] > 1e-3
    kept = [r for r in quick_rows if r["kind"] == "restriction"]
    assert all(0 < r["min_kept_p"] <= r["mean_kept_p"] <= 1 for r in kept)
    macros = fig8.numbers(quick_rows)
    assert all(re.fullmatch(r"[A-Za-z]+", name) for name in macros)
    assert macros["CeilExampleCeiling"] == f"{8 / 3:.6f}" and macros["CeilExampleTraversal"] == f"{23 / 9:.6f}"
    assert float(macros["CeilBlockMinSyn"]) == pytest.approx(1.0, abs=1e-5)
