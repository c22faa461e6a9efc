"""Exact acceptance rates of every verifier, batched over leading axes."""

from __future__ import annotations

import numpy as np

from . import validate
from .verifiers import checked


def acceptance_rate(p, q, method: str, k: int = 2, *, normalize: bool = False):
    r"""Exact probability that the emitted token is one of the drafts, ``alpha = P(Y in {X_1..X_k})``.

    Parameters
    ----------
    p, q : array_like, shape (..., V)
        Target and draft distributions over the last axis; leading axes broadcast.
    method : str
        ``"single"`` (k = 1), ``"rrs"``, ``"rrs_wo"``, ``"spechub"`` (k = 2), ``"kseq"``, ``"nss"``
        or ``"greedy"``; each comes with its draft law (see :data:`spechub_theory.METHODS`).
    k : int
        Number of drafts.
    normalize : bool
        Rescale rows that do not sum to 1 instead of rejecting them.

    Returns
    -------
    alpha : float or ndarray, shape (...)

    Notes
    -----
    Closed forms, each derived in its verifier's module:

    * ``single``: :math:`\sum_x \min(p, q)`.
    * ``rrs``: :math:`1 - Z_k` with :math:`c_j = c_{j-1} + Z_{j-1}`,
      :math:`Z_j = \sum_x (p - c_j q)_+` (:math:`c_0 = 0, Z_0 = 1`); cost ``O(kV)``.
    * ``rrs_wo``: exact recursion over rejected prefixes with a sorted threshold structure; cost
      ``O(V log V)`` for ``k <= 2`` and ``O(V^{k-1} log V)`` beyond.
    * ``spechub``: :math:`p(a) + \sum_{i \ne a} \min(p(i), q(i)/(1 - q(a)))`, ``a = argmax q``.
    * ``greedy``: :math:`p(T) + \sum_{x \notin T} \min(p(x), q(x)/(1 - q(T)))`, ``T`` the top ``k-1``.
    * ``kseq``: :math:`1 - (1-\beta)^k` plus the residual's mass on rejected drafts.
    * ``nss``: :math:`\sum_x p(x) (1 - (1 - q(x))^k)`.

    References
    ----------
    Sun, Zhou, Chen, Sun. SpecHub: Provable acceleration to multi-draft speculative decoding.
    EMNLP 2024, arXiv:2411.05289.

    Examples
    --------
    >>> acceptance_rate([0.5, 0.5], [1.0, 0.0], "single", k=1)
    0.5
    """
    kept = acceptance_by_position(p, q, method, k, normalize=normalize)
    return validate.scalar_or_array(np.clip(kept.sum(axis=-1), 0.0, 1.0))


def acceptance_by_position(p, q, method: str, k: int = 2, *, normalize: bool = False) -> np.ndarray:
    """Exact probability that the emitted token is kept as draft ``j``, ``j = 0..k-1``.

    In a token tree the kept draft's position says which child's subtree is verified next, so
    tokens per step need this split of the acceptance rate (:func:`acceptance_rate` is its sum).
    A step of the verifier's chain that keeps draft ``j`` counts for ``j``; a residual that lands
    on a drafted token (K-SEQ, naive) counts for the first position holding it.

    Parameters
    ----------
    p, q, method, k, normalize
        As in :func:`acceptance_rate`.

    Returns
    -------
    kept : ndarray, shape (..., k)

    Examples
    --------
    >>> acceptance_by_position([1.0, 0.0], [0.5, 0.5], "rrs", k=2)
    array([0.5 , 0.25])
    """
    p, q, verifier, k = checked(p, q, method, k, normalize=normalize)
    v = p.shape[-1]
    kept = verifier.positions(p.reshape(-1, v), q.reshape(-1, v), k)
    return np.clip(kept, 0.0, 1.0).reshape(p.shape[:-1] + (k,))
