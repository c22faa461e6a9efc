r"""Choosing a tree: the best tree shape for a verifier (Sequoia's dynamic programme), and wall-clock.

**The programme.** A node-wise verifier keeps the ``j``-th child of a node that has ``b`` children
with probability ``kept_b[j]`` (Sequoia's *positional acceptance vector*, Chen et al., NeurIPS
2024, Alg. 1, extended to splits that depend on ``b``, as SpecHub's, K-SEQ's, greedy's and top-k's
do), possibly depending on the node's depth ``d``. Tokens per step of a tree is
``T(v) = 1 + sum_j kept_{b(v)}[d(v)][j] T(child_j(v))``. Let ``F(n, d)`` be the largest ``T`` of a
subtree of ``n`` nodes whose root sits at depth ``d`` (no node deeper than ``max_depth``) and
``G_b(m, j, d)`` the largest ``sum_{i >= j} kept_b[d][i] F(n_i, d + 1)`` over child sizes
``n_j, ..., n_{b-1} >= 1`` summing to ``m``. Then

.. math::

    F(1, d) = 1, \qquad F(n, d) = 1 + \max_b G_b(n - 1, 0, d), \qquad
    G_b(m, j, d) = \max_{1 \le s \le m - (b - 1 - j)} \big[kept_b[d][j] F(s, d + 1) + G_b(m - s, j + 1, d)\big],

with ``G_b(0, b, d) = 0`` and ``F(n > 1, max_depth) = -inf``.

*Proof that it is exact.* The value of a tree is ``1`` plus, for the root's ``b`` children in
order, ``kept_b[0][j]`` times the value of the ``j``-th child's subtree, which depends only on that
subtree; given ``b`` and the sizes ``n_j``, the subtrees can be chosen independently, so each is
best at ``F(n_j, 1)`` (any other choice is no larger term by term, the weights being >= 0), and
maximising over ``b`` and the sizes is what ``G`` does position by position. Induction on ``n``.

*Why ``kept`` is the pool mean under the i.i.d.-node model.* There each node's ``(p, q)`` and drafts
are independent of every other node's, and the subtree below child ``j`` is verified only if ``j``
is kept, so ``E[T(v)] = 1 + sum_j E[a_j(v)] E[T(child_j)]``: the recursion holds in expectation with
``kept_b[d][j] = E_pool[a_j]`` for a node of ``b`` children at depth ``d``
(:meth:`spechub_theory.NodePool.mean_kept`), and the programme is exactly optimal for that model.
Sequence-level verifiers (``block``, ``traversal``, ``traversal_wo``) accept whole paths: a child's
acceptance depends on the path above it, ``T`` does not factor node by node, and the programme does
not apply to them (:func:`optimal_tree_for` says so).

**Wall-clock.** :class:`CostModel` gives the time ``target(n)`` of one target forward pass over
``n`` tree tokens and ``draft``, the time of one draft pass (one per level of drafts). The speedup
of a tree over plain decoding is

.. math::

    S = \frac{T \cdot target(1)}{target(n_{nodes}) + depth \cdot draft},

which on a chain of ``g`` drafts with a flat target cost and ``draft = c \cdot target(1)`` is
Leviathan et al.'s improvement factor ``(1 - a^{g+1}) / ((1 - a)(g c + 1))`` (ICML 2023, Thm 3.8).
:func:`fastest_tree` maximises ``S`` over budgets and depths (Sequoia's hardware-aware search).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .. import validate
from .shape import Tree

#: The largest budget :func:`optimal_tree` accepts unless told otherwise (the work grows as nodes^2).
MAX_NODES = 1024
#: The cost profile that ships (:meth:`CostModel.shipped`), in the format ``spechub-theory profile`` writes.
SHIPPED_PROFILE = Path(__file__).parent.parent / "data" / "cost_smollm2_cpu.json"


@dataclass(frozen=True)
class OptimalTree:
    """The best tree of a budget: ``tree`` (exactly ``nodes`` nodes, root included), its exact
    ``tokens_per_step`` under the ``kept`` it was chosen for, and the bounds it was chosen under."""

    tree: Tree
    tokens_per_step: float
    nodes: int
    max_depth: int | None


def _kept_table(kept, max_depth: int) -> list[dict[int, np.ndarray]]:
    """``kept`` as ``table[d][b]``: the kept vector of a node at depth ``d`` with ``b`` children.

    Accepted forms: a vector (Sequoia's positional vector, any number of children up to its
    length); a dict ``{b: vector of length b}``; or a callable ``(b, d) -> vector of length b or
    None`` (None: no node of ``b`` children at depth ``d``).
    """
    def checked(vector, b, d):
        v = np.asarray(vector, dtype=np.float64)
        if v.shape != (b,) or not np.all(np.isfinite(v)) or np.any(v < 0) or np.any(v > 1 + 1e-12):
            raise ValueError(f"kept: the vector for {b} children at depth {d} must hold {b} probabilities, got {vector!r}")
        return v

    if callable(kept):
        width = None
        rule = kept
    elif isinstance(kept, dict):
        if not kept or not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in kept):
            raise ValueError("kept: a dict maps numbers of children b >= 1 to vectors of length b")
        width = max(kept)
        rule = lambda b, d: kept.get(b)  # noqa: E731
    else:
        vector = np.asarray(kept, dtype=np.float64)
        if vector.ndim != 1 or vector.size == 0:
            raise ValueError(f"kept: expected a non-empty vector of probabilities, got shape {vector.shape}")
        checked(vector, vector.size, 0)
        width = vector.size
        rule = lambda b, d: vector[:b]  # noqa: E731
    table = []
    for d in range(max_depth):
        row = {}
        for b in range(1, (width or MAX_WIDTH) + 1):
            v = rule(b, d)
            if v is not None:
                row[b] = checked(v, b, d)
        table.append(row)
    return table


#: The most children a node may have when ``kept`` is a callable.
MAX_WIDTH = 16


def _programme(table, nodes: int, max_depth: int):
    """``F[d][n]`` and the argmax choices, for ``n <= nodes`` and depths ``0 .. max_depth``."""
    neg = -math.inf
    F = np.full((max_depth + 1, nodes + 1), neg)
    F[:, 1] = 1.0
    choice: dict[tuple[int, int], tuple[int, list[int]]] = {}
    for d in range(max_depth - 1, -1, -1):
        below = F[d + 1]
        fits = np.isfinite(below)
        for b, vector in table[d].items():
            # G[j][m]: best of positions j..b-1 with m nodes, each position at least one node.
            G = np.full((b + 1, nodes), neg)
            arg = np.zeros((b + 1, nodes), dtype=np.int64)
            G[b, 0] = 0.0
            for j in range(b - 1, -1, -1):
                for m in range(b - j, nodes):
                    s = np.arange(1, m - (b - 1 - j) + 1)
                    values = np.where(fits[s], vector[j] * np.where(fits[s], below[s], 0.0), -math.inf) + G[j + 1, m - s]
                    best = int(np.argmax(values))
                    G[j, m], arg[j, m] = values[best], s[best]
            for n in range(b + 1, nodes + 1):
                value = 1.0 + G[0, n - 1]
                if value > F[d, n] + 1e-15:
                    F[d, n] = value
                    sizes, m = [], n - 1
                    for j in range(b):
                        sizes.append(int(arg[j, m]))
                        m -= sizes[-1]
                    choice[(d, n)] = (b, sizes)
    return F, choice


def _build(choice, n: int, d: int) -> Tree:
    children: list[tuple[int, ...]] = []

    def grow(n: int, d: int) -> int:
        v = len(children)
        children.append(())
        if n > 1:
            _, sizes = choice[(d, n)]
            children[v] = tuple(grow(s, d + 1) for s in sizes)
        return v

    grow(n, d)
    return Tree(tuple(children))


def _bounds(nodes, max_depth, max_nodes):
    if isinstance(nodes, bool) or not isinstance(nodes, (int, np.integer)) or nodes < 1:
        raise ValueError(f"nodes: expected a positive number of nodes (root included), got {nodes!r}")
    if nodes > max_nodes:
        raise ValueError(f"nodes: {nodes} exceeds max_nodes = {max_nodes} (the programme costs O(nodes^2) per "
                         f"depth and width); pass max_nodes= to lift it")
    if max_depth is None:
        return int(nodes), int(nodes) - 1
    if isinstance(max_depth, bool) or not isinstance(max_depth, (int, np.integer)) or max_depth < 0:
        raise ValueError(f"max_depth: expected a non-negative number of levels of drafts, got {max_depth!r}")
    return int(nodes), int(max_depth)


def optimal_tree(kept, nodes: int, max_depth: int | None = None, *, max_nodes: int = MAX_NODES) -> OptimalTree:
    """The tree of exactly ``nodes`` nodes (root included) with the largest tokens per step.

    Parameters
    ----------
    kept : sequence, dict or callable
        Sequoia's positional acceptance vector ``kept[j]`` (a node has at most ``len(kept)``
        children, the ``j``-th kept with probability ``kept[j]`` whatever their number); or
        ``{b: kept_b}`` for splits that depend on the number of children ``b``; or ``kept(b, d)``
        returning ``kept_b`` at depth ``d`` (or None where ``b`` children are not allowed).
    nodes : int
        The budget, root included (a chain of ``g`` drafts has ``g + 1`` nodes).
    max_depth : int, optional
        Levels of drafts below the root (a chain of ``g`` drafts has depth ``g``); unbounded by default.

    Returns
    -------
    OptimalTree
        ``.tree`` and its exact ``.tokens_per_step`` (the module docstring's programme; ties go to
        the fewest children).

    Raises ``ValueError`` when no tree of ``nodes`` nodes fits the bounds.

    >>> round(optimal_tree([0.8, 0.3], 3).tokens_per_step, 12)   # the chain: 1 + 0.8 + 0.64
    2.44
    """
    nodes, depth = _bounds(nodes, max_depth, max_nodes)
    table = _kept_table(kept, depth)
    F, choice = _programme(table, nodes, depth)
    if not math.isfinite(F[0, nodes]):
        raise ValueError(f"nodes: no tree of {nodes} nodes fits max_depth = {max_depth} with the allowed numbers of "
                         f"children")
    return OptimalTree(_build(choice, nodes, 0), float(F[0, nodes]), nodes, max_depth)


def optimal_values(kept, nodes: int, max_depth: int | None = None, *, max_nodes: int = MAX_NODES) -> np.ndarray:
    """``values[n]``: the best tokens per step of a tree of ``n`` nodes, ``n = 0 .. nodes``
    (``-inf`` where none fits; ``values[0]`` is ``-inf``), from one run of the programme."""
    nodes, depth = _bounds(nodes, max_depth, max_nodes)
    F, _ = _programme(_kept_table(kept, depth), nodes, depth)
    return F[0].copy()


def kept_of(method: str, source, widths: Sequence[int] = (1, 2, 3, 4)) -> Callable:
    """``kept(b, d)`` of a node-wise ``method`` on the i.i.d.-node ``source`` (a
    :class:`~spechub_theory.NodePool`): the pool mean of the kept-child probabilities of a node of
    ``b`` children at depth ``d`` (None where the method cannot verify ``b`` children)."""
    from .verifiers import SEQUENCE_METHODS, node_method

    if method in SEQUENCE_METHODS:
        raise ValueError(f"method: {method!r} verifies whole paths (its acceptance at a node depends on the path "
                         f"above it), so tokens per step does not factor node by node and the tree programme does "
                         f"not apply; compare its value on given shapes with tokens_per_step")
    if not hasattr(source, "mean_kept"):
        raise ValueError(f"source: expected a NodePool (the i.i.d.-node model), got {type(source).__name__}")
    allowed = set(int(b) for b in widths)

    def kept(b, d):
        if b not in allowed:
            return None
        try:
            name = node_method(method, b)
        except ValueError:
            return None
        return source.mean_kept(name, b, d)

    return kept


def optimal_tree_for(method: str, source, nodes: int, max_depth: int | None = None, *,
                     widths: Sequence[int] = (1, 2, 3, 4), max_nodes: int = MAX_NODES) -> OptimalTree:
    """:func:`optimal_tree` for a node-wise ``method`` on a :class:`~spechub_theory.NodePool`: the
    exactly best tree of ``nodes`` nodes under the i.i.d.-node model, nodes having a number of
    children in ``widths`` (the ones the method supports)."""
    return optimal_tree(kept_of(method, source, widths), nodes, max_depth, max_nodes=max_nodes)


@dataclass(frozen=True)
class CostModel:
    """Times of the forward passes: ``target(n)`` over ``n`` tree tokens, ``draft`` per level of drafts.

    ``target`` is a callable or a table ``{n: seconds}`` (interpolated linearly in ``n``, flat beyond
    its ends is refused: give the sizes you will ask for).
    """

    target: Callable[[int], float] | dict
    draft: float

    def __post_init__(self):
        if isinstance(self.target, dict):
            if not self.target or any(not isinstance(n, int) or n < 1 or not t > 0 for n, t in self.target.items()):
                raise ValueError("target: a table maps token counts n >= 1 to positive seconds")
        elif not callable(self.target):
            raise ValueError(f"target: expected a callable or a table {{n: seconds}}, got {type(self.target).__name__}")
        if isinstance(self.draft, bool) or not isinstance(self.draft, (int, float)) or not self.draft >= 0:
            raise ValueError(f"draft: expected non-negative seconds, got {self.draft!r}")

    def target_time(self, n: int) -> float:
        if isinstance(self.target, dict):
            sizes = sorted(self.target)
            if not sizes[0] <= n <= sizes[-1]:
                raise ValueError(f"n: the cost table covers {sizes[0]}..{sizes[-1]} tokens, not {n}")
            return float(np.interp(n, sizes, [self.target[s] for s in sizes]))
        t = float(self.target(n))
        if not t > 0:
            raise ValueError(f"target: target({n}) = {t!r}; times must be positive")
        return t

    def step_time(self, nodes: int, depth: int) -> float:
        """One speculative step: the target over ``nodes`` tokens and ``depth`` draft passes."""
        return self.target_time(nodes) + depth * float(self.draft)

    @classmethod
    def shipped(cls) -> "CostModel":
        """The profile that ships (:data:`SHIPPED_PROFILE`): SmolLM2-135M-Instruct and the project's
        early-exit draft on the two-core CPU of the project's machine, ``n = 1..128``, medians of 7
        (``spechub-theory profile --device cpu --sizes 1 .. 128 --repeats 7``). Its draft pass costs
        0.65 of a one-token target pass (the draft is the target's first 16 of 30 layers)."""
        return cls.load(SHIPPED_PROFILE)

    @classmethod
    def memory_bound(cls, flat: int = 64, draft: float = 0.05) -> "CostModel":
        """A model of a GPU serving a large target with a small draft, in units of one target pass:
        ``target(n) = 1`` up to ``flat`` tokens (the pass is bound by reading the weights, so extra
        tree tokens are free), ``n / flat`` beyond (compute-bound), and ``draft`` per draft pass (0.05:
        about a 68M draft for a 7B target). A stated model, not a measurement."""
        validate.positive_int(flat, "flat")
        return cls(lambda n: max(1.0, n / flat), float(draft))

    @classmethod
    def load(cls, path) -> "CostModel":
        """A profile written by ``spechub-theory profile``: ``{"target": {"n": seconds, ...}, "draft": seconds}``."""
        path = Path(path)
        try:
            record = json.loads(path.read_text())
            return cls({int(n): float(t) for n, t in record["target"].items()}, float(record["draft"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"path: {path} is not a cost profile ({err})") from None


def speedup(tree: Tree, method: str, source, cost: CostModel) -> float:
    """Tokens per step over the step's time, relative to plain decoding (one target pass per token):
    ``T * target(1) / (target(n_nodes) + depth * draft)``."""
    from .views import tokens_per_step

    return tokens_per_step(tree, method, source) * cost.target_time(1) / cost.step_time(tree.n_nodes, tree.depth)


def speedups(kept, cost: CostModel, max_nodes: int, max_depth: int | None = None) -> np.ndarray:
    """``values[n]``: the largest speedup of a tree of exactly ``n`` nodes (depth at most
    ``max_depth``) under ``cost``, ``n = 0 .. max_nodes`` (``-inf`` where none fits; ``values[1] = 1``,
    plain decoding): ``max_d V_d(n) target(1) / (target(n) + d draft)`` over the depth bounds ``d``,
    ``V_d`` the programme's best values (:func:`optimal_values`). The tree attaining ``V_d(n)`` has
    depth at most ``d``, so its step is no slower than the one charged, and the best tree of ``n``
    nodes is charged exactly at its own depth: the maximum is exact."""
    nodes, deepest = _bounds(max_nodes, max_depth, MAX_NODES)
    best = np.full(nodes + 1, -np.inf)
    for d in range(deepest + 1):
        values = optimal_values(kept, nodes, d)
        for n in range(1, nodes + 1):
            if math.isfinite(values[n]):
                best[n] = max(best[n], values[n] * cost.target_time(1) / cost.step_time(n, d))
    return best


def fastest_tree(kept, cost: CostModel, max_nodes: int, max_depth: int | None = None) -> tuple[OptimalTree, float]:
    """The tree of at most ``max_nodes`` nodes and depth at most ``max_depth`` with the largest
    speedup under ``cost``; returns ``(OptimalTree, speedup)``.

    For each depth bound ``d`` the programme gives the best value ``V_d(n)`` of every budget; the
    best speedup is ``max_{n, d} V_d(n) target(1) / (target(n) + d draft)``: the tree attaining
    ``V_d(n)`` has depth ``<= d`` and so a step no slower than that, and the optimal tree appears at
    its own ``(n, d)``.
    """
    _, deepest = _bounds(max_nodes, max_depth, MAX_NODES)
    best = (-math.inf, None, None)
    for d in range(deepest + 1):
        values = optimal_values(kept, max_nodes, d)
        for n in range(1, max_nodes + 1):
            if math.isfinite(values[n]):
                s = values[n] * cost.target_time(1) / cost.step_time(n, d)
                if s > best[0] + 1e-15:
                    best = (s, n, d)
    _, n, d = best
    chosen = optimal_tree(kept, n, d)
    return chosen, chosen.tokens_per_step * cost.target_time(1) / cost.step_time(n, chosen.tree.depth)
