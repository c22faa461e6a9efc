r"""The optimal transport with membership cost (OTM) as a linear program, in cvxpy.

For a draft law ``Q`` on k-tuples ``S`` and a target ``p``, the best lossless verifier is a
coupling ``pi(S, y)`` of ``Q`` and ``p`` that maximises ``sum_{y in S} pi(S, y)`` (Sun et al.,
SpecTr, NeurIPS 2023):

* ``dense``: every pair (tuple, token), ``len(tuples) * V`` variables, constraints
  ``sum_y pi(S, y) = Q(S)`` and ``sum_S pi(S, y) = p(y)``. One token equality is dropped: both
  marginals sum to 1, and the redundant row makes HiGHS's presolve misreport infeasibility when
  some entries are tiny.
* ``compact``: only the pairs with ``y in S`` (at most ``k`` per tuple),
  ``sum_{y in S} a(S, y) <= Q(S)`` and ``sum_{S ∋ y} a(S, y) <= p(y)``; what a tuple does not send
  to its own tokens fills the tokens' remaining demand in any way (here by the north-west corner
  rule), so both LPs have the same value. Only tuples in the law's support appear, so the hub law
  gives ``O(V)`` variables.

The LP is solved by HiGHS where cvxpy has it, else Clarabel; the result says which. Its size is
estimated from the draft law's support size before anything is enumerated, and an LP beyond
:data:`MAX_COST` variables is refused (``max_cost=None`` lifts the limit).
"""

from __future__ import annotations

import functools
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .. import validate
from ..drafts import DRAFT_LAWS

#: Default ``max_cost`` of :func:`otm`, in LP variables (:func:`lp_variables`), either form: about
#: 40 s on two CPU cores for the dense i.i.d. LP (V = 80, k = 2: 512,000 variables), 30 s for the
#: compact i.i.d. LP at V = 3, k = 10 (177,147), 4 s for the compact hub LP at V = 32,000 (127,996).
MAX_COST = 500_000


@dataclass(frozen=True)
class OTMResult:
    """An OTM solution: its value, the coupling, and how it was obtained.

    ``plan`` is always a ``scipy.sparse.csr_matrix`` of shape ``(len(tuples), V)``, whatever the
    form: ``plan[i, y]`` is the probability of drafting ``tuples[i]`` and emitting ``y``, its rows
    summing to ``probabilities`` and its columns to ``p`` (to solver tolerance). ``success`` is
    ``True`` when the solver reports an optimal solution and ``False`` when it reports an inaccurate
    one (``message`` says which; :func:`spechub_theory.optimal_acceptance_rate` refuses the latter).
    """

    value: float
    plan: sp.csr_matrix
    tuples: np.ndarray
    probabilities: np.ndarray
    form: str
    solver: str
    status: str
    solve_time: float
    success: bool
    message: str


#: Options passed to the solver. Feasibility tolerances are absolute: at the default 1e-7 thousands
#: of tiny marginal entries each slipped, which moved the value by 1e-4 at V = 32,000; masses are
#: therefore scaled by :func:`lp_scale` and the tolerances tightened. HiGHS's interior point
#: method (with crossover) solves the scaled SpecHub LP at V = 32,000 in ~4 s where its dual
#: simplex took ~35 s.
SOLVER_OPTIONS = {
    "HIGHS": {
        "highs_options": {"solver": "ipm", "primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
    },
    "CLARABEL": {"tol_feas": 1e-10, "tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10},
}


def lp_scale(n_tuples: int, v: int) -> float:
    """The factor all masses are multiplied by in the LP, so a typical entry is of order 1."""
    return float(max(n_tuples, v))


def lp_solver() -> str:
    """The exact LP solver cvxpy will use: HiGHS where installed, else Clarabel."""
    import cvxpy as cp

    return cp.HIGHS if cp.HIGHS in cp.installed_solvers() else cp.CLARABEL


@functools.cache
def quiet_highs() -> None:
    """Keep HiGHS's banner off the terminal.

    highspy prints "Running HiGHS ..." from C++ on the first ``Highs()`` of a process, whatever the
    options (cvxpy creates one before it sets any). That first instance is created here once, with
    the process's standard output pointed at ``os.devnull`` for the duration; later ones print nothing.
    """
    try:
        import highspy
    except ImportError:
        return
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no file descriptor 1 to redirect: let it print
        highspy.Highs()
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def lp_variables(law, support: int, k: int, v: int, form: str) -> int:
    """Variables of the OTM LP for a ``q`` with ``support`` tokens of positive mass, before building it:
    the law's tuples (:meth:`spechub_theory.drafts.DraftLaw.tuple_count`) times ``V`` (dense) or times
    the at most ``min(k, support)`` distinct tokens of a tuple (compact)."""
    tuples = law.tuple_count(support, k)
    return tuples * (v if form == "dense" else min(k, support))


def membership(tuples: np.ndarray, v: int) -> sp.csr_matrix:
    """The 0/1 matrix ``[y in S]`` of shape ``(len(tuples), v)``."""
    rows = np.repeat(np.arange(len(tuples)), tuples.shape[1])
    m = sp.csr_matrix((np.ones(rows.size), (rows, tuples.reshape(-1))), shape=(len(tuples), v))
    m.data[:] = 1.0  # a token repeated in a tuple counts once
    return m


def compact_constraints(member: sp.coo_matrix) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The compact LP's constraint matrices for the pairs ``(S, y in S)`` listed by ``member``.

    Returns ``(by_tuple, by_token)`` with ``by_tuple @ a <= Q`` and ``by_token @ a <= p``.
    """
    ones, pairs = np.ones(member.nnz), np.arange(member.nnz)
    by_tuple = sp.csr_matrix((ones, (member.row, pairs)), shape=(member.shape[0], member.nnz))
    by_token = sp.csr_matrix((ones, (member.col, pairs)), shape=(member.shape[1], member.nnz))
    return by_tuple, by_token


def _northwest_corner(supply: np.ndarray, demand: np.ndarray) -> sp.coo_matrix:
    """A coupling of two non-negative vectors of equal total with at most ``n + m - 1`` entries."""
    supply, demand = supply.copy(), demand.copy()
    rows, cols, vals = [], [], []
    i = j = 0
    while i < supply.size and j < demand.size:
        moved = min(supply[i], demand[j])
        if moved > 0:
            rows.append(i)
            cols.append(j)
            vals.append(moved)
        supply[i] -= moved
        demand[j] -= moved
        if supply[i] <= demand[j]:
            i += 1
        else:
            j += 1
    return sp.coo_matrix((vals, (rows, cols)), shape=(supply.size, demand.size))


def otm(p, q, law: str = "iid", k: int | None = None, form: str = "compact", *, normalize: bool = False,
        strict: bool = False, max_cost=MAX_COST) -> OTMResult:
    """Solve the OTM linear program for one position.

    Parameters
    ----------
    p, q : array_like, shape (V,)
        Target and draft distributions.
    law : str
        The draft law (``"iid"``, ``"wo"``, ``"hub"``, ``"greedy"`` or a registered one); its support
        is enumerated, so the LP is for small V except for the sparse laws (hub, greedy), whose
        compact LP has ``O(kV)`` variables.
    k : int or None
        Number of drafts; ``None``: the law's default, 2. A ``q`` with fewer tokens than the law needs
        is drafted in full (``strict=True`` refuses it).
    form : {"compact", "dense"}
        The LP formulation (see the module docstring); both give a plan of the same type.
    max_cost : float or None
        Refuse an LP of more variables than this (:func:`lp_variables`, estimated before the law is
        enumerated; ``None``: no limit); by default :data:`MAX_COST`.

    Returns
    -------
    OTMResult
        With ``success`` ``False`` (and ``message`` saying so) when the solver reports an inaccurate
        optimum. A problem the solver does not solve at all raises ``RuntimeError``.

    Examples
    --------
    >>> round(otm([0.2, 0.3, 0.5], [0.5, 0.3, 0.2], "hub", 2).value, 9)
    0.9
    """
    import cvxpy as cp

    p, q, law_obj, k = checked_law(p, q, k, law, normalize=normalize, strict=strict)
    if p.ndim != 1:
        raise ValueError(f"p: otm solves one position of shape (V,), got shape {p.shape}")
    validate.choice(form, "form", ("compact", "dense"))
    check_lp_size(law_obj, q[None], k, form, max_cost)
    tuples, probs = law_obj.enumerate(q, law_obj.drafted(int(np.count_nonzero(q > 0)), k))
    n, v = len(tuples), p.size
    member = membership(tuples, v)
    solver = lp_solver()
    quiet_highs()
    scale = lp_scale(n, v)
    mass_q, mass_p = probs * scale, p * scale
    if form == "dense":
        x = cp.Variable((n, v), nonneg=True)
        constraints = [cp.sum(x, axis=1) == mass_q, cp.sum(x, axis=0)[:-1] == mass_p[:-1]]
        problem = cp.Problem(cp.Maximize(cp.sum(cp.multiply(member.toarray(), x))), constraints)
    else:
        member = member.tocoo()
        a = cp.Variable(member.nnz, nonneg=True)
        by_tuple, by_token = compact_constraints(member)
        problem = cp.Problem(cp.Maximize(cp.sum(a)), [by_tuple @ a <= mass_q, by_token @ a <= mass_p])
    start = time.perf_counter()
    problem.solve(solver=solver, **SOLVER_OPTIONS[solver])
    elapsed = time.perf_counter() - start
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise RuntimeError(f"the OTM LP was not solved: status {problem.status} ({solver})")
    if form == "dense":
        plan = sp.csr_matrix(np.maximum(x.value, 0.0) / scale)
    else:
        sent = sp.csr_matrix((np.maximum(a.value, 0.0) / scale, (member.row, member.col)), shape=(n, v))
        left = np.maximum(probs - np.asarray(sent.sum(axis=1)).ravel(), 0.0)
        short = np.maximum(p - np.asarray(sent.sum(axis=0)).ravel(), 0.0)
        short *= left.sum() / short.sum() if short.sum() > 0 else 0.0
        plan = (sent + _northwest_corner(left, short).tocsr()).tocsr()
    success = problem.status == cp.OPTIMAL
    message = ("optimal" if success else
               f"the solver reports {problem.status}: its value may be off by more than the tolerance")
    return OTMResult(float(problem.value) / scale, plan, tuples, probs, form, solver, problem.status, elapsed,
                     success, message)


def check_lp_size(law, q: np.ndarray, k: int, form: str, max_cost) -> int:
    """Refuse (``ValueError`` naming ``k``) OTM LPs at the rows of ``q`` (shape ``(n, V)``) of more than
    ``max_cost`` variables in all; returns the count."""
    supports, rows = np.unique(np.count_nonzero(q > 0, axis=-1), return_counts=True)
    variables = sum(int(r) * lp_variables(law, int(s), law.drafted(int(s), k), q.shape[-1], form)
                    for s, r in zip(supports, rows))
    validate.affordable(
        variables, max_cost, name="k",
        work=f"the {form} OTM LP of the {law.name!r} law at k = {k} ({law.tuple_count_rule(int(supports.max()), k)} "
             f"draft tuples; {variables:,} variables over {q.shape[0]} row(s) of V = {q.shape[-1]:,})",
        alternative=f"use optimal_acceptance_rate(p, q, {law.name!r}, {k}), the optimum by its subset form "
                    "(O(V log V) for iid, closed forms for hub and greedy)"
                    + (", or form='compact'" if form == "dense" else ""),
    )
    return variables


def checked_law(p, q, k, law: str, *, normalize: bool = False, strict: bool = False):
    """Validate ``(p, q, k, law)``: returns ``(p, q, law object, k)`` with ``p, q`` of shape ``(..., V)``.

    ``k=None`` is the law's :attr:`~spechub_theory.drafts.DraftLaw.default_k`. ``strict=True``
    refuses a row of ``q`` with fewer tokens of positive mass than the law needs for ``k`` drafts
    (naming the row); otherwise the law drafts all of them there.
    """
    law_obj = DRAFT_LAWS[validate.choice(law, "law", DRAFT_LAWS)]
    k = law_obj.default_k if k is None else validate.draft_count(k)
    if not law_obj.supports(k):
        raise ValueError(f"k: the {law!r} draft law is defined for k = {law_obj.k_values} only, got k = {k}")
    p, q = validate.pair(p, q, normalize=normalize)
    if not isinstance(strict, bool):
        raise ValueError(f"strict: expected True or False, got {strict!r}")
    if strict:
        validate.support_at_least(q, law_obj.min_support(k), law)
    return p, q, law_obj, k
