"""The three views of every verifier agree, and every verifier emits exactly p."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from strategies import draft_pairs

from spechub_theory import (
    DRAFT_LAWS,
    METHODS,
    VERIFIERS,
    acceptance_by_position,
    acceptance_rate,
    enumerated_acceptance_by_position,
    enumerated_acceptance_rate,
    output_distribution,
    simulate,
)

CASES = [(m, k) for m in METHODS for k in (1, 2, 3) if VERIFIERS[m].supports(k)]


def _pairs_for(method, k, max_v=8):
    """Any pair: a q with fewer tokens than the law needs for k drafts is drafted in full
    (DraftLaw.drafted), and every view must agree on that too."""
    return draft_pairs(max_v=max_v)


@pytest.mark.parametrize("method,k", CASES)
@given(data=st.data())
def test_emitted_token_has_law_p(method, k, data):
    p, q = data.draw(_pairs_for(method, k, max_v=8 if k < 3 else 6))
    np.testing.assert_allclose(output_distribution(p, q, method, k), p, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method,k", CASES)
@given(data=st.data())
def test_closed_form_equals_enumeration(method, k, data):
    p, q = data.draw(_pairs_for(method, k, max_v=8 if k < 3 else 6))
    assert acceptance_rate(p, q, method, k) == pytest.approx(enumerated_acceptance_rate(p, q, method, k), abs=1e-12)


@pytest.mark.parametrize("method,k", CASES)
@settings(max_examples=8)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_simulation_agrees_with_exact(method, k, data, seed):
    """Monte Carlo acceptance inside a 5-sigma Wilson interval; emitted counts pass chi-square against p."""
    p, q = data.draw(_pairs_for(method, k, max_v=6))
    sim = simulate(p, q, method, k, n=4000, seed=seed)
    lo, hi = sim.interval(z=5.0)
    assert lo <= acceptance_rate(p, q, method, k) <= hi
    support = p > 0
    assert sim.counts[~support].sum() == 0
    if support.sum() > 1:
        assert stats.chisquare(sim.counts[support], sim.n * p[support]).pvalue > 1e-6


@pytest.mark.parametrize("method", [m for m in METHODS if m != "nss" and VERIFIERS[m].supports(1)])
@given(pq=draft_pairs())
def test_one_draft_is_speculative_sampling(method, pq):
    p, q = pq
    assert acceptance_rate(p, q, method, 1) == pytest.approx(np.minimum(p, q).sum(), abs=1e-12)


@pytest.mark.parametrize("method,k", [(m, k) for m, k in CASES if m != "nss"])
@given(data=st.data())
def test_equal_laws_always_accept(method, k, data):
    p, _ = data.draw(_pairs_for(method, k))
    if np.count_nonzero(p) < DRAFT_LAWS[VERIFIERS[method].law].min_support(k):
        p = np.full(p.size, 1.0 / p.size)
    assert acceptance_rate(p, p, method, k) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("method,k", CASES)
@given(data=st.data())
def test_kept_positions_closed_form_equals_enumeration(method, k, data):
    p, q = data.draw(_pairs_for(method, k, max_v=8 if k < 3 else 6))
    np.testing.assert_allclose(
        acceptance_by_position(p, q, method, k), enumerated_acceptance_by_position(p, q, method, k), atol=1e-12
    )


@pytest.mark.parametrize("method,k", [(m, k) for m, k in CASES if k > 1])
@settings(max_examples=5)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_simulated_kept_positions_agree_with_exact(method, k, data, seed):
    p, q = data.draw(_pairs_for(method, k, max_v=6))
    sim = simulate(p, q, method, k, n=4000, seed=seed)
    assert sim.kept.sum() == sim.accepted
    exact = acceptance_by_position(p, q, method, k)
    for j in range(k):
        phat, sd = sim.kept[j] / sim.n, np.sqrt(max(exact[j] * (1 - exact[j]), 1e-12) / sim.n)
        assert abs(phat - exact[j]) <= 5 * sd + 1e-9
