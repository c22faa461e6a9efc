"""Tree verifiers over drafted trees: losslessness by enumeration, reductions, published cases, simulation.

The oracles are independent of the code under test: the target's own law of the first ``depth + 1``
tokens (losslessness), the node verifiers of :mod:`spechub_theory.verifiers` (reductions), the Block
Verification paper's toy case and the Traversal Verification paper's worked example (derived by hand
below), and simulation (z-tests with fixed seeds).
"""

import itertools

import numpy as np
import pytest

from spechub_theory import (DraftedTree, NodePool, Tree, emitted_law, estimate_tokens_per_step, simulate_tree,
                            tokens_per_step, verify_tree)
from spechub_theory.drafts import DRAFT_LAWS, top_tokens
from spechub_theory.tree.verifiers import sequence_steps

#: The draft law of each method's siblings at a node of ``k`` children (written out, not asked of the code).
LAWS = {"single": "iid", "rrs": "iid", "rrs_wo": "wo", "kseq": "iid", "nss": "iid", "greedy": "greedy",
        "spechub": "hub", "traversal": "iid", "traversal_wo": "wo", "block": "iid", "topk": "top"}

#: Shapes that are not full: unbalanced, with one-, two- and three-child nodes (7 nodes at most).
SHAPES = {
    "chain3": Tree.chain(3),
    "fork": Tree(((1, 2), (3,), (), ())),
    "six": Tree(((1, 2), (3, 4), (5,), (), (), ())),
    "seven": Tree(((1, 2, 3), (4, 5), (), (6,), (), (), ())),
}


def law_of(method, k):
    name = LAWS[method]
    if name == "hub" and k == 1:
        name = "iid"  # SpecHub needs pairs: a one-child node runs single-draft sampling
    return name


def context_model(seed, v, zero_q=False):
    """``laws(context) -> (p, q)`` from integer weights seeded by the context (context-dependent, cached)."""
    cache = {}

    def laws(context):
        if context not in cache:
            rng = np.random.default_rng([seed, v, len(context), *context])
            wp = rng.integers(0, 5, v).astype(float)
            wp[rng.integers(v)] += 1.0
            wq = rng.integers(1, 5, v).astype(float)
            if zero_q and v > 3:
                wq[rng.integers(v)] = 0.0  # a token the draft never proposes here
            cache[context] = (wp / wp.sum(), wq / wq.sum())
        return cache[context]

    return laws


def drafted_trees(tree, method, laws):
    """Every drafted tree of ``tree`` under the context model, with its probability: ``[(prob, DraftedTree)]``."""
    internal = [v for v, kids in enumerate(tree.children) if kids]
    out = []

    def grow(i, tokens, prob):
        if i == len(internal):
            contexts = [tuple(tokens[u] for u in tree.path(w)) for w in range(tree.n_nodes)]
            p = np.array([laws(c)[0] for c in contexts])
            q = np.array([laws(c)[1] for c in contexts])
            out.append((prob, DraftedTree(tree, tokens, p, q)))
            return
        v = internal[i]
        kids = tree.children[v]
        q = laws(tuple(tokens[u] for u in tree.path(v)))[1]
        name = law_of(method, len(kids))
        if name == "top":
            tuples, probs = top_tokens(q, len(kids))[None], [1.0]
        else:
            tuples, probs = DRAFT_LAWS[name].enumerate(q, len(kids))
        for drafts, pr in zip(tuples, probs):
            nxt = list(tokens)
            for c, x in zip(kids, drafts):
                nxt[c] = int(x)
            grow(i + 1, nxt, prob * pr)

    grow(0, [0] * tree.n_nodes, 1.0)
    return out


def target_law(laws, v, length):
    """The target's law of its first ``length`` tokens: ``prod_i p(y_i | y_<i)``, shape ``(v,) * length``."""
    law = np.zeros((v,) * length)
    for y in itertools.product(range(v), repeat=length):
        law[y] = np.prod([laws(y[:i])[0][y[i]] for i in range(length)])
    return law


def extended(emitted, laws, v, length):
    """The law of the emitted tokens, each sequence extended by the target to ``length`` tokens."""
    law = np.zeros((v,) * length)
    for seq, prob in emitted.items():
        rest = length - len(seq)
        for tail in itertools.product(range(v), repeat=rest):
            y = seq + tail
            law[y] += prob * np.prod([laws(y[:i])[0][y[i]] for i in range(len(seq), length)])
    return law


CASES = [(m, s) for m in LAWS for s in SHAPES
         if not (m in ("block", "single") and s != "chain3") and not (m == "spechub" and s == "seven")]


@pytest.mark.parametrize("method,shape", CASES)
def test_every_tree_verifier_is_lossless(method, shape):
    # Theorem: averaged over the drafts and the verifier's uniforms, the emitted tokens extended by the
    # target are distributed as the target's first depth + 1 tokens. V = 3 (V = 4 with a zero of q at
    # some contexts for the sampled laws with few tuples), laws that change with the context.
    tree = SHAPES[shape]
    v = 4 if shape == "chain3" else 3
    laws = context_model(7, v, zero_q=(shape == "chain3" and method not in ("topk", "greedy")))
    length = tree.depth + 1
    total = {}
    for prob, drafted in drafted_trees(tree, method, laws):
        for seq, pr in emitted_law(drafted, method).items():
            total[seq] = total.get(seq, 0.0) + prob * pr
    assert sum(total.values()) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(extended(total, laws, v, length), target_law(laws, v, length), rtol=0, atol=1e-12)


def test_the_losslessness_check_can_fail():
    # The same check on a wrong verifier: emit the path of the most likely child whatever p says.
    tree = SHAPES["fork"]
    laws = context_model(7, 3)
    total = {}
    for prob, drafted in drafted_trees(tree, "topk", laws):
        seq = drafted.path_tokens(3) + (0,)
        total[seq] = total.get(seq, 0.0) + prob
    assert np.abs(extended(total, laws, 3, 3) - target_law(laws, 3, 3)).max() > 1e-2


def random_drafted(tree, method, seed, v=4, outcomes=4):
    """A drafted tree drawn from the context model, among those whose step has ``outcomes`` emitted sequences or more."""
    laws = context_model(seed, v)
    trees = drafted_trees(tree, method, laws)
    rng = np.random.default_rng(seed)
    while True:
        drafted = trees[rng.choice(len(trees), p=np.array([pr for pr, _ in trees]))][1]
        if len(emitted_law(drafted, method)) >= outcomes:
            return drafted


def assert_same_law(a, b):
    keys = set(a) | set(b)
    for key in keys:
        assert a.get(key, 0.0) == pytest.approx(b.get(key, 0.0), abs=1e-12), key


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("tree_method,node_method,k", [("traversal", "rrs", 2), ("traversal", "rrs", 3),
                                                      ("traversal_wo", "rrs_wo", 2), ("traversal_wo", "rrs_wo", 3)])
def test_traversal_on_one_level_is_recursive_rejection_sampling(seed, tree_method, node_method, k):
    # On one level pi(root) stays 1 (S / (S + 1 - 1) = 1), each child is kept with min(1, M_b / M_s) and a
    # rejection leaves norm((M_b - M_s)_+): the RRS chain, with M_s renormalised off the rejected token
    # exactly when the siblings were drawn without replacement. Equal given every drafts tuple.
    drafted = random_drafted(Tree.from_levels([k]), tree_method, seed)
    assert_same_law(emitted_law(drafted, tree_method), emitted_law(drafted, node_method))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_traversal_on_a_chain_is_block_verification(seed, depth):
    # Two implementations: Traversal's Alg. 3 (delete the leaf, update M_b, M_s, pi at its parent) and the
    # BV paper's closed form (b_i, R_i, h_i, tau = max{i : eta_i <= h_i}). Equal laws given the drafts.
    drafted = random_drafted(Tree.chain(depth), "block", seed)
    block = emitted_law(drafted, "block")
    assert_same_law(emitted_law(drafted, "traversal"), block)
    assert_same_law(emitted_law(drafted, "traversal_wo"), block)


@pytest.mark.parametrize("seed", range(6))
def test_block_with_one_draft_is_single_draft_sampling(seed):
    drafted = random_drafted(Tree.chain(1), "block", seed)
    assert_same_law(emitted_law(drafted, "block"), emitted_law(drafted, "single"))


@pytest.mark.parametrize("shape", ["fork", "six", "seven"])
def test_topk_is_the_sum_of_the_target_probabilities_of_the_paths(shape):
    # a_j = p(c_j) at every node, so T(root) = sum_v prod_{u on path(v)} p(x_u | parent of u).
    tree = SHAPES[shape]
    drafted = random_drafted(tree, "topk", 3)
    paths = sum(np.prod([drafted.p[tree.parents[u], drafted.tokens[u]] for u in tree.path(v)]) for v in range(tree.n_nodes))
    assert tokens_per_step(tree, "topk", drafted) == pytest.approx(paths, abs=1e-14)
    # Over a pool of i.i.d. nodes the path probabilities factorise into pool means of p at the top of q.
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(6), size=(2, 5))
    pool = NodePool(p, q)
    kept = {k: np.mean([p[i, np.argsort(-q[i], kind="stable")[:k]] for i in range(5)], axis=0) for k in (1, 2, 3)}

    def path_mean(v):
        out = 1.0
        for u in tree.path(v):
            parent = tree.parents[u]
            out *= kept[len(tree.children[parent])][tree.children[parent].index(u)]
        return out

    assert tokens_per_step(tree, "topk", pool) == pytest.approx(sum(path_mean(v) for v in range(tree.n_nodes)), abs=1e-14)


def test_block_verification_papers_toy_case():
    # p = (1/3, 2/3), q = (2/3, 1/3) at every position, two drafts (BV paper, Sun et al. ICLR 2025).
    # Token-wise: each draft kept with alpha = sum min(p, q) = 2/3, so E[accepted] = 2/3 + 4/9 = 10/9.
    # Block: E[accepted] = E[b_1] + E[b_2]. b_1 = min(1, p/q)(x_1) is 1/2 (x_1 = 0, prob 2/3) or 1 (prob 1/3):
    # E[b_1] = 2/3. From b_1 = 1/2: b_2 = 1/4 (x_2 = 0, 2/3) or 1 (1/3), mean 1/2; from b_1 = 1: b_2 = 1/2 or 1,
    # mean 2/3; E[b_2] = (2/3)(1/2) + (1/3)(2/3) = 5/9, so E[accepted] = 11/9: tokens per step 19/9 vs 20/9.
    p, q = np.array([[1 / 3, 2 / 3]]), np.array([[2 / 3, 1 / 3]])
    pool = NodePool(p, q)
    tree = Tree.chain(2)
    assert tokens_per_step(tree, "single", pool) == pytest.approx(19 / 9, abs=1e-14)
    assert tokens_per_step(tree, "block", pool) == pytest.approx(20 / 9, abs=1e-14)  # the law of b
    # The same by the drafted trees' exact values (the h_i chain), averaged over the four drafted chains.
    by_trees = sum(q[0, a] * q[0, b] * tokens_per_step(tree, "block", DraftedTree(tree, [0, a, b], np.repeat(p, 3, 0), np.repeat(q, 3, 0)))
                   for a in range(2) for b in range(2))
    assert by_trees == pytest.approx(20 / 9, abs=1e-14)
    assert tokens_per_step(tree, "traversal", pool) == pytest.approx(20 / 9, abs=1e-14)  # the enumeration


def test_traversal_papers_worked_example():
    # p = (.3, .4, .3), q = (.6, .3, .1) over (a, b, c) at every node; the root's children a, c; a's children
    # b, c; c's child a (Weng et al. 2025). By hand, the chain of (accept, node) Alg. 3 walks (wo siblings):
    #   pi(a) = .3/.6 = 1/2, pi(b) = min(1/2 * .4/.3, 1) = 2/3                     -> (2/3, b under a)
    #   b rejected: (1/2 p - q)_+ = (0, 0, .05), S = .05, pi(a) = .05/(.05 + 1/2) = 1/11, M_b(a) = (0, 0, 1),
    #   M_s(a) = (.6, 0, .1)/.7, pi(c) = min(1/11 * 1/(1/7), 1) = 7/11              -> (7/11, c under a)
    #   c rejected: (1/11 (0, 0, 1) - (6/7, 0, 1/7))_+ = 0, S = 0, pi(a) = 0        -> (0, a)
    #   a rejected at the root: (p - q)_+ = (0, .1, .2), S = .3, pi(root) = 1, M_b = (0, 1/3, 2/3),
    #   M_s = (0, .75, .25), pi(c) = min((2/3)/.25, 1) = 1, pi(a under c) = min(.3/.6, 1) = 1/2 -> (1/2, a under c)
    #   a rejected: S = .3 at c with pi(c) = 1, so pi(c) = 1                         -> (1, c)
    p, q = np.array([0.3, 0.4, 0.3]), np.array([0.6, 0.3, 0.1])
    tree = Tree(((1, 2), (3, 4), (5,), (), (), ()))
    drafted = DraftedTree(tree, [0, 0, 2, 1, 2, 0], np.tile(p, (6, 1)), np.tile(q, (6, 1)))
    steps = [(a, node) for a, node, _ in sequence_steps(drafted, "traversal_wo")]
    expected = [(2 / 3, 3), (7 / 11, 4), (0.0, 1), (0.5, 5), (1.0, 2)]
    assert [n for _, n in steps] == [n for _, n in expected]
    np.testing.assert_allclose([a for a, _ in steps], [a for a, _ in expected], rtol=0, atol=1e-15)
    # After b is rejected the residual at a is (0, 0, .05): its law is c for certain.
    law = {s: pr for s, pr in emitted_law(drafted, "traversal_wo").items() if s[:2] == (0, 2)}
    # Tokens: 3 w.p. 2/3 (a b .), 3 w.p. (1/3)(7/11) (a c .), 3 w.p. (1/3)(4/11)(1/2) (c a .), 2 w.p. 2/33 (c .).
    assert tokens_per_step(tree, "traversal_wo", drafted) == pytest.approx(2 + 31 / 33, abs=1e-14)
    assert sum(law.values()) == pytest.approx(7 / 33, abs=1e-14)


def random_pool(seed, v=3, rows=2):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(v), size=rows)
    q = rng.dirichlet(np.ones(v), size=rows)
    return NodePool(p, q)


@pytest.mark.parametrize("seed", range(8))
def test_sequence_level_beats_token_level_in_expectation(seed):
    # Block Verification is optimal among single-chain verifiers (BV paper, Thm 2): >= i.i.d. chains.
    pool = random_pool(seed, v=5, rows=3)
    for depth in (2, 3):
        assert tokens_per_step(Tree.chain(depth), "block", pool) >= tokens_per_step(Tree.chain(depth), "single", pool) - 1e-12
    # Traversal >= token-level RRS on trees (Weng et al., Thm 4.3), exact by enumeration on small pools.
    small = random_pool(seed, v=3, rows=2)
    for tree in (SHAPES["fork"], Tree.full(2, 3)):
        assert tokens_per_step(tree, "traversal_wo", small) >= tokens_per_step(tree, "rrs_wo", small) - 1e-12
        assert tokens_per_step(tree, "traversal", small) >= tokens_per_step(tree, "rrs", small) - 1e-12
    # and the gain is real somewhere (not a test that cannot fail)
    assert tokens_per_step(Tree.chain(2), "block", pool) > tokens_per_step(Tree.chain(2), "single", pool) + 1e-6


def test_the_law_of_b_equals_the_enumeration_of_drafted_chains():
    # Two routes to block's exact value over a pool: E[1 + sum_l b_l] by the law of b, and the mean of
    # the per-tree h_i chains over every row and draft at every node.
    pool = random_pool(4, v=3, rows=2)
    tree = Tree.chain(3)
    assert tokens_per_step(tree, "block", pool) == pytest.approx(tokens_per_step(tree, "traversal", pool), abs=1e-13)


@pytest.mark.parametrize("method,shape", [("block", "chain3"), ("traversal", "six"), ("traversal_wo", "seven"),
                                          ("topk", "seven"), ("rrs", "fork"), ("spechub", "six"), ("nss", "seven")])
def test_exact_given_the_drafts_is_the_mean_of_simulated_steps(method, shape):
    tree = SHAPES[shape]
    drafted = random_drafted(tree, method, 11, v=4)
    exact = tokens_per_step(tree, method, drafted)
    sim = simulate_tree(tree, method, drafted, n=4000, seed=5)
    assert abs(sim.estimate - exact) < 5 * sim.se


@pytest.mark.parametrize("method", ["traversal_wo", "block"])
def test_one_step_of_the_engine_draws_from_the_exact_emitted_law(method):
    tree = SHAPES["chain3"] if method == "block" else SHAPES["six"]
    drafted = random_drafted(tree, method, 2, v=3)
    law = emitted_law(drafted, method)
    rng = np.random.default_rng(9)
    n = 6000
    counts = {}
    for _ in range(n):
        seq = verify_tree(drafted, method, rng)
        counts[seq] = counts.get(seq, 0) + 1
    assert set(counts) <= set(law)
    stat = sum((counts.get(s, 0) - n * pr) ** 2 / (n * pr) for s, pr in law.items() if pr > 0)
    from scipy.stats import chi2

    assert chi2.sf(stat, df=len(law) - 1) > 1e-4


@pytest.mark.parametrize("method,tree", [("traversal", SHAPES["fork"]), ("block", Tree.chain(3)), ("rrs_wo", SHAPES["seven"]),
                                         ("topk", SHAPES["six"])])
def test_the_per_tree_estimate_is_unbiased(method, tree):
    pool = random_pool(1, v=3, rows=2)
    est = estimate_tokens_per_step(tree, method, pool, n=3000, seed=3)
    exact = tokens_per_step(tree, method, pool)
    assert abs(est.estimate - exact) < 5 * est.se
    sim = simulate_tree(tree, method, pool, n=3000, seed=4)
    assert abs(sim.estimate - exact) < 5 * sim.se
    assert est.se < sim.se  # averaging exact values removes the verifier's noise


def test_enumeration_is_refused_above_its_limit_and_names_the_estimate():
    pool = random_pool(0, v=8, rows=20)
    with pytest.raises(ValueError, match="^source: .* enumerates about .* drafted trees.* estimate_tokens_per_step"):
        tokens_per_step(Tree.full(2, 7), "traversal", pool)
    with pytest.raises(ValueError, match="^source: .* states of b.*max_trees"):
        tokens_per_step(Tree.chain(6), "block", pool)
    assert tokens_per_step(Tree.chain(2), "block", pool, max_trees=10**6) > 1


def test_bad_input_names_the_argument():
    pool = random_pool(0, v=3, rows=2)
    with pytest.raises(ValueError, match="^tree: node 0 has 2 children; 'block' verifies chains"):
        tokens_per_step(Tree.full(2, 3), "block", pool)
    one_token = NodePool(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))
    for view in (tokens_per_step, simulate_tree, estimate_tokens_per_step):
        with pytest.raises(ValueError, match="^tree: a node has 2 children but a row of q .* only 1 tokens of positive mass"):
            view(Tree.full(2, 3), "topk", one_token)
    tree = Tree.chain(1)
    p = q = np.full((2, 2), 0.5)
    with pytest.raises(ValueError, match=r"^tokens: expected shape \(tree.n_nodes,\) = \(2,\)"):
        DraftedTree(tree, [0, 1, 1], p, q)
    with pytest.raises(ValueError, match=r"^p: expected shape \(tree.n_nodes, V\) = \(2, V\)"):
        DraftedTree(tree, [0, 1], np.full((3, 2), 0.5), np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match="^tokens: token 2 is outside the vocabulary of size 2"):
        DraftedTree(tree, [0, 2], p, q)
    with pytest.raises(ValueError, match="^tokens: expected integer token ids"):
        DraftedTree(tree, [0.0, 1.0], p, q)
    with pytest.raises(ValueError, match="^tree: expected a Tree"):
        DraftedTree(((1,), ()), [0, 1], p, q)
    zero = DraftedTree(tree, [0, 1], p, [[1.0, 0.0], [0.5, 0.5]])
    for method in ("rrs", "block", "traversal"):
        with pytest.raises(ValueError, match="^tokens: node 1 holds token 1, of zero draft mass at its parent's context"):
            tokens_per_step(tree, method, zero)
    assert tokens_per_step(tree, "topk", zero) == pytest.approx(1.5, abs=1e-15)  # deterministic children: allowed
    wide = DraftedTree(Tree.full(2, 3), [0, 0, 1], np.full((3, 2), 0.5), [[1.0, 0.0], [0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match=r"^tree: node 0 has 2 children but q at its context has only 1 tokens .*'topk'"):
        tokens_per_step(wide.tree, "topk", wide)
    with pytest.raises(ValueError, match="^tree: node 0 has 2 children; 'block' verifies chains"):
        verify_tree(wide, "block", 0)
    twice = DraftedTree(Tree.full(2, 3), [0, 1, 1], np.full((3, 2), 0.5), np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match="^tokens: the children of node 0 repeat a token; 'wo' siblings"):
        tokens_per_step(twice.tree, "traversal_wo", twice)
    assert tokens_per_step(twice.tree, "traversal", twice) > 1  # i.i.d. siblings may repeat
    with pytest.raises(ValueError, match="^tree: the drafted tree has another shape"):
        tokens_per_step(Tree.chain(2), "rrs", zero)
    with pytest.raises(ValueError, match="^method: unknown method 'bogus'"):
        tokens_per_step(tree, "bogus", pool)


@pytest.mark.parametrize("seed", range(4))
def test_block_chains_over_a_pool_equal_the_brute_force_sum_over_rows_and_drafts(seed):
    # E[tokens] = 1 + E[b_1] + E[b_2], b_1 = min(1, p_i(x1)/q_i(x1)), b_2 = min(1, b_1 p_j(x2)/q_j(x2)), with
    # rows i (depth 0 pool) and j (depth 1 pool) uniform and x ~ q at the row: summed term by term here,
    # against the library's sorted-threshold form F(b) = mean_j sum_x min(q_j(x), b p_j(x)).
    rng = np.random.default_rng(seed)
    weights = rng.integers(0, 4, size=(2, 5, 4)).astype(float)
    weights[..., 0] += 1  # every row has mass
    p = weights / weights.sum(-1, keepdims=True)
    w = rng.integers(0, 4, size=(2, 5, 4)).astype(float)
    w[..., 1] += 1
    q = w / w.sum(-1, keepdims=True)
    for pool, level in ((NodePool(p, q), (0, 1)), (NodePool(p[0], q[0]), (0, 0))):  # per-depth pools, one pool
        a, b = level
        one = two = 0.0
        for i in range(5):
            for x1 in np.flatnonzero(q[a, i]):
                b1 = min(1.0, p[a, i, x1] / q[a, i, x1])
                one += q[a, i, x1] * b1 / 5
                for j in range(5):
                    for x2 in np.flatnonzero(q[b, j]):
                        two += q[a, i, x1] * q[b, j, x2] * min(1.0, b1 * p[b, j, x2] / q[b, j, x2]) / 25
        assert tokens_per_step(Tree.chain(1), "block", pool) == pytest.approx(1 + one, abs=1e-14)
        assert tokens_per_step(Tree.chain(2), "block", pool) == pytest.approx(1 + one + two, abs=1e-14)
    pool = NodePool(p, q)
    # depth 3 propagates the law of b_2 and ends in the same closed form; against drafted-tree enumeration
    assert tokens_per_step(Tree.chain(3), "block", pool) == pytest.approx(
        tokens_per_step(Tree.chain(3), "traversal", pool), abs=1e-13)


def test_block_at_depth_two_needs_no_enumeration_limit():
    # The depth-2 value costs one sort of the pool's thresholds, however many (row, token) pairs there
    # are: 20 rows x 8 tokens x 20 rows x 8 tokens is above max_trees = 100, yet it is computed.
    pool = random_pool(0, v=8, rows=20)
    assert tokens_per_step(Tree.chain(2), "block", pool, max_trees=100) == pytest.approx(
        tokens_per_step(Tree.chain(2), "block", pool, max_trees=10**6), abs=1e-14)
    with pytest.raises(ValueError, match="states of b"):
        tokens_per_step(Tree.chain(3), "block", pool, max_trees=100)


def test_enumerating_a_large_pool_is_refused_before_any_tuple_is_listed():
    # 40 dense rows at V = 3000: 40 * 3000 * 2999 = 3.6e8 draft pairs at the root alone. Listing them
    # would take an array of pairs by V (terabytes); the count comes from the supports first.
    from spechub_theory.synthetic import llm_like_logits, process

    target, draft = llm_like_logits(40, 3000, seed=2)
    pool = NodePool(process(target), process(draft))
    with pytest.raises(ValueError, match=r"enumerates about 3\.6e\+08 drafted trees, more than max_trees"):
        tokens_per_step(Tree.full(2, 3), "traversal_wo", pool)
