r"""The ceiling of tree verification: the best lossless verifier for a drafted-tree law, as an LP.

Setting
-------
A tree shape (:class:`~spechub_theory.Tree`, depth ``D``) is drafted from a draft model ``q``: every
internal node ``v`` at context ``s`` (the tokens on the path to ``v``) draws its ``k_v`` children's
tokens from a sibling law (``iid``, ``wo``, ``hub``, ``topk``) applied to ``q(. | s)``, giving a drafted
tree ``T`` of probability ``Q(T)``. The target has law ``p(z_l | z_{<l})``. A *verifier* is any
randomised rule that, given ``T``, emits ``z_1 .. z_n`` (``n >= 1``) where ``z_1 .. z_{n-1}`` is a
path of ``T`` from the root (the accepted drafts) and ``z_n`` is any token (the corrected or bonus
token). Its *extended output* ``Z`` is ``z_1 .. z_n`` followed by fresh target tokens,
``Z_l ~ p(. | Z_{<l})`` for ``l > n``; it is lossless when ``Z ~ p``, i.e. ``P(Z_{1:l} = x) = p(x)``
for every ``l`` and ``x`` (the validity criterion of Block Verification, Sun et al., Lemma 2). The
ceiling is ``sup E[n]`` over lossless verifiers, the best tokens per step any verifier reaches on
this way of drafting.

Only the set of token paths of ``T`` matters to a verifier's constraint, so drafted trees with the
same set ``E(T) = {path tokens of v : v a node}`` (siblings permuted, iid siblings that repeat a
token) are merged into one *token tree* ``E`` of probability ``Q(E)``; let ``P`` be the set of
sequences that are a path of some token tree (``()`` included), all of length ``<= D``.

The programme
-------------
Variables ``m(E, s + x) >= 0`` for every token tree ``E``, path ``s`` of ``E`` and token ``x``: the
probability of drafting ``E`` and emitting exactly ``s + x``; and ``C(s) >= 0`` for ``s`` in ``P``,
the probability that the extended output starts with ``s`` and more than ``|s|`` tokens are emitted.

.. math::

    \max \sum_{E, s, x} (|s| + 1)\, m(E, s + x) \quad \text{s.t.} \quad
    \sum_{s, x} m(E, s + x) = Q(E), \qquad
    C(s)\, p(x \mid s) = \sum_{E \ni s} m(E, s + x) + C(s + x)

for every ``s`` in ``P`` and token ``x``, with ``C(()) = 1`` and ``C(s + x) = 0`` when
``s + x`` is not in ``P``. Writing ``M(z) = sum_E m(E, z)``, the flow constraint says: given
that the step emits a ``(|s|+1)``-th token after emitting ``s``, that token has the target's law.

*Every lossless verifier gives a feasible point.* Let ``m(E, z) = P(E(T) = E, emitted = z)`` and
``C(s) = P(Z_{1:|s|} = s, n > |s|)``. The first constraint is the marginal of ``E``. Emitting ``s``
and continuing requires ``s`` to be a path of ``T``, so ``C(s) = 0`` off ``P``. For ``l = |s| + 1``,
``P(Z_{1:l} = s + x) = P(Z_{1:l} = s + x, n >= l) + P(Z_{1:l-1} = s, n < l) p(x | s)`` (a fresh
token), and losslessness gives ``P(Z_{1:l} = s + x) = p(s + x) = p(s) p(x | s)`` and
``P(Z_{1:l-1} = s) = p(s)``. Subtracting, ``P(Z_{1:l} = s + x, n >= l) = P(Z_{1:l-1} = s, n >= l)
p(x | s) = C(s) p(x | s)``, and the left side splits into ``n = l`` (that is ``M(s + x)``) and
``n > l`` (``C(s + x)``): the flow constraint. The objective is ``E[n]``.

*Every feasible point is a verifier that can be sampled, with the same value.* Given ``T``, draw
``z`` with probability ``m(E(T), z) / Q(E(T))``, emit it (``z`` without its last token is a path of
``E(T)``, hence of ``T``), then fresh target tokens. Then ``P(emitted = z) = M(z)``. Summing the
flow constraint along ``y = y_1 .. y_L``, by induction on ``l``: ``P(Z_{1:l} = y_{1:l}, n >= l) =
C(y_{<l}) p(y_l | y_{<l})`` and ``P(Z_{1:l} = y_{1:l}) = p(y_{1:l})``. Indeed, if both hold below
``l`` then ``P(Z_{1:l-1} = y_{<l}, n >= l) = C(y_{<l})`` (the part ``n > l - 1`` of the flow at
``l - 1``), the fresh part is ``(p(y_{<l}) - C(y_{<l})) p(y_l | y_{<l})`` and the emitted part
``C(y_{<l}) p(y_l | y_{<l})``; they add to ``p(y_{1:l})``. Its ``E[n] = sum (|z|) M(z)``, the objective.

So the LP's value is the ceiling. It equals the issue's programme over ``pi(T, y, n)`` (``y`` the
first ``D + 1`` target tokens, ``n - 1`` at most the longest prefix of ``y`` that is a path of ``T``):
``pi(T, y, n) = m(E(T), y_{1:n}) Q(T) / Q(E(T)) p(y_{n+1:} | y_{1:n})`` maps one to the other; ours
keeps only emitted prefixes, ``#token trees x #paths x V`` variables instead of
``#trees x V^(D+1) x (D+1)``. It needs ``p`` only at the contexts in ``P``. Pruned exactly: ``m`` and
``C`` at sequences of zero target mass (forced to 0 by the flow), and ``C`` off ``P``.

Two consequences used in the tests: ``E[n] = sum_{s in P} C(s)`` with ``C(s) <= min(p(s),
Q(s in E))``, so a deterministic tree (``topk``) has the ceiling ``sum_{s in P} p(s)``, the
sum of its path probabilities; on one level (a root with ``k`` children) the programme is the
OTM coupling, so the ceiling is ``1 + alpha*`` (:func:`spechub_theory.optimal_acceptance_rate`).

The ceiling bounds every engine verifier (those see ``p`` only at the tree's nodes, a smaller class);
the sampler above may use ``p`` elsewhere through the plan, which is computed offline.

Solved by HiGHS (interior point with crossover, feasibility tolerances 1e-10 on masses scaled by
the number of token trees) as the node OTM LPs are (:mod:`spechub_theory.optimal.otm`), but with
presolve off and the dual simplex as a fallback (:func:`solver_attempts`); a solution is kept only
when every constraint holds to :data:`RESIDUAL` (relative). Values are exact to about 1e-8.

References
----------
Sun, Mendlovic, Leviathan, Aharoni, Beirami, Ro, Suresh, "Block Verification Accelerates Speculative
Decoding", ICLR 2025, arXiv 2403.10444 (Lemma 2, the validity criterion; Theorem 2, optimality on chains).
Weng et al., "Traversal Verification for Speculative Tree Decoding", NeurIPS 2025, arXiv 2505.12398.
Sun et al., "SpecTr: Fast Speculative Decoding via Optimal Transport", NeurIPS 2023.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .. import validate
from ..optimal.otm import SOLVER_OPTIONS, lp_solver, quiet_highs
from .pool import NodePool
from .shape import Tree
from .verifiers import sibling_law

#: The sibling laws, by the node-wise method that drafts them (:func:`spechub_theory.tree.sibling_law`).
LAWS = {"iid": "rrs", "wo": "rrs_wo", "hub": "spechub", "topk": "topk"}
#: The library's tree verifiers whose siblings each law draws (``block`` on chains only).
LAW_METHODS = {"iid": ("rrs", "traversal", "block"), "wo": ("rrs_wo", "traversal_wo"), "hub": ("spechub",),
               "topk": ("topk",)}
#: Default ``max_cost`` of :func:`tree_optimum`: an upper bound on the LP's variables
#: (:func:`lp_variables`), computed from the tree shape and ``V`` before anything is enumerated. It
#: admits the full binary trees of 7 nodes at V <= 5 (iid; at V = 5 bound 99,750, an LP of 74,655
#: variables, 4.5 s on a shared core), 6 (wo), 13 (hub), and of 15 nodes at V <= 4 (hub), 3 (wo),
#: 2 (iid). Measured limits at 60 s: :func:`tree_optimum`'s Notes.
MAX_COST = 200_000


@dataclass(frozen=True)
class CeilingPlan:
    """The optimal verifier: for every token tree, the law of what it emits.

    ``trees[i]`` is a token tree (a sorted tuple of its non-empty paths), drafted with probability
    ``probabilities[i]``; ``emission`` of shape ``(len(trees), len(sequences))`` holds
    ``m(E, z)``, the probability of drafting ``trees[i]`` and emitting ``sequences[j]`` (rows sum
    to ``probabilities``); ``carry[s] = C(s)`` for the drafted paths ``s`` (module docstring).
    """

    trees: tuple
    probabilities: np.ndarray
    sequences: tuple
    emission: sp.csr_matrix
    carry: dict

    def law_given(self, paths) -> dict:
        """``{emitted tokens: probability}`` given the drafted tree's set of paths (:func:`drafted_paths`)."""
        key = tuple(sorted(set(paths)))
        try:
            i = self.trees.index(key)
        except ValueError:
            raise ValueError(f"paths: no drafted tree of positive probability has the paths {list(key)}") from None
        row = self.emission.getrow(i)
        total = self.probabilities[i]
        return {self.sequences[j]: float(x) / total for j, x in zip(row.indices, row.data) if x > 0}

    def sample(self, paths, rng) -> tuple:
        """One emitted sequence given the drafted paths, with ``rng`` (a seed or a generator)."""
        law = self.law_given(paths)
        seqs = list(law)
        w = np.array([law[s] for s in seqs])
        return seqs[int(validate.rng(rng).choice(len(seqs), p=w / w.sum()))]


@dataclass(frozen=True)
class TreeOptimum:
    """The result of :func:`tree_optimum` (SciPy-style).

    ``value``: the ceiling, tokens per step (``nan`` unless ``success``); ``status``: cvxpy's status;
    ``message``; ``solver``; ``seconds``: the solve's wall time; ``variables``, ``constraints``: the
    LP's size after pruning; ``token_trees``: how many distinct token trees the law drafts; ``plan``:
    a :class:`CeilingPlan` when asked for.
    """

    value: float
    status: str
    success: bool
    message: str
    solver: str
    seconds: float
    variables: int
    constraints: int
    token_trees: int
    plan: CeilingPlan | None = None

    @property
    def tokens_per_step(self) -> float:
        return self.value


#: The largest constraint residual (or negative mass) accepted from a solve, relative to the masses' scale.
RESIDUAL = 1e-8


def solver_attempts(solver: str) -> list[tuple[str, dict]]:
    """The ``(solver, options)`` :func:`tree_optimum` tries in turn, until one is optimal with every
    constraint holding to :data:`RESIDUAL`.

    HiGHS, always with presolve off: its interior point method (with crossover) and its dual simplex
    at the node OTM's feasibility tolerances, 1e-10 (:data:`spechub_theory.optimal.otm.SOLVER_OPTIONS`),
    then both at 1e-9; then Clarabel at 1e-10 where installed. Measured reasons: with presolve on,
    HiGHS declared feasible programmes infeasible at LLM-like laws (full binary tree of 7 nodes,
    ``iid``, V = 5; of 15 nodes, ``wo``, V = 3) after 95 s, where without it the same programme
    solves in 2.5 s (the trivial verifier, emit one target token, is always feasible). At 1e-10,
    both methods stop with status "unknown" or "infeasible" on the shipped laws restricted to 3 or
    4 tokens at T = 0.6, whose masses reach 1e-12; at 1e-9 both solve them in under a second, and
    agree with Clarabel to 1e-8. The residual check keeps the result exact to about 1e-8 whichever
    attempt succeeds. Other solvers: their node OTM options alone.
    """
    import cvxpy as cp

    options = dict(SOLVER_OPTIONS[solver])
    if "highs_options" not in options:
        return [(solver, options)]
    attempts = []
    for tol in (None, 1e-9):
        for method in ("ipm", "simplex"):
            highs = {**options["highs_options"], "presolve": "off", "solver": method}
            if tol is not None:
                highs.update(primal_feasibility_tolerance=tol, dual_feasibility_tolerance=tol)
            attempts.append((solver, {**options, "highs_options": highs}))
    if cp.CLARABEL in cp.installed_solvers():
        attempts.append((cp.CLARABEL, dict(SOLVER_OPTIONS["CLARABEL"])))
    return attempts


def drafted_paths(tree: Tree, tokens) -> frozenset:
    """The set of non-empty token paths of a drafted tree (its token tree before sorting)."""
    tokens = np.asarray(tokens)
    return frozenset(tuple(int(tokens[u]) for u in tree.path(v)) for v in range(1, tree.n_nodes))


class _Laws:
    """``(p, q)`` at a prefix, validated once: from a one-row-per-depth NodePool, a mapping or a callable."""

    def __init__(self, source):
        if isinstance(source, NodePool):
            if source.size != 1:
                raise ValueError(f"source: a NodePool of one row per depth is a context-independent model; this one "
                                 f"has {source.size} rows per depth (use NodePool(p[:, :1], q[:, :1]) or positions=1)")
            self.per_depth = True
            self.fetch = lambda prefix: source.row(len(prefix), 0)
        elif isinstance(source, Mapping) or callable(source):
            self.per_depth = False
            self.fetch = source.__getitem__ if isinstance(source, Mapping) else source
        else:
            raise ValueError(f"source: expected a NodePool of one row per depth, or a function or mapping "
                             f"prefix -> (p, q), got {type(source).__name__}")
        self.cache = {}
        self.v = None

    def __call__(self, prefix):
        key = len(prefix) if self.per_depth else prefix
        if key not in self.cache:
            try:
                laws = self.fetch(prefix)
            except (KeyError, IndexError, LookupError) as err:
                raise ValueError(f"source: no laws for the prefix {list(prefix)} ({type(err).__name__}: {err})") from None
            try:
                p, q = laws
                p, q = validate.pair(p, q)
            except (TypeError, ValueError) as err:
                raise ValueError(f"source: the laws at prefix {list(prefix)} are not a pair of distributions ({err})") from None
            if p.ndim != 1 or (self.v is not None and p.size != self.v):
                raise ValueError(f"source: the laws at prefix {list(prefix)} have shape {p.shape}, expected ({self.v or 'V'},)")
            self.v = p.size
            self.cache[key] = (p, q)
        return self.cache[key]


def _sibling(law: str, k: int, v: int):
    try:
        return sibling_law(LAWS[law], k)
    except ValueError:
        raise ValueError(f"law: {law!r} drafts pairs (a node of 1 or 2 children), but node {v} of tree has {k}") from None


def _check(tree, law):
    if not isinstance(tree, Tree):
        raise ValueError(f"tree: expected a Tree, got {type(tree).__name__}")
    validate.choice(law, "law", LAWS)
    for v, kids in enumerate(tree.children):
        if kids:
            _sibling(law, len(kids), v)


def token_tree_bound(tree: Tree, law: str, v: int) -> int:
    """An upper bound on the distinct token trees ``law`` drafts on ``tree`` over ``v`` tokens, from the
    shape alone: children of the same subtree shape, permuted, give the same token tree, so a group of
    ``g`` such children with ``N`` token trees each offers ``C(v N + g - 1, g)`` multisets (``iid``),
    ``C(v, g) N^g`` (distinct tokens), ``N^g`` (``topk``); a hub pair ``(v - 1) N^2`` (twice that for
    children of two shapes)."""
    _check(tree, law)
    shape_of, count = {}, {}
    for u in range(tree.n_nodes - 1, -1, -1):
        kids = tree.children[u]
        shape_of[u] = tuple(sorted(shape_of[c] for c in kids))
        groups = {}
        for c in kids:
            groups.setdefault(shape_of[c], []).append(c)
        total = 1
        for members in groups.values():
            g, n = len(members), count[members[0]]
            if law == "topk":
                total *= n**g
            elif law == "iid" or len(kids) == 1:
                total *= math.comb(v * n + g - 1, g)
            else:
                total *= math.comb(v, g) * n**g
        if law == "hub" and len(kids) == 2:  # the pair holds the hub argmax q: v - 1 sets
            a, b = count[kids[0]], count[kids[1]]
            total = min(total, (v - 1) * a * b * (1 if shape_of[kids[0]] == shape_of[kids[1]] else 2))
        count[u] = total
    return count[0]


def lp_variables(tree: Tree, law: str, v: int) -> int:
    """The bound on the LP's variables :func:`tree_optimum` checks against ``max_cost``:
    :func:`token_tree_bound` times ``n_nodes x V`` (the emitted sequences of one token tree)."""
    return token_tree_bound(tree, law, v) * tree.n_nodes * v


def _token_tree_law(tree: Tree, law: str, laws: _Laws) -> dict:
    """``{token tree: Q}``, a token tree being a frozenset of non-empty paths; merged bottom-up."""
    memo = {}

    def below(u, prefix):
        key = (u, len(prefix) if laws.per_depth else prefix)
        if key in memo:
            return memo[key]
        kids = tree.children[u]
        if not kids:
            memo[key] = {frozenset(): 1.0}
            return memo[key]
        q = laws(prefix)[1]
        k = len(kids)
        sib = _sibling(law, k, u)
        if np.count_nonzero(q > 0) < sib.min_support(k):
            raise ValueError(f"source: q at prefix {list(prefix)} has {np.count_nonzero(q > 0)} tokens of positive "
                             f"mass; {law!r} siblings need {sib.min_support(k)} for node {u}'s {k} children")
        tuples, probs = sib.enumerate(q, k)
        out = {}
        for drafts, prob in zip(tuples, probs):
            if prob <= 0:
                continue
            options = [below(c, prefix + (int(x),)) for c, x in zip(kids, drafts)]
            for combo in itertools.product(*(o.items() for o in options)):
                paths = set()
                weight = prob
                for x, (sub, w) in zip(drafts, combo):
                    x = int(x)
                    paths.add((x,))
                    paths.update((x,) + r for r in sub)
                    weight *= w
                key_e = frozenset(paths)
                out[key_e] = out.get(key_e, 0.0) + weight
        memo[key] = out
        return out

    return below(0, ())


def tree_optimum(tree: Tree, law: str, source, *, plan: bool = False, max_cost=MAX_COST) -> TreeOptimum:
    r"""The best tokens per step any lossless verifier reaches on ``tree`` drafted with ``law``.

    .. math:: \max_{\text{lossless verifiers}} \mathbb{E}[n] = \max \sum_{E,s,x} (|s|+1)\, m(E, s+x)

    over the linear programme of the module docstring (proved there), solved by HiGHS.

    Parameters
    ----------
    tree : Tree
        The tree shape, of depth ``D``.
    law : {"iid", "wo", "hub", "topk"}
        How each node's children are drafted from ``q`` at its context: independently, without
        replacement, SpecHub's pairs (nodes of at most 2 children; one child is one draw from ``q``),
        the most likely tokens of ``q``.
    source : NodePool, callable or mapping
        The models: a :class:`~spechub_theory.NodePool` of one row per depth (``p``, ``q`` of shape
        ``(depths, 1, V)`` or ``(1, V)``; depth ``d`` uses pool ``min(d, depths - 1)``), or a
        context-dependent model, ``prefix -> (p, q)`` with ``prefix`` a tuple of tokens and
        ``p, q`` of shape ``(V,)`` (e.g. :class:`spechub_theory.testing.ContextModel`).
    plan : bool
        Return the optimal verifier as a :class:`CeilingPlan`.
    max_cost : float or None
        Refuse when :func:`lp_variables` (an upper bound on the variables, from the shape and ``V``)
        exceeds it; by default :data:`MAX_COST`. ``None``: no limit.

    Returns
    -------
    TreeOptimum

    Notes
    -----
    The size solved in 60 s. Largest ``V`` of the full binary trees, one LLM-like pair per depth,
    the time of one call (enumeration, building, solving; cvxpy's import, about 1.5 s, included),
    measured on the project's two-core machine shared with other jobs::

        tree       iid                           wo                            hub
        7 nodes    V = 6, 17.5 s (V = 7: 78 s)   V = 6, 7.3 s (V = 7: 65 s)    V = 16, 23.5 s (V = 20: 88 s)
        15 nodes   V = 2, 0.8 s (V = 3: > 150 s) V = 3, 9.6 s (V = 4: > 150 s) V = 4, 15 s (V = 5: > 150 s)
        31 nodes   none (V = 2: > 90 s)          V = 2 (deterministic)         V = 2 (deterministic; V = 3: > 100 s)

    measured, for each depth ``D``, law and ``V``, by::

        from spechub_theory.synthetic import llm_like_logits, process
        t, d = llm_like_logits(D + 1, V, seed=0)
        pool = NodePool(process(t)[:, None, :], process(d)[:, None, :])
        tree_optimum(Tree.full(2, 2 ** (D + 1) - 1), law, pool, max_cost=None)

    Examples
    --------
    >>> pool = NodePool(np.array([[[1/3, 2/3]]] * 3), np.array([[[2/3, 1/3]]] * 3))
    >>> round(tree_optimum(Tree.chain(2), "iid", pool).tokens_per_step * 9, 6)  # Block Verification's 20/9
    20.0

    References
    ----------
    Sun et al., "Block Verification Accelerates Speculative Decoding", ICLR 2025, arXiv 2403.10444.
    """
    import cvxpy as cp

    _check(tree, law)
    laws = _Laws(source)
    v = laws(())[0].size
    bound = lp_variables(tree, law, v)
    validate.affordable(
        bound, max_cost, name="tree",
        work=f"the tree-verification LP of {tree.n_nodes} nodes (depth {tree.depth}) with {law!r} siblings at V = {v} "
             f"(up to {token_tree_bound(tree, law, v):,} token trees; up to {bound:,} variables)",
        alternative="use a smaller tree or vocabulary",
    )
    trees = _token_tree_law(tree, law, laws)
    keys = list(trees)
    probs = np.array([trees[e] for e in keys])
    drafted = set().union(*keys) if keys else set()  # P minus ()

    # target mass of drafted prefixes, and the conditional laws at them
    mass = {(): 1.0}
    for s in sorted(drafted, key=len):
        mass[s] = mass[s[:-1]] * laws(s[:-1])[0][s[-1]]
    live = [s for s in mass if mass[s] > 0]  # the paths s of P with p(s) > 0
    carry_index = {s: i for i, s in enumerate(t for t in live if t)}

    # m variables: (token tree, path s, token x) with p(s + x) > 0
    seq_index, rows_e, cols_seq, weights = {}, [], [], []
    for i, e in enumerate(keys):
        for s in ((),) + tuple(e):
            if mass.get(s, 0.0) <= 0:
                continue
            p_next = laws(s)[0]
            for x in np.flatnonzero(p_next > 0):
                z = s + (int(x),)
                j = seq_index.setdefault(z, len(seq_index))
                rows_e.append(i)
                cols_seq.append(j)
                weights.append(len(z))
    n_m, n_c = len(rows_e), len(carry_index)
    sequences = tuple(seq_index)
    scale = float(max(len(keys), v))

    # flow rows: one per (s in live, x with p(x|s) > 0), i.e. per sequence z = s + x
    flow_row = {z: r for r, z in enumerate(sequences)}
    am = sp.csr_matrix((np.ones(n_m), (np.array([flow_row[sequences[j]] for j in cols_seq], dtype=np.int64),
                                       np.arange(n_m))), shape=(len(sequences), n_m))
    c_rows, c_cols, c_vals = [], [], []
    rhs = np.zeros(len(sequences))
    for z, r in flow_row.items():
        s = z[:-1]
        cond = laws(s)[0][z[-1]]
        if s:  # C(s) p(x|s) on the left
            c_rows.append(r)
            c_cols.append(carry_index[s])
            c_vals.append(-cond)
        else:
            rhs[r] = scale * cond
        if z in carry_index:
            c_rows.append(r)
            c_cols.append(carry_index[z])
            c_vals.append(1.0)
    ac = sp.csr_matrix((c_vals, (c_rows, c_cols)), shape=(len(sequences), n_c))
    by_tree = sp.csr_matrix((np.ones(n_m), (np.array(rows_e), np.arange(n_m))), shape=(len(keys), n_m))

    quiet_highs()
    m = cp.Variable(n_m, nonneg=True)
    constraints = [by_tree @ m == scale * probs]
    if n_c:
        c = cp.Variable(n_c, nonneg=True)
        constraints.append(am @ m + ac @ c == rhs)
    else:
        c = None
        constraints.append(am @ m == rhs)
    problem = cp.Problem(cp.Maximize(np.asarray(weights, dtype=float) @ m), constraints)
    start = time.perf_counter()
    tried = []
    for solver, options in solver_attempts(lp_solver()):
        try:
            problem.solve(solver=solver, **options)
            status = problem.status
        except (cp.error.SolverError, ValueError) as err:  # cvxpy raises ValueError on HiGHS's "unknown"
            status = f"solver_error: {str(err).split(',')[0][:80]}"
        highs = options.get("highs_options", {})
        method = f"{highs['solver']}, tolerance {highs.get('primal_feasibility_tolerance', 0):.0e}" if highs else ""
        if status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            cv = np.zeros(0) if c is None else c.value
            equal = np.concatenate([by_tree @ m.value - scale * probs,
                                    am @ m.value + (ac @ cv if n_c else 0.0) - rhs])
            worst = max(float(np.abs(equal).max(initial=0.0)), float(-m.value.min(initial=0.0)),
                        float(-cv.min(initial=0.0)))
            if worst <= RESIDUAL * scale:
                break
            status = f"residual {worst / scale:.1e}"
        tried.append(f"{method or solver}: {status}")
    seconds = time.perf_counter() - start
    success = status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
    solver_name = f"{solver} ({method})" if method else solver
    value = float(problem.value) / scale if success else math.nan
    message = ("the ceiling of lossless tree verification" if status == cp.OPTIMAL else
               f"solved inaccurately by {solver_name}" if success else f"the LP was not solved: {'; '.join(tried)}")
    if success and tried:
        message += f" (after {'; '.join(tried)})"
    result_plan = None
    if success and plan:
        emission = sp.csr_matrix((np.maximum(m.value, 0.0) / scale, (rows_e, cols_seq)), shape=(len(keys), len(sequences)))
        carry = {s: (float(max(c.value[i], 0.0)) / scale) for s, i in carry_index.items()}
        carry[()] = 1.0
        result_plan = CeilingPlan(tuple(tuple(sorted(e)) for e in keys), probs, sequences, emission, carry)
    return TreeOptimum(value, str(status), success, message, solver_name, seconds, n_m + n_c, len(sequences) + len(keys),
                       len(keys), result_plan)


def verifier_values(tree: Tree, law: str, source: NodePool) -> dict:
    """Every library verifier drafting ``law`` siblings on ``tree`` (:data:`LAW_METHODS`), exact tokens
    per step over a :class:`NodePool` of one row per depth: ``{method: value}``."""
    from .views import tokens_per_step

    _check(tree, law)
    methods = [mth for mth in LAW_METHODS[law] if mth != "block" or all(len(k) <= 1 for k in tree.children)]
    return {mth: tokens_per_step(tree, mth, source, max_trees=10**7) for mth in methods}


def gap_table(cases) -> str:
    """A text table of the ceiling against every verifier of the same law, for ``(name, tree, law, source)``
    cases (``source`` a one-row-per-depth :class:`NodePool`): values, and each verifier's share of the
    gap from single-draft decoding along a chain of the same depth to the ceiling."""
    from .views import tokens_per_step

    lines = [f"{'case':<24}{'law':<6}{'ceiling':>10}  verifiers (tokens per step; gap closed)"]
    for name, tree, law, source in cases:
        ceiling = tree_optimum(tree, law, source).value
        base = tokens_per_step(Tree.chain(tree.depth), "single", source)
        parts = []
        for mth, val in verifier_values(tree, law, source).items():
            closed = (val - base) / (ceiling - base) if ceiling - base > 1e-9 else 1.0
            parts.append(f"{mth} {val:.6f} ({closed:.1%})")
        lines.append(f"{name:<24}{law:<6}{ceiling:>10.6f}  " + ", ".join(parts))
    return "\n".join(lines)
