"""Exact acceptance rates of every verifier, batched over leading axes."""

from __future__ import annotations

import numpy as np

from . import exact, validate
from .drafts import DRAFT_LAWS
from .verifiers import checked, row_groups

#: Default ``max_cost`` of :func:`acceptance_rate`: rejected prefixes of the ``rrs_wo`` search at
#: ``k >= 3`` (:func:`rrs_wo_search_size`), about 2-25 s on two CPU cores. ``rrs_wo`` at k = 3 on
#: one full LLM position of V = 32,000 is about 2e8, at V = 49,152 about 1.5e9; at k = 4 and
#: V = 32,000 about 1e13 (days).
MAX_COST = 1e9


def acceptance_rate(p, q, method: str, k: int | None = None, *, normalize: bool = False, strict: bool = False,
                    max_cost=MAX_COST):
    r"""Exact probability that the emitted token is one of the drafts, ``alpha = P(Y in {X_1..X_k})``.

    Parameters
    ----------
    p, q : array_like, shape (..., V)
        Target and draft distributions over the last axis; leading axes broadcast.
    method : str
        ``"single"`` (k = 1), ``"rrs"``, ``"rrs_wo"``, ``"spechub"`` (k = 2), ``"kseq"``, ``"nss"``,
        ``"greedy"``, or a method added by :func:`spechub_theory.register_verifier`; each comes with
        its draft law (see :data:`spechub_theory.METHODS`).
    k : int or None
        Number of drafts; ``None``: the method's default, 2 (1 for ``single``, the only count it
        supports; :attr:`spechub_theory.verifiers.Verifier.default_k`).
    normalize : bool
        Rescale rows that do not sum to 1 instead of rejecting them.
    strict : bool
        Refuse (``ValueError`` naming the row) a row of ``q`` with fewer tokens of positive mass than
        the method's draft law needs for ``k`` drafts. By default such a row is evaluated as engines
        run it: a law that needs distinct tokens drafts all ``s < k`` of them
        (:meth:`spechub_theory.drafts.DraftLaw.drafted`), so ``rrs_wo`` there is ``rrs_wo`` with ``s``
        drafts, ``spechub`` on a one-hot ``q`` is single-draft sampling on the hub (``alpha = p(a)``)
        and ``greedy`` with ``s <= k - 1`` drafts the whole support (``alpha = p(supp q)``).
    max_cost : float or None
        Refuse a call whose estimated cost exceeds this (``None``: no limit). Among the built-in
        methods only ``rrs_wo`` at ``k >= 3`` has a cost beyond ``O(kV)`` per row: its search over
        rejected prefixes, estimated by :func:`rrs_wo_search_size` and limited by default to
        :data:`MAX_COST`. A registered method without a closed form is computed by enumerating its
        chain over the draft law's tuples, whose cost in token steps
        (:func:`spechub_theory.exact.enumeration_cost`) is held to the same limit.

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
      ``O(V log V)`` for ``k <= 2`` and ``O(V^{k-1} log V)`` beyond (:func:`rrs_wo_search_size`).
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
    kept = acceptance_by_position(p, q, method, k, normalize=normalize, strict=strict, max_cost=max_cost)
    return validate.scalar_or_array(validate.probabilities(kept.sum(axis=-1), f"acceptance_rate({method!r}, k={k})"))


def acceptance_by_position(p, q, method: str, k: int | None = None, *, normalize: bool = False, strict: bool = False,
                           max_cost=MAX_COST) -> np.ndarray:
    """Exact probability that the emitted token is kept as draft ``j``, ``j = 0..k-1``.

    In a token tree the kept draft's position says which child's subtree is verified next, so
    tokens per step need this split of the acceptance rate (:func:`acceptance_rate` is its sum).
    A step of the verifier's chain that keeps draft ``j`` counts for ``j``; a residual that lands
    on a drafted token (K-SEQ, naive) counts for the first position holding it.

    Parameters
    ----------
    p, q, method, k, normalize, strict, max_cost
        As in :func:`acceptance_rate`.

    Returns
    -------
    kept : ndarray, shape (..., k)
        On a row where the draft law makes only ``s < k`` drafts (see ``strict``), positions
        ``s..k-1`` are 0.

    Examples
    --------
    >>> acceptance_by_position([1.0, 0.0], [0.5, 0.5], "rrs", k=2)
    array([0.5 , 0.25])
    """
    p, q, verifier, k = checked(p, q, method, k, normalize=normalize, strict=strict)
    v = p.shape[-1]
    p2, q2 = p.reshape(-1, v), q.reshape(-1, v)
    validate.cost_limit(max_cost)
    groups = row_groups(verifier, q2, k)
    if verifier.name == "rrs_wo" and k >= 3:
        prefixes = sum(rrs_wo_search_size(p2[rows], q2[rows], k_row) for k_row, _, rows in groups if k_row >= 3)
        validate.affordable(
            prefixes, max_cost, name="k",
            work=f"rrs_wo at k = {k} over {p2.shape[0]} row(s) of V = {v:,} searches up to {prefixes:.3g} rejected "
                 f"prefixes (cost O(V^(k-1) log V) per row)",
            alternative=f"use k <= 2 (O(V log V)), simulate(p, q, 'rrs_wo', {k}, n=..., seed=...) for an estimate, "
                        f"or optimal_acceptance_rate(p, q, 'wo', {k}) for the best any verifier reaches on this law",
        )
    enumerate_rows = [g for g in groups if g[1].positions is None]
    if enumerate_rows:  # no closed form: the chain is enumerated, at its stated cost
        law = DRAFT_LAWS[verifier.law]
        tuples = cost = 0
        for k_row, _, rows in enumerate_rows:
            t, c = exact.enumeration_cost(law, q2[rows], k_row)
            tuples, cost = tuples + t, cost + c
        validate.affordable(
            cost, max_cost, name="method",
            work=f"method {method!r} has no closed form; enumerating its chain on {tuples:,} draft tuples of the "
                 f"{law.name!r} law over {p2.shape[0]} row(s) of V = {v:,} costs about {cost:.3g} token steps",
            alternative=f"simulate(p, q, {method!r}, {k}, n=..., seed=...) for an estimate",
        )
    if len(groups) == 1 and groups[0][0] == k and verifier.positions is not None:
        kept = verifier.positions(p2, q2, k)
    else:  # rows with fewer tokens than drafts (the law drafts all of them; later positions are never
        kept = np.zeros((p2.shape[0], k))  # kept), or a verifier without a closed form
        for k_row, row_verifier, rows in groups:
            if row_verifier.positions is None:
                kept[rows, :k_row] = exact.enumerated(row_verifier, DRAFT_LAWS[verifier.law], p2[rows], q2[rows], k_row)[1]
            else:
                kept[rows, :k_row] = row_verifier.positions(p2[rows], q2[rows], k_row)
    kept = validate.probabilities(kept, f"acceptance_by_position({method!r}, k={k})")
    return kept.reshape(p.shape[:-1] + (k,))


def rrs_wo_search_size(p: np.ndarray, q: np.ndarray, k: int) -> float:
    """An upper bound on the rejected prefixes the exact ``rrs_wo`` recursion searches at ``k >= 3``.

    Per row of the validated ``(n, V)`` arrays, with ``r`` the tokens a first draft can be rejected
    at (``q > p``) and ``m`` the tokens with mass in ``p`` or ``q``, the search
    (:func:`spechub_theory.kernels.rrs_wo_rejection`) enumerates the first ``k - 1`` drafts, all
    rejected: ``r`` choices of the first, at most ``m - j`` of draft ``j + 1``. The estimate is
    ``r (m - 1) (m - 2) ... (m - k + 2)`` summed over rows; each step is ``O(1)`` or a binary
    search, 2-25 ns on two CPU cores.
    """
    r = np.count_nonzero(q > p, axis=-1).astype(np.float64)
    m = np.count_nonzero((p > 0) | (q > 0), axis=-1).astype(np.float64)
    size = r
    for i in range(1, k - 1):
        size = size * np.maximum(m - i, 0.0)
    return float(size.sum())
