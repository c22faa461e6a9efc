"""The optimal lossless verifier for a draft law: its value alpha*, the cut certifying it, the LP."""

from __future__ import annotations

import numpy as np

from .. import validate
from .otm import MAX_COST, OTMResult, check_lp_size, checked_law, otm

SOLVERS = ("subset", "lp")


def _row_k(law, q: np.ndarray, k: int) -> np.ndarray:
    """The drafts the law makes at each row of ``q`` (shape ``(n, V)``): ``k``, or all the tokens of a short row."""
    support = np.count_nonzero(q > 0, axis=-1)
    values, inverse = np.unique(support, return_inverse=True)
    return np.array([law.drafted(int(s), k) for s in values], dtype=np.int64)[inverse.reshape(-1)]


def optimal_cut(p, q, k: int = 2, drafts: str = "iid", *, normalize: bool = False, strict: bool = False):
    """``(alpha*, H)``: the OTM value and a token set ``H`` attaining ``1 + p(H) - P(S ⊆ H) = alpha*``.

    ``H`` certifies the value: no lossless verifier on this draft law accepts more often than
    ``1 + p(H) - P(all drafts in H)``, and one accepts exactly that often. Shapes ``(...)`` and
    ``(..., V)``. See :mod:`spechub_theory.optimal.subset` for the formulas and their proofs. A row
    of ``q`` with fewer tokens than the law needs gets the optimum with the drafts the law makes
    there (all of them; ``strict=True`` refuses it).
    """
    p, q, law, k = checked_law(p, q, k, drafts, normalize=normalize, strict=strict)
    v = p.shape[-1]
    p2, q2 = p.reshape(-1, v), q.reshape(-1, v)
    values = np.empty(p2.shape[0])
    cuts = np.empty(p2.shape, dtype=bool)
    for row, k_row in enumerate(_row_k(law, q2, k)):
        values[row], cuts[row] = law.optimum(p2[row], q2[row], int(k_row))
    values = validate.probabilities(values, f"optimal_cut(k={k}, drafts={drafts!r})")
    return validate.scalar_or_array(values.reshape(p.shape[:-1])), cuts.reshape(p.shape)


def optimal_acceptance_rate(p, q, k: int = 2, drafts: str = "iid", solver: str = "subset", *, normalize: bool = False,
                            strict: bool = False, max_cost=MAX_COST):
    r"""The best acceptance rate any lossless verifier reaches with ``k`` drafts from ``drafts``.

    .. math:: \alpha^* = 1 + \min_H \left[ p(H) - P(X_1, \dots, X_k \in H) \right]

    (Hu et al., ICLR 2025, arXiv 2502.18779), the value of the OTM linear program.

    Parameters
    ----------
    p, q : array_like, shape (..., V)
        Target and draft distributions; leading axes broadcast.
    k : int
        Number of drafts.
    drafts : {"iid", "wo", "hub", "greedy"}
        The draft law.
    solver : {"subset", "lp"}
        ``"subset"``: the subset form (``O(V log V)`` for iid; ``O(V M k)`` with ``M = 321``
        quadrature nodes for wo at ``k >= 3``; closed forms for hub and greedy). ``"lp"``: the
        compact OTM linear program (:func:`otm`), for small V or sparse laws.
    max_cost : float or None
        With ``solver="lp"``: refuse LPs of more variables than this in all rows (as in :func:`otm`).

    Returns
    -------
    alpha : float or ndarray, shape (...)

    Examples
    --------
    >>> round(optimal_acceptance_rate([0.2, 0.3, 0.5], [0.5, 0.3, 0.2], 2, "hub"), 12)
    0.9
    """
    validate.choice(solver, "solver", SOLVERS)
    if solver == "subset":
        return optimal_cut(p, q, k, drafts, normalize=normalize, strict=strict)[0]
    p, q, law, k = checked_law(p, q, k, drafts, normalize=normalize, strict=strict)
    v = p.shape[-1]
    p2, q2 = p.reshape(-1, v), q.reshape(-1, v)
    check_lp_size(law, q2, k, "compact", max_cost)
    values = np.array([otm(p2[i], q2[i], k, drafts, max_cost=None).value for i in range(p2.shape[0])])
    # the LP's value is exact to the solver's tolerance (1e-10 on masses scaled to order 1), not to rounding
    values = validate.probabilities(values, f"the OTM LP (k={k}, drafts={drafts!r})", tolerance=1e-7)
    return validate.scalar_or_array(values.reshape(p.shape[:-1]))


def iid_perfect_acceptance(p, q, k: int = 2, *, normalize: bool = False):
    """Whether ``alpha* = 1`` for ``k`` i.i.d. drafts: ``p(S) >= q(S)^k`` for every token set ``S``.

    The condition of Khisti et al. (ICLR 2025); by the prefix argument of
    :mod:`spechub_theory.optimal.subset` it suffices to check the ``V + 1`` prefixes in ``p/q``
    order, ``O(V log V)``. Returns a bool (array of shape ``(...)``); a prefix may fall short by at
    most 1e-12 (rounding).
    """
    perfect = np.asarray(optimal_cut(p, q, k, "iid", normalize=normalize)[0]) >= 1.0 - 1e-12
    return bool(perfect) if perfect.ndim == 0 else perfect


__all__ = ["OTMResult", "iid_perfect_acceptance", "optimal_acceptance_rate", "optimal_cut", "otm"]
