"""Values derived by hand, with the derivation beside each case."""

import numpy as np
import pytest

from spechub_theory import acceptance_rate, output_distribution

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
