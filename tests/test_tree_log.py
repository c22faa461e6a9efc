"""Logged draft trees: exact tokens per step given the logged drafts, against simulation and closed forms."""

import json

import numpy as np
import pytest
import scipy.stats

import spechub_theory as st
from spechub_theory.logged import write_logged
from spechub_theory.tree_log import grow_trees

V = 12
LAWS = ["iid", "wo", "hub"]


def context_scorer(same: bool = False, fixed: bool = False):
    """Laws that depend on the root and the drafted path (seeded by them); ``same``: q = p;
    ``fixed``: one (p, q) pair everywhere."""
    def score(root, paths):
        zt, zd = [], []
        for path in paths:
            rng = np.random.default_rng([0] if fixed else [root, *path, 7])
            z = 2.0 * rng.normal(size=V)
            zt.append(z)
            zd.append(z if same else z + rng.normal(size=V))
        return np.array(zt), np.array(zd)
    return score


def logged_trees(tmp_path, score, roots=30, depth=3, temperatures=(1.0, 0.5), laws=LAWS, name="trees"):
    entries = grow_trees(score, roots, laws, temperatures, 2, depth, seed=0, max_tail_mass=1e-3)
    n = len(entries["offsets"]) - 1
    entries.update(prompt_ids=entries.pop("root_of"), steps=np.zeros(n), context=np.zeros(0),
                   context_offsets=np.zeros(roots + 1))
    meta = {"vocab_size": V, "tree": {"branching": 2, "depth": depth, "laws": list(laws)}}
    return write_logged(tmp_path / name, meta, entries)


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    return logged_trees(tmp_path_factory.mktemp("trees"), context_scorer())


@pytest.mark.parametrize("temperature", [1.0, 0.5])
@pytest.mark.parametrize("method", ["rrs", "rrs_wo", "spechub", "kseq"])
def test_exact_given_the_log_agrees_with_simulating_the_verifier_on_it(path, method, temperature):
    source = st.LoggedTrees(st.load_logged(path, temperature=temperature))
    for nodes in (3, 15):
        tree = st.Tree.full(2, nodes)
        exact = st.tokens_per_step(tree, method, source)
        sim = st.simulate_tree(tree, method, source, n=3000, seed=nodes)
        assert abs(sim.estimate - exact) < 5 * sim.se, (nodes, exact, sim.estimate)


def test_a_draft_equal_to_the_target_fills_every_level(tmp_path):
    # q = p at every node: the first draft is always kept, so a 15-node binary tree (3 levels of
    # drafts) emits its 3 drafted tokens plus a bonus token in every step.
    source = st.LoggedTrees(st.load_logged(logged_trees(tmp_path, context_scorer(same=True), roots=4)))
    for method in ("rrs", "rrs_wo", "spechub"):
        assert np.allclose(source.per_tree(st.Tree.full(2, 15), method), 4.0, atol=1e-12)


def test_one_level_trees_average_to_one_plus_the_acceptance_rate(tmp_path):
    # Every root has the same (p, q), so the logged one-level trees are independent draws of the
    # drafts, and their exact values average to 1 + acceptance_rate (the closed form) up to sampling.
    source = st.LoggedTrees(st.load_logged(logged_trees(tmp_path, context_scorer(fixed=True), roots=400, depth=1,
                                                        temperatures=(1.0,))))
    data = source.data
    p, q = data.p[0], data.q[0]
    for method in ("rrs", "rrs_wo", "spechub"):
        values = source.per_tree(st.Tree.full(2, 3), method)
        closed = 1.0 + st.acceptance_rate(p, q, method, 2)
        assert abs(values.mean() - closed) < 5 * values.std(ddof=1) / np.sqrt(values.size) + 1e-12


def test_shapes_and_temperatures_the_log_cannot_serve_are_refused(path, tmp_path):
    source = st.LoggedTrees(st.load_logged(path))
    with pytest.raises(ValueError, match="tree: node 0 has 3 children"):
        st.tokens_per_step(st.Tree.full(3, 4), "rrs", source)
    with pytest.raises(ValueError, match="tree: deeper than the logged trees"):
        st.tokens_per_step(st.Tree.full(2, 31), "rrs", source)
    with pytest.raises(ValueError, match="temperature: the trees in .* were drafted at T in \\[0.5, 1.0\\]"):
        st.LoggedTrees(st.load_logged(path, temperature=0.7))
    with pytest.raises(ValueError, match="holds no draft trees"):
        st.LoggedTrees(st.load_logged())
    only_iid = st.LoggedTrees(st.load_logged(logged_trees(tmp_path, context_scorer(), roots=2, laws=["iid"], name="iid")))
    with pytest.raises(ValueError, match="method: 'spechub' verifies 'hub' drafts"):
        st.tokens_per_step(st.Tree.full(2, 3), "spechub", only_iid)


def test_corrupt_tree_arrays_are_named(path, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(path, bad)
    np.save(bad / "tree_children.npy", np.zeros((3, 2), dtype=np.int32))
    with pytest.raises(ValueError, match="tree_children.npy has shape"):
        st.load_logged(bad)
    meta = json.loads((bad / "meta.json").read_text())
    np.save(bad / "tree_children.npy", np.full((meta["n_positions"], 2), meta["n_positions"], dtype=np.int32))
    with pytest.raises(ValueError, match="tree_children.npy holds entries outside"):
        st.load_logged(bad)


def test_the_tree_command_reads_a_tree_log(path):
    from spechub_theory.cli import tree_table

    table = tree_table(["rrs", "spechub"], [3, 15], [1.0], str(path), 0, 0, 0)
    source = st.LoggedTrees(st.load_logged(path))
    assert "logged draft trees" in table
    row = next(line for line in table.splitlines() if line.split()[:2] == ["1.0", "spechub"])
    cells = row.split()[2:]  # "mean +/- se" for 3 and 15 nodes
    for (mean, _, se), nodes in zip((cells[:3], cells[3:]), (3, 15)):
        tree = st.Tree.full(2, nodes)
        values = source.per_tree(tree, "spechub")
        # the printed mean is the exact expectation over the logged trees, printed to 4 decimals
        assert abs(float(mean) - st.tokens_per_step(tree, "spechub", source)) <= 5e-5
        assert abs(float(se) - scipy.stats.sem(values)) <= 5e-4  # SciPy's standard error of the mean


def test_the_real_trees_summary_keeps_every_trees_averaged_value(path, tmp_path):
    from spechub_theory.reproduce import real_trees

    out = real_trees.summarize(path, tmp_path / "summary.csv", temperatures=(1.0, 0.5))
    rows = real_trees.load(out)
    means = {(m["temperature"], m["method"], m["nodes"]): m for m in real_trees.means(rows)}
    assert sorted({key[2] for key in means}) == [3, 7, 15]  # the log is 3 levels deep
    for temperature in (1.0, 0.5):
        source = st.LoggedTrees(st.load_logged(path, temperature=temperature))
        data = source.data
        for nodes in (3, 7, 15):
            tree = st.Tree.full(2, nodes)
            for method in ("rrs", "rrs_wo", "spechub"):
                m = means[(temperature, method, nodes)]
                assert m["trees"] == 30 and m["roots"] == 30
                exact = source.per_tree(tree, method)  # given every draft, no averaging
                spread = exact.std(ddof=1) / np.sqrt(exact.size)
                assert abs(m["tokens_per_step"] - exact.mean()) < 5 * spread  # an average keeps the mean
                if nodes == 3:  # one level: the average is the closed form at the root, tree by tree
                    closed = np.mean([1.0 + st.acceptance_rate(data.p[r], data.q[r], method, 2)
                                      for r in source._roots(tree, method)])
                    assert m["tokens_per_step"] == pytest.approx(closed, abs=1e-10)
            # Trees of every law are grown root by root, so the i-th tree of each law shares its context;
            # one tree per root, so the paired standard error is the plain one of the differences.
            diff = (source.per_tree(tree, "spechub", average_last_level=True)
                    - source.per_tree(tree, "rrs", average_last_level=True))
            key = dict(temperature=temperature, nodes=nodes)
            gap, se, roots = real_trees.keyed_gap(rows, dict(key, method="spechub"), dict(key, method="rrs"), adjust=False)
            assert (gap, se, roots) == (pytest.approx(diff.mean(), abs=1e-10), pytest.approx(scipy.stats.sem(diff), abs=1e-10), 30)
            # adjusted by the control variates (the default): the same expectation, so within a few
            # standard errors of the plain mean
            adjusted, adjusted_se = real_trees.paired_gap(rows, "spechub", "rrs", temperature, nodes)
            assert abs(adjusted - gap) < 4 * se + 1e-12
    assert json.loads(out.with_suffix(".json").read_text())["provenance"]["command"].endswith(str(path))
    with pytest.raises(ValueError, match="exists; pass overwrite=True"):
        real_trees.summarize(path, out)


def test_root_means_weigh_roots_not_trees():
    # Two roots: root 0 with trees 1.0 and 3.0 (mean 2), root 1 with one tree 5.0. The mean over
    # roots is (2 + 5) / 2 = 3.5 (not (1 + 3 + 5) / 3 = 3), its standard error |5 - 2| / 2 = 1.5.
    from spechub_theory.reproduce import real_trees

    assert real_trees.root_mean({(0, 0): 1.0, (0, 1): 3.0, (1, 0): 5.0}) == pytest.approx((3.5, 1.5, 2))
    with pytest.raises(ValueError, match="a standard error needs two"):
        real_trees.root_mean({(0, 0): 1.0, (0, 1): 2.0})


def test_a_corrupt_real_trees_summary_is_named(tmp_path):
    from spechub_theory.reproduce import real_trees

    bad = tmp_path / "bad.csv"
    bad.write_text("temperature,method,nodes\n0.6,rrs,3\n")
    with pytest.raises(ValueError, match="bad.csv is not a real-trees summary"):
        real_trees.load(bad)
    bad.write_text("temperature,method,nodes,root,tree,tokens_per_step,controls\n0.6,rrs,3,0,0,2.5,\n")  # 3 nodes emit at most 2
    with pytest.raises(ValueError, match="outside"):
        real_trees.load(bad)
    shipped = real_trees.load()  # the shipped summary: 480 contexts x 2 trees per temperature, method and size
    assert len(shipped) == 2 * 3 * 4 * 480 * 2


# --- deterministic trees: full top-k trees and EAGLE-2 expansion trees (spechub_theory.tree.grow) ---

def mixed_log(tmp_path, roots=6, depth=3, branching=2, laws=("iid", "top", "eagle"), temperatures=(1.0, 0.5)):
    from spechub_theory.tree.grow import grow_logged_trees

    entries, logged = grow_logged_trees(context_scorer(), roots, laws, temperatures, branching, depth, seed=0,
                                        max_tail_mass=1e-3)
    n = len(entries["offsets"]) - 1
    entries.update(prompt_ids=entries.pop("root_of"), steps=np.zeros(n), context=np.zeros(0),
                   context_offsets=np.zeros(roots + 1))
    meta = {"vocab_size": V, "tree": {"branching": branching, "depth": depth, "laws": logged}}
    return write_logged(tmp_path / "mixed", meta, entries)


def _expanded(data, root):
    """Every drafted node of the logged tree at ``root``, walked from the log by hand:
    (parent index, token, path draft probability, target path probability, logged position)."""
    nodes = [(-1, None, 1.0, 1.0, int(root))]
    children = np.asarray(data.arrays["tree_children"])
    drafts = np.asarray(data.arrays["tree_drafts"])
    u = 0
    while u < len(nodes):
        pos = nodes[u][4]
        if pos >= 0:
            p, q = data.p[pos], data.q[pos]
            for x, c in zip(drafts[pos], children[pos]):
                nodes.append((u, int(x), nodes[u][2] * q[x], nodes[u][3] * p[x], int(c)))
        u += 1
    return nodes


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    return mixed_log(tmp_path_factory.mktemp("mixed"))


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_logged_top_k_trees_hold_the_most_likely_tokens_and_topk_sums_their_target_path_mass(mixed, temperature):
    data = st.load_logged(mixed, temperature=temperature)
    source = st.LoggedTrees(data)
    tree = st.Tree.full(2, 15)
    values = source.per_tree(tree, "topk")
    roots = source.roots["top"]
    assert values.size == roots.size == 6
    for root, value in zip(roots, values):
        nodes = _expanded(data, root)
        assert len(nodes) == 15  # full: 1 + 2 + 4 + 8, the last level's children not expanded
        for u, (_, _, _, _, pos) in enumerate(nodes):
            if pos >= 0:  # the children are the top 2 of the stored q, in order
                kids = [n[1] for n in nodes if n[0] == u]
                assert kids == np.argsort(-data.q[pos], kind="stable")[:2].tolist()
        # topk keeps every node with the target probability of its path (the closed form)
        assert value == pytest.approx(sum(n[3] for n in nodes), abs=1e-12)
    sim = st.simulate_tree(tree, "topk", source, n=4000, seed=1)
    assert abs(sim.estimate - values.mean()) < 5 * sim.se


@pytest.mark.parametrize("budget", [1, 3, 6])
def test_logged_eagle_trees_expand_the_best_paths_and_rerank_to_the_budget(mixed, budget):
    data = st.load_logged(mixed)
    source = st.LoggedTrees(data)
    views = source.dynamic(budget)
    values = source.per_tree_dynamic(budget)
    assert len(views) == 6
    for root, view, value in zip(source.roots["eagle"], views, values):
        nodes = _expanded(data, root)
        # expansion: the root, then at each of the 2 further levels the 2 drafted nodes of highest
        # path draft probability (EAGLE-2's frontier), each with its top-2 tokens: 2 + 2 x 2 x 2 drafted
        assert len(nodes) == 1 + 2 + 4 + 4
        for depth_nodes in ([1, 2], [3, 4, 5, 6]):
            expanded = [u for u in depth_nodes if nodes[u][4] >= 0]
            best = sorted(depth_nodes, key=lambda u: (-nodes[u][2], u))[:2]
            assert sorted(expanded) == sorted(best)
        # rerank: the budget drafted nodes of highest path draft probability
        kept = sorted(range(1, len(nodes)), key=lambda u: (-nodes[u][2], u))[:budget]
        assert view.tree.n_nodes == budget + 1
        paths = set()
        for u in kept:
            path, w = [], u
            while w > 0:
                path.append(nodes[w][1])
                w = nodes[w][0]
            paths.add(tuple(reversed(path)))
        assert {view.path_tokens(v) for v in range(1, view.tree.n_nodes)} == paths
        assert value == pytest.approx(1 + sum(nodes[u][3] for u in kept), abs=1e-12)


def test_deterministic_trees_sit_beside_the_sampled_ones(mixed):
    source = st.LoggedTrees(st.load_logged(mixed))
    assert source.laws == ["iid", "top", "eagle"]
    tree = st.Tree.full(2, 7)
    rrs = st.tokens_per_step(tree, "rrs", source)  # the sampled trees are read as before
    assert rrs == pytest.approx(source.per_tree(tree, "rrs").mean(), abs=1e-12) and source.roots["iid"].size == 6
    # a log without top-k or EAGLE-2 trees says how to get them
    only = st.LoggedTrees(st.load_logged(logged_trees_path_iid(mixed)))
    with pytest.raises(ValueError, match="collect-trees --laws top"):
        st.tokens_per_step(tree, "topk", only)
    with pytest.raises(ValueError, match="collect-trees --laws eagle"):
        only.dynamic(3)
    with pytest.raises(ValueError, match="^budget:"):
        source.dynamic(0)
    from spechub_theory.tree.verifiers import expected_tokens

    with pytest.raises(ValueError, match="^method: a reranked EAGLE-2 tree is verified with 'topk'"):
        expected_tokens(source.dynamic(3)[0], "rrs")


def logged_trees_path_iid(mixed):
    return logged_trees(mixed.parent, context_scorer(), roots=2, laws=["iid"], name="only_iid")


@pytest.mark.parametrize("kwargs,message", [
    ({"laws": ("top", "beam")}, "^laws: unknown"),
    ({"laws": ()}, "^laws: need at least one"),
    ({"laws": ("eagle",), "branching": 17}, "^branching: deterministic trees draft 17 distinct tokens"),
])
def test_bad_deterministic_tree_requests_are_refused(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        mixed_log(tmp_path, **kwargs)


def test_replicates_share_common_random_numbers_across_laws(tmp_path):
    roots, reps = 6, 3
    entries = grow_trees(context_scorer(), roots, LAWS, (1.0, 0.5), 2, 2, seed=3, max_tail_mass=1e-3, trees_per_root=reps)
    assert len(entries["tree_roots"]) == roots * reps * len(LAWS) * 2
    n = len(entries["offsets"]) - 1
    entries.update(prompt_ids=entries.pop("root_of"), steps=np.zeros(n), context=np.zeros(0),
                   context_offsets=np.zeros(roots + 1))
    meta = {"vocab_size": V, "tree": {"branching": 2, "depth": 2, "laws": LAWS, "trees_per_root": reps}}
    source = st.LoggedTrees(st.load_logged(write_logged(tmp_path / "reps", meta, entries), temperature=1.0))
    tree = st.Tree.full(2, 3)
    first = {}
    for method in ("rrs", "rrs_wo", "spechub"):
        assert source.contexts(tree, method).tolist() == [c for c in range(roots) for _ in range(reps)]
        assert source.replicates(tree, method).tolist() == list(range(reps)) * roots
        first[method] = source.drafts[source._roots(tree, method), 0]
    # every law draws its first child by inverse CDF of the same uniform of the node's stream
    assert np.array_equal(first["rrs"], first["rrs_wo"]) and np.array_equal(first["rrs"], first["spechub"])
    assert len(set(first["rrs"].tolist())) > 1  # replicates and roots do not repeat one draw


def test_equal_iid_siblings_grow_independent_subtrees(tmp_path):
    # Fixed laws everywhere: at a root whose two i.i.d. children are the same token x, the two
    # children's own draft pairs are independent draws of q x q, so they are equal with probability
    # sum over pairs (q_a q_b)^2 = (sum q^2)^2, not 1 (which a stream keyed by the token alone would give).
    roots = 600
    entries = grow_trees(context_scorer(fixed=True), roots, ["iid"], (1.0,), 2, 2, seed=5, max_tail_mass=1e-3)
    drafts, children, tree_roots = entries["tree_drafts"], entries["tree_children"], entries["tree_roots"]
    n = len(entries["offsets"]) - 1
    entries.update(prompt_ids=entries.pop("root_of"), steps=np.zeros(n), context=np.zeros(0),
                   context_offsets=np.zeros(roots + 1))
    meta = {"vocab_size": V, "tree": {"branching": 2, "depth": 2, "laws": ["iid"]}}
    q = st.load_logged(write_logged(tmp_path / "iid", meta, entries)).q[0]
    same = [np.array_equal(drafts[children[r, 0]], drafts[children[r, 1]])
            for r in tree_roots if drafts[r, 0] == drafts[r, 1]]
    expected = float((q**2).sum() ** 2)
    assert len(same) > 30
    assert abs(np.mean(same) - expected) < 5 * np.sqrt(expected * (1 - expected) / len(same)) + 1e-9


def test_averaging_one_level_trees_gives_the_closed_form_exactly(tmp_path):
    # With one level of drafts the whole tree is the last level, so the averaged value of every
    # tree is 1 + acceptance_rate(p, q) at its root, whatever was drafted.
    source = st.LoggedTrees(st.load_logged(logged_trees(tmp_path, context_scorer(), roots=5, depth=1,
                                                        temperatures=(1.0,))))
    data, tree = source.data, st.Tree.full(2, 3)
    for method in ("rrs", "rrs_wo", "spechub", "kseq"):
        roots = source._roots(tree, method)
        closed = [1.0 + st.acceptance_rate(data.p[r], data.q[r], method, 2) for r in roots]
        assert np.allclose(source.per_tree(tree, method, average_last_level=True), closed, atol=1e-12, rtol=0)


def test_averaged_logged_trees_keep_the_mean(path):
    # the average over the last level is a conditional expectation: same mean over the log's trees
    for method in ("rrs", "spechub"):
        source = st.LoggedTrees(st.load_logged(path, temperature=1.0))
        tree = st.Tree.full(2, 15)
        exact, averaged = source.per_tree(tree, method), source.per_tree(tree, method, average_last_level=True)
        diff = exact - averaged
        assert abs(diff.mean()) < 5 * diff.std(ddof=1) / np.sqrt(diff.size)
        assert diff.std() > 1e-3  # the averaging did change the values


def _replicated_log(tmp_path, score, roots, depth, reps, name):
    entries = grow_trees(score, roots, LAWS, (1.0,), 2, depth, seed=9, max_tail_mass=1e-3, trees_per_root=reps)
    n = len(entries["offsets"]) - 1
    entries.update(prompt_ids=entries.pop("root_of"), steps=np.zeros(n), context=np.zeros(0),
                   context_offsets=np.zeros(roots + 1))
    meta = {"vocab_size": V, "tree": {"branching": 2, "depth": depth, "laws": LAWS, "trees_per_root": reps}}
    return st.LoggedTrees(st.load_logged(write_logged(tmp_path / name, meta, entries)))


def test_levers_report_the_standard_error_of_each_pairing(tmp_path):
    from spechub_theory.reproduce.real_trees import levers

    source = _replicated_log(tmp_path, context_scorer(), 12, 2, 2, "reps")
    tree = st.Tree.full(2, 7)
    a, b = source.per_tree(tree, "spechub"), source.per_tree(tree, "rrs")
    reps = source.replicates(tree, "rrs")
    got = levers(source, tree, "spechub", "rrs")
    assert got["roots"] == 12 and got["trees_per_root"] == 2
    assert got["common"] == pytest.approx(scipy.stats.sem(a[reps == 0] - b[reps == 0]), abs=1e-12)
    assert got["independent"] == pytest.approx(scipy.stats.sem(a[reps == 0] - b[reps == 1]), abs=1e-12)
    # one law's trees verified two ways: there is nothing to decouple
    same = levers(source, tree, "rrs", "kseq")
    assert same["independent"] == same["common"]


def test_averaging_one_level_trees_leaves_no_spread(tmp_path):
    # Fixed laws and one level of drafts: every averaged value is 1 + alpha at the same root law,
    # so the averaged gap has no spread at all, while the gap given the drafts does.
    from spechub_theory.reproduce.real_trees import levers

    source = _replicated_log(tmp_path, context_scorer(fixed=True), 20, 1, 2, "fixed")
    got = levers(source, st.Tree.full(2, 3), "spechub", "rrs")
    assert got["common"] > 0.01
    assert got["averaged"] == pytest.approx(0.0, abs=1e-12) and got["replicates"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("law,k", [("iid", 2), ("wo", 2), ("wo", 3), ("hub", 2), ("greedy", 2), ("greedy", 3)])
def test_coupled_drafts_follow_each_law(law, k):
    # The tuples read off one i.i.d. sequence, against the law's own enumeration (chi-square); a
    # peaked q makes the skips of wo, hub and greedy frequent.
    from spechub_theory.drafts import DRAFT_LAWS
    from spechub_theory.tree_log import coupled_drafts

    q = np.array([0.55, 0.2, 0.15, 0.0, 0.07, 0.03])
    tuples, probs = DRAFT_LAWS[law].enumerate(q, k)
    index = {tuple(t): i for i, t in enumerate(tuples.tolist())}
    n = 20_000
    counts = np.zeros(len(tuples))
    for i in range(n):
        counts[index[tuple(coupled_drafts(law, q, k, np.random.default_rng([11, i])).tolist())]] += 1
    assert scipy.stats.chisquare(counts, n * probs).pvalue > 1e-4


def test_coupled_drafts_share_their_draws_across_laws():
    from spechub_theory.tree_log import coupled_drafts

    q = np.array([0.4, 0.3, 0.2, 0.1])
    agree_second = 0
    for i in range(2000):
        draws = {law: coupled_drafts(law, q, 2, np.random.default_rng([5, i])) for law in ("iid", "wo", "hub")}
        assert draws["iid"][0] == draws["wo"][0] == draws["hub"][0]
        if draws["iid"][1] != draws["iid"][0]:
            assert draws["wo"][1] == draws["iid"][1]  # wo skips only a repeat
            agree_second += 1
    # the second i.i.d. draw repeats the first with probability sum q^2 = 0.3
    assert abs(agree_second / 2000 - 0.7) < 5 * np.sqrt(0.21 / 2000)


def test_cross_fitted_adjustment_removes_what_the_controls_explain():
    # y = 2 + 3 z exactly, with z of mean zero: each fold's least squares recovers beta = 3 from the
    # other fold, so every adjusted value is 2; with a control that is always 0, nothing changes.
    from spechub_theory.reproduce import real_trees

    z = {(root, 0): np.array([(-1.0) ** root * (1 + root % 3)]) for root in range(12)}
    y = {key: 2.0 + 3.0 * float(v[0]) for key, v in z.items()}
    assert all(v == pytest.approx(2.0, abs=1e-12) for v in real_trees.adjusted(y, z).values())
    assert real_trees.adjusted(y, {key: np.zeros(1) for key in y}) == y


def test_control_variates_shrink_the_paired_gap_on_logged_trees(tmp_path):
    from spechub_theory.reproduce.real_trees import levers

    source = _replicated_log(tmp_path, context_scorer(), 40, 3, 2, "cv")
    got = levers(source, st.Tree.full(2, 15), "spechub", "rrs")
    assert got["controls"] < got["replicates"]
