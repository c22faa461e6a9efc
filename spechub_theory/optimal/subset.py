r"""The optimal acceptance rate in its subset form (Hu et al., ICLR 2025, arXiv 2502.18779).

For a draft law ``Q`` on k-tuples, the optimal transport with membership cost (OTM; Sun et al.,
NeurIPS 2023) has value

    alpha* = max_{couplings of Q and p} P(Y in S) = 1 + min_H [ p(H) - P_Q(S ⊆ H) ],

by max-flow/min-cut on the bipartite graph "tuple S -> token y in S": a set ``H`` of tokens can
receive at most ``p(H)`` and the tuples not inside ``H`` at most their mass, and the minimum cut
is attained.

* ``iid``: ``P(S ⊆ H) = q(H)^k``. Only the ``V + 1`` prefixes of tokens sorted by increasing
  ``p/q`` need checking. Proof: relax ``H`` to weights ``lambda in [0, 1]^V``; for a fixed
  ``s = sum lambda q``, ``sum lambda p`` is smallest for the fractional-knapsack solution, a prefix
  in ``p/q`` order with at most one fractional token, so the relaxed minimum is
  ``min_s P(s) - s^k`` with ``P`` piecewise linear between consecutive prefixes. On each piece the
  objective is linear minus convex, hence concave, and attains its minimum at a piece end: a
  prefix. Cost ``O(V log V)``.
* ``wo``: ``P(S ⊆ H)`` is the chance that ``k`` draws without replacement all fall in ``H``:
  ``q(H)`` at ``k = 1``, ``q(H) - (1 - q(H)) sum_{x in H} q(x) / (1 - q(x))`` at ``k = 2`` (exact,
  ``O(1)`` per added token), and for ``k >= 3`` an exponential-race integral evaluated by a
  trapezoidal rule in ``log t`` along the prefix (:func:`race_rule`; :func:`spechub_theory.kernels.wo_prefix_containment`;
  error below 1e-10 in the tests, against the exact ``k = 2`` form and brute-force enumeration). The same
  ``p/q`` prefixes are searched: no counterexample to the prefix rule turned up in brute force over
  all ``2^V`` subsets (V <= 8, tested), but we have no proof that it holds for every ``(p, q)``.
* ``hub`` and ``greedy``: with ``T`` the deterministic drafts and ``w = q / (1 - q(T))`` off
  ``T``, ``P(S ⊆ H) = w(H \ T)`` when ``T ⊆ H`` (else 0), so the cut is
  ``H* = T ∪ {x : p(x) < w(x)}`` and
  ``alpha* = p(T) + sum_{x not in T} min(p(x), w(x))``: what the ``spechub`` and ``greedy``
  verifiers attain.
"""

from __future__ import annotations

import numpy as np

from .. import kernels

#: Step of the trapezoidal rule in ``u = log t`` for the exponential-race integral.
RACE_STEP = 0.3


def race_rule(q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for ``int_0^inf f(t) dt`` in the exponential-race integral of ``q``.

    Trapezoid in ``u = log t`` (``t = e^u``, ``dt = t du``) with step :data:`RACE_STEP`. In ``u`` the
    integrand is analytic in the strip ``|Im u| < pi/2`` and decays at both ends, so the rule
    converges geometrically in ``1/step`` (at step 0.3 the discretisation error is below 1e-13 in the
    tests). It is truncated below at ``t = 1e-12`` (the neglected part is at most ``r t <= 1e-12``) and above at ``t = 45 / delta``, ``delta`` the mass outside the ``k - 1``
    most likely tokens: every prefix's integrand decays at least like ``e^{-delta t}``.
    """
    delta = np.sort(q)[: q.size - (k - 1)].sum()
    u = np.arange(np.log(1e-12), np.log(45.0 / delta) + RACE_STEP, RACE_STEP)
    nodes = np.exp(u)
    return nodes, RACE_STEP * nodes


def ratio_order(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Tokens by increasing ``p/q`` (``q = 0`` last; the order among ties does not change any value)."""
    return np.argsort(kernels.ratio_keys(p, q))


def containment(q_sorted: np.ndarray, k: int, law: str, skip: np.ndarray | None = None) -> np.ndarray:
    """``P(all k drafts in the first m tokens of q_sorted)`` for m = 0..V (iid or wo).

    ``skip`` (bool, shape ``(V + 1,)``) marks prefixes the caller does not need; the quadrature
    leaves them ``nan``.
    """
    inside = np.concatenate([[0.0], np.cumsum(q_sorted)])
    if law == "iid":
        return inside**k
    outside = np.concatenate([np.cumsum(q_sorted[::-1])[::-1], [0.0]])  # summed, not 1 - inside
    if k == 1:
        return inside
    if k == 2:
        others = 1.0 - q_sorted
        heavy = int(np.argmax(q_sorted))
        if q_sorted[heavy] > 0.5:  # 1 - q(x) would cancel: sum the other tokens instead
            others[heavy] = np.delete(q_sorted, heavy).sum()
        odds = np.divide(q_sorted, others, out=np.zeros_like(q_sorted), where=others > 0)
        return np.where(outside > 0, inside - outside * np.concatenate([[0.0], np.cumsum(odds)]), 1.0)
    out = np.empty(q_sorted.size + 1)
    nodes, weights = race_rule(q_sorted, k)
    if skip is None:
        skip = np.zeros(q_sorted.size + 1, dtype=bool)
    kernels.wo_prefix_containment(np.ascontiguousarray(q_sorted), outside, k, nodes, weights, skip, out)
    return out


def prefix_cut(p: np.ndarray, q: np.ndarray, k: int, law: str) -> tuple[float, np.ndarray]:
    """``(alpha*, H)`` for one position of an exchangeable law (iid, wo) by the prefix search."""
    order = ratio_order(p, q)
    cut = np.zeros(p.size, dtype=bool)
    if law == "iid":
        best, m = kernels.iid_prefix_minimum(p, q, order, k)
        cut[order[:m]] = True
        return 1.0 + best, cut
    inside_p = np.concatenate([[0.0], np.cumsum(p[order])])
    inside_q = np.concatenate([[0.0], np.cumsum(q[order])])
    # P(all in H) <= q(H)^k for both laws, so a prefix whose iid objective is already >= 0 (the
    # value of H = {}) cannot be the minimiser: the quadrature skips it.
    skip = inside_p - inside_q**k >= 0.0
    objective = inside_p - containment(q[order], k, law, skip)
    m = int(np.nanargmin(objective))
    cut[order[:m]] = True
    return 1.0 + min(objective[m], 0.0), cut


def fixed_set_cut(p: np.ndarray, q: np.ndarray, fixed: np.ndarray) -> tuple[float, np.ndarray]:
    """``(alpha*, H)`` for drafts ``fixed ∪ {X}``, ``X ~ q`` off ``fixed`` (hub, greedy)."""
    w = q.copy()
    w[fixed] = 0.0
    w /= w.sum()
    cut = p < w
    cut[fixed] = True
    value = p[fixed].sum() + np.minimum(np.delete(p, fixed), np.delete(w, fixed)).sum()
    return value, cut


#: Default ``max_cost`` of :func:`enumerated_cut`, in subset steps ``2^m m`` (``m`` the tokens of
#: positive mass in ``q``): ``m = 20`` (2e7, about a second).
ENUMERATED_MAX_COST = 2**20 * 20


def enumerated_cut(p: np.ndarray, q: np.ndarray, tuples: np.ndarray, probs: np.ndarray,
                   max_cost=ENUMERATED_MAX_COST) -> tuple[float, np.ndarray]:
    """``(alpha*, H)`` for any draft law, by the subset form over every subset of the support of ``q``.

    ``tuples`` (shape ``(n, k)``) and ``probs`` (shape ``(n,)``) are the law's support at this
    position. A token outside the support of ``q`` is never in a minimising ``H`` (it adds to
    ``p(H)`` and to no ``P(S ⊆ H)``), so ``H`` ranges over the ``2^m`` subsets of the ``m`` tokens of
    positive draft mass. ``P(S ⊆ H)`` for all of them is the subset-sum (zeta) transform of the
    tuples' masses indexed by their token sets, and ``p(H)`` that of ``p``: ``O(2^m m)`` time and
    ``O(2^m)`` memory, refused above ``max_cost`` subset steps (``None``: no limit).
    """
    from .. import validate

    support = np.flatnonzero(q > 0)
    m = support.size
    cost = float(2**m) * max(m, 1)
    validate.affordable(
        cost, max_cost, name="q",
        work=f"the subset form by enumeration over the 2^{m} subsets of q's support ({cost:.3g} subset steps)",
        alternative="use solver='lp' (the OTM linear programme of the law's enumerated support)",
    )
    index = np.full(q.size, -1, dtype=np.int64)
    index[support] = np.arange(m)
    masks = np.bitwise_or.reduce(np.left_shift(1, index[tuples]), axis=1)
    inside = np.bincount(masks, weights=probs, minlength=2**m)
    mass = np.zeros(2**m)
    mass[np.left_shift(1, np.arange(m))] = p[support]
    for i in range(m):  # zeta transform: f[H] = sum over subsets of H
        for f in (inside, mass):
            view = f.reshape(-1, 2, 2**i)
            view[:, 1, :] += view[:, 0, :]
    objective = mass - inside
    best = int(np.argmin(objective))
    cut = np.zeros(q.size, dtype=bool)
    cut[support[(best >> np.arange(m)) & 1 == 1]] = True
    return 1.0 + min(float(objective[best]), 0.0), cut
