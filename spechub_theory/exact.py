"""Exact output law and acceptance of a verifier, by enumerating its draft law and its chain.

For every draft tuple of positive probability the verifier's rejection chain is walked exactly:
step ``j`` is reached with the probability that steps ``1..j-1`` rejected, and emits its token or
law with its acceptance probability. Summed over the draft law this gives the law of the emitted
token ``Y`` (which equals ``p`` exactly for a lossless verifier) and ``P(Y in drafts)``. The cost is
the size of the draft law's support times ``O(kV)``: meant for small vocabularies.
"""

from __future__ import annotations

import numpy as np

from .drafts import DRAFT_LAWS
from .verifiers import Verifier, checked

#: Largest number of draft tuples the enumeration accepts.
MAX_TUPLES = 1_000_000


def _chain_law(verifier: Verifier, drafts: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The exact law of ``Y`` given the drafts."""
    law = np.zeros_like(p)
    reach = 1.0
    for accept, emit in verifier.procedure(drafts, p, q):
        accept = min(max(accept, 0.0), 1.0)
        if isinstance(emit, np.ndarray):
            law += reach * accept * emit
        else:
            law[emit] += reach * accept
        reach *= 1.0 - accept
        if accept >= 1.0:
            break
    return law


def _enumerate(p, q, method, k, normalize):
    """``(law, alpha)`` per row, shapes ``(..., V)`` and ``(...)``."""
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
    alphas = np.zeros(p2.shape[0])
    for row in range(p2.shape[0]):
        tuples, probs = law.enumerate(q2[row], k)
        for drafts, prob in zip(tuples, probs):
            y = _chain_law(verifier, drafts, p2[row], q2[row])
            laws[row] += prob * y
            alphas[row] += prob * y[np.unique(drafts)].sum()
    return laws.reshape(p.shape), alphas.reshape(p.shape[:-1])[()]


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
    return _enumerate(p, q, method, k, normalize)[1]
