r"""Tokens per step of a tree verifier over a source of drafted trees: exact, estimated, simulated.

Three views of one definition (:mod:`spechub_theory.tree.verifiers`), tested against each other:

* :func:`tokens_per_step` -- the exact expectation over the source's law: one drafted tree's value
  given its drafts (:class:`~spechub_theory.DraftedTree`), the mean over logged trees
  (:class:`~spechub_theory.LoggedTrees`), or the i.i.d.-node model (:class:`~spechub_theory.NodePool`:
  the recursion for node-wise methods and ``topk``, the law of ``b`` for ``block`` on chains,
  enumeration of drafted trees for ``traversal`` and ``traversal_wo``);
* :func:`estimate_tokens_per_step` -- the mean of exact per-tree values over drafted trees sampled from
  the source, with its standard error: unbiased, and far less noisy than counting emitted tokens;
* :func:`simulate_tree` -- verification steps run end to end with uniforms, counting emitted tokens.

For one drafted tree, :func:`emitted_law` is the exact law of the emitted sequence (small ``V``) and
:func:`verify_tree` runs the procedure once, as an engine does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import validate
from .drafted import DraftedTree
from .logged_trees import LoggedTrees
from .pool import NodePool
from .shape import Tree
from .verifiers import SEQUENCE_METHODS, TREE_METHODS, node_verifier, outcome, run


def _checked(tree, method, source):
    """Validate ``(tree, method, source)`` at the boundary of every view."""
    if not isinstance(tree, Tree):
        raise ValueError(f"tree: expected a Tree, got {type(tree).__name__}")
    validate.choice(method, "method", TREE_METHODS)
    if not isinstance(source, (NodePool, LoggedTrees, DraftedTree)):
        raise ValueError(f"source: expected a NodePool, LoggedTrees or DraftedTree, got {type(source).__name__} "
                         "(wrap arrays of node laws as NodePool(p, q))")
    source.check(tree, method)
    return source


def _count(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: expected a positive integer number of steps, got {n!r}")
    return int(n)


def tokens_per_step(tree: Tree, method: str, source, **limits) -> float:
    """Exact expected tokens emitted per target forward pass when ``tree`` is verified with ``method``.

    .. math:: \\mathbb{E}[\\text{tokens}] = \\sum_v P(\\text{accepted path ends at } v)\\,(\\mathrm{depth}(v) + 1),

    for node-wise methods ``T(root)`` of ``T(v) = 1 + sum_j a_j(v) T(child_j)``.

    Parameters
    ----------
    tree : Tree
    method : str
        A node-wise verifier of :data:`spechub_theory.VERIFIERS` (``"rrs"``, ``"rrs_wo"``,
        ``"spechub"`` on nodes of at most 2 children, ...; a one-child node runs the method itself
        where it is defined for one draft, single-draft sampling otherwise), ``"topk"``, or a
        sequence-level verifier: ``"block"`` (chains), ``"traversal"``, ``"traversal_wo"``.
    source : NodePool, LoggedTrees or DraftedTree
        Where the node laws and drafts come from (:mod:`spechub_theory.tree.source`).
    **limits
        ``max_trees`` (:class:`NodePool`, sequence-level methods: drafted trees or ``b`` states
        enumerated, default 100,000) and ``max_prefixes`` (:class:`NodePool`, ``rrs_wo`` nodes of
        3 or more children: rejected draft prefixes, default 1e8); above them the call is refused,
        naming the estimate to use instead.

    Returns
    -------
    float

    Examples
    --------
    >>> pool = NodePool(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))
    >>> tokens_per_step(Tree.chain(2), "single", pool)  # 1 + 1/2 + 1/4
    1.75

    References
    ----------
    Sun et al., "Block Verification Accelerates Speculative Decoding", ICLR 2025, arXiv 2403.10444.
    Weng et al., "Traversal Verification for Speculative Tree Decoding", NeurIPS 2025, arXiv 2505.12398.
    """
    return float(_checked(tree, method, source).exact(tree, method, **limits))


@dataclass(frozen=True)
class TreeSimulation:
    """Tokens emitted by ``n`` simulated steps (an estimate of :func:`tokens_per_step`)."""

    tokens: np.ndarray

    @property
    def estimate(self) -> float:
        """The mean tokens per step (the estimate; ``se`` its standard error, named as in :class:`Simulation`)."""
        return float(self.tokens.mean())

    @property
    def se(self) -> float:
        return float(self.tokens.std(ddof=1) / math.sqrt(self.tokens.size))


@dataclass(frozen=True)
class TreeEstimate:
    """Exact tokens per step of ``n`` drafted trees sampled from a source: ``values``, shape ``(n,)``."""

    values: np.ndarray

    @property
    def estimate(self) -> float:
        """The mean of the exact per-tree values (the estimate; ``se`` its standard error)."""
        return float(self.values.mean())

    @property
    def se(self) -> float:
        return float(self.values.std(ddof=1) / math.sqrt(self.values.size)) if self.values.size > 1 else 0.0


def simulate_tree(tree: Tree, method: str, source, n: int = 2000, seed=None) -> TreeSimulation:
    """Run ``n`` verification steps end to end and count the tokens each emits.

    Node-wise methods walk from the root: at each node the source gives the node's laws and drafts
    (a fresh pool row and drafts from the method's sibling law, or a logged node) and the node's
    rejection chain is walked with uniforms. Sequence-level methods draw one drafted tree per step
    from the source and walk its chain.

    Returns
    -------
    TreeSimulation
        ``tokens`` of shape ``(n,)``, their mean and its standard error.
    """
    source = _checked(tree, method, source)
    n = _count(n)
    rng = validate.rng(seed)
    if method in SEQUENCE_METHODS:
        depths = tree.depths
        return TreeSimulation(np.array([depths[run(source.draw(tree, method, rng), method, rng, final=False)[0]] + 1
                                        for _ in range(n)], dtype=np.int64))
    tokens = np.ones(n, dtype=np.int64)
    at = np.zeros(n, dtype=np.int64)  # the node each step is verifying
    keys = source.start(tree, method, n, rng)  # and what the source knows of it
    active = np.arange(n)
    while active.size:
        moved_all = []
        for v in np.unique(at[active]):
            kids = tree.children[v]
            if not kids:
                continue
            steps = active[at[active] == v]
            kept, child_keys = source.advance(tree, int(v), node_verifier(method, len(kids)), keys[steps], rng)
            ok = kept >= 0
            moved = steps[ok]
            at[moved] = np.asarray(kids)[kept[ok]]
            keys[moved] = child_keys[ok]
            tokens[moved] += 1
            moved_all.append(moved)
        active = np.concatenate(moved_all) if moved_all else np.array([], dtype=np.int64)
    return TreeSimulation(tokens)


def estimate_tokens_per_step(tree: Tree, method: str, source, n: int = 1000, seed=None) -> TreeEstimate:
    """The mean of the exact tokens per step of ``n`` drafted trees drawn from ``source``.

    Each drawn tree's value is exact given its drafts (:func:`tokens_per_step` on it), so the mean is
    an unbiased estimate of the source's :func:`tokens_per_step` whose only noise is the drafts';
    it serves where the exact expectation over drafts is too large to enumerate.

    Returns
    -------
    TreeEstimate
        ``values`` of shape ``(n,)``, their mean and its standard error.
    """
    from .verifiers import expected_tokens

    source = _checked(tree, method, source)
    rng = validate.rng(seed)
    return TreeEstimate(np.array([expected_tokens(source.draw(tree, method, rng), method) for _ in range(_count(n))]))


def emitted_law(drafted: DraftedTree, method: str, *, max_sequences: int = 1_000_000) -> dict[tuple[int, ...], float]:
    """Exact law of the tokens one verification step of ``drafted`` emits: ``{tokens: probability}``.

    A step emits the accepted path and one more token, so every sequence has length
    ``depth(v) + 1`` for the node ``v`` it stops at; the probabilities sum to 1. Meant for small
    vocabularies (``n_nodes * V`` sequences at most, refused above ``max_sequences``).

    Examples
    --------
    >>> d = DraftedTree(Tree.chain(1), [0, 1], [[0.5, 0.5], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]])
    >>> emitted_law(d, "single")  # the draft 1 is kept half the time, then a bonus token
    {(0,): 0.5, (1, 0): 0.25, (1, 1): 0.25}
    """
    _checked(getattr(drafted, "tree", None), method, drafted)
    if drafted.tree.n_nodes * drafted.vocab_size > max_sequences:
        raise ValueError(f"drafted: {drafted.tree.n_nodes} x {drafted.vocab_size} sequences exceed max_sequences = {max_sequences:,}")
    final = outcome(drafted, method, laws=True).final
    law = {}
    for v in range(drafted.tree.n_nodes):
        path = drafted.path_tokens(v)
        for y in np.flatnonzero(final[v] > 0):
            law[path + (int(y),)] = law.get(path + (int(y),), 0.0) + float(final[v, y])
    return law


def verify_tree(drafted: DraftedTree, method: str, seed) -> tuple[int, ...]:
    """One verification step of ``drafted`` with ``method``, as an engine runs it: the emitted tokens.

    The accepted path's tokens and one corrected or bonus token; ``seed`` an int or a generator.
    """
    _checked(getattr(drafted, "tree", None), method, drafted)
    return run(drafted, method, validate.rng(seed))[1]
