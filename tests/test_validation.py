"""Bad input is refused with a ValueError naming the argument; batches broadcast like NumPy."""

import numpy as np
import pytest

from spechub_theory import METHODS, acceptance_rate, output_distribution, simulate

P = np.array([0.2, 0.3, 0.5])
Q = np.array([0.5, 0.3, 0.2])


@pytest.mark.parametrize(
    "p,q,method,k,match",
    [
        ([np.nan, 0.5, 0.5], Q, "rrs", 2, r"^p: contains NaN"),
        (P, [np.inf, 0.0, 0.0], "rrs", 2, r"^q: contains NaN or infinite"),
        ([-0.1, 0.6, 0.5], Q, "rrs", 2, r"^p: contains negative"),
        (P, [0.5, 0.3, 0.3], "rrs", 2, r"^q: a row sums to 1.1"),
        (P, [0.5, 0.5], "rrs", 2, r"^q: vocabulary size 2 does not match"),
        (np.tile(P, (2, 1)), np.tile(Q, (3, 1)), "rrs", 2, r"^q: shape .* does not broadcast"),
        (P, Q, "rrs", 0, r"^k: the number of drafts must be at least 1"),
        (P, Q, "rrs", 2.5, r"^k: expected an integer"),
        (P, Q, "magic", 2, r"^method: unknown method 'magic'"),
        (P, Q, "spechub", 3, r"^k: method 'spechub' supports k = 2 only"),
        (P, Q, "single", 2, r"^k: method 'single' supports k = 1 only"),
        (P, [0.0, 0.0, 0.0], "rrs", 2, r"^q: a row has zero total mass"),
    ],
)
def test_bad_input_names_the_argument(p, q, method, k, match):
    for fn in (acceptance_rate, output_distribution):
        with pytest.raises(ValueError, match=match):
            fn(p, q, method, k)


@pytest.mark.parametrize(
    "q,method,k,match",
    [
        ([0.0, 0.0, 1.0], "rrs_wo", 2, r"^q: q has only 1 token\(s\) of positive mass but the 'wo' draft law needs 2"),
        ([[0.2, 0.3, 0.5], [0.0, 0.5, 0.5]], "greedy", 3, r"^q: row \(1,\) of q has only 2 token\(s\) .* 'greedy' draft law needs 3"),
        ([0.0, 0.0, 1.0], "spechub", 2, r"^q: q has only 1 token\(s\) .* the 'hub' draft law needs 2"),
    ],
)
def test_strict_refuses_rows_with_fewer_tokens_than_drafts(q, method, k, match):
    for fn in (acceptance_rate, output_distribution):
        fn(P, q, method, k)  # by default the law drafts all of the row's tokens (tests/test_short_support.py)
        with pytest.raises(ValueError, match=match):
            fn(P, q, method, k, strict=True)


def test_normalize_rescales_instead_of_refusing():
    assert acceptance_rate(2 * P, 3 * Q, "single", 1, normalize=True) == pytest.approx(0.7, abs=1e-15)


def test_sums_within_tolerance_are_accepted():
    assert acceptance_rate(P * (1 + 1e-9), Q, "single", 1) == pytest.approx(0.7, abs=1e-12)


def test_simulate_requires_a_seed_and_one_position():
    with pytest.raises(ValueError, match=r"^seed: an explicit seed"):
        simulate(P, Q, "rrs", 2, n=10)
    with pytest.raises(ValueError, match=r"^p: simulate takes one position"):
        simulate(np.tile(P, (2, 1)), Q, "rrs", 2, n=10, seed=0)
    with pytest.raises(ValueError, match=r"^n: expected a positive integer"):
        simulate(P, Q, "rrs", 2, n=0, seed=0)


def test_enumeration_refuses_large_vocabularies():
    v = 2000
    with pytest.raises(ValueError, match=r"^q: enumerating 2000\^2 draft tuples"):
        output_distribution(np.full(v, 1 / v), np.full(v, 1 / v), "rrs", 2)


@pytest.mark.parametrize("method,k", [(m, 2) for m in METHODS if m != "single"] + [("single", 1)])
def test_batches_broadcast_over_leading_axes(method, k):
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(7), size=(2, 3))
    q = rng.dirichlet(np.ones(7), size=(3,))
    out = acceptance_rate(p, q, method, k)
    assert out.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            assert out[i, j] == acceptance_rate(p[i, j], q[j], method, k)
    assert isinstance(acceptance_rate(p[0, 0], q[0], method, k), float)
    laws = output_distribution(p, q, method, k)
    assert laws.shape == (2, 3, 7)
    np.testing.assert_allclose(laws, p, atol=1e-12)
