"""Naive multi-draft sampling: draw ``Y ~ p`` and count it accepted if it was drafted.

Lossless by construction and the baseline every coupling must beat. With ``k`` i.i.d. drafts

    alpha = sum_x p(x) (1 - (1 - q(x))^k).
"""

from __future__ import annotations

import numpy as np


def procedure(drafts, p, q):
    yield 1.0, p


def acceptance(p, q, k):
    with np.errstate(divide="ignore"):
        drafted = -np.expm1(k * np.log1p(-q))
    return (p * drafted).sum(axis=-1)
