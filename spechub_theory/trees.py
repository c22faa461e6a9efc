r"""Token trees and tokens per step (batch efficiency).

A draft tree is verified level by level: the root holds the context, and at each node the
verifier decides among the node's children (its drafts); a kept child's children are verified
next, while a rejection or a leaf emits one corrected or bonus token and ends the step. With
``a_j`` the probability that the node keeps child ``j`` (:func:`spechub_theory.acceptance_by_position`),
the expected number of tokens a step emits from node ``v`` is

    T(v) = 1 + sum_j a_j(v) T(child_j(v)),   T(leaf) = 1,

and tokens per step is ``T(root)``. For a chain of depth ``D`` with acceptance ``alpha`` this is
``sum_{d=0}^{D} alpha^d``. Tree sizes count the root, as in the SpecHub and Sequoia papers: a full
binary tree of 3 nodes is the root and two drafts.

Sources of the ``(p, q)`` pairs at the nodes:

* :class:`NodePool` -- each node's pair is drawn independently from a pool of positions (one pool
  for every depth or one per depth, arrays or a logged dataset); the expectation factorises over
  nodes, so ``T`` is exact for that model (the mean over the pool at every node). Along real text
  node distributions are not independent (easy stretches make every level easier), so on logged
  chains this is the i.i.d.-node model of the data, not the tree an engine would meet.
* :class:`LoggedTrees` -- draft trees logged along real text (:mod:`spechub_theory.tree_log`): the
  drafts an engine drew and both models' laws at every node. Given the logged drafts, the
  probability ``a_j(v)`` that each child is kept is exact (the verifier's chain walked exactly,
  :func:`spechub_theory.exact.chain_outcome`), so ``T`` of every logged tree is exact, and their mean
  over trees is an unbiased sample of the engine's tokens per step on that text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import validate
from .acceptance import acceptance_by_position
from .drafts import DRAFT_LAWS
from .exact import chain_outcome
from .logged import LoggedData, LoggedDistributions
from .simulate import run_chains, walk
from .verifiers import VERIFIERS


@dataclass(frozen=True)
class Tree:
    """A draft tree: ``children[v]`` lists the children of node ``v``; node 0 is the root (the context).

    Nodes are numbered so that every child comes after its parent.
    """

    children: tuple[tuple[int, ...], ...]

    def __post_init__(self):
        n = len(self.children)
        seen = [0] * n
        for v, kids in enumerate(self.children):
            for c in kids:
                if not (isinstance(c, int) and v < c < n):
                    raise ValueError(f"children: node {v} lists child {c!r}; children must be later node ids < {n}")
                seen[c] += 1
        if n == 0 or any(seen[c] != 1 for c in range(1, n)):
            raise ValueError("children: every node but the root must have exactly one parent")

    @classmethod
    def from_levels(cls, counts) -> "Tree":
        """Every node at depth ``d`` has ``counts[d]`` children (Sequoia-style per-level widths)."""
        children: list[tuple[int, ...]] = [()]
        level = [0]
        for width in counts:
            if isinstance(width, bool) or not isinstance(width, int) or width < 1:
                raise ValueError(f"counts: each level needs a positive integer number of children, got {width!r}")
            nxt = []
            for v in level:
                kids = tuple(range(len(children), len(children) + width))
                children[v] = kids
                children.extend(() for _ in kids)
                nxt.extend(kids)
            level = nxt
        return cls(tuple(children))

    @classmethod
    def full(cls, branching: int, nodes: int) -> "Tree":
        """The full ``branching``-ary tree with ``nodes`` nodes (root included), e.g. binary 3, 7, 15, 31."""
        depth, total = 0, 1
        while total < nodes:
            depth += 1
            total += branching**depth
        if total != nodes:
            raise ValueError(f"nodes: no full {branching}-ary tree has {nodes} nodes")
        return cls.from_levels([branching] * depth)

    @classmethod
    def chain(cls, depth: int) -> "Tree":
        """A chain of ``depth`` drafts (``depth + 1`` nodes)."""
        return cls.from_levels([1] * depth)

    @property
    def n_nodes(self) -> int:
        return len(self.children)

    @cached_property
    def depths(self) -> tuple[int, ...]:
        depth = [0] * self.n_nodes
        for v, kids in enumerate(self.children):
            for c in kids:
                depth[c] = depth[v] + 1
        return tuple(depth)


def node_method(method: str, k: int) -> str:
    """The verifier run at a node with ``k`` children: a one-child node runs single-draft sampling."""
    if k == 1:
        return "single"
    if not VERIFIERS[method].supports(k):
        raise ValueError(f"tree: a node has {k} children but method {method!r} supports k = {VERIFIERS[method].k_values}")
    return method


class NodePool:
    """Node distributions drawn independently from a pool of positions.

    ``p`` and ``q`` of shape ``(n, V)`` serve every depth; of shape ``(D, n, V)`` depth ``d`` uses
    pool ``min(d, D - 1)``. A logged dataset's ``data.p`` and ``data.q`` serve every depth too,
    and are densified ``chunk`` rows at a time. ``positions``
    keeps only the first rows of every pool.
    """

    def __init__(self, p, q, chunk: int = 256, positions: int | None = None):
        if isinstance(p, LoggedDistributions) and isinstance(q, LoggedDistributions):
            self.pools = [(p, q)]  # rows are validated when a chunk is densified
        else:
            p, q = validate.pair(p, q)
            if p.ndim not in (2, 3):
                raise ValueError(f"p: a pool has shape (n, V) or (depths, n, V), got {p.shape}")
            self.pools = list(zip(p, q)) if p.ndim == 3 else [(p, q)]
        rows = len(self.pools[0][0])
        self.size = rows if positions is None else min(rows, positions)
        self.chunk = chunk
        self._kept: dict[tuple[str, int, int], np.ndarray] = {}

    @property
    def depths(self) -> int:
        """How many depth-specific pools there are (the last serves every deeper node)."""
        return len(self.pools)

    def at(self, depth: int):
        """The ``(p, q)`` pool of nodes at ``depth``."""
        return self.pools[min(depth, len(self.pools) - 1)]

    def mean_kept(self, method: str, k: int, depth: int) -> np.ndarray:
        """The pool mean of :func:`acceptance_by_position` for a node at ``depth`` with ``k`` children."""
        d = min(depth, len(self.pools) - 1)
        key = (method, k, d)
        if key not in self._kept:
            p, q = self.pools[d]
            total = np.zeros(k)
            for start in range(0, self.size, self.chunk):
                stop = min(start + self.chunk, self.size)
                total += acceptance_by_position(p[start:stop], q[start:stop], method, k).sum(0)
            self._kept[key] = total / self.size
        return self._kept[key]


def tokens_per_step(tree: Tree, method: str, source: NodePool) -> float:
    """Exact expected tokens emitted per target forward pass when ``tree`` is verified with ``method``.

    Parameters
    ----------
    tree : Tree
    method : str
        ``"rrs"``, ``"rrs_wo"``, ``"spechub"`` (nodes of at most 2 children), ``"single"`` (chains), ...;
        a node with one child runs single-draft sampling.
    source : NodePool or LoggedTrees
        Where the node distributions come from.

    Returns
    -------
    float
        ``T(root)`` of the recursion in the module docstring: averaged over the pool at each node
        (``NodePool``), or over the logged trees drafted with the method's draft law
        (``LoggedTrees``; :meth:`LoggedTrees.per_tree` gives each tree's value).

    Examples
    --------
    >>> pool = NodePool(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))
    >>> tokens_per_step(Tree.chain(2), "single", pool)  # 1 + 1/2 + 1/4
    1.75
    """
    validate.choice(method, "method", VERIFIERS)
    if isinstance(source, LoggedTrees):
        return float(source.per_tree(tree, method).mean())
    return step_value(tree, lambda v, kids: source.mean_kept(node_method(method, len(kids)), len(kids), tree.depths[v]))


def step_value(tree: Tree, kept) -> float:
    """``T(root)`` of the module docstring, with ``kept(v, children)`` the probabilities ``a_j(v)`` that
    internal node ``v`` keeps each of its children."""
    expected = [1.0] * tree.n_nodes
    for v in range(tree.n_nodes - 1, -1, -1):  # children come after their parent
        kids = tree.children[v]
        if kids:
            expected[v] = 1.0 + float(np.dot(kept(v, kids), [expected[c] for c in kids]))
    return expected[0]


@dataclass(frozen=True)
class TreeSimulation:
    """Tokens emitted by ``n`` simulated steps (an estimate of :func:`tokens_per_step`)."""

    tokens: np.ndarray

    @property
    def tokens_per_step_estimate(self) -> float:
        return float(self.tokens.mean())

    @property
    def standard_error(self) -> float:
        return float(self.tokens.std(ddof=1) / math.sqrt(self.tokens.size))


def simulate_tree(tree: Tree, method: str, source, n: int = 2000, seed=None) -> TreeSimulation:
    """Run ``n`` verification steps end to end: draw each node's pair from the source, sample its
    drafts from the method's draft law, run the verifier's procedure, and follow the kept child.
    From :class:`LoggedTrees` each step picks a logged tree at random and runs the verifier on its
    logged drafts."""
    validate.choice(method, "method", VERIFIERS)
    rng = validate.rng(seed)
    if isinstance(source, LoggedTrees):
        return source.simulate(tree, method, n, rng)
    tokens = np.ones(n, dtype=np.int64)
    at = np.zeros(n, dtype=np.int64)  # the node each step is verifying
    active = np.arange(n)
    while active.size:
        still = []
        for v in np.unique(at[active]):
            steps = active[at[active] == v]
            kids = tree.children[v]
            if not kids:
                continue
            name = node_method(method, len(kids))
            p_pool, q_pool = source.at(tree.depths[v])
            rows = rng.integers(0, source.size, size=steps.size)
            law = DRAFT_LAWS[VERIFIERS[name].drafts]
            for row in np.unique(rows):
                group = steps[rows == row]
                p_row, q_row = validate.pair(p_pool[row], q_pool[row])
                _, kept = run_chains(VERIFIERS[name], law, p_row, q_row, len(kids), group.size, rng)
                moved = group[kept >= 0]
                at[moved] = np.asarray(kids)[kept[kept >= 0]]
                tokens[moved] += 1
                still.append(moved)
        active = np.concatenate(still) if still else np.array([], dtype=np.int64)
    return TreeSimulation(tokens)


class LoggedTrees:
    """Draft trees logged along real text, as a source of node laws and drafts.

    ``data`` is a logged dataset of trees (:mod:`spechub_theory.tree_log`), loaded at the
    temperature its trees were drafted at: the drafts follow the draft law at that temperature only.
    A tree shape asked of it must fit the logged trees: every internal node has exactly the logged
    branching, and its depth is at most the logged depth (a full binary tree of 31 nodes serves 3,
    7, 15 and 31).
    """

    def __init__(self, data: LoggedData):
        if "tree" not in data.meta:
            raise ValueError(f"data: {data.path} holds no draft trees (collect it with `spechub-theory collect-trees`)")
        a = data.arrays
        temperatures = np.asarray(a["tree_temperature"])
        self.data = data
        self.branching = int(data.meta["tree"]["branching"])
        self.depth = int(data.meta["tree"]["depth"])
        self.laws = list(data.meta["tree"]["laws"])
        here = np.isclose(temperatures, data.temperature, rtol=0, atol=1e-9)
        if not here.any():
            raise ValueError(f"temperature: the trees in {data.path} were drafted at T in {sorted(set(temperatures.tolist()))}; "
                             f"load the data at one of them, not {data.temperature}")
        self.roots = {law: np.asarray(a["tree_roots"])[here & (np.asarray(a["tree_law"]) == i)] for i, law in enumerate(self.laws)}
        self.drafts = np.asarray(a["tree_drafts"])
        self.children = np.asarray(a["tree_children"])
        self._kept: dict[tuple[str, int], np.ndarray] = {}

    def _roots(self, tree: Tree, method: str) -> tuple[str, np.ndarray]:
        """The node method and the roots of the logged trees it verifies; validates the shape."""
        for v, kids in enumerate(tree.children):
            if kids and len(kids) != self.branching:
                raise ValueError(f"tree: node {v} has {len(kids)} children; the logged trees have {self.branching} per node")
            if kids and tree.depths[v] >= self.depth:
                raise ValueError(f"tree: deeper than the logged trees ({self.depth} levels of drafts)")
        name = node_method(method, self.branching)
        law = VERIFIERS[name].drafts
        roots = self.roots.get(law, np.array([], dtype=np.int64))
        if roots.size == 0:
            raise ValueError(f"method: {method!r} verifies {law!r} drafts; {self.data.path} has no such trees "
                             f"at T = {self.data.temperature} (laws: {self.laws})")
        return name, roots

    def _pair(self, position: int):
        """The validated dense ``(p, q)`` of a logged node."""
        return validate.pair(self.data.p[position], self.data.q[position])

    def kept(self, name: str, position: int) -> np.ndarray:
        """Exact probability that each logged child of ``position`` is kept by verifier ``name``."""
        key = (name, position)
        if key not in self._kept:
            p, q = self._pair(position)
            self._kept[key] = chain_outcome(VERIFIERS[name], self.drafts[position], p, q)[1]
        return self._kept[key]

    def contexts(self, tree: Tree, method: str) -> np.ndarray:
        """The context (root index, ``prompt_ids``) of every tree :meth:`per_tree` returns, in its order."""
        return np.asarray(self.data.arrays["prompt_ids"])[self._roots(tree, method)[1]]

    def per_tree(self, tree: Tree, method: str) -> np.ndarray:
        """Exact tokens per step of every logged tree the method verifies, given its drafts."""
        name, roots = self._roots(tree, method)
        values = []
        for root in roots:
            position = [int(root)] + [-1] * (tree.n_nodes - 1)  # the logged position of every node of ``tree``
            for v, kids in enumerate(tree.children):
                for j, c in enumerate(kids):
                    position[c] = int(self.children[position[v], j])
            values.append(step_value(tree, lambda v, kids: self.kept(name, position[v])))
        return np.array(values)

    def simulate(self, tree: Tree, method: str, n: int, rng) -> TreeSimulation:
        """``n`` steps, each on a random logged tree: the verifier walks the logged drafts with uniforms."""
        name, roots = self._roots(tree, method)
        tokens = np.ones(n, dtype=np.int64)
        at = np.zeros(n, dtype=np.int64)  # the node of ``tree`` each step is verifying
        pos = roots[rng.integers(0, roots.size, size=n)]  # and its logged position (-1: a logged leaf)
        active = np.arange(n)
        while active.size:
            moved_all = []
            for position in np.unique(pos[active]):
                steps = active[pos[active] == position]
                kids = tree.children[at[steps[0]]] if position >= 0 else ()  # a position is one node of the tree
                if not kids:
                    continue
                _, kept = walk(VERIFIERS[name], self.drafts[position], *self._pair(position), steps.size, rng)
                moved = steps[kept >= 0]
                at[moved] = np.asarray(kids)[kept[kept >= 0]]
                pos[moved] = self.children[position, kept[kept >= 0]]
                tokens[moved] += 1
                moved_all.append(moved)
            active = np.concatenate(moved_all) if moved_all else np.array([], dtype=np.int64)
        return TreeSimulation(tokens)
