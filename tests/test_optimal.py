"""The optimum of every draft law: subset form, LPs and brute force agree; verifiers sit below it."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import draft_pairs

from spechub_theory import (
    DRAFT_LAWS,
    acceptance_rate,
    iid_perfect_acceptance,
    optimal_acceptance_rate,
    optimal_cut,
    otm,
)
from spechub_theory.optimal.subset import containment

LAWS = [("iid", 1), ("iid", 2), ("iid", 3), ("wo", 2), ("wo", 3), ("hub", 2), ("greedy", 2), ("greedy", 3)]


def brute_force(p, q, k, law):
    """``1 + min over all 2^V token sets H of p(H) - P(all drafts in H)``, from the enumerated law."""
    tuples, probs = DRAFT_LAWS[law].enumerate(q, k)
    best = 0.0
    for bits in itertools.product([False, True], repeat=p.size):
        h = np.array(bits)
        best = min(best, p[h].sum() - probs[h[tuples].all(axis=1)].sum())
    return 1.0 + best


def _pairs(law, k, max_v=6):
    return draft_pairs(max_v=max_v, min_support=DRAFT_LAWS[law].min_support(k))


@pytest.mark.parametrize("law,k", LAWS)
@settings(max_examples=25)
@given(data=st.data())
def test_subset_form_lp_and_brute_force_agree(law, k, data):
    p, q = data.draw(_pairs(law, k, max_v=6 if k < 3 else 5))
    best = optimal_cut(p, q, law, k)
    value, cut = best.value, best.cut
    assert value == pytest.approx(brute_force(p, q, k, law), abs=1e-10)
    tuples, probs = DRAFT_LAWS[law].enumerate(q, k)
    # The returned set certifies the value.
    assert 1 + p[cut].sum() - probs[cut[tuples].all(axis=1)].sum() == pytest.approx(value, abs=1e-10)
    for form in ("compact", "dense"):
        result = otm(p, q, law, k, form=form)
        assert result.value == pytest.approx(value, abs=1e-7)
        plan = result.plan.toarray()  # a csr_matrix whatever the form
        np.testing.assert_allclose(plan.sum(axis=1), result.probabilities, atol=1e-7)
        np.testing.assert_allclose(plan.sum(axis=0), p, atol=1e-7)
        assert plan.min() >= 0
        inside = np.zeros_like(plan, dtype=bool)
        for i, t in enumerate(result.tuples):
            inside[i, t] = True
        assert plan[inside].sum() == pytest.approx(value, abs=1e-7)


@settings(max_examples=40)
@given(pq=draft_pairs(max_v=8, min_support=3), k=st.sampled_from([2, 3]))
def test_prefix_rule_for_draws_without_replacement(pq, k):
    """No counterexample to the p/q prefix rule for wo drafts over all 2^V sets (V <= 8)."""
    p, q = pq
    assert optimal_acceptance_rate(p, q, "wo", k) == pytest.approx(brute_force(p, q, k, "wo"), abs=1e-10)


@settings(max_examples=40)
@given(pq=draft_pairs(max_v=8, min_support=3))
def test_verifiers_sit_below_their_optimum(pq):
    p, q = pq
    opt = {d: optimal_acceptance_rate(p, q, d, 2) for d in ("iid", "wo", "hub", "greedy")}
    tol = 1e-12
    assert acceptance_rate(p, q, "rrs", 2) <= opt["iid"] + tol
    assert acceptance_rate(p, q, "kseq", 2) <= opt["iid"] + tol
    assert acceptance_rate(p, q, "nss", 2) <= opt["iid"] + tol
    assert acceptance_rate(p, q, "rrs_wo", 2) <= opt["wo"] + tol
    assert opt["iid"] <= opt["wo"] + tol
    assert acceptance_rate(p, q, "spechub", 2) == pytest.approx(opt["hub"], abs=tol)
    assert acceptance_rate(p, q, "greedy", 2) == pytest.approx(opt["greedy"], abs=tol)
    assert acceptance_rate(p, q, "rrs_wo", 3) <= optimal_acceptance_rate(p, q, "wo", 3) + tol
    assert acceptance_rate(p, q, "greedy", 3) == pytest.approx(optimal_acceptance_rate(p, q, "greedy", 3), abs=tol)


@pytest.mark.parametrize("law,k", LAWS)
@settings(max_examples=25)
@given(data=st.data())
def test_optimum_is_below_the_membership_bound(law, k, data):
    """alpha* <= sum_x min(p(x), P(x is drafted)): a token is emitted as a draft only when drafted."""
    p, q = data.draw(_pairs(law, k))
    tuples, probs = DRAFT_LAWS[law].enumerate(q, k)
    drafted = np.array([probs[(tuples == x).any(axis=1)].sum() for x in range(p.size)])
    assert optimal_acceptance_rate(p, q, law, k) <= np.minimum(p, drafted).sum() + 1e-12


@settings(max_examples=60)
@given(pq=draft_pairs(max_v=7), k=st.sampled_from([1, 2, 3]))
def test_perfect_acceptance_condition_matches_every_subset(pq, k):
    """Khisti et al.: alpha* = 1 iff p(S) >= q(S)^k for every S (checked here over all 2^V sets)."""
    p, q = pq
    every = all(
        p[np.array(bits)].sum() >= q[np.array(bits)].sum() ** k - 1e-12
        for bits in itertools.product([False, True], repeat=p.size)
    )
    assert bool(iid_perfect_acceptance(p, q, k)) == every


@pytest.mark.parametrize("temperature", [1.0, 0.3, 0.15, 0.1])
def test_wo_quadrature_matches_the_exact_two_draft_form(temperature):
    """The exponential-race quadrature (used for k >= 3) reproduces the exact k = 2 containment."""
    from spechub_theory import kernels
    from spechub_theory.optimal.subset import race_rule, ratio_order
    from spechub_theory.synthetic import llm_like_logits, process

    target, draft = llm_like_logits(1, 3000, seed=4)
    p, q = process(target, temperature)[0], process(draft, temperature)[0]
    qs = q[ratio_order(p, q)]
    outside = np.concatenate([np.cumsum(qs[::-1])[::-1], [0.0]])
    quad = np.empty(qs.size + 1)
    kernels.wo_prefix_containment(qs, outside, 2, *race_rule(qs, 2), np.zeros(qs.size + 1, bool), quad)
    np.testing.assert_allclose(quad, containment(qs, 2, "wo"), rtol=0, atol=1e-10)


def test_wo_quadrature_matches_enumeration_near_one_hot():
    # A draft with almost all its mass on one token stresses the long tail of the integral.
    q = np.array([0.9999, 4e-5, 3e-5, 2e-5, 1e-5])
    tuples, probs = DRAFT_LAWS["wo"].enumerate(q, 3)
    exact = [probs[np.isin(tuples, np.arange(m)).all(axis=1)].sum() for m in range(6)]
    np.testing.assert_allclose(containment(q, 3, "wo"), exact, rtol=0, atol=1e-10)


def test_hub_lp_is_compact_at_llm_scale():
    """The SpecHub LP has O(V) variables: it solves at V = 4,000 and matches the closed form."""
    from spechub_theory.synthetic import llm_like_logits, process

    target, draft = llm_like_logits(1, 4000, seed=2)
    p, q = process(target)[0], process(draft)[0]
    result = otm(p, q, "hub", 2)
    assert result.plan.nnz <= 4 * 4000 + 2 * 4000
    assert result.value == pytest.approx(acceptance_rate(p, q, "spechub", 2), abs=1e-7)


def test_dense_lp_with_tiny_marginal_entries():
    # Entries near 1e-12 made HiGHS's presolve report infeasibility when the redundant equality
    # row was kept; the dense form drops it.
    p = np.array([1 - 3e-12, 1e-12, 1e-12, 1e-12])
    q = np.array([0.25, 0.25, 0.25, 0.25])
    result = otm(p, q, "iid", 2, form="dense")
    assert result.value == pytest.approx(optimal_acceptance_rate(p, q, "iid", 2), abs=1e-7)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"law": "uniform"}, r"^law: unknown law 'uniform'"),
        ({"law": "hub", "k": 3}, r"^k: the 'hub' draft law is defined for k = 2 only"),
        ({"law": 2}, r"^law: unknown law 2"),  # the old order (k before the law) is refused, not misread
        ({"solver": "magic"}, r"^solver: unknown solver"),
        ({"k": 0}, r"^k: the number of drafts must be at least 1"),
    ],
)
def test_bad_optimum_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        optimal_acceptance_rate([0.2, 0.3, 0.5], [0.5, 0.3, 0.2], **kwargs)


def test_batched_optimum_and_lp_solver_agree():
    rng = np.random.default_rng(8)
    p, q = rng.dirichlet(np.ones(5), size=(2, 3)), rng.dirichlet(np.ones(5), size=(2, 3))
    for law in ("iid", "wo", "hub"):
        sub = optimal_acceptance_rate(p, q, law, 2)
        assert sub.shape == (2, 3)
        np.testing.assert_allclose(optimal_acceptance_rate(p, q, law, 2, solver="lp"), sub, atol=1e-7)


@pytest.mark.slow
def test_prefix_rule_for_draws_without_replacement_on_continuous_random_laws():
    """A continuous random search for a counterexample to the wo prefix rule (the rule is unproven):
    3,000 pairs from Dirichlet laws of mixed concentration, V = 3..7, k = 2..4, each against the
    minimum over all 2^V sets with the exactly enumerated law of the draws."""
    rng = np.random.default_rng(20261201)
    worst = 0.0
    for case in range(3000):
        v = int(rng.integers(3, 8))
        k = int(rng.integers(2, min(4, v - 1) + 1))
        p = rng.dirichlet(np.full(v, rng.choice([0.1, 0.5, 1.0, 5.0])))
        q = rng.dirichlet(np.full(v, rng.choice([0.1, 0.5, 1.0, 5.0])))
        q = np.where(q < 1e-12, 0.0, q)
        if np.count_nonzero(q) < k:
            continue
        q /= q.sum()
        tuples, probs = DRAFT_LAWS["wo"].enumerate(q, k)
        sets = np.array(list(itertools.product([False, True], repeat=v)))
        inside = sets[:, tuples].all(axis=2)  # (2^V, tuples): every draft of the tuple is in H
        brute = 1.0 + min(0.0, float((sets @ p - inside @ probs).min()))
        worst = max(worst, abs(optimal_acceptance_rate(p, q, "wo", k) - brute))
        assert worst < 1e-9, (case, p, q, k)
