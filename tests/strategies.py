"""Hypothesis strategies for the domain objects, shared by every property test.

Distributions are built from small integer weights so that failures shrink to readable cases, and
the generators deliberately hit the corners: zeros, ties, one-hot laws and ``p == q``.
"""

import numpy as np
from hypothesis import strategies as st


def _normalise(weights):
    w = np.asarray(weights, dtype=np.float64)
    return w / w.sum()


def distributions(v: int, min_support: int = 1):
    """A distribution over ``v`` tokens from integer weights 0..6 with at least ``min_support`` positive."""
    return (
        st.lists(st.integers(0, 6), min_size=v, max_size=v)
        .filter(lambda w: sum(x > 0 for x in w) >= min_support)
        .map(_normalise)
    )


@st.composite
def draft_pairs(draw, max_v: int = 8, min_support: int = 1):
    """``(p, q)`` over a common vocabulary of 2..max_v tokens; sometimes one-hot, sometimes equal."""
    v = draw(st.integers(max(2, min_support), max_v))
    p = draw(distributions(v))
    shape = draw(st.sampled_from(["free", "free", "free", "equal", "onehot_p"]))
    if shape == "equal" and np.count_nonzero(p) >= min_support:
        return p, p.copy()
    if shape == "onehot_p":
        p = np.eye(v)[draw(st.integers(0, v - 1))]
    return p, draw(distributions(v, min_support))
