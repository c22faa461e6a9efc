"""The real tree-verifier summary: per-tree exact values of two logs, paired on the same drafts."""

import numpy as np
import pytest

from spechub_theory.logged import load_logged, write_logged
from spechub_theory.reproduce import real_tree_verifiers as rtv
from spechub_theory.tree.grow import grow_logged_trees

V = 10


def score(root, paths):
    """Laws that depend on the root and the drafted path (seeded by them)."""
    zt, zd = [], []
    for path in paths:
        rng = np.random.default_rng([root, *path, 3])
        z = 2.0 * rng.normal(size=V)
        zt.append(z)
        zd.append(z + rng.normal(size=V))
    return np.array(zt), np.array(zd)


def log(tmp_path, name, laws, branching, depth, roots=5):
    entries, logged = grow_logged_trees(score, roots, laws, (0.6, 1.0), branching, depth, seed=0, max_tail_mass=1e-3)
    n = len(entries["offsets"]) - 1
    entries.update(prompt_ids=entries.pop("root_of"), steps=np.zeros(n), context=np.zeros(0),
                   context_offsets=np.zeros(roots + 1))
    meta = {"vocab_size": V, "tree": {"branching": branching, "depth": depth, "laws": logged}}
    return write_logged(tmp_path / name, meta, entries)


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rtv")
    trees = log(tmp, "trees", ["wo", "top", "eagle"], 2, 4)
    chains = log(tmp, "chains", ["iid"], 1, 5)
    return rtv.summarize(trees, chains, tmp / "summary.csv"), trees


def test_the_summary_pairs_each_sequence_verifier_with_its_counterpart_on_the_same_drafts(summary):
    out, trees = summary
    rows = rtv.load(out)
    for t in (0.6, 1.0):
        # Traversal on one level is RRS without replacement, Block with one draft is single-draft
        # verification: on the same drafts the gap is zero tree by tree.
        gap, se, n = rtv.paired_gap(rows, "full binary", "traversal_wo", "rrs_wo", t, 3)
        assert n == 5 and abs(gap) < 1e-12 and se < 1e-12
        gap, se, n = rtv.paired_gap(rows, "chain", "block", "single", t, 2)
        assert n == 5 and abs(gap) < 1e-12 and se < 1e-12
    # Deterministic top-2 on one level, by hand from the stored root law: 1 + p(c1) + p(c2), c1 and
    # c2 the two most likely tokens of the root's q.
    data = load_logged(trees, temperature=1.0)
    roots = np.asarray(data.arrays["tree_roots"])[(np.asarray(data.arrays["tree_law"]) == 1)
                                                  & (np.asarray(data.arrays["tree_temperature"]) == 1.0)]
    by_hand = sorted(1 + data.p[r][np.argsort(-data.q[r], kind="stable")[:2]].sum() for r in roots)
    ours = sorted(r["tokens_per_step"] for r in rows if r["method"] == "topk" and r["shape"] == "full binary"
                  and r["nodes"] == 3 and r["temperature"] == 1.0)
    np.testing.assert_allclose(ours, by_hand, atol=1e-12)
    assert {r["shape"] for r in rows} == {"full binary", "EAGLE-2 budget", "chain"}
    assert {(r["shape"], r["nodes"]) for r in rows if r["method"] == "block"} == {("chain", d + 1) for d in range(1, 6)}


def test_the_summary_never_replaces_what_is_not_its_own(summary, tmp_path):
    out, trees = summary
    other = tmp_path / "notes.csv"
    other.write_text("mine\n")
    with pytest.raises(ValueError, match="exists"):
        rtv.summarize(trees, trees, other)
    assert other.read_text() == "mine\n"
    with pytest.raises(ValueError, match="is not a real tree-verifier summary"):
        rtv.load(other)
