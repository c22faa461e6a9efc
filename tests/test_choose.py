"""Choosing a tree: the programme against brute force over every ordered tree, and the cost model."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from shapes import as_tree, forests

from spechub_theory import NodePool, Tree, tokens_per_step
from spechub_theory.synthetic import llm_like_logits, process
from spechub_theory.tree.choose import CostModel, fastest_tree, optimal_tree, optimal_tree_for, speedup, speedups


WIDTH = 3


def path_sum(tree: Tree, kept_of_width) -> float:
    """Tokens per step as the sum over nodes of the product of kept probabilities along the node's
    path (the root's empty product is 1): a second formula, not the recursion."""
    weight = {0: 1.0}
    for v, kids in enumerate(tree.children):
        for j, c in enumerate(kids):
            weight[c] = weight[v] * kept_of_width(len(kids), tree.depths[v])[j]
    return sum(weight.values())


def brute(n, max_depth, kept):
    trees = [as_tree(k) for k in forests(n - 1, WIDTH, max_depth)]
    return max(path_sum(t, kept) for t in trees), len(trees)


def test_the_forests_fit_their_bounds():
    # depth 1, width 3: only the stars of 1..4 nodes; depth 2: up to 1 + 3 + 9 = 13 nodes
    assert [len(forests(n - 1, WIDTH, 1)) for n in range(1, 6)] == [1, 1, 1, 1, 0]
    assert len(forests(12, WIDTH, 2)) == 1 and not forests(13, WIDTH, 2)


def test_the_forest_enumeration_counts_catalan_numbers():
    # ordered trees of n nodes, unbounded width and depth, are counted by Catalan(n - 1)
    assert [len(forests(n - 1, 10, 10)) for n in range(1, 9)] == [math.comb(2 * m, m) // (m + 1) for m in range(8)]
    # at most two children per node: the Motzkin-like counts of ordered trees 1, 1, 2, 4, 9, 21 (OEIS A001006)
    assert [len(forests(n - 1, 2, 10)) for n in range(1, 7)] == [1, 1, 2, 4, 9, 21]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=WIDTH, max_size=WIDTH), st.integers(1, 8), st.sampled_from([None, 1, 2, 3]))
def test_the_positional_programme_is_the_best_of_every_ordered_tree(kept, n, max_depth):
    depth = n - 1 if max_depth is None else max_depth
    if not forests(n - 1, WIDTH, depth):  # no ordered tree fits: at most 1 + 3 + ... + 3^depth nodes
        with pytest.raises(ValueError, match="no tree of"):
            optimal_tree(kept, n, max_depth)
        return
    result = optimal_tree(kept, n, max_depth)
    best, count = brute(n, depth, lambda b, d: kept[:b])
    assert count > 0 and result.tree.n_nodes == n and result.tree.depth <= depth
    assert max(len(k) for k in result.tree.children) <= WIDTH
    assert result.tokens_per_step == pytest.approx(best, abs=1e-12)
    assert path_sum(result.tree, lambda b, d: kept[:b]) == pytest.approx(result.tokens_per_step, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=6, max_size=6), st.lists(st.floats(0.2, 1), min_size=4, max_size=4),
       st.integers(2, 8))
def test_splits_that_depend_on_the_width_and_depth(raw, scale, n):
    # kept_b[j] of a node of b children: a different vector for every b, shrunk by depth
    by_width = {1: raw[:1], 2: raw[1:3], 3: raw[3:6]}
    kept = lambda b, d: None if b not in by_width else np.asarray(by_width[b]) * scale[min(d, 3)]  # noqa: E731
    result = optimal_tree(kept, n)
    best, _ = brute(n, n - 1, kept)
    assert result.tokens_per_step == pytest.approx(best, abs=1e-12)


def test_hand_cases():
    # kept = (0.8, 0.3), 3 nodes: the chain gives 1 + 0.8 + 0.8^2 = 2.44, two children 1 + 0.8 + 0.3 = 2.1
    chain = optimal_tree([0.8, 0.3], 3)
    assert chain.tree == Tree.chain(2) and chain.tokens_per_step == pytest.approx(2.44, abs=1e-15)
    # at depth 1 the root must take both: 2.1
    assert optimal_tree([0.8, 0.3], 3, max_depth=1).tokens_per_step == pytest.approx(2.1, abs=1e-15)
    # kept = (0.5, 0.5), 4 nodes: a chain gives 1 + .5 + .25 + .125 = 1.875; root with a two-node chain and
    # a leaf gives 1 + .5 (1 + .5) + .5 = 2.25; a star of three is impossible (two positions); the best is 2.25
    assert optimal_tree([0.5, 0.5], 4).tokens_per_step == pytest.approx(2.25, abs=1e-15)
    with pytest.raises(ValueError, match="no tree of 5 nodes fits max_depth = 1"):
        optimal_tree([0.5, 0.5], 5, max_depth=1)
    with pytest.raises(ValueError, match="kept: the vector"):
        optimal_tree([0.5, 1.5], 3)
    with pytest.raises(ValueError, match="nodes: expected a positive"):
        optimal_tree([0.5], 0)


@pytest.fixture(scope="module")
def pool():
    target, draft = llm_like_logits(40, 50, seed=4)
    return NodePool(process(target), process(draft))


@pytest.mark.parametrize("method", ["rrs", "spechub", "kseq"])
def test_the_best_tree_for_a_method_is_the_best_of_every_shape_on_the_pool(method, pool):
    for n in (4, 6):
        result = optimal_tree_for(method, pool, n, widths=(1, 2))
        # every ordered tree of n nodes with at most two children per node, valued by the library
        shapes = [as_tree(k) for k in forests(n - 1, 2, n - 1)]
        values = [tokens_per_step(t, method, pool) for t in shapes]
        assert result.tokens_per_step == pytest.approx(max(values), abs=1e-12)
        assert tokens_per_step(result.tree, method, pool) == pytest.approx(result.tokens_per_step, abs=1e-12)


def test_sequence_level_verifiers_are_refused_with_the_reason(pool):
    with pytest.raises(ValueError, match="verifies whole paths"):
        optimal_tree_for("traversal_wo", pool, 7)


def test_the_speedup_of_a_chain_is_leviathans_improvement_factor(pool):
    # Leviathan et al. (ICML 2023), Thm 3.8: (1 - a^(g+1)) / ((1 - a)(g c + 1)) for g drafts,
    # acceptance a, draft cost c (in target passes) and a target pass that costs the same for any n
    a = tokens_per_step(Tree.chain(1), "single", pool) - 1
    c = 0.2
    cost = CostModel(lambda n: 1.0, c)
    for g in (1, 3, 5):
        assert speedup(Tree.chain(g), "single", pool, cost) == pytest.approx(
            (1 - a ** (g + 1)) / ((1 - a) * (g * c + 1)), rel=1e-12)


def test_the_fastest_tree_is_the_best_speedup_over_every_shape():
    kept = [0.7, 0.2, 0.05]
    cost = CostModel({1: 1.0, 4: 1.0, 8: 1.5}, 0.1)  # flat to 4 tokens, then dearer
    tree, s = fastest_tree(kept, cost, max_nodes=8)
    candidates = [(path_sum(t, lambda b, d: kept[:b]) / cost.step_time(t.n_nodes, t.depth), t)
                  for n in range(1, 9) for t in map(as_tree, forests(n - 1, 3, n - 1))]
    assert s == pytest.approx(max(v for v, _ in candidates), abs=1e-12)
    with pytest.raises(ValueError, match="cost table covers 1..8 tokens, not 9"):
        cost.target_time(9)


@pytest.mark.parametrize("max_depth", [None, 2])
def test_the_speedup_of_each_size_is_the_best_over_every_shape_of_that_size(max_depth):
    kept = [0.6, 0.25, 0.1]
    cost = CostModel({1: 1.0, 3: 1.0, 7: 2.0}, 0.3)  # flat to 3 tokens, then dearer
    values = speedups(kept, cost, 7, max_depth)
    for n in range(1, 8):
        # every ordered tree of n nodes (at most 3 children, depth bound), each charged its own depth
        shapes = [as_tree(k) for k in forests(n - 1, 3, n - 1 if max_depth is None else max_depth)]
        best = max(path_sum(t, lambda b, d: kept[:b]) / cost.step_time(t.n_nodes, t.depth) for t in shapes)
        assert values[n] == pytest.approx(best, abs=1e-12)
    assert values[1] == 1.0  # plain decoding: one token per one-token pass


def test_the_shipped_profile_and_the_memory_bound_model():
    cpu = CostModel.shipped()
    assert sorted(cpu.target) == list(range(1, 129)) and 0 < cpu.draft < cpu.target_time(1)
    gpu = CostModel.memory_bound(flat=64, draft=0.05)
    assert gpu.target_time(1) == gpu.target_time(64) == 1.0 and gpu.target_time(128) == 2.0 and gpu.draft == 0.05
    with pytest.raises(ValueError, match="flat: must be a positive integer"):
        CostModel.memory_bound(flat=0)
