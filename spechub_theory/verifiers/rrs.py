"""Recursive rejection sampling with i.i.d. drafts (SpecInfer, Miao et al., ASPLOS 2024).

Drafts ``X_1..X_k ~ q`` i.i.d. are checked in order against a residual target ``r`` (``r_0 = p``):
``X_j`` is kept with probability ``min(1, r_{j-1}(X_j) / q(X_j))``, and a rejection sets
``r_j = (r_{j-1} - q)_+`` normalised. After ``k`` rejections ``Y ~ r_k``. Writing
``r_j = (p - c_j q)_+ / Z_j`` gives the product formula

    c_0 = 0, Z_0 = 1,  c_j = c_{j-1} + Z_{j-1},  Z_j = sum_x (p(x) - c_j q(x))_+,
    alpha = 1 - prod_j Z_j / Z_{j-1} = 1 - Z_k,

since step ``j`` rejects with probability ``1 - sum min(r_{j-1}, q) = Z_j / Z_{j-1}``.
"""

from __future__ import annotations

import numpy as np

from .. import kernels
from .single import accept_probability, residual


def chain(drafts, p, q, next_draft_law):
    """The rejection chain shared by RRS and RRS without replacement.

    ``next_draft_law(q_j, x)`` gives the law of the next draft after draft ``x`` (drawn from
    ``q_j``) was rejected.
    """
    r, q_j = p, q
    for j, x in enumerate(drafts):
        yield accept_probability(r, q_j, x), j
        r = residual(r, q_j)
        if j + 1 < len(drafts):
            q_j = next_draft_law(q_j, x)
    yield 1.0, r


def procedure(drafts, p, q):
    return chain(drafts, p, q, lambda q_j, x: q_j)


def kept_from_rejections(rejected: np.ndarray) -> np.ndarray:
    """``P(draft j kept) = P(first j-1 rejected) - P(first j rejected)`` from the second, shape ``(n, k)``."""
    reached = np.concatenate([np.ones((rejected.shape[0], 1)), rejected[:, :-1]], axis=1)
    return reached - rejected


def positions(p, q, k):
    out = np.empty((p.shape[0], k))
    kernels.rrs_rejection(p, q, k, out)
    return kept_from_rejections(out)
