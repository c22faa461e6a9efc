"""The ceiling of tree verification (spechub_theory.tree.ceiling) against independent oracles.

Oracles: the node OTM LP (one level), Block Verification's published value computed here by
enumerating chains (chains, BV paper Thm 2), the sum of path probabilities (topk), every library
tree verifier (lower bounds), and the exact law of the extended output computed here from the plan
over drafted trees enumerated here (losslessness). LP values are exact to ~1e-8 (HiGHS, 1e-10
feasibility on scaled masses); the tests allow 1e-7.
"""

import itertools
import math

import numpy as np
import pytest

from spechub_theory import optimal_acceptance_rate
from spechub_theory.testing import ContextModel
from spechub_theory.tree import DraftedTree, NodePool, Tree, sibling_law, tokens_per_step
from spechub_theory.tree.ceiling import LAW_METHODS, LAWS, drafted_paths, gap_table, tree_optimum

TOL = 1e-7
SMALL_TREES = [
    Tree.chain(1), Tree.from_levels([2]), Tree.chain(2), Tree(((1, 2), (3,), (), ())), Tree(((1,), (2, 3), (), ())),
    Tree(((1, 2), (3, 4), (), (), ())), Tree.from_levels([3]),
]


def context_model(v, seed, k=2):
    return ContextModel(v, seed, min_support=min(v, k))


def ordered_trees(tree, law, model):
    """Every ordered drafted tree ``(tokens, Q)`` of ``law`` on ``tree``, by the test's own enumeration."""
    out = [(np.zeros(tree.n_nodes, dtype=np.int64), 1.0)]
    for v, kids in enumerate(tree.children):  # parents come first, so v's context is known
        if not kids:
            continue
        nxt = []
        for tokens, w in out:
            prefix = tuple(int(tokens[u]) for u in tree.path(v))
            tuples, probs = sibling_law(LAWS[law], len(kids)).enumerate(model(prefix)[1], len(kids))
            for drafts, pr in zip(tuples, probs):
                t = tokens.copy()
                t[list(kids)] = drafts
                nxt.append((t, w * pr))
        out = nxt
    return out


def drafted(tree, tokens, model):
    laws = [model(tuple(int(tokens[u]) for u in tree.path(v))) for v in range(tree.n_nodes)]
    return DraftedTree(tree, tokens, [l[0] for l in laws], [l[1] for l in laws])


def pool_model(pool):
    return lambda prefix: pool.row(len(prefix), 0)


def random_pool(v, depths, seed, k=2):
    rng = np.random.default_rng(seed)
    p = rng.integers(0, 5, size=(depths, 1, v)).astype(float)
    q = rng.integers(1, 5, size=(depths, 1, v)).astype(float)
    p[p.sum(-1) == 0] = 1.0
    return NodePool(p / p.sum(-1, keepdims=True), q / q.sum(-1, keepdims=True))


# -- one level: the node OTM optimum -----------------------------------------------------------------


@pytest.mark.parametrize("law,k", [("iid", 1), ("iid", 2), ("iid", 3), ("wo", 2), ("wo", 3), ("hub", 2)])
def test_one_level_is_the_node_otm_optimum(law, k):
    for seed in range(4):
        model = context_model(4, seed, k)
        p, q = model(())
        got = tree_optimum(Tree.from_levels([k]), law, model).tokens_per_step
        assert got == pytest.approx(1 + optimal_acceptance_rate(p, q, law, k, solver="lp"), abs=TOL)


# -- chains: Block Verification's value (its Theorem 2) -------------------------------------------------


def expected_b(model, depth, v):
    """``E_q[b_depth]``, ``b_l = min(1, b_{l-1} p(x_l | x_<l) / q(x_l | x_<l))``, over every chain of ``depth`` drafts."""
    total = 0.0
    for chain in itertools.product(range(v), repeat=depth):
        weight, b = 1.0, 1.0
        for l, x in enumerate(chain):
            p, q = model(chain[:l])
            weight *= q[x]
            b = min(1.0, b * p[x] / q[x]) if q[x] > 0 else 0.0
        total += weight * b
    return total


def block_value_all(model, depth, v):
    """Block Verification's expected tokens per step on a chain of ``depth`` i.i.d. drafts, ``1 + sum_l E_q[b_l]``."""
    return 1.0 + sum(expected_b(model, d, v) for d in range(1, depth + 1))


def test_block_verification_toy_case():
    pool = NodePool(np.array([[[1 / 3, 2 / 3]]] * 3), np.array([[[2 / 3, 1 / 3]]] * 3))
    assert block_value_all(pool_model(pool), 2, 2) == pytest.approx(20 / 9, abs=1e-12)
    assert tree_optimum(Tree.chain(2), "iid", pool).tokens_per_step == pytest.approx(20 / 9, abs=TOL)


@pytest.mark.parametrize("v,depth", [(2, 3), (3, 2), (3, 3)])
def test_chain_ceiling_is_block_verification(v, depth):
    for seed in range(3):
        model = context_model(v, seed, 1)
        want = block_value_all(model, depth, v)
        assert tree_optimum(Tree.chain(depth), "iid", model).tokens_per_step == pytest.approx(want, abs=TOL)
    pool = random_pool(v, depth + 1, seed=v + depth, k=1)
    want = block_value_all(pool_model(pool), depth, v)
    assert want == pytest.approx(tokens_per_step(Tree.chain(depth), "block", pool), abs=1e-12)
    assert tree_optimum(Tree.chain(depth), "iid", pool).tokens_per_step == pytest.approx(want, abs=TOL)


# -- topk: deterministic trees, the sum of path probabilities ------------------------------------------


def test_topk_ceiling_is_the_sum_of_path_probabilities():
    for tree in SMALL_TREES:
        for seed in range(2):
            model = context_model(3, seed, 3)
            ((tokens, w),) = ordered_trees(tree, "topk", model)
            want = sum(math.prod(model(tuple(int(tokens[u]) for u in tree.path(v))[:i])[0][tokens[tree.path(v)[i]]]
                                 for i in range(tree.depths[v])) for v in range(tree.n_nodes))
            assert tree_optimum(tree, "topk", model).tokens_per_step == pytest.approx(want, abs=TOL)


# -- every verifier is below the ceiling ----------------------------------------------------------------


def applicable(tree, law):
    return [m for m in LAW_METHODS[law] if m != "block" or all(len(k) <= 1 for k in tree.children)]


def law_fits(tree, law):
    return law != "hub" or all(len(k) <= 2 for k in tree.children)


@pytest.mark.parametrize("law", ["iid", "wo", "hub"])
def test_every_verifier_is_below_the_ceiling_context_dependent(law):
    for tree, seed, v in itertools.product(SMALL_TREES, range(2), (2, 3)):
        if not law_fits(tree, law) or (law == "wo" and max(map(len, tree.children)) > v):
            continue
        model = context_model(v, 100 * seed + v, max(map(len, tree.children)))
        ceiling = tree_optimum(tree, law, model).tokens_per_step
        drafts = ordered_trees(tree, law, model)
        for method in applicable(tree, law):
            value = sum(w * tokens_per_step(tree, method, drafted(tree, t, model)) for t, w in drafts)
            assert value <= ceiling + TOL, (tree, method, seed, v)


def test_every_verifier_is_below_the_ceiling_on_pools():
    tree = Tree.full(2, 7)
    for law, seed in itertools.product(["iid", "wo", "hub"], range(2)):
        pool = random_pool(3, 3, seed)
        ceiling = tree_optimum(tree, law, pool).tokens_per_step
        for method in applicable(tree, law):
            assert tokens_per_step(tree, method, pool) <= ceiling + TOL


def test_the_gap_on_a_binary_tree_is_strict():
    # Traversal Verification is not the ceiling on trees: the full binary tree of 7 nodes, V = 3
    p, q = np.array([0.2, 0.3, 0.5]), np.array([0.5, 0.3, 0.2])
    pool = NodePool(np.array([[p]] * 3), np.array([[q]] * 3))
    tree = Tree.full(2, 7)
    ceiling = tree_optimum(tree, "iid", pool).tokens_per_step
    assert tokens_per_step(tree, "traversal", pool) < ceiling - 0.1


def test_traversal_falls_short_on_the_smallest_branching_tree():
    # root with two children, the first with one child; V = 2, siblings without replacement, so the
    # first level is always {0, 1}: the bound sum_s min(p(s), P(s is drafted)) is 8/3 by hand
    # (1 + 1/3 + 2/3 + 1/9 + 2/9 + 2/9 + 1/9) and the ceiling attains it; Traversal reaches 23/9
    pool = NodePool(np.array([[[1 / 3, 2 / 3]]] * 3), np.array([[[2 / 3, 1 / 3]]] * 3))
    tree = Tree(((1, 2), (3,), (), ()))
    assert tree_optimum(tree, "wo", pool).tokens_per_step == pytest.approx(8 / 3, abs=TOL)
    assert tokens_per_step(tree, "traversal_wo", pool) == pytest.approx(23 / 9, abs=1e-12)


@pytest.mark.parametrize("law", ["iid", "wo", "hub"])
def test_ceiling_is_below_the_drafted_mass_bound(law):
    # E[n] = sum_s C(s) with C(s) <= p(s) and C(s) <= P(s is a drafted path)
    for tree, seed in itertools.product(SMALL_TREES, range(2)):
        if not law_fits(tree, law) or (law == "wo" and max(map(len, tree.children)) > 3):
            continue
        model = context_model(3, seed + 50, 3)
        drafted_mass = {(): 1.0}
        for tokens, w in ordered_trees(tree, law, model):
            for s in drafted_paths(tree, tokens):
                drafted_mass[s] = drafted_mass.get(s, 0.0) + w
        bound = sum(min(m, math.prod(model(s[:i])[0][s[i]] for i in range(len(s)))) for s, m in drafted_mass.items())
        assert tree_optimum(tree, law, model).tokens_per_step <= bound + TOL


# -- the plan is a lossless verifier with the LP's value ------------------------------------------------


@pytest.mark.parametrize("law", ["iid", "wo", "hub", "topk"])
def test_plan_is_lossless_and_attains_the_value(law):
    for tree, seed in itertools.product([Tree.chain(2), Tree(((1, 2), (3,), (), ())), Tree.from_levels([2])], range(2)):
        v = 3
        model = context_model(v, seed + 7, 2)
        res = tree_optimum(tree, law, model, plan=True)
        plan = res.plan
        depth = tree.depth
        ext = {}
        expected_n = 0.0
        for tokens, w in ordered_trees(tree, law, model):
            paths = drafted_paths(tree, tokens)
            for z, pr in plan.law_given(paths).items():
                assert pr >= -TOL
                assert len(z) == 1 or z[:-1] in paths  # emitted drafts are a path of the tree
                expected_n += w * pr * len(z)
                for rest in itertools.product(range(v), repeat=depth + 1 - len(z)):
                    y, f = z + rest, w * pr
                    for i in range(len(z), depth + 1):
                        f *= model(y[:i])[0][y[i]]
                    ext[y] = ext.get(y, 0.0) + f
        for y in itertools.product(range(v), repeat=depth + 1):
            target = math.prod(model(y[:i])[0][y[i]] for i in range(depth + 1))
            assert ext.get(y, 0.0) == pytest.approx(target, abs=TOL), (law, tree, y)
        assert expected_n == pytest.approx(res.tokens_per_step, abs=TOL)
        assert np.asarray(plan.emission.sum(axis=1)).ravel() == pytest.approx(plan.probabilities, abs=TOL)


# -- bad input -----------------------------------------------------------------------------------------


def test_bad_input_names_the_argument():
    model = context_model(3, 0, 3)
    with pytest.raises(ValueError, match="^law:"):
        tree_optimum(Tree.from_levels([3]), "hub", model)
    with pytest.raises(ValueError, match="^law:"):
        tree_optimum(Tree.chain(1), "greedy", model)
    with pytest.raises(ValueError, match="^tree:"):
        tree_optimum("chain", "iid", model)
    with pytest.raises(ValueError, match="^source:"):
        tree_optimum(Tree.chain(1), "iid", {(): model(())})  # no laws at the drafted prefixes
    with pytest.raises(ValueError, match="^source:"):
        tree_optimum(Tree.chain(1), "iid", NodePool(np.full((2, 3), 1 / 3), np.full((2, 3), 1 / 3)))
    with pytest.raises(ValueError, match="^source:"):
        tree_optimum(Tree.from_levels([3]), "wo", (lambda prefix: (np.full(3, 1 / 3), np.array([0.5, 0.5, 0.0]))))
    with pytest.raises(ValueError, match="^tree:.*max_cost"):
        tree_optimum(Tree.full(2, 15), "iid", ContextModel(5, 0))
    with pytest.raises(ValueError, match="^max_cost:"):
        tree_optimum(Tree.chain(1), "iid", model, max_cost=0)


def test_gap_table_prints_every_verifier():
    text = gap_table([("binary 7, V = 3", Tree.full(2, 7), "iid", random_pool(3, 3, 0))])
    assert "traversal" in text and "rrs" in text and "ceiling" in text


def test_more_bad_input_names_the_argument():
    model = context_model(3, 0, 3)
    with pytest.raises(ValueError, match="^law:.*node 1 of tree has 3"):  # a hub node of three children, below the root
        tree_optimum(Tree(((1,), (2, 3, 4), (), (), ())), "hub", model)

    def shrinking(prefix):  # V = 3 at the root, V = 2 below it
        return model(prefix) if not prefix else (np.full(2, 0.5), np.full(2, 0.5))

    with pytest.raises(ValueError, match=r"^source:.*shape \(2,\)"):
        tree_optimum(Tree.chain(2), "iid", shrinking)

    def missing(prefix):
        if prefix:
            raise KeyError(prefix)
        return model(prefix)

    with pytest.raises(ValueError, match=r"^source: no laws for the prefix"):
        tree_optimum(Tree.chain(2), "iid", missing)
    with pytest.raises(ValueError, match="^source:.*not a pair of distributions"):
        tree_optimum(Tree.chain(1), "iid", lambda prefix: (np.array([1.5, -0.5]), np.array([0.5, 0.5])))
    with pytest.raises(ValueError, match="^source:"):
        tree_optimum(Tree.chain(1), "iid", np.full((2, 3), 1 / 3))


def llm_pool(v, depths, seed):
    from spechub_theory.synthetic import llm_like_logits, process

    target, draft = llm_like_logits(depths, v, seed=seed)
    return NodePool(process(target)[:, None, :], process(draft)[:, None, :])


def drafted_mass_bound(tree, law, model):
    """``sum_s min(p(s), P(s is a drafted path))``, the bound ``E[n] = sum_s C(s)`` gives (module docstring)."""
    mass = {(): 1.0}
    for tokens, w in ordered_trees(tree, law, model):
        for s in drafted_paths(tree, tokens):
            mass[s] = mass.get(s, 0.0) + w
    return sum(min(m, math.prod(model(s[:i])[0][s[i]] for i in range(len(s)))) for s, m in mass.items())


def test_laws_where_the_solver_needed_its_fallbacks():
    # HiGHS's presolve called the first "infeasible" after 95 s (the trivial verifier is feasible);
    # the second, shipped laws restricted to 3 tokens at T = 0.6 (masses down to 1e-12), stopped
    # "unknown" at feasibility tolerance 1e-10 with either method
    from spechub_theory.reproduce.fig8_tree_ceiling import shipped_pools

    tree = Tree.full(2, 7)
    for pool, bound in ((llm_pool(5, 3, 0), False), (shipped_pools(0.6, 2, 3, 6)[0][5], True)):
        res = tree_optimum(tree, "iid", pool)
        assert res.success, res.message
        assert res.value >= max(tokens_per_step(tree, m, pool) for m in ("rrs", "traversal")) - TOL
        if bound:  # 729 ordered trees at V = 3 (15,625 at V = 5: seconds)
            assert res.value <= drafted_mass_bound(tree, "iid", pool_model(pool)) + TOL


def test_a_solution_that_breaks_a_constraint_is_not_returned(monkeypatch):
    from spechub_theory.tree import ceiling

    monkeypatch.setattr(ceiling, "RESIDUAL", -1.0)  # no solution can pass
    res = tree_optimum(Tree.from_levels([2]), "iid", context_model(3, 0))
    assert not res.success and math.isnan(res.value)
    assert res.message.startswith("the LP was not solved") and "residual" in res.message


def test_the_ceiling_bench_times_against_the_node_lp():
    from spechub_theory import bench

    (line,) = bench.run_ceiling(sizes=(2,), repeats=1)
    assert line.name == "tree ceiling, binary 7, iid (V=2)" and line.baseline.startswith("node OTM LP")
    assert line.seconds > 0 and 0 < line.ratio < math.inf and line.met is True
