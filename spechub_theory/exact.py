"""Exact output law and acceptance of a verifier, by enumerating its draft law and its chain.

For every draft tuple of positive probability the verifier's rejection chain is walked exactly:
step ``j`` is reached with the probability that steps ``1..j-1`` rejected, and emits its token or
law with its acceptance probability. Summed over the draft law this gives the law of the emitted
token ``Y`` (which equals ``p`` exactly for a lossless verifier) and ``P(Y in drafts)``. The cost is
the size of the draft law's support times ``O(kV)``: meant for small vocabularies, or for the sparse
laws (hub: ``2 (V - 1)`` tuples, greedy: ``V - k + 1``) at moderate ones.
"""

from __future__ import annotations

import numpy as np

from . import validate
from .drafts import DRAFT_LAWS
from .verifiers import Verifier, checked, row_groups

#: Default ``max_cost`` of the enumeration, in token steps: the draft tuples of every row
#: (:meth:`spechub_theory.drafts.DraftLaw.tuple_count`) times ``max(V, WALK_FLOOR)``, about a
#: minute on two CPU cores (a million tuples at V <= 1,000; the hub law's ~20,000 at V = 10,000).
MAX_COST = 1e9

#: A chain walk costs at least this many token steps, whatever V (its Python overhead, ~50 us).
WALK_FLOOR = 1_000


def first_positions(drafts: np.ndarray, v: int) -> np.ndarray:
    """For each token, the first position at which it was drafted, or -1; shape ``(v,)``."""
    first = np.full(v, -1, dtype=np.int64)
    for j in range(len(drafts) - 1, -1, -1):
        first[drafts[j]] = j
    return first


def chain_outcome(verifier: Verifier, drafts: np.ndarray, p: np.ndarray, q: np.ndarray, **prepared):
    """The exact law of ``Y`` given the drafts, and the probability that ``Y`` is kept as draft ``j``.

    A step that keeps draft ``j`` counts for position ``j``; a law that lands on a drafted token
    counts for the first position holding it. ``prepared``: :meth:`Verifier.prepared` at ``(p, q)``.
    """
    law = np.zeros_like(p)
    kept = np.zeros(len(drafts))
    reach = 1.0
    for accept, emit in verifier.chain(drafts, p, q, **prepared):
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


def enumeration_cost(law, q: np.ndarray, k: int) -> tuple[int, float]:
    """``(tuples, token steps)`` of enumerating ``law`` at every row of the validated ``q`` (shape ``(n, V)``),
    each row with the drafts the law makes there (:meth:`~spechub_theory.drafts.DraftLaw.drafted`)."""
    supports, rows = np.unique(np.count_nonzero(q > 0, axis=-1), return_counts=True)
    tuples = sum(int(r) * law.tuple_count(int(s), law.drafted(int(s), k)) for s, r in zip(supports, rows))
    return tuples, float(tuples) * max(q.shape[-1], WALK_FLOOR)


def _enumerate(p, q, method, k, normalize, strict, max_cost):
    """``(law, by_position)`` per row, shapes ``(..., V)`` and ``(..., k)``."""
    p, q, verifier, k = checked(p, q, method, k, normalize=normalize, strict=strict)
    law = DRAFT_LAWS[verifier.law]
    v = p.shape[-1]
    p2, q2 = p.reshape(-1, v), q.reshape(-1, v)
    tuples, cost = enumeration_cost(law, q2, k)
    support = int(np.max(np.count_nonzero(q2 > 0, axis=-1)))
    validate.affordable(
        cost, max_cost, name="q",
        work=f"enumerating {law.tuple_count_rule(support, law.drafted(support, k))} draft tuples of the "
             f"{law.name!r} law per row ({tuples:,} over {p2.shape[0]} row(s) of V = {v:,}: about {cost:.3g} token steps)",
        alternative=f"use acceptance_rate(p, q, {method!r}, {k}) for the exact acceptance in closed form, "
                    f"or simulate(p, q, {method!r}, {k}, n=..., seed=...) for the emitted tokens",
    )
    laws = np.zeros_like(p2)
    positions = np.zeros((p2.shape[0], k))
    for k_row, row_verifier, rows in row_groups(verifier, q2, k):
        laws[rows], positions[rows, :k_row] = enumerated(row_verifier, law, p2[rows], q2[rows], k_row)
    return laws.reshape(p.shape), positions.reshape(p.shape[:-1] + (k,))


def enumerated(verifier: Verifier, law, p: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The law of ``Y`` and ``P(kept as draft j)`` per row of the validated ``(n, V)`` arrays, shapes
    ``(n, V)`` and ``(n, k)``, by enumerating ``law``'s ``k``-tuples and ``verifier``'s chain on each
    (trusted arguments: every row has the support ``k`` drafts need; the cost is the caller's to check)."""
    laws = np.zeros_like(p)
    positions = np.zeros((p.shape[0], k))
    for row in range(p.shape[0]):
        prepared = verifier.prepared(p[row], q[row], k)
        for drafts, prob in zip(*law.enumerate(q[row], k)):
            y, kept = chain_outcome(verifier, drafts, p[row], q[row], **prepared)
            laws[row] += prob * y
            positions[row] += prob * kept
    return laws, positions


def output_distribution(p, q, method: str, k: int | None = None, *, normalize: bool = False, strict: bool = False,
                        max_cost=MAX_COST) -> np.ndarray:
    """Exact law of the token a verifier emits, by enumeration of drafts and rejection branches.

    For a lossless verifier the result equals ``p`` to float64 rounding: this is how the library
    proves losslessness.

    Parameters
    ----------
    p, q : array_like, shape (..., V)
        Target and draft distributions.
    method : str
        A method name of :func:`spechub_theory.acceptance_rate`.
    k : int or None
        Number of drafts; ``None``: the method's default (2; 1 for ``single``). A row of ``q`` with fewer tokens of positive mass than the draft law needs
        is enumerated with the drafts the law makes there (all of them), as in
        :func:`spechub_theory.acceptance_rate`; ``strict=True`` refuses it instead.
    max_cost : float or None
        Refuse a call whose estimated cost exceeds this (``None``: no limit): the draft tuples of
        every row, as the draft law counts them (``V^k`` for iid, ``V!/(V-k)!`` for wo,
        ``2 (V - 1)`` for hub, ``V - k + 1`` for greedy, ``V`` the tokens of positive mass in
        ``q``), times ``max(V, 1000)`` token steps each; by default :data:`MAX_COST`.

    Returns
    -------
    law : ndarray, shape (..., V)

    Examples
    --------
    >>> output_distribution([0.25, 0.75], [0.5, 0.5], "rrs", k=2)
    array([0.25, 0.75])
    """
    return _enumerate(p, q, method, k, normalize, strict, max_cost)[0]


def enumerated_acceptance_rate(p, q, method: str, k: int | None = None, *, normalize: bool = False, strict: bool = False,
                               max_cost=MAX_COST):
    """``P(Y in drafts)`` by the same enumeration as :func:`output_distribution`.

    An independent route to the value :func:`spechub_theory.acceptance_rate` computes in closed
    form; shape ``(...)``. ``max_cost`` as in :func:`output_distribution`.
    """
    return validate.scalar_or_array(_enumerate(p, q, method, k, normalize, strict, max_cost)[1].sum(axis=-1))


def enumerated_acceptance_by_position(p, q, method: str, k: int | None = None, *, normalize: bool = False,
                                      strict: bool = False, max_cost=MAX_COST) -> np.ndarray:
    """``P(Y is kept as draft j)`` for ``j = 0..k-1`` by enumeration, shape ``(..., k)``.

    In a token tree, position ``j`` is the child whose subtree is verified next. A step of the
    chain that keeps draft ``j`` counts for ``j``; a residual law landing on a drafted token counts
    for the first position holding it. The positions sum to :func:`enumerated_acceptance_rate`.
    ``strict`` and ``max_cost`` as in :func:`output_distribution`.
    """
    return _enumerate(p, q, method, k, normalize, strict, max_cost)[1]
