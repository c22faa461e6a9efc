"""The tree-verifier benchmarks of spechub_theory.bench (issue 14) run, on a small pool."""

import numpy as np

from spechub_theory import bench, tokens_per_step


def test_the_tree_verifier_benchmarks_time_both_lines_against_their_baselines():
    lines = bench.run_tree_verifiers(positions=200, repeats=1)
    assert [line.name for line in lines] == ["traversal_wo 31-node tree (V=49152)", "block chain depth 2 (200 x 49152)"]
    assert [line.target for line in lines] == ["<= 3x", "<= 3x"]
    assert all(line.seconds > 0 and line.ratio > 0 and line.met is not None for line in lines)
    assert lines[0].baseline.startswith("rrs_wo (") and lines[1].baseline.startswith("sort rows (")


def test_the_benchmarks_drafted_tree_is_a_valid_without_replacement_draw_from_shipped_rows():
    drafted = bench.shipped_drafted_tree()
    tree = drafted.tree
    assert tree.n_nodes == 31 and drafted.vocab_size == 49152
    for v, kids in enumerate(tree.children):
        if kids:
            tokens = drafted.tokens[list(kids)]
            assert len(set(tokens.tolist())) == len(kids) and np.all(drafted.q[v, tokens] > 0)
    # both verifiers give a value between 1 and depth + 1 on it
    for method in ("rrs_wo", "traversal_wo"):
        assert 1.0 <= tokens_per_step(tree, method, drafted) <= tree.depth + 1
