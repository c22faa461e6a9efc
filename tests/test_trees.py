"""Tokens per step over token trees: the recursion, its special cases, and simulation."""

import numpy as np
import pytest

from spechub_theory import acceptance_rate
from spechub_theory.synthetic import llm_like_logits, process
from spechub_theory.trees import NodePool, Tree, simulate_tree, tokens_per_step


def _pool(n=6, v=12, seed=0, temperature=1.0):
    target, draft = llm_like_logits(n, v, seed=seed)
    return NodePool(process(target, temperature), process(draft, temperature))


def test_tree_shapes():
    assert Tree.full(2, 7).children == ((1, 2), (3, 4), (5, 6), (), (), (), ())
    assert Tree.full(3, 13).n_nodes == 13
    assert Tree.chain(3).depths == (0, 1, 2, 3)
    assert Tree.from_levels([3, 2, 1]).n_nodes == 1 + 3 + 6 + 6
    with pytest.raises(ValueError, match="^nodes: no full 2-ary tree has 6 nodes"):
        Tree.full(2, 6)
    with pytest.raises(ValueError, match="^children: every node but the root"):
        Tree(((1,), (), ()))
    with pytest.raises(ValueError, match="^children: node 1 lists child 0"):
        Tree(((1,), (0,)))


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_chain_is_a_geometric_sum(depth):
    # One pool row: every node has the same acceptance alpha, and a chain of depth D gives
    # 1 + alpha + ... + alpha^D.
    pool = _pool(n=1)
    alpha = acceptance_rate(*[x[0] for x in pool.at(0)], "single", 1)
    assert tokens_per_step(Tree.chain(depth), "rrs", pool) == pytest.approx(
        sum(alpha**d for d in range(depth + 1)), abs=1e-14
    )


@pytest.mark.parametrize("method", ["rrs", "rrs_wo", "spechub"])
def test_one_level_is_acceptance_plus_one(method):
    pool = _pool()
    alpha = acceptance_rate(*pool.at(0), method, 2).mean()
    assert tokens_per_step(Tree.full(2, 3), method, pool) == pytest.approx(1 + alpha, abs=1e-14)


def test_equal_distributions_accept_every_level():
    p = np.full((1, 5), 0.2)
    assert tokens_per_step(Tree.full(2, 15), "spechub", NodePool(p, p)) == pytest.approx(4.0, abs=1e-12)


def test_position_matters_in_an_unbalanced_tree():
    # Root with two children, only the first of which has a child: the answer uses P(keep first).
    tree = Tree(((1, 2), (3,), (), ()))
    pool = _pool(n=1, seed=3)
    from spechub_theory import acceptance_by_position

    kept = acceptance_by_position(*[x[0] for x in pool.at(0)], "rrs", 2)
    alpha1 = acceptance_rate(*[x[0] for x in pool.at(0)], "single", 1)
    assert tokens_per_step(tree, "rrs", pool) == pytest.approx(1 + kept[0] * (1 + alpha1) + kept[1], abs=1e-14)


def test_spechub_refuses_wide_nodes():
    with pytest.raises(ValueError, match="^tree: a node has 3 children but method 'spechub'"):
        tokens_per_step(Tree.full(3, 4), "spechub", _pool())


@pytest.mark.parametrize(
    "method,tree",
    [
        ("rrs", Tree.full(2, 7)),
        ("rrs_wo", Tree.full(3, 13)),
        ("spechub", Tree.full(2, 15)),
        ("rrs", Tree(((1, 2), (3,), (), ()))),
        ("single", Tree.chain(4)),
    ],
)
def test_simulation_agrees_with_the_exact_value(method, tree):
    pool = _pool(n=4, seed=5, temperature=0.7)
    sim = simulate_tree(tree, method, pool, n=3000, seed=11)
    exact = tokens_per_step(tree, method, pool)
    assert abs(sim.estimate - exact) <= 5 * sim.se


def test_logged_data_is_a_node_pool(tmp_path):
    from spechub_theory.logged import entries_from_logits, load_logged, write_logged

    target, draft = llm_like_logits(9, 40, seed=6)
    entries = entries_from_logits(target, draft, [0] * 9, range(9), [[1, 2]], 1e-9)
    data = load_logged(write_logged(tmp_path / "d", {"vocab_size": 40}, entries), temperature=0.8)
    dense = NodePool(data.p[:], data.q[:])
    logged = NodePool(data.p, data.q, chunk=4)
    for method in ("rrs", "spechub"):
        assert tokens_per_step(Tree.full(2, 7), method, logged) == pytest.approx(
            tokens_per_step(Tree.full(2, 7), method, dense), abs=1e-13
        )
    sim = simulate_tree(Tree.full(2, 7), "spechub", logged, n=2000, seed=1)
    assert abs(sim.estimate - tokens_per_step(Tree.full(2, 7), "spechub", dense)) <= 5 * sim.se


def test_a_pool_can_keep_its_first_positions():
    target, draft = llm_like_logits(6, 30, seed=7)
    p, q = process(target), process(draft)
    tree = Tree.full(2, 7)
    assert tokens_per_step(tree, "rrs_wo", NodePool(p, q, chunk=2, positions=3)) == pytest.approx(
        tokens_per_step(tree, "rrs_wo", NodePool(p[:3], q[:3])), abs=1e-14
    )


def test_shapes_refuse_what_no_tree_is():
    # Tree.full(0, n) looped forever and Tree.chain(-1) was silently the root alone.
    with pytest.raises(ValueError, match="^branching: expected a positive integer, got 0"):
        Tree.full(0, 3)
    with pytest.raises(ValueError, match="^depth: expected a non-negative integer, got -1"):
        Tree.chain(-1)
    assert Tree.chain(0).n_nodes == 1


def test_a_pool_refuses_no_positions_and_a_source_must_be_one():
    p = np.full((2, 3), 1 / 3)
    with pytest.raises(ValueError, match="^positions: expected a positive integer, got 0"):
        NodePool(p, p, positions=0)  # was NaN
    with pytest.raises(ValueError, match="^source: expected a NodePool, LoggedTrees or DraftedTree, got ndarray"):
        tokens_per_step(Tree.chain(1), "rrs", p)  # was AttributeError


def test_a_one_child_node_runs_the_method_itself():
    # NSS on a chain of one draft at p = q = (1/2, 1/2): Y ~ p is accepted iff it equals the draft,
    # probability sum_x p(x) q(x) = 1/2, so 1.5 tokens per step; single-draft sampling would give 2.
    p = np.array([[0.5, 0.5]])
    assert tokens_per_step(Tree.chain(1), "nss", NodePool(p, p)) == pytest.approx(1.5, abs=1e-15)
    assert tokens_per_step(Tree.chain(1), "single", NodePool(p, p)) == pytest.approx(2.0, abs=1e-15)
    # SpecHub needs pairs: its one-child nodes run single-draft sampling.
    assert tokens_per_step(Tree.chain(2), "spechub", NodePool(p, p)) == pytest.approx(3.0, abs=1e-15)


def test_wide_rrs_wo_nodes_are_refused_above_their_cost_not_hung():
    target, draft = llm_like_logits(2, 2000, seed=1)
    pool = NodePool(process(target), process(draft))
    with pytest.raises(ValueError, match=r"^tree: a node with 4 'rrs_wo' children costs about 2 x 2000\^3 = 1.6e\+10 .*max_prefixes"):
        tokens_per_step(Tree.from_levels([4]), "rrs_wo", pool)
    small = _pool(n=2, v=12)
    with pytest.raises(ValueError, match="max_prefixes = 100"):
        tokens_per_step(Tree.from_levels([4]), "rrs_wo", small, max_prefixes=100)
    alpha = acceptance_rate(*small.at(0), "rrs_wo", 4).mean()
    assert tokens_per_step(Tree.from_levels([4]), "rrs_wo", small) == pytest.approx(1 + alpha, abs=1e-14)
