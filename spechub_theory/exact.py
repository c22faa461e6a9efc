"""Exact output law and acceptance of a verifier, by enumerating its draft law and its chain.

For every draft tuple of positive probability the verifier's rejection chain is walked exactly:
step ``j`` is reached with the probability that steps ``1..j-1`` rejected, and emits its token or
law with its acceptance probability. Summed over the draft law this gives the law of the emitted
token ``Y`` (which equals ``p`` exactly for a lossless verifier) and ``P(Y in drafts)``. The cost is
the size of the draft law's support times ``O(kV)``: meant for small vocabularies.
"""

from __future__ import annotations

import numpy as np

from . import validate
from .drafts import DRAFT_LAWS
from .verifiers import Verifier, checked

#: Largest number of draft tuples the enumeration accepts.
MAX_TUPLES = 1_000_000


def first_positions(drafts: np.ndarray, v: int) -> np.ndarray:
    """For each token, the first position at which it was drafted, or -1; shape ``(v,)``."""
    first = np.full(v, -1, dtype=np.int64)
    for j in range(len(drafts) - 1, -1, -1):
        first[drafts[j]] = j
    return first


def chain_outcome(verifier: Verifier, drafts: np.ndarray, p: np.ndarray, q: np.ndarray):
    """The exact law of ``Y`` given the drafts, and the probability that ``Y`` is kept as draft ``j``.

    A step that keeps draft ``j`` counts for position ``j``; a law that lands on a drafted token
    counts for the first position holding it.
    """
    law = np.zeros_like(p)
    kept = np.zeros(len(drafts))
    reach = 1.0
    for accept, emit in verifier.chain(drafts, p, q):
        if isinstance(emit, np.ndarray):
            law += reach * accept * emit
        else:
            law[drafts[emit]] += reach * accept
            kept[emit] += reach * accept
        reach *= 1.0 - accept
    first = first_positions(drafts, p.size)
    from_laws = law - np.bincount(drafts, weights=kept, minlength=p.size)
    hit = first >= 0
    np.add.at(kept, first[hit], np.maximum(from_laws[hit], 0.0))
    return law, kept


def _enumerate(p, q, method, k, normalize):
    """``(law, by_position)`` per row, shapes ``(..., V)`` and ``(..., k)``."""
    p, q, verifier, k = checked(p, q, method, k, normalize=normalize)
    law = DRAFT_LAWS[verifier.drafts]
    v = p.shape[-1]
    support = int(np.max(np.count_nonzero(q > 0, axis=-1)))
    if support**k > MAX_TUPLES:
        raise ValueError(
            f"q: enumerating {support}^{k} draft tuples exceeds {MAX_TUPLES:,}; "
            "exact enumeration is for small vocabularies (use acceptance_rate for large ones)"
        )
    p2, q2 = p.reshape(-1, v), q.reshape(-1, v)
    laws = np.zeros_like(p2)
    positions = np.zeros((p2.shape[0], k))
    for row in range(p2.shape[0]):
        tuples, probs = law.enumerate(q2[row], k)
        for drafts, prob in zip(tuples, probs):
            y, kept = chain_outcome(verifier, drafts, p2[row], q2[row])
            laws[row] += prob * y
            positions[row] += prob * kept
    return laws.reshape(p.shape), positions.reshape(p.shape[:-1] + (k,))


def output_distribution(p, q, method: str, k: int = 2, *, normalize: bool = False) -> np.ndarray:
    """Exact law of the token a verifier emits, by enumeration of drafts and rejection branches.

    For a lossless verifier the result equals ``p`` to float64 rounding: this is how the library
    proves losslessness.

    Parameters
    ----------
    p, q : array_like, shape (..., V)
        Target and draft distributions; at most ``MAX_TUPLES`` draft tuples per row.
    method : str
        A method name of :func:`spechub_theory.acceptance_rate`.
    k : int
        Number of drafts.

    Returns
    -------
    law : ndarray, shape (..., V)

    Examples
    --------
    >>> output_distribution([0.25, 0.75], [0.5, 0.5], "rrs", k=2)
    array([0.25, 0.75])
    """
    return _enumerate(p, q, method, k, normalize)[0]


def enumerated_acceptance_rate(p, q, method: str, k: int = 2, *, normalize: bool = False):
    """``P(Y in drafts)`` by the same enumeration as :func:`output_distribution`.

    An independent route to the value :func:`spechub_theory.acceptance_rate` computes in closed
    form; shape ``(...)``.
    """
    return validate.scalar_or_array(_enumerate(p, q, method, k, normalize)[1].sum(axis=-1))


def enumerated_acceptance_by_position(p, q, method: str, k: int = 2, *, normalize: bool = False) -> np.ndarray:
    """``P(Y is kept as draft j)`` for ``j = 0..k-1`` by enumeration, shape ``(..., k)``.

    In a token tree, position ``j`` is the child whose subtree is verified next. A step of the
    chain that keeps draft ``j`` counts for ``j``; a residual law landing on a drafted token counts
    for the first position holding it. The positions sum to :func:`enumerated_acceptance_rate`.
    """
    return _enumerate(p, q, method, k, normalize)[1]
