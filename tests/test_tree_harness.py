"""The tree-verifier harness (spechub_theory.testing.check_tree_verifier): it fails the lossy block
rule and a verifier that reads the wrong node's laws, passes Block and Traversal Verification as a
user writes them, and its command line and README examples run."""

import argparse
import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from spechub_theory import DraftedTree, Tree, emitted_law, verify_tree
from spechub_theory.testing import (ContextModel, FixedLaws, TreeVerifierCheck, add_check_parser, check_tree_verifier,
                                    default_tree_cases, run_check)
from spechub_theory.testing import examples
from spechub_theory.testing.command import parse_tree
from spechub_theory.testing.tree_harness import _Contexts, _target_law

TOY_P = np.array([1 / 3, 2 / 3])
TOY_Q = np.array([2 / 3, 1 / 3])


def toy_two_token_law(capped: bool) -> dict:
    """The law of the first two tokens Block Verification emits on the toy case, chain of two drafts.

    Written out for g = 2 from the paper's Alg. 2 (independently of the examples): for each drafted
    pair (x1, x2) of weight q(x1) q(x2), b1 = p(x1)/q(x1), b2 = b1 p(x2)/q(x2) (capped at 1 unless
    ``capped`` is False); step 2 accepts both with probability min(1, b2); step 1 accepts x1 with
    h1 = R1 / (R1 + 1 - b1), R1 = sum (b1 p - q)_+, and emits from norm((b1 p - q)_+); step 0 emits from
    norm((p - q)_+) = (0, 1). A one-token emission is extended by p.
    """
    out = {}
    for x1, x2 in itertools.product(range(2), repeat=2):
        weight = TOY_Q[x1] * TOY_Q[x2]
        b1 = TOY_P[x1] / TOY_Q[x1]
        b1 = min(1.0, b1) if capped else b1
        b2 = b1 * TOY_P[x2] / TOY_Q[x2]
        b2 = min(1.0, b2) if capped else b2
        h2 = min(1.0, b2)
        rest = np.maximum(b1 * TOY_P - TOY_Q, 0.0)
        den = rest.sum() + 1 - b1
        h1 = 1.0 if den <= 0 else min(1.0, rest.sum() / den)
        r1 = rest / rest.sum() if rest.sum() > 0 else TOY_P
        r0 = np.array([0.0, 1.0])
        out[(x1, x2)] = out.get((x1, x2), 0.0) + weight * h2
        for y in range(2):
            out[(x1, y)] = out.get((x1, y), 0.0) + weight * (1 - h2) * h1 * r1[y]
            for z in range(2):
                out[(y, z)] = out.get((y, z), 0.0) + weight * (1 - h2) * (1 - h1) * r0[y] * TOY_P[z]
    return out


def test_the_toy_case_oracle_gives_the_published_total_variation_of_the_uncapped_ratio():
    # The target's two-token law on the toy case is p x p; the capped rule reproduces it and the
    # uncapped one is 1/9 from it in total variation (the figure the issue quotes for this case).
    # By hand: p/q is 1/2 at token 0 and 2 at token 1. The drafted pairs (0, 0), (0, 1), (1, 1) get
    # the same b's, capped or not, once b2 is capped at acceptance (b2 = 1/4, 1, >= 1). The pair (1, 0)
    # (weight 2/9) has b1 = 2, b2 = 1 uncapped but b1 = 1, b2 = 1/2 capped: capped, half the time both
    # drafts are accepted, else step 1 accepts x1 (h1 = R1 / R1 = 1) and emits from norm((p - q)_+) =
    # (0, 1), giving (1, 1); uncapped, (1, 0) always. So 1/9 moves from (1, 1) to (1, 0): TV = 1/9.
    target = {s: TOY_P[s[0]] * TOY_P[s[1]] for s in itertools.product(range(2), repeat=2)}
    for capped, tv in ((True, 0.0), (False, 1 / 9)):
        law = toy_two_token_law(capped)
        assert sum(law.values()) == pytest.approx(1.0, abs=1e-12)
        assert 0.5 * sum(abs(law[s] - target[s]) for s in target) == pytest.approx(tv, abs=1e-12)


def test_the_harness_fails_the_uncapped_block_rule_on_the_toy_case_at_the_default_n():
    result = check_tree_verifier(examples.block_uncapped, Tree.chain(2), "iid")
    assert not result.passed
    assert result.worst.case.name.startswith("toy")
    # the measured total variation is the exact 1/9 within sampling noise (about sqrt(4 / n) = 0.014)
    assert abs(result.worst.tv - 1 / 9) < 0.02
    law = toy_two_token_law(False)
    emitted = result.worst.counts / result.worst.n  # index 2 y1 + y2
    assert np.allclose(emitted, [law[(0, 0)], law[(0, 1)], law[(1, 0)], law[(1, 1)]], atol=0.015)
    assert "worst failing case: 'toy" in result.summary()


@pytest.mark.parametrize("name,tree", [("block", Tree.chain(3)), ("traversal", Tree.full(2, 7)),
                                       ("traversal_wo", Tree(((1, 2, 3), (4, 5), (6,), (), (), (), ())))],
                         ids=["block-chain3", "traversal-full7", "traversal_wo-unbalanced"])
def test_the_harness_passes_block_and_traversal_verification_at_the_default_n(name, tree):
    verify, law, lossless, _ = examples.TREE_EXAMPLES[name]
    result = check_tree_verifier(verify, tree, law)
    assert lossless and result.passed, result.summary()
    assert isinstance(result, TreeVerifierCheck) and len(result.cases) == len(default_tree_cases(tree, law))
    assert all(0 <= c.adjusted <= 1 and c.adjusted >= c.pvalue for c in result.cases)


def test_the_user_style_examples_emit_the_librarys_exact_sequence_law():
    # An oracle independent of the examples: the library's exact emitted law on one drafted tree
    # (the tree verifiers of spechub_theory.tree, tested by enumeration in test_tree_verifiers).
    model = ContextModel(3, seed=5, min_support=2)
    tree = Tree(((1, 2), (3,), (), ()))
    tokens = np.array([0, 2, 0, 1])
    prefixes = [(), (2,), (0,), (2, 1)]
    p, q = map(np.array, zip(*(model(s) for s in prefixes)))
    for name, law_name in (("traversal", "iid"), ("traversal_wo", "wo")):
        exact = emitted_law(DraftedTree(tree, tokens, p, q), name)
        rng = np.random.default_rng(0)
        n = 20_000
        seen = {}
        for _ in range(n):
            seq = tuple(examples.TREE_EXAMPLES[name][0](tree, tokens, p, q, rng))
            seen[seq] = seen.get(seq, 0) + 1
        assert set(seen) <= set(exact)
        for seq, prob in exact.items():
            assert abs(seen.get(seq, 0) / n - prob) < 5 * np.sqrt(prob * (1 - prob) / n) + 1e-9, (name, seq)


def _root_laws_everywhere(tree, tokens, p, q, rng):
    """Traversal Verification that reads the root's laws at every node: the wrong node's law."""
    n = tree.n_nodes
    with np.errstate(divide="ignore", invalid="ignore"):  # a child's token may have no mass in the root's q
        return examples.traversal(tree, tokens, np.repeat(p[:1], n, 0), np.repeat(q[:1], n, 0), rng)


def test_a_verifier_reading_the_wrong_nodes_laws_is_caught():
    result = check_tree_verifier(_root_laws_everywhere, Tree.full(2, 7), "iid", n=10_000)
    assert not result.passed
    # context-free models cannot tell (every node has the root's laws); the context-dependent ones do
    assert all(c.passed for c in result.cases if isinstance(c.case.model, FixedLaws))
    assert not result.worst.passed and not isinstance(result.worst.case.model, FixedLaws)


def test_the_librarys_own_tree_verifiers_pass_as_user_code():
    def library(tree, tokens, p, q, rng):
        return list(verify_tree(DraftedTree(tree, tokens, p, q), "traversal_wo", rng))

    assert check_tree_verifier(library, Tree.full(2, 7), "wo", n=1_500).passed


def test_top_k_siblings_and_one_token_laws():
    # "top" siblings are deterministic; the target-only top-k rule (keep c_j with p(c_j)/(1 - sum_{i<j} p(c_i)),
    # residual p off the children) is lossless on them.
    def topk(tree, tokens, p, q, rng):
        out, u = [], 0
        while tree.children[u]:
            left = 1.0
            for c in tree.children[u]:
                x = tokens[c]
                if rng.random() * left < p[u][x]:
                    out.append(int(x))
                    u = c
                    break
                left -= p[u][x]
            else:
                rest = p[u].copy()
                rest[tokens[list(tree.children[u])]] = 0.0
                return out + [int(rng.choice(rest.size, p=rest / rest.sum()))]
        return out + [int(rng.choice(p[u].size, p=p[u]))]

    tree = Tree.full(2, 7)
    assert check_tree_verifier(topk, tree, "top", n=4_000).passed
    assert check_tree_verifier(topk, tree, "top", n=4_000, length=3).passed


def test_the_target_law_is_the_product_of_the_laws_along_the_prefix():
    # For context-free laws the two-token law is the outer product p x p (index 2 y1 + y2).
    contexts = _Contexts(FixedLaws(TOY_P, TOY_Q), 2, "test")
    np.testing.assert_allclose(_target_law(contexts, 2, 2), np.outer(TOY_P, TOY_P).ravel(), atol=1e-15)
    model = ContextModel(3, seed=1)
    contexts = _Contexts(model, 3, "test")
    law = _target_law(contexts, 3, 2).reshape(3, 3)
    for y1 in range(3):
        np.testing.assert_allclose(law[y1], model(())[0][y1] * model((y1,))[0], atol=1e-15)


def test_the_seed_fixes_every_draw_and_user_models_keep_their_names():
    models = {"toy": FixedLaws(TOY_P, TOY_Q), "ctx": ContextModel(4, seed=3)}
    a = check_tree_verifier(examples.block, Tree.chain(2), "iid", n=300, seed=4, models=models)
    b = check_tree_verifier(examples.block, Tree.chain(2), "iid", n=300, seed=4, models=models)
    assert [c.case.name for c in a.cases] == ["toy", "ctx"]
    assert all(np.array_equal(x.counts, y.counts) for x, y in zip(a.cases, b.cases))


def test_default_cases_give_every_node_the_support_its_siblings_need():
    tree = Tree(((1, 2, 3), (4, 5, 6, 7), (), (), (), (), (), ()))
    cases = default_tree_cases(tree, "wo", seed=2)
    assert not any(c.name.startswith("toy") for c in cases)  # two tokens cannot give four distinct drafts
    assert all(np.count_nonzero(c.model(())[1]) >= 4 for c in cases)
    assert all(np.count_nonzero(c.model((int(t),))[1]) >= 4 for c in cases[1:] for t in range(c.v))
    result = check_tree_verifier(examples.traversal_wo, tree, "wo", n=200, seed=2)
    assert len(result.cases) == len(cases)


def _wrong_length(tree, tokens, p, q, rng):
    return [0] * (tree.depth + 2)


def _not_a_path(tree, tokens, p, q, rng):
    return [int(tokens[1]) ^ 1, 0, 0][: tree.depth + 1]


@pytest.mark.parametrize("args,kwargs,message", [
    ((examples.block, "chain"), {}, "^tree: expected a spechub_theory.Tree"),
    ((examples.block, Tree(((),))), {}, "^tree: the root needs at least one child"),
    ((examples.block, Tree.chain(2), "beam"), {}, "^law:"),
    ((examples.traversal, Tree.full(3, 4), "hub"), {}, "^tree: node 0 has 3 children; the 'hub' draft law"),
    ((examples.block, Tree.chain(2), "iid"), {"n": 50}, "^n:"),
    ((examples.block, Tree.chain(2), "iid"), {"seed": -1}, "^seed:"),
    ((examples.block, Tree.chain(2), "iid"), {"length": 4}, r"^length: expected an integer from 1 to tree.depth \+ 1 = 3"),
    ((examples.block, Tree.chain(2), "iid"), {"level": 1.5}, "^level:"),
    ((examples.block, Tree.chain(2), "iid"), {"models": []}, "^models: expected at least one"),
    ((examples.block, Tree.chain(2), "iid"), {"models": [3]}, r"^models\[0\]: expected a callable"),
    ((examples.block, Tree.chain(2), "iid"), {"models": {"m": lambda s: ([0.5, 0.5], [1.0])}}, r"^models\['m'\]"),
    ((examples.traversal_wo, Tree.full(3, 4), "wo"), {"models": [FixedLaws(TOY_P, TOY_Q)]},
     r"^models\[0\]: the tree's siblings need 3 tokens"),
    ((3, Tree.chain(2), "iid"), {}, "^verify: expected a callable"),
    ((_wrong_length, Tree.chain(2), "iid"), {}, "^verify: emitted 4 tokens"),
    ((_not_a_path, Tree.chain(2), "iid"), {}, "is not a path of drafted tokens"),
    ((lambda *a: [0.5], Tree.chain(2), "iid"), {}, "^verify: must return a list of integer token ids"),
    ((lambda *a: [7], Tree.chain(2), "iid"), {}, "^verify: emitted token 7 outside the vocabulary"),
])
def test_bad_arguments_raise_a_value_error_naming_them(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_tree_verifier(*args, **{"n": 100, **kwargs})


def test_the_laws_given_to_the_verifier_are_read_only():
    def writes(tree, tokens, p, q, rng):
        p[0, 0] = 1.0
        return [0]

    with pytest.raises(ValueError, match="read-only"):
        check_tree_verifier(writes, Tree.chain(1), "iid", n=100)


# --- the command line ---

def _parse(argv):
    parser = argparse.ArgumentParser(prog="spechub-theory")
    add_check_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["check", *argv])


TREE_FILE = """
from spechub_theory.testing.examples import block, block_uncapped
"""


@pytest.fixture
def tree_file(tmp_path):
    path = tmp_path / "mine_tree.py"
    path.write_text(TREE_FILE)
    return path


def test_check_command_with_a_tree_passes_block_and_fails_the_uncapped_ratio(tree_file, capsys):
    assert run_check(_parse([f"{tree_file}:block", "--tree", "chain:2", "--law", "iid", "--n", "3000"])) == 0
    assert capsys.readouterr().out.startswith("PASSED: tree of 3 nodes (depth 2), law 'iid', first 2 tokens")
    assert run_check(_parse([f"{tree_file}:block_uncapped", "--tree", "chain:2", "--law", "iid", "--n", "5000"])) == 1
    assert "worst failing case: 'toy" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["--tree", "star:3"], "^--tree: expected chain:DEPTH"),
    (["--tree", "full:2:6"], "^--tree: nodes: no full 2-ary tree has 6 nodes"),
    (["--tree", "chain:x"], "^--tree: expected an integer"),
    (["--tree", "chain:2", "--law", "beam"], "^--law: unknown sibling law"),
    (["--tree", "full:3:4", "--law", "hub"], "^--tree: node 0 has 3 children"),
    (["--tree", "chain:2", "--k", "2"], "^--k: not used with --tree"),
    (["--tree", "chain:2", "--batched"], "^--batched: not used with --tree"),
    (["--tree", "chain:2", "--reference", "rrs"], "^--reference: not used with --tree"),
    (["--tree", "chain:2", "--length", "4"], r"^--length: at most the tree's depth \+ 1 = 3"),
    (["--tree", "chain:2", "--n", "5"], "^--n:"),
])
def test_check_command_with_a_tree_refuses_bad_input_naming_the_flag(tree_file, argv, message):
    with pytest.raises(ValueError, match=message):
        run_check(_parse([f"{tree_file}:block", *argv]))


def test_tree_shapes_parse():
    assert parse_tree("chain:3") == Tree.chain(3)
    assert parse_tree("full:2:7") == Tree.full(2, 7)
    assert parse_tree("levels:2,1") == Tree.from_levels([2, 1])


# --- the README's examples run as written ---

def _readme_blocks():
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("## Testing your own verifier", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@pytest.mark.slow
def test_the_readme_examples_of_testing_your_own_verifier_run():
    # Each block states its verdicts with assert, so running it checks what the text says.
    blocks = _readme_blocks()
    assert len(blocks) >= 2 and any("check_tree_verifier" in b for b in blocks)
    for block in blocks:
        assert "assert " in block
        exec(compile(block, "README.md", "exec"), {})
