"""Averaging a drafted tree's value over its last level of drafts, against enumeration of those drafts.

The oracle: for every combination of the last level's children (each such node's sibling tuples
listed by its draft law, :meth:`DraftLaw.enumerate`, with their probabilities), the exact value given
all drafts (:func:`expected_tokens`), weighted by the product of the tuples' probabilities. That
computes the conditional expectation directly, without the closed forms under test
(``acceptance_by_position`` at the last level; ``sum_x min(q, b p)`` for Block Verification).
"""

import itertools

import numpy as np
import pytest

from spechub_theory import Tree
from spechub_theory.tree import LoggedTrees
from spechub_theory.tree.drafted import DraftedTree
from spechub_theory.tree.verifiers import expected_tokens, sibling_law

V = 4


def random_tree(tree: Tree, method: str, seed: int) -> DraftedTree:
    """Laws at every node and drafts from the method's sibling law (so every draft has positive mass)."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(V), size=tree.n_nodes)
    q = rng.dirichlet(np.ones(V), size=tree.n_nodes)
    tokens = np.zeros(tree.n_nodes, dtype=np.int64)
    for v, kids in enumerate(tree.children):
        if kids:
            tokens[list(kids)] = sibling_law(method, len(kids)).sample(q[v], len(kids), rng, 1)[0]
    return DraftedTree(tree, tokens, p, q)


def enumerated_average(drafted: DraftedTree, method: str) -> float:
    tree = drafted.tree
    last = [v for v, kids in enumerate(tree.children) if kids and all(not tree.children[c] for c in kids)]
    return enumerated_mean(drafted, method, lambda d: expected_tokens(d, method), last)


@pytest.mark.parametrize("method,shape", [(m, s) for m in ("rrs", "rrs_wo", "spechub", "kseq", "nss", "greedy", "single")
                                          for s in ("binary", "chain", "mixed") if m != "single" or s == "chain"])
def test_node_wise_average_matches_enumeration(method, shape):
    tree = {"binary": Tree.full(2, 7), "chain": Tree.chain(3),
            "mixed": Tree(((1, 2), (3, 4), (), (), ()))}[shape]
    for seed in range(3):
        drafted = random_tree(tree, method, seed)
        got = expected_tokens(drafted, method, average_last_level=True)
        assert got == pytest.approx(enumerated_average(drafted, method), abs=1e-12)


def test_block_average_matches_enumeration():
    for g in (1, 2, 3):
        for seed in range(4):
            drafted = random_tree(Tree.chain(g), "block", seed)
            got = expected_tokens(drafted, "block", average_last_level=True)
            assert got == pytest.approx(enumerated_average(drafted, "block"), abs=1e-12)


def test_block_average_of_one_draft_by_hand():
    # One draft x ~ q at the root: block accepts it with min(1, p(x)/q(x)), so the average is
    # 1 + sum_x min(p(x), q(x)) = 1 + (1 - TV(p, q)); here p = (0.7, 0.3), q = (0.2, 0.8): 1 + 0.5.
    drafted = DraftedTree(Tree.chain(1), [0, 1], [[0.7, 0.3], [0.5, 0.5]], [[0.2, 0.8], [0.5, 0.5]])
    assert expected_tokens(drafted, "block", average_last_level=True) == pytest.approx(1.5, abs=1e-15)


def test_the_average_differs_from_the_value_given_the_drafts():
    # guards against an averaging flag that is silently ignored
    drafted = random_tree(Tree.full(2, 7), "rrs", 1)
    assert abs(expected_tokens(drafted, "rrs", average_last_level=True) - expected_tokens(drafted, "rrs")) > 1e-6


@pytest.mark.parametrize("method", ["traversal", "traversal_wo"])
def test_traversal_refuses_averaging(method):
    drafted = random_tree(Tree.full(2, 3), method, 0)
    with pytest.raises(ValueError, match="average_last_level: not available"):
        expected_tokens(drafted, method, average_last_level=True)


def enumerated_mean(drafted: DraftedTree, method: str, statistic, nodes=None) -> np.ndarray:
    """The mean of ``statistic(tree)`` over every draft of ``nodes`` (default: every internal node), each
    node's sibling tuples from its law's enumeration, independent across nodes as the laws are fixed
    per node; the other nodes keep ``drafted``'s tokens."""
    tree = drafted.tree
    if nodes is None:
        nodes = [v for v, kids in enumerate(tree.children) if kids]
    options = [list(zip(*sibling_law(method, len(tree.children[v])).enumerate(drafted.q[v], len(tree.children[v]))))
               for v in nodes]
    total = 0.0
    for combo in itertools.product(*options):
        tokens = drafted.tokens.copy()
        weight = 1.0
        for v, (tuple_, prob) in zip(nodes, combo):
            tokens[list(tree.children[v])] = tuple_
            weight *= prob
        total = total + weight * np.asarray(statistic(DraftedTree(tree, tokens, drafted.p, drafted.q)))
    return total


@pytest.mark.parametrize("method", ["rrs", "rrs_wo", "spechub", "kseq"])
def test_control_variates_have_mean_zero_over_all_drafts(method):
    from spechub_theory.tree.verifiers import controls

    V3 = 3
    rng = np.random.default_rng(4)
    tree = Tree.full(2, 7)
    p, q = rng.dirichlet(np.ones(V3), size=7), rng.dirichlet(np.ones(V3), size=7)
    drafted = DraftedTree(tree, np.zeros(7, dtype=np.int64), p, q)
    for average in (False, True):
        z = enumerated_mean(drafted, method, lambda d: controls(d, method, average))
        assert np.allclose(z, 0.0, atol=1e-13), z
    # ... and are not identically zero (a control that is always 0 removes nothing)
    some = random_tree(tree, method, 0)
    assert np.abs(controls(some, method)).sum() > 1e-6
    with pytest.raises(ValueError, match="control variates are of node-wise methods"):
        controls(some, "traversal_wo")
