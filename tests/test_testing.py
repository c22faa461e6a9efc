"""The public harness (spechub_theory.testing): it fails the lossy example verifiers with a small
failing case whose total variation is real, passes the correct ones, and its statistics, strategies
and command line do what they say."""

import argparse
import itertools
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from spechub_theory import DRAFT_LAWS, output_distribution
from spechub_theory.testing import (ContextModel, add_check_parser, check_verifier, default_cases, grouped_chisquare,
                                    holm, pooled_chisquare, run_check)
from spechub_theory.testing import examples
from spechub_theory.testing.harness import SHRINK_BUDGET
from strategies import context_models, draft_pairs, trees


# --- an independent oracle: the exact law of the lossy rules, by enumerating drafts and branches ---

def _residual(r, q):
    rest = np.maximum(r - q, 0.0)
    return rest / rest.sum() if rest.sum() > 0 else r


def exact_law(p, q, k, *, law, skip_duplicates=False, mask=True):
    """Exact law of the token RRS emits, walking every draft tuple and rejection branch.

    ``law="iid"`` or ``"wo"`` (draft probabilities computed here); ``skip_duplicates`` omits the
    step of a token already rejected (residual not updated); ``mask=False`` tests ``wo`` drafts
    against the original ``q``.
    """
    v = len(p)
    out = np.zeros(v)
    tuples = itertools.product(range(v), repeat=k) if law == "iid" else itertools.permutations(range(v), k)
    for drafts in tuples:
        prob, left = 1.0, q.copy()
        for x in drafts:
            prob *= left[x] / left.sum() if law == "wo" else q[x]
            if law == "wo":
                left[x] = 0.0
        if prob == 0:
            continue
        r, q_j, reach, rejected = p.copy(), q.copy(), prob, set()
        for x in drafts:
            if skip_duplicates and x in rejected:
                continue
            accept = min(1.0, r[x] / q_j[x])
            out[x] += reach * accept
            reach *= 1.0 - accept
            rejected.add(x)
            r = _residual(r, q_j)
            if law == "wo" and mask:
                q_j = q_j.copy()
                q_j[x] = 0.0
                q_j = q_j / q_j.sum() if q_j.sum() > 0 else q_j
        out += reach * r
    return out


def tv(a, b):
    return 0.5 * float(np.abs(np.asarray(a) - np.asarray(b)).sum())


@pytest.mark.parametrize("law,k", [("iid", 2), ("iid", 3), ("wo", 2), ("wo", 3)])
def test_the_oracle_without_the_bugs_is_the_library_law_and_p(law, k):
    p, q = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.4, 0.3, 0.2, 0.1])
    law_here = exact_law(p, q, k, law=law)
    np.testing.assert_allclose(law_here, output_distribution(p, q, "rrs" if law == "iid" else "rrs_wo", k), atol=1e-12)
    np.testing.assert_allclose(law_here, p, atol=1e-12)


def test_the_oracle_finds_skipping_duplicates_lossy_already_at_two_drafts():
    p, q = np.array([5, 0, 1]) / 6, np.array([1, 1, 0]) / 2
    assert tv(exact_law(p, q, 1, law="iid", skip_duplicates=True), p) < 1e-12  # nothing to skip at k = 1
    assert tv(exact_law(p, q, 2, law="iid", skip_duplicates=True), p) > 0.05
    assert tv(exact_law(p, q, 3, law="iid", skip_duplicates=True), p) > 0.1


# --- the harness on the example verifiers ---

LOSSY = [("rrs_skip_duplicates", "iid", 3, dict(law="iid", skip_duplicates=True)),
         ("rrs_wo_unmasked", "wo", 3, dict(law="wo", mask=False)),
         ("rrs_wo_unmasked", "wo", 2, dict(law="wo", mask=False))]


@pytest.mark.parametrize("name,law,k,oracle", LOSSY, ids=[f"{n}-k{k}" for n, _, k, _ in LOSSY])
def test_the_harness_fails_a_lossy_verifier_and_names_a_small_case_of_real_total_variation(name, law, k, oracle):
    result = check_verifier(getattr(examples, name), law, k)
    assert not result.passed
    worst = result.worst
    assert worst is not None and worst.case.p.size <= 4 and worst.case.p.size <= result.worst_original.case.p.size
    assert worst.pvalue < result.level / SHRINK_BUDGET
    assert worst.case.describe().startswith("p = [")
    # the power is real: the rule's exact law at the named case is far from p ...
    exact = exact_law(worst.case.p, worst.case.q, k, **oracle)
    assert tv(exact, worst.case.p) > 0.03
    # ... and what the harness measured there is that law, not noise
    assert abs(worst.tv - tv(exact, worst.case.p)) < 0.015
    assert pooled_chisquare(worst.counts, exact) > 1e-6
    assert "worst failing case" in result.summary()


LOSSLESS = [("single", "iid", 1, False), ("rrs", "iid", 3, False), ("rrs_wo", "wo", 3, False),
            ("rrs_batched", "iid", 2, True), ("rrs_batched", "iid", 4, True)]


@pytest.mark.parametrize("name,law,k,batched", LOSSLESS, ids=[f"{n}-k{k}" for n, _, k, _ in LOSSLESS])
def test_the_harness_passes_a_lossless_verifier(name, law, k, batched):
    result = check_verifier(getattr(examples, name), law, k, batched=batched)
    assert result.passed and result.worst is None
    assert len(result.cases) == len(default_cases(law, k)) and set(result.pvalues) == {c.case.name for c in result.cases}
    assert all(a > result.level for a in result.adjusted.values())
    assert all(c.n == result.n for c in result.cases)


def test_each_example_is_listed_with_its_law_and_verdict():
    assert {name for name, entry in examples.EXAMPLES.items() if not entry[3]} == {"rrs_skip_duplicates", "rrs_wo_unmasked"}
    for function, law, k, _, _ in examples.EXAMPLES.values():
        assert law in DRAFT_LAWS and k >= 1 and callable(function)


def _first_draft_only(drafts, p, q, rng):
    """Single-draft speculative sampling on the first of k drafts: lossless, but not RRS."""
    return examples.rrs_batched(drafts[:, :1], p, q, rng)


def _rrs_backwards(drafts, p, q, rng):
    """RRS over the drafts in reverse order: lossless and, drafts being i.i.d., of RRS's acceptance rate."""
    return examples.rrs_batched(drafts[:, ::-1], p, q, rng)


def test_a_reference_passes_the_same_chain_and_fails_another_lossless_one():
    same = check_verifier(examples.rrs_batched, "iid", 2, batched=True, reference="rrs")
    assert same.passed and all(set(c.pvalues) == {"law", "acceptance", "given drafts"} for c in same.cases)
    assert all(c.acceptance_exact is not None for c in same.cases)
    assert check_verifier(_first_draft_only, "iid", 2, batched=True).passed
    fewer = check_verifier(_first_draft_only, "iid", 2, batched=True, reference="rrs")
    assert not fewer.passed and fewer.worst.pvalues["acceptance"] < 1e-6
    backwards = check_verifier(_rrs_backwards, "iid", 2, batched=True, reference="rrs")
    assert not backwards.passed
    assert backwards.worst.pvalues["law"] > 1e-6 and backwards.worst.pvalues["given drafts"] < 1e-6


def test_a_reference_walks_the_library_chain_for_the_hub_law():
    def spechub_from_library(drafts, p, q, rng):
        """The library's own SpecHub chain walked with uniforms: must pass against itself."""
        from spechub_theory.verifiers import VERIFIERS

        for accept, emit in VERIFIERS["spechub"].chain(np.asarray(drafts), np.asarray(p), np.asarray(q)):
            if rng.random() < accept:
                return int(drafts[emit]) if not isinstance(emit, np.ndarray) else int(rng.choice(p.size, p=emit))
        raise AssertionError("the chain ends with a certain step")

    assert check_verifier(spechub_from_library, "hub", 2, n=3_000, reference="spechub").passed


def test_user_cases_replace_the_defaults_and_keep_their_names():
    result = check_verifier(examples.rrs_batched, "iid", 2, batched=True, n=2_000,
                            cases={"mine": ([0.5, 0.5], [0.9, 0.1])})
    assert [c.case.name for c in result.cases] == ["mine"]
    listed = check_verifier(examples.rrs_batched, "iid", 2, batched=True, n=2_000, cases=[([0.5, 0.5], [0.9, 0.1])])
    assert [c.case.name for c in listed.cases] == ["case 1"]


def test_the_seed_fixes_every_draw():
    a = check_verifier(examples.rrs, "iid", 2, n=500, seed=3)
    b = check_verifier(examples.rrs, "iid", 2, n=500, seed=3)
    c = check_verifier(examples.rrs, "iid", 2, n=500, seed=4)
    assert all(np.array_equal(x.counts, y.counts) for x, y in zip(a.cases, b.cases))
    assert not all(np.array_equal(x.counts, y.counts) for x, y in zip(a.cases, c.cases))


@pytest.mark.parametrize("law", list(DRAFT_LAWS))
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_default_cases_are_valid_for_the_law(law, k):
    if not DRAFT_LAWS[law].supports(k):
        with pytest.raises(ValueError, match="^k:"):
            default_cases(law, k)
        return
    cases = default_cases(law, k)
    assert len({c.name for c in cases}) == len(cases) == 17
    for c in cases:
        assert c.p.shape == c.q.shape and abs(c.p.sum() - 1) < 1e-12 and abs(c.q.sum() - 1) < 1e-12
        assert np.count_nonzero(c.q) >= DRAFT_LAWS[law].min_support(k)
        assert DRAFT_LAWS[law].sample(c.q, k, np.random.default_rng(0), 5).shape == (5, k)


@pytest.mark.parametrize("kwargs,message", [
    (dict(verify=None), "^verify:"),
    (dict(law="beam"), "^law:"),
    (dict(law="hub", k=3), "^k:"),
    (dict(k=0), "^k:"),
    (dict(n=10), "^n:"),
    (dict(seed=-1), "^seed:"),
    (dict(level=1.5), "^level:"),
    (dict(reference="rrs_wo"), "^reference:.*'wo'"),
    (dict(reference="single", k=2), "^reference:.*k = 1"),
    (dict(reference="beam"), "^reference:"),
    (dict(cases=[]), r"^cases:"),
    (dict(cases=[([0.5, 0.5], [1.0])]), r"^cases\[0\]:"),
    (dict(cases=[([[0.5, 0.5]], [[0.5, 0.5]])]), r"^cases\[0\]:.*shape"),
    (dict(law="wo", cases={"thin": ([0.5, 0.5], [1.0, 0.0])}), r"^cases\['thin'\]:.*2 tokens"),
])
def test_bad_arguments_raise_a_value_error_naming_them(kwargs, message):
    kwargs = {"verify": examples.rrs, "n": 200, **kwargs}
    with pytest.raises(ValueError, match=message):
        check_verifier(kwargs.pop("verify"), **kwargs)


@pytest.mark.parametrize("verify,batched,message", [
    (lambda d, p, q, rng: p.size, False, "outside the vocabulary"),
    (lambda d, p, q, rng: 0.5, False, "integer token ids"),
    (lambda d, p, q, rng: d[:, 0][:-1], True, r"shape \(n,\)"),
])
def test_a_verifier_returning_something_else_than_tokens_is_refused(verify, batched, message):
    with pytest.raises(ValueError, match="^verify:.*" + message):
        check_verifier(verify, "iid", 2, n=200, batched=batched)


def test_the_laws_given_to_the_verifier_are_read_only():
    def edits_p(drafts, p, q, rng):
        p[0] = 1.0
        return 0
    with pytest.raises(ValueError, match="read-only"):
        check_verifier(edits_p, "iid", 2, n=200)


# --- the statistics ---

def test_pooled_chisquare_is_pearson_when_nothing_is_pooled():
    counts, p = np.array([480, 330, 190]), np.array([0.5, 0.3, 0.2])
    assert pooled_chisquare(counts, p) == pytest.approx(stats.chisquare(counts, 1000 * p).pvalue, rel=1e-12)


def test_pooled_chisquare_pools_rare_cells_and_rejects_impossible_tokens():
    counts, p = np.array([485, 503, 5, 4, 3]), np.array([0.49, 0.5, 0.004, 0.003, 0.003])
    assert pooled_chisquare(counts, p) == pytest.approx(stats.chisquare([485, 503, 12], [490, 500, 10]).pvalue)
    counts, p = np.array([500, 495, 3, 2]), np.array([0.5, 0.496, 0.002, 0.002])  # the pooled cell is still rare
    assert pooled_chisquare(counts, p) == pytest.approx(stats.chisquare([505, 495], [504, 496]).pvalue)
    assert pooled_chisquare([999, 0, 1], [0.5, 0.5, 0.0]) == 0.0
    assert pooled_chisquare([10], [1.0]) == 1.0
    assert pooled_chisquare([300, 300, 400], [0.5, 0.3, 0.2]) < 1e-6


def test_grouped_chisquare_sums_the_groups_statistics_and_degrees_of_freedom():
    counts = np.array([[55, 45], [12, 88], [0, 0]])
    probs = np.array([[0.6, 0.4], [0.1, 0.9], [0.5, 0.5]])
    statistic = sum(stats.chisquare(c, c.sum() * w).statistic for c, w in zip(counts[:2], probs[:2]))
    assert grouped_chisquare(counts, probs) == pytest.approx(stats.chi2.sf(statistic, 2), rel=1e-10)
    assert grouped_chisquare([[5, 1]], [[1.0, 0.0]]) == 0.0


def test_holm_adjusts_by_the_number_of_hypotheses_left_and_stays_monotone():
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.5]), [0.04, 0.09, 0.09, 0.5])
    np.testing.assert_allclose(holm([0.2, 0.9]), [0.4, 0.9])
    np.testing.assert_allclose(holm([0.6, 0.7]), [1.0, 1.0])


# --- the strategies ---

@settings(max_examples=50, deadline=None)
@given(trees(max_nodes=9))
def test_trees_are_small_valid_shapes(tree):
    assert 1 <= tree.n_nodes <= 9
    assert all(tree.parents[c] == v for v, kids in enumerate(tree.children) for c in kids)


@settings(max_examples=50, deadline=None)
@given(context_models(max_v=5, min_support=2), st.lists(st.integers(0, 4), max_size=4))
def test_context_models_give_valid_reproducible_laws_per_prefix(model, prefix):
    prefix = [t % model.v for t in prefix]
    p, q = model(prefix)
    assert 2 <= model.v <= 5 and p.shape == q.shape == (model.v,)
    assert abs(p.sum() - 1) < 1e-12 and abs(q.sum() - 1) < 1e-12 and np.count_nonzero(q) >= 2
    p[0] = 7.0  # the caller's copy: the model keeps its own
    np.testing.assert_array_equal(model(prefix)[1], q)
    assert np.all(model(prefix)[0] <= 1)
    assert ContextModel(model.v, model.seed, min_support=2)(prefix)[1].tolist() == q.tolist()


def test_context_models_depend_on_the_whole_prefix():
    model = ContextModel(5, seed=1)
    laws = {tuple(np.concatenate(model(pre)).round(12)) for pre in itertools.product(range(5), repeat=2)}
    assert len(laws) > 20
    with pytest.raises(ValueError, match="^prefix:"):
        model([5])
    with pytest.raises(ValueError, match="^min_support:"):
        ContextModel(3, min_support=4)


@settings(max_examples=30, deadline=None)
@given(draft_pairs(max_v=5, min_support=3))
def test_draft_pairs_respect_the_support_asked(pair):
    p, q = pair
    assert p.shape == q.shape and np.count_nonzero(q) >= 3


def test_the_library_imports_without_hypothesis_and_the_strategies_say_what_is_missing():
    code = textwrap.dedent("""
        import sys
        sys.modules["hypothesis"] = None
        import spechub_theory
        from spechub_theory.testing import check_verifier, examples
        assert check_verifier(examples.rrs, "iid", 2, n=200).passed
        try:
            from spechub_theory.testing import draft_pairs
        except ImportError as err:
            assert "spechub-theory[testing]" in str(err), err
        else:
            raise SystemExit("imported draft_pairs without hypothesis")
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]


# --- the command line ---

def _parse(argv):
    parser = argparse.ArgumentParser(prog="spechub-theory")
    add_check_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["check", *argv])


VERIFIER_FILE = """
import numpy as np
from spechub_theory.testing.examples import rrs_batched as batched_rrs


def unmasked(drafts, p, q, rng):
    r = p
    for x in drafts:
        if rng.random() * q[x] < r[x]:
            return int(x)
        rest = np.maximum(r - q, 0.0)
        r = rest / rest.sum()
    return int(rng.choice(p.size, p=r))

not_a_function = 3
"""


@pytest.fixture
def verifier_file(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(VERIFIER_FILE)
    return path


def test_check_command_passes_a_lossless_file_and_fails_a_lossy_one(verifier_file, capsys):
    assert run_check(_parse([f"{verifier_file}:batched_rrs", "--k", "3", "--batched", "--reference", "rrs"])) == 0
    assert capsys.readouterr().out.startswith("PASSED: law 'iid', k = 3")
    assert run_check(_parse([f"{verifier_file}:unmasked", "--law", "wo", "--k", "3", "--n", "5000", "--seed", "1"])) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAILED: law 'wo', k = 3, n = 5,000") and "worst failing case" in out


@pytest.mark.parametrize("argv,message", [
    (["{f}:missing"], r"mine.py: no function 'missing' \(it defines: unmasked\)"),
    (["{f}:not_a_function"], "is a int, not a function"),
    (["{d}/absent.py:verify"], "absent.py: no such file"),
    (["{f}"], "^FILE.py:FUNCTION:"),
    (["{f}:unmasked", "--law", "beam"], "^--law:"),
    (["{f}:unmasked", "--k", "two"], "^--k:"),
    (["{f}:unmasked", "--law", "hub", "--k", "3"], "^--k:"),
    (["{f}:unmasked", "--n", "5"], "^--n:"),
    (["{f}:unmasked", "--seed", "-2"], "^--seed:"),
    (["{f}:unmasked", "--level", "2"], "^--level:"),
    (["{f}:unmasked", "--reference", "rrs_wo"], "^--reference:"),
])
def test_check_command_refuses_bad_input_naming_the_flag_or_file(verifier_file, argv, message):
    argv = [a.format(f=verifier_file, d=verifier_file.parent) for a in argv]
    with pytest.raises(ValueError, match=message):
        run_check(_parse(argv))


def test_check_command_reports_a_file_that_fails_to_import(tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("def verify(:\n")
    with pytest.raises(ValueError, match="broken.py: importing it raised SyntaxError"):
        run_check(_parse([f"{bad}:verify"]))
