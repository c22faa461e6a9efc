"""Values derived by hand, with the derivation beside each case."""

import numpy as np
import pytest

from spechub_theory import (
    VERIFIERS,
    acceptance_by_position,
    acceptance_rate,
    enumerated_acceptance_by_position,
    output_distribution,
    simulate,
)
from spechub_theory.exact import chain_outcome

# Case C: p = (1, 0), q = (1/2, 1/2); token 0 is the only one p wants.
P_C, Q_C = np.array([1.0, 0.0]), np.array([0.5, 0.5])
# Case D: p = (0.2, 0.3, 0.5), q = (0.5, 0.3, 0.2); the hub is token 0.
P_D, Q_D = np.array([0.2, 0.3, 0.5]), np.array([0.5, 0.3, 0.2])

CASES = [
    # Single draft: sum min(p, q) = 1/2 (C) and 0.2 + 0.3 + 0.2 = 0.7 (D).
    (P_C, Q_C, "single", 1, 0.5),
    (P_D, Q_D, "single", 1, 0.7),
    # RRS, k = 2, case C: a draft of token 1 is always rejected and leaves the residual (1, 0), so
    # Y is a draft iff some draft is token 0: 1 - (1/2)^2 = 3/4.
    (P_C, Q_C, "rrs", 2, 0.75),
    # RRS, k = 2, case D: c1 = 1, Z1 = (0.5 - 0.2) = 0.3; c2 = 1.3,
    # Z2 = (0.2 - 0.65)_+ + (0.3 - 0.39)_+ + (0.5 - 0.26)_+ = 0.24; alpha = 1 - Z2 = 0.76.
    (P_D, Q_D, "rrs", 2, 0.76),
    # RRS without replacement, case C: the two drafts are {0, 1}, and token 0 is kept with
    # probability 1 whenever it is checked, so alpha = 1.
    (P_C, Q_C, "rrs_wo", 2, 1.0),
    # RRS without replacement, case D: only a first draft of 0 can be rejected (probability
    # 0.5 * (1 - 0.2/0.5) = 0.3); the residual is then (0, 0, 1) and the second draft is 1 or 2 with
    # probabilities 0.6 / 0.4; it is rejected iff it is 1. alpha = 1 - 0.3 * 0.6 = 0.82.
    (P_D, Q_D, "rrs_wo", 2, 0.82),
    # SpecHub, case C: hub 0 (tie to the lowest index) is always drafted and p(0) = 1: alpha = 1.
    (P_C, Q_C, "spechub", 2, 1.0),
    # SpecHub, case D: w = q / (1 - 0.5) = (., 0.6, 0.4); alpha = 0.2 + min(0.3, 0.6) + min(0.5, 0.4) = 0.9.
    (P_D, Q_D, "spechub", 2, 0.9),
    # Greedy, k = 3, case D: the drafts are all three tokens, so alpha = 1.
    (P_D, Q_D, "greedy", 3, 1.0),
    # K-SEQ, k = 2, case C: beta(rho) = min(1/2, 1/rho) = 1/2 on [1, 2], gamma = 1 + 1/2 = 3/2 <= rho
    # gives rho = 3/2; drafts are accepted with probability 1 - (1/2)^2 = 3/4 and the residual
    # (1 - 3/2 * 1/2, 0) = (1/4, 0) never meets a rejected draft (always token 1): alpha = 3/4.
    (P_C, Q_C, "kseq", 2, 0.75),
    # Naive, k = 2, case D: sum p (1 - (1 - q)^2) = 0.2*0.75 + 0.3*0.51 + 0.5*0.36 = 0.483.
    (P_D, Q_D, "nss", 2, 0.483),
]


@pytest.mark.parametrize("p,q,method,k,expected", CASES)
def test_hand_derived_acceptance(p, q, method, k, expected):
    assert acceptance_rate(p, q, method, k) == pytest.approx(expected, abs=1e-14)


def test_rrs_with_a_one_hot_draft():
    # p = (1/2, 1/2), q = (1, 0): both drafts are token 0; the first is kept with probability 1/2,
    # and after its rejection the residual is (0, 1), which rejects the second: alpha = 1/2.
    assert acceptance_rate([0.5, 0.5], [1.0, 0.0], "rrs", 2) == pytest.approx(0.5, abs=1e-15)
    np.testing.assert_allclose(output_distribution([0.5, 0.5], [1.0, 0.0], "rrs", 2), [0.5, 0.5], atol=1e-15)


# SpecHub's split between its two drafts (the authors' verifier), case E: p = (1/2, 1/10, 2/5),
# q = (3/5, 3/10, 1/10). The hub is a = 0; Q(0, i) = q(0) q(i) / (1 - q(0)) = (3/2) q(i), so the pairs
# and their probabilities are (1, 0): 3/10, (2, 0): 1/10, (0, 1): 9/20, (0, 2): 3/20 (sum 1).
# r = (p - q)_+ off the hub = (., 0, 3/10). The leftovers once the spokes are served:
# s_ai = (9/20 - 0)_+ + (3/20 - 3/10)_+ = 9/20 and s_ia = (3/10 - 1/10)_+ + (1/10 - 2/5)_+ = 1/5.
# Walking each pair's chain:
#   (1, 0): keep 1 w.p. p(1)/q(1) = 1/3                  -> 3/10 * 1/3 = 1/10 on the first draft;
#           else keep the hub w.p. (p(0) - s_ai)/s_ia = (1/20)/(1/5) = 1/4
#                                                        -> 3/10 * 2/3 * 1/4 = 1/20 on the second;
#           else the residual (p - w)_+ off the hub, w = (., 3/4, 1/4): all on token 2 (3/20).
#   (2, 0): keep 2 w.p. min(1, 4) = 1                    -> 1/10 on the first.
#   (0, 1): keep 1 w.p. r(1)/Q(0,1) = 0; keep the hub w.p. min(1, p(0)/s_ai) = 1
#                                                        -> 9/20 on the first.
#   (0, 2): keep 2 w.p. min(1, r(2)/Q(0,2)) = min(1, 2) = 1 -> 3/20 on the second.
# First draft: 1/10 + 1/10 + 9/20 = 13/20; second: 1/20 + 3/20 = 1/5; total 17/20 = p(0) + min(p(1), 3/4)
# + min(p(2), 1/4). Y = 0 w.p. 1/20 + 9/20 = 1/2, Y = 1 w.p. 1/10, Y = 2 w.p. 3/20 + 1/10 + 3/20 = 2/5: p.
# (The library's earlier verifier kept the spoke w.p. min(1, p(i)/w(i)) in either order: with
# S = min(p(1), 3/4) + min(p(2), 1/4) = 7/20 it gave (1 - q(0)) S + q(0) p(0) = 11/25 first and
# (1 - q(0)) p(0) + q(0) S = 41/100 second, the same total.)
P_E, Q_E = np.array([0.5, 0.1, 0.4]), np.array([0.6, 0.3, 0.1])

SPLITS = [
    (P_E, Q_E, [13 / 20, 1 / 5]),
    # Case D: a = 0, Q(0, i) = q(i) (q(0) = 1/2), r = (., 0, 3/10), s_ai = 3/10 + 0 = 3/10, s_ia = 0 + 0 = 0.
    # First: min(p, q) over the spokes = 3/10 + 1/5, plus min(p(0), s_ai) = 1/5: 7/10. Second:
    # min(r, Q) = 0 + 1/5, plus min((p(0) - s_ai)_+, s_ia) = 0: 1/5.
    (P_D, Q_D, [0.7, 0.2]),
    # Case C, a tie for argmax q: the hub is token 0 (lowest index). The pair (1, 0) never keeps 1
    # (p(1) = 0) and (0, 1) neither; s_ai = Q(0, 1) = 1/2 serves p(0) = 1 first, s_ia = 1/2 the rest:
    # (min(1, 1/2), min(1/2, 1/2)) = (1/2, 1/2).
    (P_C, Q_C, [0.5, 0.5]),
    # p = q = (1/2, 1/4, 1/4): each (i, 0) keeps i (mass 1/2); each (0, i) has r(i) = 0, so its hub is
    # kept first (s_ai = 1/2 >= p(0) = 1/2 is used up): (1, 0).
    (np.array([0.5, 0.25, 0.25]), np.array([0.5, 0.25, 0.25]), [1.0, 0.0]),
    # One-hot p = (0, 0, 1), q = (1/2, 1/3, 1/6): a = 0, Q(0, i) = q(i). The pair (2, 0) keeps 2 (1/6);
    # r(2) = 5/6 takes all of Q(0, 2) = 1/6 on the second draft; p(0) = 0 keeps no hub: (1/6, 1/6), and
    # the rest 2/3 of Y = 2 comes from the residual.
    (np.array([0.0, 0.0, 1.0]), np.array([0.5, 1 / 3, 1 / 6]), [1 / 6, 1 / 6]),
    # A hub of almost all the mass, q = (1, 1e-17, 2e-17) (1 - q(0) rounds to 0), p = (1/2, 1/4, 1/4):
    # Q(0, i) = q(i) / (3e-17) = (., 1/3, 2/3); the pairs (i, 0) keep about 1e-17; r = (., 1/4, 1/4) is all
    # taken as the second draft (1/2), s_ai = 1/12 + 5/12 = 1/2 serves p(0) as the first: (1/2, 1/2).
    (np.array([0.5, 0.25, 0.25]), np.array([1.0, 1e-17, 2e-17]), [0.5, 0.5]),
]


@pytest.mark.parametrize("p,q,expected", SPLITS)
def test_spechub_split_between_its_drafts(p, q, expected):
    np.testing.assert_allclose(acceptance_by_position(p, q, "spechub", 2), expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(enumerated_acceptance_by_position(p, q, "spechub", 2), expected, rtol=0, atol=1e-15)


def test_spechub_chain_of_each_draft_pair_by_hand():
    # Case E, pair by pair (the derivation above): P(Y kept as draft j | drafts) and the residual's share.
    verifier = VERIFIERS["spechub"]
    for drafts, first, second in [((1, 0), 1 / 3, 2 / 3 * 1 / 4), ((2, 0), 1.0, 0.0), ((0, 1), 1.0, 0.0),
                                  ((0, 2), 0.0, 1.0)]:
        law, kept = chain_outcome(verifier, np.array(drafts), P_E, Q_E)
        np.testing.assert_allclose(kept, [first, second], rtol=0, atol=1e-15)
    law, _ = chain_outcome(verifier, np.array([1, 0]), P_E, Q_E)
    np.testing.assert_allclose(law, [1 / 6, 1 / 3, 1 / 2], rtol=0, atol=1e-15)  # 1/3 kept 1, 1/6 hub, 1/2 token 2
    np.testing.assert_allclose(output_distribution(P_E, Q_E, "spechub", 2), P_E, rtol=0, atol=1e-15)


def test_spechub_simulated_split_of_case_e():
    sim = simulate(P_E, Q_E, "spechub", 2, n=40_000, seed=12)
    for j, exact in enumerate((13 / 20, 1 / 5)):
        assert abs(sim.kept[j] / sim.n - exact) <= 5 * np.sqrt(exact * (1 - exact) / sim.n)
