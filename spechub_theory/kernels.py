"""Numba kernels for the exact acceptance rates.

Every kernel takes C-contiguous float64 arrays ``p`` and ``q`` of shape ``(n, V)`` whose rows are
validated distributions, and writes one number per row into ``out``. The public wrappers in
:mod:`spechub_theory.verifiers` validate, reshape and document the formulas; the tests keep a
pure-NumPy reference for each kernel.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def rrs_rejection(p, q, k, out):
    """``P(all k i.i.d. drafts rejected)`` under recursive rejection sampling, per row.

    With ``c_0 = 0``, ``Z_0 = 1``, ``c_j = c_{j-1} + Z_{j-1}`` and ``Z_j = sum_x (p(x) - c_j q(x))_+``,
    the residual after ``j`` rejections is ``(p - c_j q)_+ / Z_j``, step ``j`` rejects with
    probability ``Z_j / Z_{j-1}``, and the product telescopes to ``Z_k``. Cost ``O(k V)``.
    """
    n, v = p.shape
    for row in range(n):
        c = 0.0
        z = 1.0
        for _ in range(k):
            c += z
            z = 0.0
            for x in range(v):
                d = p[row, x] - c * q[row, x]
                if d > 0.0:
                    z += d
            if z <= 0.0:
                z = 0.0
                break
        out[row] = z


@njit(cache=True)
def hub_set_acceptance(p, q, m, out):
    """``p(T) + sum_{x not in T} min(p(x), q(x) / (1 - q(T)))`` with ``T`` the ``m`` most likely drafts.

    ``T`` is chosen like :func:`spechub_theory.drafts.top_tokens` (ties to the lowest index). Cost
    ``O((m + 1) V)``.
    """
    n, v = p.shape
    chosen = np.zeros(v, dtype=np.bool_)
    for row in range(n):
        chosen[:] = False
        q_fixed = 0.0
        p_fixed = 0.0
        for _ in range(m):
            best = -1
            for x in range(v):
                if not chosen[x] and (best < 0 or q[row, x] > q[row, best]):
                    best = x
            chosen[best] = True
            q_fixed += q[row, best]
            p_fixed += p[row, best]
        scale = 1.0 / (1.0 - q_fixed)
        total = 0.0
        for x in range(v):
            if not chosen[x]:
                total += min(p[row, x], q[row, x] * scale)
        out[row] = p_fixed + total


@njit(cache=True)
def _threshold_sums(p, q):
    """Tokens with ``p > q`` sorted by decreasing ``p/q``, with prefix sums of ``p`` and ``q``.

    Returns ``(ratios, p_prefix, q_prefix)`` such that for any ``c >= 1``
    ``sum_x (p(x) - c q(x))_+ = p_prefix[m] - c q_prefix[m]`` with ``m = #{ratios > c}``.
    Tokens with ``q = 0 < p`` have ratio ``+inf``.
    """
    v = p.size
    count = 0
    for x in range(v):
        if p[x] > q[x]:
            count += 1
    idx = np.empty(count, dtype=np.int64)
    ratios = np.empty(count)
    j = 0
    for x in range(v):
        if p[x] > q[x]:
            idx[j] = x
            ratios[j] = -(p[x] / q[x]) if q[x] > 0.0 else -np.inf
            j += 1
    order = np.argsort(ratios)
    sorted_ratios = np.empty(count)
    p_prefix = np.zeros(count + 1)
    q_prefix = np.zeros(count + 1)
    for j in range(count):
        x = idx[order[j]]
        sorted_ratios[j] = -ratios[order[j]]
        p_prefix[j + 1] = p_prefix[j] + p[x]
        q_prefix[j + 1] = q_prefix[j] + q[x]
    return sorted_ratios, p_prefix, q_prefix


@njit(cache=True)
def _excess(c, ratios, p_prefix, q_prefix):
    """``Z(c) = sum_x (p(x) - c q(x))_+`` for ``c >= 1`` by binary search in decreasing ``ratios``."""
    lo = 0
    hi = ratios.size
    while lo < hi:
        mid = (lo + hi) // 2
        if ratios[mid] > c:
            lo = mid + 1
        else:
            hi = mid
    z = p_prefix[lo] - c * q_prefix[lo]
    return z if z > 0.0 else 0.0


@njit(cache=True)
def _wo_rejection(step, k, c_prev, z_prev, drafted_mass, drafted, p, q, ratios, p_prefix, q_prefix):
    """``P(drafts step..k are all rejected | state)`` for RRS without replacement.

    State before ``step``: residual ``(p - c_prev q)_+ / z_prev`` and drafted mass ``q(D)``. The next
    draft has law ``t q`` off ``D`` with ``t = 1 / (1 - q(D))``; a rejection moves ``c`` to
    ``c_prev + z_prev t``, independent of which token was rejected, so only the next ``t`` depends on
    it. The last step needs no loop: it rejects with probability ``Z(c) / z_prev``.
    """
    t = 1.0 / (1.0 - drafted_mass)
    c = c_prev + z_prev * t
    z = _excess(c, ratios, p_prefix, q_prefix)
    if z <= 0.0:
        return 0.0
    if step == k:
        return z / z_prev
    total = 0.0
    for x in range(p.size):
        if drafted[x]:
            continue
        r = p[x] - c_prev * q[x]
        weight = t * q[x] - (r / z_prev if r > 0.0 else 0.0)
        if weight > 0.0:
            drafted[x] = True
            total += weight * _wo_rejection(
                step + 1, k, c, z, drafted_mass + q[x], drafted, p, q, ratios, p_prefix, q_prefix
            )
            drafted[x] = False
    return total


@njit(cache=True)
def rrs_wo_rejection(p, q, k, out):
    """``P(all k drafts rejected)`` under RRS with drafts without replacement, per row.

    One sort of the tokens with ``p > q`` by ``p/q`` and prefix sums answer every threshold sum
    ``Z(c)`` in ``O(log V)``; the recursion then enumerates the rejected prefixes ``x_1..x_{k-1}``.
    Cost ``O(V log V)`` for ``k <= 2`` and ``O(V^{k-1} log V)`` in general (only tokens that can be
    rejected, ``q(x) > p(x)`` at the first step, are visited).
    """
    n, v = p.shape
    drafted = np.zeros(v, dtype=np.bool_)
    for row in range(n):
        ratios, p_prefix, q_prefix = _threshold_sums(p[row], q[row])
        drafted[:] = False
        out[row] = _wo_rejection(1, k, 0.0, 1.0, 0.0, drafted, p[row], q[row], ratios, p_prefix, q_prefix)


@njit(cache=True)
def _kseq_beta_gamma(rho, p, q, k):
    """``(beta, gamma)`` at ``rho``: ``beta = sum min(q, p/rho)`` and ``gamma = sum_{j<k} (1-beta)^j``."""
    beta = 0.0
    for x in range(p.size):
        beta += min(q[x], p[x] / rho)
    gamma = 0.0
    power = 1.0
    for _ in range(k):
        gamma += power
        power *= 1.0 - beta
    return beta, gamma


@njit(cache=True)
def kseq_rho(p, q, k):
    """SpecTr's division factor: the smallest ``rho`` in ``[1, k]`` with ``gamma(rho) <= rho``.

    ``rho beta(rho) = sum min(rho q, p)`` increases and ``1 - (1 - beta(rho))^k`` decreases in
    ``rho``, so feasibility is monotone and bisection (to adjacent floats) finds the boundary; the
    feasible end is returned so the residual stays non-negative.
    """
    if _kseq_beta_gamma(1.0, p, q, k)[1] <= 1.0:
        return 1.0
    lo = 1.0
    hi = float(k)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if _kseq_beta_gamma(mid, p, q, k)[1] <= mid:
            hi = mid
        else:
            lo = mid
    return hi


@njit(cache=True)
def kseq_acceptance(p, q, k, out):
    """``P(Y in drafts)`` for K-SEQ with i.i.d. drafts, per row.

    With ``m = min(q, p/rho)``, ``beta = sum m`` and ``gamma = (1 - (1-beta)^k) / beta``: a draft is
    accepted at some step with probability ``1 - (1-beta)^k``; otherwise ``Y`` comes from the
    residual ``R = p - gamma m`` (unnormalised, mass ``(1-beta)^k``) independently of the rejected
    drafts, which are i.i.d. with law ``d = (q - m) / (1 - beta)``, so the residual lands on a draft
    with probability ``sum_y R(y) (1 - (1 - d(y))^k)``.
    """
    n, v = p.shape
    for row in range(n):
        pr = p[row]
        qr = q[row]
        rho = kseq_rho(pr, qr, k)
        beta, gamma = _kseq_beta_gamma(rho, pr, qr, k)
        miss = (1.0 - beta) ** k
        alpha = 1.0 - miss
        if miss > 0.0:
            for y in range(v):
                m = min(qr[y], pr[y] / rho)
                resid = pr[y] - gamma * m
                if resid > 0.0:
                    alpha += resid * (1.0 - (1.0 - (qr[y] - m) / (1.0 - beta)) ** k)
        out[row] = alpha
