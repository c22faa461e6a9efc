"""Draft trees logged along real text (:mod:`spechub_theory.tree_log`) as a source of drafted trees.

Each logged tree holds the drafts an engine drew and both models' laws at every internal node.
Given the logged drafts a verifier's outcome is exact (node-wise: the chain of every node walked
exactly, :func:`spechub_theory.exact.chain_outcome`; sequence-level: the whole tree's chain), so the
value of every logged tree is exact, and their mean over trees is an unbiased sample of the engine's
tokens per step on that text, with the real correlation between levels.
"""

from __future__ import annotations

import numpy as np

from .. import validate
from ..exact import chain_outcome
from ..logged import LoggedData
from ..simulate import walk
from .drafted import DraftedView
from .shape import Tree
from .verifiers import check_shape, expected_tokens, sibling_law


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

    def _roots(self, tree, method: str) -> np.ndarray:
        """The roots of the logged trees ``method`` verifies; validates the shape."""
        if method == "topk" and "top" not in self.laws:
            raise ValueError(f"method: 'topk' needs deterministic top-k trees; {self.data.path} has none "
                             f"(laws: {self.laws}; log them with `spechub-theory collect-trees --laws top`)")
        for v, kids in enumerate(tree.children):
            if kids and len(kids) != self.branching:
                raise ValueError(f"tree: node {v} has {len(kids)} children; the logged trees have {self.branching} per node")
            if kids and tree.depths[v] >= self.depth:
                raise ValueError(f"tree: deeper than the logged trees ({self.depth} levels of drafts)")
        check_shape(tree, method)
        law = sibling_law(method, self.branching).name
        roots = self.roots.get(law, np.array([], dtype=np.int64))
        if roots.size == 0:
            raise ValueError(f"method: {method!r} verifies {law!r} drafts; {self.data.path} has no such trees "
                             f"at T = {self.data.temperature} (laws: {self.laws})")
        return roots

    def _pair(self, position: int):
        """The validated dense ``(p, q)`` of a logged node."""
        if position < 0:
            raise ValueError("tree: a logged leaf has no laws (its bonus token cannot be drawn)")
        return validate.pair(self.data.p[position], self.data.q[position])

    def kept(self, name: str, position: int) -> np.ndarray:
        """Exact probability that each logged child of ``position`` is kept by node verifier ``name``."""
        from ..verifiers import VERIFIERS
        from .verifiers import TOPK

        key = (name, position)
        if key not in self._kept:
            verifier = TOPK if name == "topk" else VERIFIERS[name]
            self._kept[key] = chain_outcome(verifier, self.drafts[position], *self._pair(position))[1]
        return self._kept[key]

    def view(self, tree, root: int) -> "LoggedView":
        """The logged tree at ``root`` as a drafted tree of shape ``tree``."""
        position = [int(root)] + [-1] * (tree.n_nodes - 1)  # the logged position of every node of ``tree``
        tokens = np.zeros(tree.n_nodes, dtype=np.int64)
        for v, kids in enumerate(tree.children):
            for j, c in enumerate(kids):
                position[c] = int(self.children[position[v], j])
                tokens[c] = int(self.drafts[position[v], j])
        return LoggedView(self, tree, tokens, position)

    def dynamic(self, budget: int) -> list["DynamicView"]:
        """Every logged EAGLE-2 expansion tree (law ``"eagle"``, :mod:`spechub_theory.tree.grow`) at the
        loaded temperature, reranked to ``budget`` drafted tokens, as drafted trees for ``topk``.

        The drafted nodes are valued by their path draft probability ``prod q`` under the stored laws,
        and the ``budget`` best kept (ties: the node drafted first), as EAGLE-2's rerank does; a
        kept node's kept children are its most likely tokens of ``q``, a prefix of the logged ones.
        """
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
            raise ValueError(f"budget: expected a positive number of drafted tokens, got {budget!r}")
        roots = self.roots.get("eagle", np.array([], dtype=np.int64))
        if roots.size == 0:
            raise ValueError(f"data: {self.data.path} has no EAGLE-2 trees at T = {self.data.temperature} (laws: "
                             f"{self.laws}; log them with `spechub-theory collect-trees --laws eagle`)")
        return [self._reranked(int(root), int(budget)) for root in roots]

    def per_tree_dynamic(self, budget: int) -> np.ndarray:
        """Exact ``topk`` tokens per step of every logged EAGLE-2 tree reranked to ``budget`` (:meth:`dynamic`)."""
        return np.array([expected_tokens(view, "topk") for view in self.dynamic(budget)])

    def _reranked(self, root: int, budget: int) -> "DynamicView":
        position, parent, token, value = [root], [-1], [0], [1.0]  # every drafted node, in drafting order
        u = 0
        while u < len(position):
            pos = position[u]
            if pos >= 0:
                q = self._pair(pos)[1]
                for x, child in zip(self.drafts[pos], self.children[pos]):
                    position.append(int(child))
                    parent.append(u)
                    token.append(int(x))
                    value.append(value[u] * float(q[x]))
            u += 1
        kept = [0] + sorted(sorted(range(1, len(position)), key=lambda i: (-value[i], i))[:budget])
        new_id = {w: j for j, w in enumerate(kept)}
        kids: list[list[int]] = [[] for _ in kept]
        for w in kept[1:]:
            kids[new_id[parent[w]]].append(new_id[w])
        tree = Tree(tuple(tuple(k) for k in kids))
        return DynamicView(self, tree, np.array([token[w] for w in kept], dtype=np.int64),
                           [position[w] if kids[j] else -1 for j, w in enumerate(kept)])

    def contexts(self, tree, method: str) -> np.ndarray:
        """The context (root index, ``prompt_ids``) of every tree :meth:`per_tree` returns, in its order."""
        return np.asarray(self.data.arrays["prompt_ids"])[self._roots(tree, method)]

    def replicates(self, tree, method: str) -> np.ndarray:
        """The replicate index of every tree :meth:`per_tree` returns, in its order: ``r`` for the
        ``r``-th tree grown at its context for its law (``collect-trees --trees-per-root``). Trees of
        different laws with equal context and replicate were drawn from common random numbers
        (:func:`spechub_theory.tree_log.grow_trees`), so differences between methods pair them."""
        seen: dict[int, int] = {}
        out = []
        for c in self.contexts(tree, method).tolist():
            seen[c] = seen.get(c, -1) + 1
            out.append(seen[c])
        return np.array(out, dtype=np.int64)

    def per_tree(self, tree, method: str, average_last_level: bool = False) -> np.ndarray:
        """Exact tokens per step of every logged tree the method verifies, given its drafts.

        ``average_last_level=True``: each tree's value averaged exactly over the drafts of its last
        level, given the drafts above it and the laws logged at every node
        (:func:`spechub_theory.tree.verifiers.expected_tokens`): the same mean over trees, a smaller
        spread. Node-wise methods and ``block`` only.
        """
        validate.choice(method, "method", _methods())
        return np.array([expected_tokens(self.view(tree, root), method, average_last_level)
                         for root in self._roots(tree, method)])

    def controls(self, tree, method: str, average_last_level: bool = False) -> np.ndarray:
        r"""Control variates of every tree :meth:`per_tree` returns: shape ``(trees, depth)``, exact mean 0
        (:func:`spechub_theory.tree.verifiers.controls` of each).

        Column ``d`` is ``Z_d = sum_{v at depth d} r(v) (A(v) - alpha(v))`` over the internal nodes ``v``
        at depth ``d``: ``A(v)`` the probability that ``v`` keeps one of its drafted children (node-wise
        ``method``, given the drafts), ``alpha(v)`` its mean over ``v``'s draft law at ``v``'s laws
        (:func:`spechub_theory.acceptance_rate`), and ``r(v)`` the probability that the walk reaches
        ``v`` (the product of the kept probabilities above it). Given everything drawn before ``v``'s
        children, ``r(v)`` and ``alpha(v)`` are fixed and ``A(v)`` has mean ``alpha(v)``, so every
        term, and every ``Z_d``, has mean exactly 0 whatever the context. ``Z_d`` tracks how lucky
        the drafts at depth ``d`` were, so it correlates with the tree's value, and subtracting a
        fitted multiple of it removes part of the spread of a mean or a paired gap without moving
        its expectation (:func:`spechub_theory.reproduce.real_trees.keyed_gap`).
        ``average_last_level``: the last level's column is 0 (its drafts are averaged out).
        """
        validate.choice(method, "method", _methods())
        from .verifiers import controls

        depth = max(tree.depths)
        rows = [controls(self.view(tree, root), method, average_last_level) for root in self._roots(tree, method)]
        return np.array(rows).reshape(-1, depth)

    # -- the source protocol (:mod:`spechub_theory.tree.source`) --------------------------------

    def check(self, tree, method):
        self._roots(tree, method)

    def exact(self, tree, method, **limits):
        return float(self.per_tree(tree, method).mean())

    def draw(self, tree, method, rng):
        roots = self._roots(tree, method)
        return self.view(tree, int(roots[rng.integers(roots.size)]))

    def start(self, tree, method, n, rng):
        roots = self._roots(tree, method)
        return roots[rng.integers(0, roots.size, size=n)].astype(np.int64)

    def advance(self, tree, v, verifier, keys, rng):
        kept = np.empty(keys.size, dtype=np.int64)
        for position in np.unique(keys):
            group = np.flatnonzero(keys == position)
            _, kept[group] = walk(verifier, self.drafts[position], *self._pair(int(position)), group.size, rng)
        return kept, np.where(kept >= 0, self.children[keys, np.maximum(kept, 0)], -1)


def _methods():
    from .verifiers import TREE_METHODS

    return TREE_METHODS


class LoggedView(DraftedView):
    """A logged tree seen as a drafted tree: node ``v`` of the shape is logged position ``position[v]``
    (-1: a leaf of the logged tree, which has no laws)."""

    def __init__(self, source: LoggedTrees, tree, tokens, position):
        self.source, self.tree, self.tokens, self.position = source, tree, tokens, position

    def laws(self, v):
        return self.source._pair(self.position[v])

    def drafts(self, v):
        return self.source.drafts[self.position[v]][: len(self.tree.children[v])]

    def node_kept(self, v, verifier):
        return self.source.kept(verifier.name, self.position[v])


class DynamicView(LoggedView):
    """A logged EAGLE-2 tree reranked to a budget (:meth:`LoggedTrees.dynamic`): node ``v``'s kept
    children are the first of its logged ones, verified with ``topk``, whose probability of keeping
    child ``j`` (``p(c_j)``) does not depend on the children after it."""

    def node_kept(self, v, verifier):
        if verifier.name != "topk":
            raise ValueError(f"method: a reranked EAGLE-2 tree is verified with 'topk', not {verifier.name!r}")
        return super().node_kept(v, verifier)[: len(self.tree.children[v])]

    def laws(self, v):
        if self.position[v] < 0:  # a kept leaf: its bonus token's law is not logged
            raise ValueError("tree: a logged leaf has no laws (its bonus token cannot be drawn)")
        return super().laws(v)
