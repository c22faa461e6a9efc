"""Single-draft speculative sampling (Leviathan et al., ICML 2023; Chen et al., 2023).

One draft ``X ~ q`` is accepted with probability ``min(1, p(X) / q(X))``; on rejection the token is
drawn from the residual ``(p - q)_+ / sum (p - q)_+``. The emitted token has law ``p`` and

    alpha = sum_x min(p(x), q(x)) = 1 - TV(p, q).
"""

from __future__ import annotations

import numpy as np


def accept_probability(r: np.ndarray, q: np.ndarray, x: int) -> float:
    """``min(1, r(x) / q(x))``: the chance of keeping draft ``x ~ q`` when the target law is ``r``."""
    return min(1.0, r[x] / q[x])


def normalized(mass: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """``mass / mass.sum()``; ``fallback`` when rounding left no mass (a branch of probability ~1e-16)."""
    total = mass.sum()
    return mass / total if total > 0 else fallback


def residual(r: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``(r - q)_+`` normalised: the law to emit after a draft from ``q`` was rejected under ``r``."""
    return normalized(np.maximum(r - q, 0.0), r)


def procedure(drafts, p, q):
    (x,) = drafts
    yield accept_probability(p, q, x), 0
    yield 1.0, residual(p, q)


def positions(p, q, k):
    return np.minimum(p, q).sum(axis=-1)[:, None]
