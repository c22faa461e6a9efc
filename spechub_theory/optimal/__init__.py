"""The optimal lossless verifier for a draft law: its value alpha*, the cut certifying it, the LP."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import validate
from .otm import MAX_COST, OTMResult, check_lp_size, checked_law, otm

SOLVERS = ("subset", "lp")


def _row_k(law, q: np.ndarray, k: int) -> np.ndarray:
    """The drafts the law makes at each row of ``q`` (shape ``(n, V)``): ``k``, or all the tokens of a short row."""
    support = np.count_nonzero(q > 0, axis=-1)
    values, inverse = np.unique(support, return_inverse=True)
    return np.array([law.drafted(int(s), k) for s in values], dtype=np.int64)[inverse.reshape(-1)]


@dataclass(frozen=True)
class OptimalCut:
    """What :func:`optimal_cut` returns: the optimum and the token set certifying it.

    ``value``: ``alpha*``, a float or an array of shape ``(...)``; ``cut``: ``H``, bool of shape
    ``(..., V)``, with ``1 + p(H) - P(all drafts in H) = alpha*`` at every row; ``law`` and ``k``
    as asked.
    """

    value: float | np.ndarray
    cut: np.ndarray
    law: str
    k: int


def optimal_cut(p, q, law: str = "iid", k: int | None = None, *, normalize: bool = False, strict: bool = False,
                max_cost=None) -> OptimalCut:
    r"""The OTM value and a token set ``H`` certifying it: :math:`1 + p(H) - P(S \subseteq H) = \alpha^*`.

    ``H`` certifies the value: no lossless verifier on this draft law accepts more often than
    ``1 + p(H) - P(all drafts in H)``, and one accepts exactly that often.

    Parameters
    ----------
    p, q : array_like, shape (..., V)
        Target and draft distributions; leading axes broadcast.
    law : str
        A draft law of :data:`spechub_theory.DRAFT_LAWS`. The law computes its own optimum
        (:meth:`spechub_theory.drafts.DraftLaw.optimum`): the prefix search for ``iid`` and the closed
        forms for ``hub`` and ``greedy`` (:mod:`spechub_theory.optimal.subset`, with the proofs); the
        prefix search for ``wo``, whose prefix rule is not proved (it agrees with brute force over
        every subset on every case tested, the LP on small V); the subset form by enumeration for a
        registered law without its own.
    k : int or None
        Number of drafts; ``None``: the law's default, 2. A row of ``q`` with fewer tokens than the
        law needs for ``k`` gets the optimum with the drafts the law makes there (all of them).
    strict : bool
        Refuse such a row instead (``ValueError`` naming it).
    max_cost : float or None
        For a law optimised by enumeration of its subsets: refuse above this many subset steps
        ``2^m m`` (``None``: :data:`spechub_theory.optimal.subset.ENUMERATED_MAX_COST`).

    Returns
    -------
    OptimalCut
        ``value`` of shape ``(...)``, ``cut`` of shape ``(..., V)``.

    Examples
    --------
    The hub pair is ``(0, i)``, ``i`` drawn from ``q`` off the hub: ``H = {0, 1}`` holds both drafts
    with probability ``q(1) / (1 - q(0)) = 0.6`` and ``p(H) = 0.5``, so ``1 + 0.5 - 0.6 = 0.9``:

    >>> result = optimal_cut([0.2, 0.3, 0.5], [0.5, 0.3, 0.2], "hub", 2)
    >>> round(result.value, 12), result.cut.tolist()
    (0.9, [True, True, False])
    """
    p, q, law_obj, k = checked_law(p, q, k, law, normalize=normalize, strict=strict)
    validate.cost_limit(max_cost)
    v = p.shape[-1]
    p2, q2 = p.reshape(-1, v), q.reshape(-1, v)
    values = np.empty(p2.shape[0])
    cuts = np.empty(p2.shape, dtype=bool)
    for row, k_row in enumerate(_row_k(law_obj, q2, k)):
        values[row], cuts[row] = law_obj.optimum(p2[row], q2[row], int(k_row), max_cost=max_cost)
    values = validate.probabilities(values, f"optimal_cut(law={law!r}, k={k})")
    return OptimalCut(validate.scalar_or_array(values.reshape(p.shape[:-1])), cuts.reshape(p.shape), law, k)


def optimal_acceptance_rate(p, q, law: str = "iid", k: int | None = None, *, solver: str = "subset",
                            normalize: bool = False, strict: bool = False, max_cost=None):
    r"""The best acceptance rate any lossless verifier reaches with ``k`` drafts from the draft law ``law``.

    .. math:: \alpha^* = 1 + \min_H \left[ p(H) - P(X_1, \dots, X_k \in H) \right]

    (Hu et al., ICLR 2025, arXiv 2502.18779), the value of the OTM linear program.

    Parameters
    ----------
    p, q : array_like, shape (..., V)
        Target and draft distributions; leading axes broadcast.
    law : str
        The draft law: ``"iid"``, ``"wo"``, ``"hub"``, ``"greedy"`` or a registered one.
    k : int or None
        Number of drafts; ``None``: the law's default, 2. Rows with fewer tokens than the law needs
        are drafted in full, as in :func:`optimal_cut`.
    solver : {"subset", "lp"}
        ``"subset"``: the law's own optimum (:func:`optimal_cut`: ``O(V log V)`` for iid; for wo, by a
        prefix rule that is tested, not proved (use ``"lp"`` to certify a small case), at
        ``k >= 3`` ``O(V M k)`` with ``M`` the quadrature nodes of
        :func:`spechub_theory.optimal.subset.race_rule`, about 100-150; closed forms for hub and
        greedy). ``"lp"``: the compact OTM linear program (:func:`otm`) of each row, for small V or
        sparse laws; a solve HiGHS reports as inaccurate is refused (``RuntimeError``).
    strict : bool
        Refuse rows with fewer tokens than the law needs (``ValueError`` naming the row).
    max_cost : float or None
        With ``solver="lp"``: refuse LPs of more variables than this in all rows (default
        :data:`spechub_theory.optimal.otm.MAX_COST`, as in :func:`otm`). With ``solver="subset"``:
        as in :func:`optimal_cut`.

    Returns
    -------
    alpha : float or ndarray, shape (...)

    Examples
    --------
    >>> round(optimal_acceptance_rate([0.2, 0.3, 0.5], [0.5, 0.3, 0.2], "hub", 2), 12)
    0.9
    """
    validate.choice(solver, "solver", SOLVERS)
    if solver == "subset":
        return optimal_cut(p, q, law, k, normalize=normalize, strict=strict, max_cost=max_cost).value
    p, q, law_obj, k = checked_law(p, q, k, law, normalize=normalize, strict=strict)
    v = p.shape[-1]
    p2, q2 = p.reshape(-1, v), q.reshape(-1, v)
    max_cost = MAX_COST if max_cost is None else max_cost
    check_lp_size(law_obj, q2, k, "compact", max_cost)
    values = np.empty(p2.shape[0])
    for i in range(p2.shape[0]):
        result = otm(p2[i], q2[i], law, k, max_cost=None)
        if not result.success:
            raise RuntimeError(f"the OTM LP (law={law!r}, k={k}) at row {i} was not solved to tolerance: {result.message}")
        values[i] = result.value
    # the LP's value is exact to the solver's tolerance (1e-10 on masses scaled to order 1), not to rounding
    values = validate.probabilities(values, f"the OTM LP (law={law!r}, k={k})", tolerance=1e-7)
    return validate.scalar_or_array(values.reshape(p.shape[:-1]))


def iid_perfect_acceptance(p, q, k: int | None = None, *, normalize: bool = False):
    """Whether ``alpha* = 1`` for ``k`` i.i.d. drafts: ``p(S) >= q(S)^k`` for every token set ``S``.

    The condition of Khisti et al. (ICLR 2025); by the prefix argument of
    :mod:`spechub_theory.optimal.subset` it suffices to check the ``V + 1`` prefixes in ``p/q``
    order, ``O(V log V)``. ``k=None``: 2. Returns a bool (array of shape ``(...)``); a prefix may
    fall short by at most 1e-12 (rounding).
    """
    perfect = np.asarray(optimal_cut(p, q, "iid", k, normalize=normalize).value) >= 1.0 - 1e-12
    return bool(perfect) if perfect.ndim == 0 else perfect


__all__ = ["OTMResult", "OptimalCut", "iid_perfect_acceptance", "optimal_acceptance_rate", "optimal_cut", "otm"]
