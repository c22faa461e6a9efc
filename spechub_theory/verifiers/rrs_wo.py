"""Recursive rejection sampling with drafts without replacement.

Used by MCSD (Yang et al., 2024), Sequoia (Chen et al., 2024) and EAGLE (Li et al., 2024). Draft
``X_j`` is drawn from ``q_j``, ``q`` renormalised over the tokens not yet drafted; it is kept with
probability ``min(1, r_{j-1}(X_j) / q_j(X_j))`` and a rejection sets ``r_j = (r_{j-1} - q_j)_+``
normalised. Every residual has the form ``(p - c q)_+ / Z(c)`` with ``Z(c) = sum (p - c q)_+``; a
rejection at step ``j`` moves ``c`` by ``Z t_j`` with ``t_j = 1 / (1 - q(drafted so far))``, so

    P(all rejected) = sum over rejected prefixes x_1..x_{k-1} of
                      prod_j (t_j q(x_j) - r_{j-1}(x_j))_+  *  Z(c_k) / Z(c_{k-1}).

Exact cost: ``O(V log V)`` at ``k = 2`` (one sort by ``p/q`` and prefix sums give every ``Z(c)``
in ``O(log V)``), ``O(V^{k-1} log V)`` in general (see :func:`spechub_theory.kernels.rrs_wo_rejection`),
``V`` counting only the tokens with mass in ``p`` or ``q`` at ``k >= 3``.
"""

from __future__ import annotations

import numpy as np

from .. import kernels
from .rrs import chain, kept_from_rejections


def _without(q_j, x):
    rest = q_j.copy()
    rest[x] = 0.0
    return rest / rest.sum()


def procedure(drafts, p, q):
    return chain(drafts, p, q, _without)


def positions(p, q, k):
    out = np.empty((p.shape[0], k))
    if k <= 2:
        kernels.rrs_wo_rejection(p, q, k, out)
    else:  # the search scans every token at each level: per row, scan only tokens with mass
        for row in range(p.shape[0]):
            mass = (p[row] > 0) | (q[row] > 0)
            kernels.rrs_wo_rejection(p[row, mass][None], q[row, mass][None], k, out[row : row + 1])
    return kept_from_rejections(out)
