"""Numba kernels for the exact acceptance rates and optima.

The kernels trust their inputs: C-contiguous float64 arrays whose rows are distributions already
validated by the public wrappers (:mod:`spechub_theory.verifiers`, :mod:`spechub_theory.optimal`,
:mod:`spechub_theory.validate`), which also document the formulas. Their shapes differ, and each
kernel's docstring states its own: most take ``p, q`` of shape ``(n, V)`` and fill one row of ``out``
per position (``rrs_rejection``, ``rrs_wo_rejection`` and ``kseq_acceptance``: ``k`` numbers per
row; ``spechub_positions``: 2; ``hub_set_acceptance``: ``m + 2``); ``wo_prefix_containment`` takes
one sorted law; ``kseq_rho``, ``ratio_keys`` and ``iid_prefix_minimum`` work on one position and
return their values; ``row_sums_checked`` returns a problem code.

The tests check every kernel through its public wrapper against an independent computation
(enumeration of the draft law and the verifier's chain, brute force over subsets, the dense LP);
``kseq_rho``, ``wo_prefix_containment``, ``ratio_keys``, ``iid_prefix_minimum`` and
``row_sums_checked`` are also checked directly against NumPy references.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def row_sums_checked(x, sums):
    """Row sums of ``x`` (shape ``(n, V)``) into ``sums`` in one pass; returns a problem code.

    0: every entry finite and non-negative; 1: a NaN or infinite entry; 2: a negative entry.
    """
    n, v = x.shape
    for row in range(n):
        total = 0.0
        for j in range(v):
            value = x[row, j]
            if not np.isfinite(value):
                return 1
            if value < 0.0:
                return 2
            total += value
        sums[row] = total
    return 0


@njit(cache=True)
def rrs_rejection(p, q, k, out):
    """``P(the first j i.i.d. drafts are all rejected)`` under recursive rejection sampling, j = 1..k.

    With ``c_0 = 0``, ``Z_0 = 1``, ``c_j = c_{j-1} + Z_{j-1}`` and ``Z_j = sum_x (p(x) - c_j q(x))_+``,
    the residual after ``j`` rejections is ``(p - c_j q)_+ / Z_j``, step ``j`` rejects with
    probability ``Z_j / Z_{j-1}``, and the product telescopes to ``Z_j``: ``out[row, j-1] = Z_j``.
    Cost ``O(k V)``.
    """
    n, v = p.shape
    for row in range(n):
        c = 0.0
        z = 1.0
        for j in range(k):
            if z > 0.0:
                c += z
                z = 0.0
                for x in range(v):
                    d = p[row, x] - c * q[row, x]
                    if d > 0.0:
                        z += d
            out[row, j] = z


@njit(cache=True)
def _remaining_mass(q, drafted, remaining, removed):
    """``sum_{x not drafted} q(x)`` after a token of mass ``removed`` joins the drafts (was ``remaining``).

    ``remaining - removed`` is used while it keeps at least half of ``remaining``; otherwise
    (a draft holding most of the mass, as at low temperature) the remainder is summed directly, so
    ``1 / remaining`` never loses precision nor divides by zero. ``drafted`` must already include
    the new token.
    """
    rest = remaining - removed
    if rest >= 0.5 * remaining:
        return rest
    rest = 0.0
    for x in range(q.size):
        if not drafted[x]:
            rest += q[x]
    return rest


@njit(cache=True)
def hub_set_acceptance(p, q, m, out):
    """The parts of ``p(T) + sum_{x not in T} min(p(x), q(x) / (1 - q(T)))``, ``T`` the top ``m`` of q.

    ``out[row, :m]`` holds ``p(t_1), .., p(t_m)`` for ``T`` ranked like
    :func:`spechub_theory.drafts.top_tokens` (ties to the lowest index), ``out[row, m]`` the sum
    over the other tokens and ``out[row, m + 1]`` the mass ``q(T)``. Cost ``O((m + 1) V)``.
    """
    n, v = p.shape
    chosen = np.zeros(v, dtype=np.bool_)
    for row in range(n):
        chosen[:] = False
        q_fixed = 0.0
        for i in range(m):
            best = -1
            for x in range(v):
                if not chosen[x] and (best < 0 or q[row, x] > q[row, best]):
                    best = x
            chosen[best] = True
            q_fixed += q[row, best]
            out[row, i] = p[row, best]
        scale = 1.0 / _remaining_mass(q[row], chosen, 1.0, q_fixed)
        total = 0.0
        for x in range(v):
            if not chosen[x]:
                total += min(p[row, x], q[row, x] * scale)
        out[row, m] = total
        out[row, m + 1] = q_fixed


#: Tokens summed plainly per block; the blocks' sums are then added with their rounding errors
#: kept (:func:`_add_exactly`), so a sum of ``V`` terms loses about ``BLOCK`` roundings, not ``V``.
BLOCK = 128


@njit(cache=True)
def _add_exactly(sums, i, value):
    """``sums[i] += value``, the rounding error (Knuth's branch-free TwoSum) added to ``sums[i + 4]``."""
    total = sums[i] + value
    back = total - sums[i]
    sums[i + 4] += (sums[i] - (total - back)) + (value - back)
    sums[i] = total


@njit(cache=True)
def _spechub_spoke_sums(p, q, scale, lo, hi, sums):
    """Adds the terms of the spokes ``lo..hi-1`` to ``sums[:4]`` in blocks of :data:`BLOCK` (errors in ``sums[4:]``):
    ``min(p, q)``, ``min(r, Q)``, ``(Q - r)_+`` and ``(q - p)_+``, ``r = (p - q)_+`` and ``Q = scale q``."""
    for start in range(lo, hi, BLOCK):
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        for x in range(start, min(start + BLOCK, hi)):
            pair_ai = scale * q[x]
            r = max(p[x] - q[x], 0.0)
            s0 += min(p[x], q[x])
            s1 += min(r, pair_ai)
            s2 += max(pair_ai - r, 0.0)
            s3 += max(q[x] - p[x], 0.0)
        _add_exactly(sums, 0, s0)
        _add_exactly(sums, 1, s1)
        _add_exactly(sums, 2, s2)
        _add_exactly(sums, 3, s3)


@njit(cache=True)
def spechub_positions(p, q, out):
    """``out[row] = (P(first draft kept), P(second draft kept))`` under SpecHub's verifier.

    With the hub ``a = argmax q`` (ties to the lowest index), ``Q(a, i) = q(a) q(i) / (1 - q(a))``
    and ``r(i) = (p(i) - q(i))_+`` (:mod:`spechub_theory.verifiers.spechub`):

        first  = sum_{i != a} min(p(i), q(i))    + min(p(a), s_ai),  s_ai = sum_{i != a} (Q(a, i) - r(i))_+,
        second = sum_{i != a} min(r(i), Q(a, i)) + min((p(a) - s_ai)_+, s_ia),  s_ia = sum_{i != a} (q(i) - p(i))_+.

    ``1 - q(a)`` is the spokes' mass summed directly (it rounds to 0 when ``q(a)`` is within 1e-16
    of 1). The sums run in compensated blocks (:data:`BLOCK`): a row of 10^4 tokens keeps its last digits.
    Cost ``O(V)`` per row, three passes.
    """
    n, v = p.shape
    sums = np.zeros(8)
    for row in range(n):
        pr = p[row]
        qr = q[row]
        a = np.argmax(qr)
        sums[:] = 0.0
        for start in range(0, v, BLOCK):
            block = 0.0
            for x in range(start, min(start + BLOCK, v)):
                if x != a:
                    block += qr[x]
            _add_exactly(sums, 0, block)
        rest = sums[0] + sums[4]
        scale = qr[a] / rest if rest > 0.0 else 0.0
        sums[:] = 0.0
        _spechub_spoke_sums(pr, qr, scale, 0, a, sums)
        _spechub_spoke_sums(pr, qr, scale, a + 1, v, sums)
        first, second, s_ai, s_ia = sums[0] + sums[4], sums[1] + sums[5], sums[2] + sums[6], sums[3] + sums[7]
        hub_first = min(pr[a], s_ai)
        out[row, 0] = first + hub_first
        out[row, 1] = second + min(pr[a] - hub_first, s_ia)


@njit(cache=True)
def _threshold_sums(p, q, c_lo, c_hi):
    """A structure answering ``Z(c) = sum_x (p(x) - c q(x))_+`` in ``O(log W)`` for ``c`` in ``[c_lo, c_hi]``.

    Tokens with ``p/q <= c_lo`` never count there and are dropped; those with ``p/q > c_hi`` always
    count and are summed once; only the ``W`` tokens in between are sorted (``q = 0 < p`` has ratio
    ``+inf``). Returns ``(ratios, p_prefix, q_prefix)``: ratios in decreasing order and prefix sums
    that start from the always-counted sums, so ``Z(c) = p_prefix[m] - c q_prefix[m]`` with
    ``m = #{ratios > c}``.
    """
    v = p.size
    p_always = 0.0
    q_always = 0.0
    count = 0
    for x in range(v):
        if p[x] > c_lo * q[x]:
            if p[x] > c_hi * q[x]:
                p_always += p[x]
                q_always += q[x]
            else:
                count += 1
    idx = np.empty(count, dtype=np.int64)
    keys = np.empty(count)
    j = 0
    for x in range(v):
        if p[x] > c_lo * q[x] and not p[x] > c_hi * q[x]:
            idx[j] = x
            keys[j] = -(p[x] / q[x]) if q[x] > 0.0 else -np.inf
            j += 1
    order = np.argsort(keys)
    ratios = np.empty(count)
    p_prefix = np.empty(count + 1)
    q_prefix = np.empty(count + 1)
    p_prefix[0] = p_always
    q_prefix[0] = q_always
    for j in range(count):
        x = idx[order[j]]
        ratios[j] = -keys[order[j]]
        p_prefix[j + 1] = p_prefix[j] + p[x]
        q_prefix[j + 1] = q_prefix[j] + q[x]
    return ratios, p_prefix, q_prefix


@njit(cache=True)
def _excess(c, ratios, p_prefix, q_prefix):
    """``Z(c)`` from :func:`_threshold_sums`, by binary search in the decreasing ``ratios``."""
    lo = 0
    hi = ratios.size
    while lo < hi:
        mid = (lo + hi) // 2
        if ratios[mid] > c:
            lo = mid + 1
        else:
            hi = mid
    z = p_prefix[lo] - c * q_prefix[lo] if q_prefix[lo] > 0.0 else p_prefix[lo]
    return z if z > 0.0 else 0.0


@njit(cache=True)
def _wo_rejection(k, z1, p, q, ratios, p_prefix, q_prefix, drafted, rejected):
    """``rejected[j-1] = P(the first j drafts are rejected)``, j = 1..k, for RRS without replacement.

    A depth-first search over the rejected prefixes.

    A node at step ``j`` holds the residual ``(p - c_prev q)_+ / z_prev`` before draft ``j``, the
    undrafted mass ``remaining = 1 - q(D)`` and the probability ``reach`` of the rejected prefix
    leading to it. Draft ``j`` has law ``t q`` off ``D`` with ``t = 1 / remaining``; rejecting token
    ``x`` has probability ``(t q(x) - r(x))_+`` and moves ``c`` to ``c_prev + z_prev t`` whichever
    ``x`` it was, so only the child's ``remaining`` depends on ``x``. The last step needs no loop: it
    rejects with probability ``Z(c) / z_prev``. The root's ``Z(1) = z1`` is given, so the structure
    only answers ``c >= c_2``. (Iterative: numba's cache cannot hold recursion.)
    """
    v = p.size
    c_prev = np.zeros(k + 1)
    z_prev = np.ones(k + 1)
    remaining = np.ones(k + 1)
    reach = np.ones(k + 1)
    t_at = np.zeros(k + 1)
    c_at = np.zeros(k + 1)
    z_at = np.zeros(k + 1)
    cursor = np.zeros(k + 1, dtype=np.int64)
    token = np.full(k + 1, -1, dtype=np.int64)
    rejected[:] = 0.0
    j = 1
    entering = True
    while j >= 1:
        if entering:
            entering = False
            t = 1.0 / remaining[j]
            c = c_prev[j] + z_prev[j] * t
            z = z1 if j == 1 else _excess(c, ratios, p_prefix, q_prefix)
            rejected[j - 1] += reach[j] * z / z_prev[j]
            if z <= 0.0 or j == k:
                j -= 1
                continue
            t_at[j], c_at[j], z_at[j] = t, c, z
            cursor[j] = 0
        if token[j] >= 0:
            drafted[token[j]] = False
            token[j] = -1
        descended = False
        while cursor[j] < v:
            x = cursor[j]
            cursor[j] += 1
            if drafted[x]:
                continue
            r = p[x] - c_prev[j] * q[x]
            weight = t_at[j] * q[x] - (r / z_prev[j] if r > 0.0 else 0.0)
            if weight > 0.0:
                drafted[x] = True
                token[j] = x
                c_prev[j + 1] = c_at[j]
                z_prev[j + 1] = z_at[j]
                remaining[j + 1] = _remaining_mass(q, drafted, remaining[j], q[x])
                reach[j + 1] = reach[j] * weight
                j += 1
                entering = True
                descended = True
                break
        if not descended:
            j -= 1


@njit(cache=True)
def rrs_wo_rejection(p, q, k, out):
    """``out[row, j-1] = P(the first j drafts are rejected)``, j = 1..k, under RRS without replacement.

    A first pass gives ``Z(1) = sum (p - q)_+`` and the range of ``c_2 = 1 + Z(1) / (1 - q(x_1))``
    over the tokens a first draft can be rejected at (``q > p``); every later ``c`` is at least
    ``c_2``, and at ``k = 2`` at most its maximum. Only tokens whose ratio ``p/q`` falls in that
    range are sorted (:func:`_threshold_sums`); the search then enumerates the rejected prefixes
    ``x_1..x_{k-1}`` (:func:`_wo_rejection`). Cost ``O(V + W log W)`` at ``k = 2`` (``W <= V`` the
    tokens in range) and ``O(V^{k-1} log V)`` in general.
    """
    n, v = p.shape
    drafted = np.zeros(v, dtype=np.bool_)
    for row in range(n):
        pr = p[row]
        qr = q[row]
        z1 = 0.0
        lightest = -1
        heaviest = -1
        for x in range(v):
            if pr[x] > qr[x]:
                z1 += pr[x] - qr[x]
            elif qr[x] > pr[x]:
                if lightest < 0 or qr[x] < qr[lightest]:
                    lightest = x
                if heaviest < 0 or qr[x] > qr[heaviest]:
                    heaviest = x
        if k == 1 or z1 <= 0.0:
            out[row, :] = 0.0
            out[row, 0] = z1 if z1 > 0.0 else 0.0
            continue
        drafted[:] = False
        bounds = np.empty(2)
        for i, x in enumerate((lightest, heaviest)):
            drafted[x] = True
            bounds[i] = 1.0 + z1 / _remaining_mass(qr, drafted, 1.0, qr[x])
            drafted[x] = False
        c_lo = bounds[0] * (1.0 - 1e-12)
        c_hi = bounds[1] * (1.0 + 1e-12) if k == 2 else np.inf
        ratios, p_prefix, q_prefix = _threshold_sums(pr, qr, c_lo, c_hi)
        _wo_rejection(k, z1, pr, qr, ratios, p_prefix, q_prefix, drafted, out[row])


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
    """``out[row, j] = P(Y is kept as draft j)`` for K-SEQ with i.i.d. drafts.

    With ``m = min(q, p/rho)``, ``beta = sum m`` and ``gamma = (1 - (1-beta)^k) / beta``: step ``j``
    keeps its draft with probability ``(1-beta)^j beta``; after ``k`` rejections ``Y`` comes from the
    residual ``R = p - gamma m`` (unnormalised, mass ``(1-beta)^k``) independently of the rejected
    drafts, which are i.i.d. with law ``d = (q - m) / (1 - beta)``, and lands first on draft ``j``
    with probability ``sum_y R(y) (1 - d(y))^j d(y)``.
    """
    n, v = p.shape
    for row in range(n):
        pr = p[row]
        qr = q[row]
        rho = kseq_rho(pr, qr, k)
        beta, gamma = _kseq_beta_gamma(rho, pr, qr, k)
        for j in range(k):
            out[row, j] = (1.0 - beta) ** j * beta
        if beta < 1.0:
            for y in range(v):
                m = min(qr[y], pr[y] / rho)
                resid = pr[y] - gamma * m
                if resid > 0.0:
                    d = (qr[y] - m) / (1.0 - beta)
                    for j in range(k):
                        out[row, j] += resid * (1.0 - d) ** j * d


@njit(cache=True)
def wo_prefix_containment(q_sorted, outside, k, nodes, weights, skip_above, out):
    """``P(all k draws without replacement fall in the first m tokens)`` for every prefix m, into ``out``.

    Exponential race: token ``i`` rings at an ``Exp(q_i)`` time and the draws are the tokens in
    ring order, so the k draws fall in ``H`` iff the k-th ring inside ``H`` precedes the first
    outside, whose time is ``Exp(r)`` with ``r = q(outside H)``:

        P_H = 1 - int_0^inf P(N_H(t) < k) r e^{-r t} dt,

    ``N_H(t)`` the Poisson-binomial count of rings in ``H`` by ``t``. The probabilities
    ``P(N_H(t) = j)``, ``j < k``, are carried along the prefix at every quadrature node (one
    convolution step per token), so all ``V + 1`` prefixes cost ``O(V M k)`` for ``M`` nodes.
    ``outside[m]`` is ``r`` for prefix ``m``; ``nodes``/``weights`` a rule for ``int_0^inf dt``.
    Prefix ``m`` is skipped (``out[m] = nan``) when ``skip_above[m]`` is true: a caller that only
    needs some prefixes saves the ``M`` exponentials of the final sum.
    """
    v = q_sorted.size
    m_nodes = nodes.size
    state = np.zeros((m_nodes, k))
    state[:, 0] = 1.0
    out[0] = 0.0
    for m in range(1, v + 1):
        x = q_sorted[m - 1]
        if x > 0.0:
            for i in range(m_nodes):
                ring = -np.expm1(-x * nodes[i])
                stay = 1.0 - ring
                for j in range(k - 1, 0, -1):
                    state[i, j] = state[i, j] * stay + state[i, j - 1] * ring
                state[i, 0] *= stay
        r = outside[m]
        if r <= 0.0:
            out[m] = 1.0
            continue
        if skip_above[m]:
            out[m] = np.nan
            continue
        missed = 0.0
        for i in range(m_nodes):
            below = 0.0
            for j in range(k):
                below += state[i, j]
            missed += weights[i] * np.exp(-r * nodes[i]) * below
        out[m] = 1.0 - r * missed


@njit(cache=True)
def ratio_keys(p, q):
    """``p/q`` per token, ``+inf`` where ``q = 0``: the sort key of the optimum's prefix search."""
    out = np.empty(p.size)
    for x in range(p.size):
        out[x] = p[x] / q[x] if q[x] > 0.0 else np.inf
    return out


@njit(cache=True)
def iid_prefix_minimum(p, q, order, k):
    """``(min_m [p(H_m) - q(H_m)^k], m)`` over the prefixes ``H_m`` of ``order``, in one pass."""
    best = 0.0
    best_m = 0
    inside_p = 0.0
    inside_q = 0.0
    for m in range(order.size):
        inside_p += p[order[m]]
        inside_q += q[order[m]]
        value = inside_p - inside_q**k
        if value < best:
            best = value
            best_m = m + 1
    return best, best_m
