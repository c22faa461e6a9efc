"""SpecHub (Sun et al., EMNLP 2024): never below one draft, above RRS at the hub condition, and its
per-draft split, the authors' verifier, against the enumerated chain."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import distributions, draft_pairs

from spechub_theory import (
    DRAFT_LAWS,
    VERIFIERS,
    acceptance_by_position,
    acceptance_rate,
    enumerated_acceptance_by_position,
    output_distribution,
    simulate,
)
from spechub_theory.verifiers import spechub


@given(pq=draft_pairs(min_support=2))
def test_spechub_never_below_single_draft(pq):
    # Its value p(a) + sum min(p, q / (1 - q(a))) dominates sum min(p, q) term by term.
    p, q = pq
    assert acceptance_rate(p, q, "spechub", 2) >= np.minimum(p, q).sum() - 1e-12


@given(pq=draft_pairs(min_support=2))
def test_spechub_beats_rrs_when_the_hub_holds_half_the_mass(pq):
    p, q = pq
    assume(q.max() >= 0.5)
    assert acceptance_rate(p, q, "spechub", 2) >= acceptance_rate(p, q, "rrs", 2) - 1e-12


def test_spechub_can_lose_to_rrs_without_the_hub_condition():
    # A flat q (no hub): q = uniform over 4, p = (0, 1/2, 1/2, 0). The hub is token 0, which p never
    # wants: SpecHub gives 0 + min(1/2, 1/3) * 2 = 2/3, while RRS (k = 2) gives 1 - Z2 with
    # Z1 = 2 * (1/2 - 1/4) = 1/2, c2 = 3/2, Z2 = 2 * (1/2 - 3/8) = 1/4: 3/4 > 2/3.
    p, q = np.array([0.0, 0.5, 0.5, 0.0]), np.full(4, 0.25)
    assert acceptance_rate(p, q, "spechub", 2) == pytest.approx(2 / 3, abs=1e-15)
    assert acceptance_rate(p, q, "rrs", 2) == pytest.approx(0.75, abs=1e-15)


# The per-draft split: which of the two drafts is kept. The verifier is the authors' (their Sequoia
# MyTree.accept_step and EAGLE evaluate_posterior(mode="spechub")): the pair (i, a) serves p(i) first,
# the pair (a, i) what is left of it, then the hub is served by the (a, i) leftovers before the (i, a) ones.


@st.composite
def hub_pairs(draw, max_v: int = 8):
    """``(p, q)`` for the hub law with its corners forced often: a tie for ``argmax q``, ``p = q``,
    a one-hot ``p``, tokens with ``q = 0``, a hub with almost all of ``q``; from integer weights."""
    p, q = draw(draft_pairs(max_v=max_v, min_support=2))
    corner = draw(st.sampled_from(["none", "tie", "equal", "onehot_p", "zero_q", "heavy_hub"]))
    v = p.size
    weights = np.asarray(draw(st.lists(st.integers(0, 6), min_size=v, max_size=v)), dtype=np.float64)
    if corner == "tie":
        i, j = draw(st.lists(st.integers(0, v - 1), min_size=2, max_size=2, unique=True))
        weights[i] = weights[j] = weights.max() + 1
        q = weights / weights.sum()
    elif corner == "equal":
        q = p.copy() if np.count_nonzero(p) >= 2 else np.full(v, 1.0 / v)
        p = q.copy()
    elif corner == "onehot_p":
        p = np.eye(v)[draw(st.integers(0, v - 1))]
    elif corner == "zero_q":
        weights[draw(st.integers(0, v - 1))] = 0.0
        if np.count_nonzero(weights) >= 2:
            q = weights / weights.sum()
    elif corner == "heavy_hub":
        weights = np.maximum(weights, 1.0)
        weights[draw(st.integers(0, v - 1))] = draw(st.sampled_from([50.0, 1e3, 1e9]))
        q = weights / weights.sum()
    return p, q


@given(pq=hub_pairs())
def test_split_equals_the_enumerated_chain(pq):
    # The closed form (a numba kernel) against the verifier's chain walked exactly over all 2(V-1)
    # draft pairs of the hub law.
    p, q = pq
    np.testing.assert_allclose(acceptance_by_position(p, q, "spechub", 2),
                               enumerated_acceptance_by_position(p, q, "spechub", 2), rtol=0, atol=1e-12)


@given(pq=hub_pairs())
def test_the_emitted_token_has_law_p(pq):
    p, q = pq
    np.testing.assert_allclose(output_distribution(p, q, "spechub", 2), p, rtol=0, atol=1e-12)


@given(pq=hub_pairs())
def test_the_split_sums_to_the_acceptance_rate(pq):
    # The total is the hub law's optimum p(a) + sum_{i != a} min(p(i), q(i) / (1 - q(a))), computed
    # here from its definition with the hub found by a stable sort (ties to the lowest index).
    p, q = pq
    a = int(np.argsort(-q, kind="stable")[0])
    spokes = np.arange(p.size) != a
    expected = p[a] + np.minimum(p[spokes], q[spokes] / q[spokes].sum()).sum()
    assert acceptance_by_position(p, q, "spechub", 2).sum() == pytest.approx(expected, abs=1e-12)


@given(p=distributions(8, min_support=2))
def test_equal_laws_keep_the_first_draft(p):
    # At p = q the pair (i, a) keeps i always (p(i)/q(i) = 1), and the pair (a, i) leaves nothing of p(i)
    # for i, so its hub (the first draft) is kept: (1, 0).
    np.testing.assert_allclose(acceptance_by_position(p, p, "spechub", 2), [1.0, 0.0], rtol=0, atol=1e-12)


def spechub_positions_reference(p, q):
    """The kernel's formula in NumPy, one row at a time, from the transport order of the module docstring,
    in extended precision (``np.longdouble``) so that the kernel's float64 rounding shows."""
    out = []
    for pr, qr in zip(p.astype(np.longdouble), q.astype(np.longdouble)):
        a = int(np.argsort(-qr, kind="stable")[0])
        spoke = np.arange(pr.size) != a
        pi, qi = pr[spoke], qr[spoke]
        pair_ai = qr[a] * qi / qi.sum()
        r = np.maximum(pi - qi, 0.0)
        s_ai, s_ia = np.maximum(pair_ai - r, 0.0).sum(), np.maximum(qi - pi, 0.0).sum()
        out.append([np.minimum(pi, qi).sum() + min(pr[a], s_ai),
                    np.minimum(r, pair_ai).sum() + min(max(pr[a] - s_ai, 0.0), s_ia)])
    return np.array(out, dtype=np.longdouble)


def chain_reference(p, q):
    """The split by walking the chain exactly over every hub pair, at a vocabulary too large for exact.py."""
    verifier = VERIFIERS["spechub"]
    prepared = spechub.setup(p, q, 2)
    kept = np.zeros(2)
    for drafts, prob in zip(*DRAFT_LAWS["hub"].enumerate(q, 2)):
        kept += prob * chain_outcome_with(verifier, drafts, p, q, prepared)
    return kept


def chain_outcome_with(verifier, drafts, p, q, prepared):
    """P(each draft is kept) given ``drafts``: the chain's steps walked with their reach probabilities."""
    kept, reach = np.zeros(len(drafts)), 1.0
    for accept, emit in verifier.chain(drafts, p, q, **prepared):
        if not isinstance(emit, np.ndarray):
            kept[emit] += reach * accept
        else:
            assert reach * accept * emit[drafts].sum() <= 1e-15  # the residual never lands on a draft
        reach *= 1.0 - accept
    return kept


def llm_like(n, v, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, v)) * 3.0
    zq = z + rng.standard_normal((n, v)) * 1.5
    p, q = np.exp(z - z.max(1, keepdims=True)), np.exp(zq - zq.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True), q / q.sum(1, keepdims=True)


def test_kernel_equals_its_numpy_reference_and_the_chain_at_a_large_vocabulary():
    p, q = llm_like(6, 3000, seed=5)
    kept = acceptance_by_position(p, q, "spechub", 2)
    assert np.abs(kept - spechub_positions_reference(p, q)).max() <= 1e-15
    np.testing.assert_allclose(kept[:2], [chain_reference(p[i], q[i]) for i in range(2)], rtol=0, atol=1e-12)
    assert (kept[:, 1] > 1e-3).all() and (np.abs(kept[:, 0] - kept[:, 1]) > 1e-3).all()  # a split to get wrong


def test_kernel_keeps_float64_accuracy_over_a_real_vocabulary():
    # 49,152 tokens (SmolLM2's vocabulary): a plain running sum loses ~1e-14 on such rows.
    p, q = llm_like(3, 49_152, seed=8)
    assert np.abs(acceptance_by_position(p, q, "spechub", 2) - spechub_positions_reference(p, q)).max() <= 1e-15


@settings(max_examples=10)
@given(pq=hub_pairs(max_v=6), seed=st.integers(0, 2**32 - 1))
def test_the_simulator_keeps_each_draft_as_often_as_the_enumerated_chain(pq, seed):
    p, q = pq
    sim = simulate(p, q, "spechub", 2, n=4000, seed=seed)
    exact = enumerated_acceptance_by_position(p, q, "spechub", 2)
    for j in range(2):
        sd = np.sqrt(max(exact[j] * (1 - exact[j]), 1e-12) / sim.n)
        assert abs(sim.kept[j] / sim.n - exact[j]) <= 5 * sd + 1e-9


@given(pq=hub_pairs())
def test_the_first_draft_is_kept_no_more_often_than_a_single_draft(pq):
    # P(first kept) = sum_{i != a} min(p, q) + min(p(a), s_ai) and s_ai <= sum_{i != a} Q(a, i) = q(a).
    p, q = pq
    assert acceptance_by_position(p, q, "spechub", 2)[0] <= np.minimum(p, q).sum() + 1e-12
