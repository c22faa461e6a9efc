"""Naive multi-draft sampling: draw ``Y ~ p`` and count it accepted if it was drafted.

Lossless by construction and the baseline every coupling must beat. With ``k`` i.i.d. drafts

    alpha = sum_x p(x) (1 - (1 - q(x))^k).
"""

from __future__ import annotations

import numpy as np


def procedure(drafts, p, q):
    yield 1.0, p


def positions(p, q, k):
    """``Y`` lands first on draft ``j`` with probability ``sum_y p(y) (1 - q(y))^j q(y)``; summed over j
    this is ``sum_y p(y) (1 - (1 - q(y))^k)``."""
    return np.stack([(p * (1 - q) ** j * q).sum(axis=-1) for j in range(k)], axis=1)
