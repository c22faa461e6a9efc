"""A drafted tree: a tree shape with the token at every node and both models' laws at every context.

This is what an engine holds when it verifies one step: the drafted tokens, the target's law
``p(. | c + path(v))`` and the draft's law ``q(. | c + path(v))`` at every node ``v``. Every tree
verifier (:mod:`spechub_theory.tree.verifiers`) is defined on it, and it is the third source of
:func:`spechub_theory.tokens_per_step` beside :class:`~spechub_theory.NodePool` and
:class:`~spechub_theory.LoggedTrees`, whose drafted trees are views of the same kind
(:class:`DraftedView`).
"""

from __future__ import annotations

import numpy as np

from .. import validate
from ..exact import chain_outcome
from .shape import Tree


class DraftedView:
    """What a tree verifier reads of a drafted tree (the protocol every source's drafted trees follow).

    ``tree``; ``tokens``, an int array of shape ``(tree.n_nodes,)`` (the root's entry unused);
    ``laws(v)``, the validated ``(p, q)`` of shape ``(V,)`` each at node ``v``'s context; and
    ``node_outcome(v, verifier)``, the exact law of the token a node-wise verifier emits at ``v`` and
    the probability that it keeps each child (:func:`spechub_theory.exact.chain_outcome`), and
    ``node_kept(v, verifier)``, the second alone, which a view may cache.
    """

    tree: Tree
    tokens: np.ndarray

    def laws(self, v: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def drafts(self, v: int) -> np.ndarray:
        """The tokens of ``v``'s children, in order, shape ``(k,)``."""
        return self.tokens[list(self.tree.children[v])]

    def node_outcome(self, v: int, verifier) -> tuple[np.ndarray, np.ndarray]:
        return chain_outcome(verifier, self.drafts(v), *self.laws(v))

    def node_kept(self, v: int, verifier) -> np.ndarray:
        """The second half of :meth:`node_outcome`, shape ``(k,)`` (what the recursion needs)."""
        return self.node_outcome(v, verifier)[1]

    def path_tokens(self, v: int) -> tuple[int, ...]:
        """The tokens on the path from the root to ``v`` (what the step emits if it accepts ``v``)."""
        return tuple(int(self.tokens[u]) for u in self.tree.path(v))


class DraftedTree(DraftedView):
    """One drafted tree: ``tree``, the token at every node and the laws at every node's context.

    Parameters
    ----------
    tree : Tree
    tokens : array_like of int, shape (tree.n_nodes,)
        ``tokens[v]`` is the token drafted at node ``v`` (the root's entry is ignored).
    p, q : array_like, shape (tree.n_nodes, V)
        Target and draft laws of the next token at each node's context ``c + path(v)``. A leaf's
        ``p`` is the law of its bonus token; a leaf's ``q`` is never used.
    normalize : bool
        Rescale rows that do not sum to 1 (as in :func:`spechub_theory.acceptance_rate`).

    Raises
    ------
    ValueError
        Naming ``tree``, ``tokens``, ``p`` or ``q`` when the arrays do not match the tree or are
        not distributions. Whether each node's children could have been drafted by a method (a
        token of zero draft mass, repeated tokens without replacement) is checked when the method
        is run on the tree.

    Examples
    --------
    >>> d = DraftedTree(Tree.chain(1), [0, 1], [[0.5, 0.5], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]])
    >>> d.drafts(0)
    array([1])
    """

    def __init__(self, tree: Tree, tokens, p, q, *, normalize: bool = False):
        if not isinstance(tree, Tree):
            raise ValueError(f"tree: expected a Tree, got {type(tree).__name__}")
        arr = np.asarray(tokens)
        if arr.shape != (tree.n_nodes,):
            raise ValueError(f"tokens: expected shape (tree.n_nodes,) = ({tree.n_nodes},), got {arr.shape}")
        if tree.n_nodes > 1 and not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"tokens: expected integer token ids, got dtype {arr.dtype}")
        p, q = validate.pair(p, q, normalize=normalize)
        for name, x in (("p", np.asarray(p)), ("q", np.asarray(q))):
            if x.ndim != 2 or x.shape[0] != tree.n_nodes:
                raise ValueError(f"{name}: expected shape (tree.n_nodes, V) = ({tree.n_nodes}, V), got {x.shape}")
        v = p.shape[1]
        ids = arr[1:].astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= v):
            bad = int(ids[(ids < 0) | (ids >= v)][0])
            raise ValueError(f"tokens: token {bad} is outside the vocabulary of size {v}")
        self._set(tree, np.concatenate([[0], ids]).astype(np.int64), p, q)

    def _set(self, tree, tokens, p, q):
        self.tree, self.tokens, self.p, self.q = tree, tokens, p, q
        return self

    @classmethod
    def trusted(cls, tree: Tree, tokens: np.ndarray, p: np.ndarray, q: np.ndarray) -> "DraftedTree":
        """A drafted tree from arrays already validated (for the library's own samplers)."""
        return cls.__new__(cls)._set(tree, np.asarray(tokens, dtype=np.int64), p, q)

    @property
    def vocab_size(self) -> int:
        return self.p.shape[1]

    def laws(self, v):
        return self.p[v], self.q[v]

    def __repr__(self):
        return f"DraftedTree(n_nodes={self.tree.n_nodes}, V={self.vocab_size})"

    # -- the source protocol (:mod:`spechub_theory.tree.source`) --------------------------------

    def check(self, tree, method):
        from .verifiers import check_drafts, check_shape

        if tree != self.tree:
            raise ValueError(f"tree: the drafted tree has another shape ({self.tree.n_nodes} nodes); pass drafted.tree")
        check_shape(tree, method)
        check_drafts(self, method)

    def exact(self, tree, method, **limits):
        from .verifiers import expected_tokens

        return expected_tokens(self, method)

    def draw(self, tree, method, rng):
        return self

    def start(self, tree, method, n, rng):
        return np.zeros(n, dtype=np.int64)

    def advance(self, tree, v, verifier, keys, rng):
        from ..simulate import walk

        _, kept = walk(verifier, self.drafts(v), *self.laws(v), keys.size, rng)
        return kept, np.asarray(tree.children[v])[np.maximum(kept, 0)]
