"""Each numba kernel against a plain NumPy reference, at vocabulary sizes enumeration cannot reach."""

import numpy as np
import pytest
from scipy.optimize import brentq

from spechub_theory import acceptance_by_position, acceptance_rate, kernels


def llm_like(n, v, seed, sharpness=3.0):
    """Correlated softmax pairs: target logits z, draft logits z + noise."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, v)) * sharpness
    zq = z + rng.standard_normal((n, v)) * 1.5
    p = np.exp(z - z.max(1, keepdims=True))
    q = np.exp(zq - zq.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True), q / q.sum(1, keepdims=True)


def rrs_reference(p, q, k):
    """Walk the i.i.d. rejection chain with explicit residual vectors."""
    r, alpha, reach = p.copy(), 0.0, 1.0
    for _ in range(k):
        kept = np.minimum(r, q).sum()
        alpha += reach * kept
        reach *= 1.0 - kept
        if reach == 0:
            break
        r = np.maximum(r - q, 0) / np.maximum(r - q, 0).sum()
    return alpha


def rrs_wo_reference(p, q, k):
    """1 - P(all rejected), recursing over every rejected draft with explicit residual vectors."""

    def rejected(r, q_j, steps):
        excess = np.maximum(r - q_j, 0)
        if excess.sum() == 0:
            return 0.0
        total = 0.0
        for x in np.flatnonzero(q_j > r):
            if steps == 1:
                total += q_j[x] - r[x]
            else:
                q_next = q_j.copy()
                q_next[x] = 0
                total += (q_j[x] - r[x]) * rejected(excess / excess.sum(), q_next / q_next.sum(), steps - 1)
        return total

    return 1.0 - rejected(p, q, k)


def hub_reference(p, q, m):
    top = np.argsort(-q, kind="stable")[:m]
    rest = np.setdiff1d(np.arange(q.size), top)
    return p[top].sum() + np.minimum(p[rest], q[rest] / q[rest].sum()).sum()


def kseq_reference(p, q, k):
    """rho by Brent's method on gamma(rho) - rho, then the membership formula term by term."""

    def beta(rho):
        return np.minimum(q, p / rho).sum()

    def excess(rho):
        return sum((1 - beta(rho)) ** j for j in range(k)) - rho

    rho = 1.0 if excess(1.0) <= 0 else brentq(excess, 1.0, float(k), xtol=1e-15, rtol=1e-15)
    m = np.minimum(q, p / rho)
    b = m.sum()
    gamma = sum((1 - b) ** j for j in range(k))
    resid = np.maximum(p - gamma * m, 0)
    hit = 1 - (1 - (q - m) / (1 - b)) ** k if b < 1 else np.zeros_like(p)
    return 1 - (1 - b) ** k + (resid * hit).sum(), rho


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_rrs_kernel(k):
    p, q = llm_like(6, 3000, seed=k)
    ref = [rrs_reference(p[i], q[i], k) for i in range(6)]
    np.testing.assert_allclose(acceptance_rate(p, q, "rrs", k), ref, rtol=0, atol=1e-13)


@pytest.mark.parametrize("k,v", [(2, 400), (3, 40), (4, 12)])
@pytest.mark.parametrize("sharpness", [0.5, 3.0, 8.0])
def test_rrs_wo_kernel(k, v, sharpness):
    p, q = llm_like(3, v, seed=7, sharpness=sharpness)
    ref = [rrs_wo_reference(p[i], q[i], k) for i in range(3)]
    np.testing.assert_allclose(acceptance_rate(p, q, "rrs_wo", k), ref, rtol=0, atol=1e-13)


@pytest.mark.parametrize("method,m", [("spechub", 1), ("greedy", 3)])
def test_hub_set_kernel(method, m):
    p, q = llm_like(8, 2000, seed=3)
    k = 2 if method == "spechub" else m + 1
    ref = [hub_reference(p[i], q[i], m) for i in range(8)]
    np.testing.assert_allclose(acceptance_rate(p, q, method, k), ref, rtol=0, atol=1e-13)


def test_hub_set_kernel_with_a_hub_of_almost_all_mass():
    # q(a) = 1 - 3e-17 rounds to 1: 1 - q(a) would be 0, the direct sum of the spokes is not.
    q = np.array([1.0, 1e-17, 2e-17])
    p = np.array([0.5, 0.25, 0.25])
    # w = (., 1/3, 2/3): alpha = 0.5 + min(0.25, 1/3) + min(0.25, 2/3) = 1.
    assert acceptance_rate(p, q, "spechub", 2) == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_kseq_kernel(k):
    p, q = llm_like(5, 1500, seed=11 + k)
    for i in range(5):
        alpha, rho = kseq_reference(p[i], q[i], k)
        assert kernels.kseq_rho(p[i], q[i], k) == pytest.approx(rho, rel=1e-12)
        assert acceptance_rate(p[i], q[i], "kseq", k) == pytest.approx(alpha, abs=1e-12)


@pytest.mark.parametrize("method", ["rrs", "rrs_wo", "kseq", "nss", "greedy"])
def test_tokens_without_mass_change_nothing(method):
    # Interleaving tokens of zero mass in both laws must leave every kept-draft probability as it is
    # (rrs_wo at k = 3 compresses each row to its tokens with mass before its search).
    rng = np.random.default_rng(3)
    p, q = rng.dirichlet(np.ones(9), size=4), rng.dirichlet(np.ones(9), size=4)
    wide_p, wide_q = np.zeros((4, 20)), np.zeros((4, 20))
    slots = np.sort(rng.choice(20, size=9, replace=False))
    wide_p[:, slots], wide_q[:, slots] = p, q
    for k in (2, 3):
        np.testing.assert_allclose(acceptance_by_position(wide_p, wide_q, method, k),
                                   acceptance_by_position(p, q, method, k), atol=1e-14)


def test_the_small_kernels_against_numpy_references():
    # NumPy one-liners written from each kernel's docstring, on rows with zeros, ties and bad entries.
    from spechub_theory import kernels

    rng = np.random.default_rng(21)
    for _ in range(50):
        v = int(rng.integers(1, 12))
        p = rng.dirichlet(np.ones(v)) * (rng.random(v) < 0.8)
        q = rng.dirichlet(np.ones(v)) * (rng.random(v) < 0.7)
        with np.errstate(divide="ignore", invalid="ignore"):
            keys = np.where(q > 0, p / np.where(q > 0, q, 1.0), np.inf)
        assert np.array_equal(kernels.ratio_keys(p, q), keys)
        order = np.argsort(keys, kind="stable")
        k = int(rng.integers(1, 4))
        values = np.cumsum(p[order]) - np.cumsum(q[order]) ** k  # p(H_m) - q(H_m)^k, m = 1..V
        best, m = kernels.iid_prefix_minimum(p, q, order, k)
        expected = min(0.0, values.min())  # the empty prefix gives 0
        assert best == pytest.approx(expected, abs=1e-15)
        assert (m == 0 and expected == 0.0) or values[m - 1] == pytest.approx(expected, abs=1e-15)
        x = rng.random((3, v))
        sums = np.empty(3)
        assert kernels.row_sums_checked(x, sums) == 0 and np.allclose(sums, x.sum(axis=1), rtol=1e-14)
        for bad, code in ((np.nan, 1), (np.inf, 1), (-1e-3, 2)):
            y = x.copy()
            y[1, int(rng.integers(v))] = bad
            assert kernels.row_sums_checked(y, np.empty(3)) == code
