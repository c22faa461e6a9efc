"""Extension points that cannot be silently wrong (issue 16, part 2): register_verifier, register_draft_law."""

import itertools
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from spechub_theory import (DRAFT_LAWS, METHODS, VERIFIERS, DraftLaw, NodePool, Tree, acceptance_by_position,
                            acceptance_rate, enumerated_acceptance_rate, optimal_acceptance_rate, optimal_cut, otm,
                            output_distribution, register_draft_law, register_verifier, simulate, tokens_per_step)
from spechub_theory.drafts import top_tokens
from spechub_theory.verifiers import single

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def registry():
    """Remove whatever a test registers, so tests stay independent."""
    verifiers, laws = set(VERIFIERS), set(DRAFT_LAWS)
    yield
    for name in set(VERIFIERS) - verifiers:
        del VERIFIERS[name]
    for name in set(DRAFT_LAWS) - laws:
        del DRAFT_LAWS[name]


def _wo_drafted(q, x):
    """P(x among two draws without replacement from q) = q(x) + sum_{y != x} q(y) q(x) / (1 - q(y))."""
    return q[x] + sum(q[y] * q[x] / (1 - q[y]) for y in range(len(q)) if y != x)


def test_the_readme_example_runs_and_its_numbers_are_right(registry):
    text = README.read_text()
    section = text[text.index("## Adding a verifier"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    scope = {}
    exec(compile(code, "README.md: Adding a verifier", "exec"), scope)
    assert "naive_wo" in METHODS  # METHODS is a live view
    # Hand derivation with fractions: q = (1/5, 3/10, 1/2); P(0 drafted) = 1/5 + (3/10)(1/5)/(7/10) + (1/2)(1/5)/(1/2)
    # = 17/35, P(1) = 27/40, P(2) = 47/56; alpha = 1/2 * 17/35 + 3/10 * 27/40 + 1/5 * 47/56 = 3434/5600.
    q = [Fraction(1, 5), Fraction(3, 10), Fraction(1, 2)]
    p = [Fraction(1, 2), Fraction(3, 10), Fraction(1, 5)]
    alpha = sum(p[x] * _wo_drafted(q, x) for x in range(3))
    assert alpha == Fraction(3434, 5600)
    pp, qq = scope["p"], scope["q"]
    assert acceptance_rate(pp, qq, "naive_wo", 2) == pytest.approx(float(alpha), abs=1e-15)
    np.testing.assert_allclose(output_distribution(pp, qq, "naive_wo", 2), pp, atol=1e-15)
    a = float(alpha)  # the first-position split sums to alpha, and every level of the tree keeps alpha
    assert tokens_per_step(Tree.full(2, 7), "naive_wo", NodePool(pp[None], qq[None])) == pytest.approx(1 + a * (1 + a), abs=1e-14)
    sim = simulate(pp, qq, "naive_wo", 2, n=20_000, seed=1)
    assert abs(sim.estimate - a) < 5 * sim.se


def _split_single(drafts, p, q):
    """Single-draft sampling as a chain of 12 steps: ten that never accept, then the usual two."""
    for _ in range(10):
        yield 0.0, 0
    yield from single.procedure(drafts, p, q)


def test_a_chain_of_any_length_simulates(registry):
    register_verifier("single_long", "iid", _split_single, k=1)
    p, q = np.array([0.2, 0.3, 0.5]), np.array([0.5, 0.3, 0.2])
    sim = simulate(p, q, "single_long", 1, n=20_000, seed=2)  # uniforms were sized k + 2 = 3
    assert abs(sim.estimate - 0.7) < 5 * sim.se  # sum min(p, q) = 0.2 + 0.3 + 0.2
    assert acceptance_rate(p, q, "single_long") == pytest.approx(0.7, abs=1e-15)  # k=None: its only count, 1


def test_the_closed_form_is_optional_and_its_enumeration_is_priced(registry):
    register_verifier("rrs_enumerated", "iid", VERIFIERS["rrs"].procedure)
    rng = np.random.default_rng(4)
    p, q = rng.dirichlet(np.ones(5), size=3), rng.dirichlet(np.ones(5), size=3)
    for k in (1, 2, 3):
        np.testing.assert_allclose(acceptance_by_position(p, q, "rrs_enumerated", k),
                                   acceptance_by_position(p, q, "rrs", k), atol=1e-13)
    with pytest.raises(ValueError, match=r"^method: method 'rrs_enumerated' has no closed form; enumerating its chain "
                                         r"on 375 draft tuples .* costs about 3\.75e\+05 token steps exceeds max_cost"):
        acceptance_rate(p, q, "rrs_enumerated", 3, max_cost=1e5)


def test_a_registered_closed_form_is_checked_against_the_enumeration(registry):
    register_verifier("rrs_closed", "iid", VERIFIERS["rrs"].procedure, positions=VERIFIERS["rrs"].positions)
    with pytest.raises(ValueError, match=r"^positions: the closed form gives .* but the enumeration of the chain gives"):
        register_verifier("rrs_wrong", "iid", VERIFIERS["rrs"].procedure, positions=VERIFIERS["nss"].positions)
    assert "rrs_wrong" not in VERIFIERS


def test_registration_refuses_what_would_give_wrong_numbers(registry):
    def uncertain(drafts, p, q):
        yield 0.5, 0  # and then nothing: half the time the engine would emit nothing

    def lossy(drafts, p, q):
        yield 1.0, 0  # always keep the first draft: the output law is q, not p

    def emits_a_token(drafts, p, q):
        yield 1.0, int(drafts[0]) + 7  # a token id where a draft position is expected

    cases = [
        (("rrs", "iid", single.procedure), {}, r"^name: method 'rrs' exists already"),
        (("topk", "iid", single.procedure), {}, r"^name: method 'topk' exists already"),
        (("has space", "iid", single.procedure), {}, r"^name: a method name must be a Python identifier"),
        (("x1", "uniform", single.procedure), {}, r"^law: unknown law 'uniform'"),
        (("x2", "iid", "not callable"), {}, r"^procedure: expected a callable"),
        (("x3", "iid", single.procedure), {"positions": 3}, r"^positions: expected a callable"),
        (("x4", "iid", single.procedure), {"k": 0}, r"^k: expected None, a positive integer"),
        (("x5", "hub", single.procedure), {"k": 3}, r"^k: the 'hub' draft law supports k = 2, none of k = \(3,\)"),
        (("x6", "iid", uncertain), {}, r"^procedure: method 'x6': its procedure stopped without a certain step"),
        (("x7", "iid", lossy), {}, r"^procedure: not lossless: the emitted token's law .* from p in total variation"),
        (("x8", "iid", emits_a_token), {}, r"^procedure: a step emits 7; expected a draft position in 0\.\.0"),
    ]
    for args, kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            register_verifier(*args, **kwargs)
    assert not {"x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8"} & set(VERIFIERS)


class PinnedHub(DraftLaw):
    """Two drafts: the argmax of q, then one draw from q (it may repeat the first). Not the hub law:
    that one pairs the spoke with the hub in either order and never repeats."""

    def supports(self, k):
        return k == 2

    def sample(self, q, k, rng, n):
        return np.stack([np.full(n, top_tokens(q, 1)[0]), rng.choice(q.size, size=n, p=q)], axis=1)

    def enumerate(self, q, k):
        a, support = top_tokens(q, 1)[0], np.flatnonzero(q > 0)
        return np.stack([np.full(support.size, a), support], axis=1), q[support]

    def tuple_count(self, support, k):
        return support


def test_a_new_law_gets_its_own_optimum_never_another_laws_formula(registry):
    register_draft_law(PinnedHub("pinned"))
    assert "pinned" in DRAFT_LAWS
    p, q = np.array([0.1, 0.45, 0.45]), np.array([0.5, 0.3, 0.2])
    # By hand: the drafts are {0} (prob 1/2) or {0, 1} (3/10) or {0, 2} (1/5). A lossless verifier emits
    # Y ~ p; Y = 0 can always be a draft (p(0) = 0.1), Y = 1 only from {0, 1} (at most 0.3), Y = 2 only
    # from {0, 2} (at most 0.2): alpha* <= 0.1 + 0.3 + 0.2 = 0.6, attained (the three pieces use
    # disjoint draft mass: 0.1 of any tuple, the {0, 1} and {0, 2} tuples for the rest).
    # The hub law's closed form would give p(a) + sum min(p, q/(1 - q(a))) = 0.1 + 0.45 + 0.4 = 0.95.
    assert optimal_acceptance_rate(p, q, "pinned", 2) == pytest.approx(0.6, abs=1e-15)
    assert optimal_acceptance_rate(p, q, "hub", 2) == pytest.approx(0.95, abs=1e-15)
    assert optimal_acceptance_rate(p, q, "pinned", 2, solver="lp") == pytest.approx(0.6, abs=1e-8)
    assert otm(p, q, "pinned", 2).success
    cut = optimal_cut(p, q, "pinned", 2).cut  # H = {0}: 1 + p(0) - P(both drafts are 0) = 1 + 0.1 - 0.5
    assert cut.tolist() == [True, False, False]
    # and a verifier on the new law: naive sampling, its acceptance by enumeration
    register_verifier("naive_pinned", "pinned", lambda drafts, p, q: iter([(1.0, p)]))
    # Y ~ p lands on a draft: Y = 0 always (0.1), Y = 1 when the second draft is 1 (0.45 * 0.3), Y = 2 likewise
    assert acceptance_rate(p, q, "naive_pinned") == pytest.approx(0.1 + 0.45 * 0.3 + 0.45 * 0.2, abs=1e-15)
    assert enumerated_acceptance_rate(p, q, "naive_pinned") == pytest.approx(0.325, abs=1e-15)


def test_the_subset_form_by_enumeration_against_brute_force(registry):
    register_draft_law(PinnedHub("pinned"))
    rng = np.random.default_rng(9)
    for _ in range(20):
        p, q = rng.dirichlet(np.ones(5) * 0.7), rng.dirichlet(np.ones(5) * 0.7)
        tuples, probs = PinnedHub("pinned").enumerate(q, 2)
        brute = 1.0 + min(p[list(h)].sum() - probs[np.isin(tuples, list(h)).all(axis=1)].sum()
                          for r in range(6) for h in itertools.combinations(range(5), r))
        assert optimal_acceptance_rate(p, q, "pinned", 2) == pytest.approx(brute, abs=1e-12)


class _Broken(PinnedHub):
    def tuple_count(self, support, k):
        return support + 1


class _BiasedSampler(PinnedHub):
    def sample(self, q, k, rng, n):
        drafts = super().sample(q, k, rng, n)
        drafts[:, 1] = drafts[:, 0]  # always repeats the hub
        return drafts


class _WrongOptimum(PinnedHub):
    def optimum(self, p, q, k, max_cost=None):
        return DRAFT_LAWS["hub"].optimum(p, q, k)  # another law's formula


class _NoEnumerate(DraftLaw):
    def sample(self, q, k, rng, n):
        return np.zeros((n, k), dtype=np.int64)


def test_law_registration_refuses_what_would_give_wrong_numbers(registry):
    cases = [
        ("iid", r"^law: expected an instance of a DraftLaw subclass"),
        (PinnedHub("iid"), r"^law: 'iid' is a built-in draft law's name"),
        (PinnedHub("top"), r"^law: 'top' is a built-in draft law's name"),
        (PinnedHub("two words"), r"^law: its name must be a Python identifier"),
        (_NoEnumerate("e"), r"^law: _NoEnumerate does not define enumerate\(\)"),
        (_Broken("b"), r"^law: tuple_count\(4, 2\) = 5 but enumerate\(\) .* lists 4 tuples"),
        (_BiasedSampler("s"), r"^law: sample\(\) .* drew \[0, 0\] with frequency 1\.0000 where enumerate\(\) gives it probability 0\.4"),
        (_WrongOptimum("w"), r"^law: optimum\(\) .* gives .* but the subset form by enumeration of the law gives"),
    ]
    for law, match in cases:
        with pytest.raises(ValueError, match=match):
            register_draft_law(law)
    register_draft_law(PinnedHub("pinned"))
    with pytest.raises(ValueError, match=r"^law: a draft law 'pinned' is already registered; pass replace=True"):
        register_draft_law(PinnedHub("pinned"))
    assert register_draft_law(PinnedHub("pinned"), replace=True) is DRAFT_LAWS["pinned"]
