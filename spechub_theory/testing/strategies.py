"""Hypothesis strategies for the domain objects: distributions, ``(p, q)`` pairs, tree shapes and
small context-dependent models.

Distributions are built from small integer weights, so that a failing example shrinks to a readable
case, and the pairs deliberately hit the corners: zeros, ties, one-hot laws and ``p == q``. This
module needs ``hypothesis`` (``pip install "spechub-theory[testing]"``); the rest of
:mod:`spechub_theory.testing` does not.
"""

from __future__ import annotations

import numpy as np

try:
    from hypothesis import strategies as st
except ImportError as err:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "spechub_theory.testing's strategies need hypothesis: pip install 'spechub-theory[testing]'"
    ) from err

from ..tree import Tree
from .models import ContextModel


def _normalise(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return w / w.sum()


def distributions(v: int, min_support: int = 1):
    """A distribution over ``v`` tokens, shape ``(v,)``, from integer weights 0..6 with at least
    ``min_support`` positive; it shrinks towards few small weights."""
    return (
        st.lists(st.integers(0, 6), min_size=v, max_size=v)
        .filter(lambda w: sum(x > 0 for x in w) >= min_support)
        .map(_normalise)
    )


@st.composite
def draft_pairs(draw, max_v: int = 8, min_support: int = 1):
    """``(p, q)`` over a common vocabulary of 2..max_v tokens; sometimes one-hot, sometimes equal.

    ``q`` has at least ``min_support`` tokens of positive mass (what a draft law of ``k`` distinct
    drafts needs: ``DRAFT_LAWS[law].min_support(k)``).
    """
    v = draw(st.integers(max(2, min_support), max_v))
    p = draw(distributions(v))
    shape = draw(st.sampled_from(["free", "free", "free", "equal", "onehot_p"]))
    if shape == "equal" and np.count_nonzero(p) >= min_support:
        return p, p.copy()
    if shape == "onehot_p":
        p = np.eye(v)[draw(st.integers(0, v - 1))]
    return p, draw(distributions(v, min_support))


@st.composite
def trees(draw, max_nodes: int = 8, min_nodes: int = 1):
    """A small :class:`spechub_theory.Tree` of ``min_nodes..max_nodes`` nodes, root included.

    Node ``i > 0`` hangs under a parent drawn from the nodes before it, so every shape of that size
    can come out; it shrinks towards the root's children only (a star) and then towards fewer nodes.
    """
    n = draw(st.integers(min_nodes, max_nodes))
    parents = [draw(st.integers(0, i - 1)) for i in range(1, n)]
    children = [[] for _ in range(n)]
    for child, parent in enumerate(parents, start=1):
        children[parent].append(child)
    return Tree(tuple(tuple(c) for c in children))


@st.composite
def context_models(draw, max_v: int = 5, min_support: int = 1):
    """A small random :class:`ContextModel`: target and draft laws given the whole prefix, ``V <= max_v``.

    The model is a seed and a vocabulary size drawn by hypothesis (so a failure shrinks to
    ``seed=0`` and the smallest ``V``); every prefix gets its own laws from integer weights, with
    zeros, ties and ``p == q`` among them. Calling it on a prefix gives ``(p, q)``.
    """
    v = draw(st.integers(max(2, min_support), max_v))
    return ContextModel(v, draw(st.integers(0, 2**32 - 1)), min_support=min_support)
