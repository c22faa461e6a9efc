"""Speculative decoding on the real models: draft trees, one target pass per step, any tree verifier.

One step at context ``c`` (token-tree verification as in SpecInfer, Miao et al. 2024, and SpecHub,
Sun et al. 2024):

1. The draft model grows the tree level by level. At every internal node ``v`` the method's sibling
   law (:func:`spechub_theory.tree.sibling_law`: the node verifier's draft law, i.i.d. or without
   replacement for Traversal Verification, the top ``k`` of ``q`` for ``topk``) draws the node's
   children from ``q_v = softmax(z_draft(c + path(v)) / T)`` over the whole vocabulary (the engines'
   temperature step, :func:`spechub_theory.synthetic.process`).
2. The target scores every node of the tree (one batched pass over the cached context):
   ``p_v = softmax(z_target(c + path(v)) / T)``.
3. The drafted tree (:class:`spechub_theory.DraftedTree`) is verified with uniforms
   (:func:`spechub_theory.verify_tree`): node-wise methods walk each node's rejection chain from the
   root, sequence-level ones (``block``, ``traversal``, ``traversal_wo``) the tree's one chain. The
   step emits the accepted path and one corrected or bonus token.

Beside its tokens, every step records what the toolkit predicts for it: the exact expected number
of tokens given the drafted tree (:func:`spechub_theory.tokens_per_step` on it), and, for node-wise
methods, the root's exact acceptance rate before its drafts are drawn
(:func:`spechub_theory.acceptance_rate`; ``topk``: ``p`` of the root's children).

Three kinds of tree are grown:

* a fixed shape (:class:`spechub_theory.Tree`) with sampled children, for every sampled method;
* a fixed shape with deterministic children, the ``b`` most likely tokens of ``q`` at every node
  (method ``"topk"``: EAGLE-2/3, SGLang and vLLM's static EAGLE trees);
* EAGLE-2's dynamic tree (:class:`DynamicTree`, Li et al., "EAGLE-2: Faster inference of language
  models with dynamic draft trees", EMNLP 2024, arXiv 2406.16858): the ``top_k`` most likely frontier
  nodes by path draft probability ``prod q`` are expanded level by level, each with its ``top_k``
  most likely tokens of ``q``, and all drafted nodes are reranked to the ``budget`` of highest path
  draft probability; the children are deterministic, so the tree is verified with ``"topk"``.
"""

from __future__ import annotations

import copy
import functools
import inspect
from dataclasses import dataclass

import numpy as np
import torch

from .. import DraftedTree, Tree, acceptance_rate, tokens_per_step, validate, verify_tree
from ..drafts import top_tokens
from ..synthetic import process
from ..tree import NODE_METHODS, TREE_METHODS, node_method, sibling_law


@functools.cache
def _cache_keyword(model_class) -> str:
    """The forward keyword of the cached keys and values: transformers 5 renamed ``past_key_values`` to ``cache``."""
    return "cache" if "cache" in inspect.signature(model_class.forward).parameters else "past_key_values"


def _forward(model, ids: torch.Tensor, cache):
    """``(logits, cache)`` of ``model`` on ``ids`` after the cached keys and values (``cache=None``: none)."""
    name = _cache_keyword(type(model))
    with torch.no_grad():
        out = model(ids, use_cache=True, **({name: cache} if cache is not None else {}))
    return out.logits, getattr(out, name)


class Scorer:
    """Both models' next-token logits after a context extended by paths of tokens.

    The context runs once through each model and its keys and values are kept; a batch of
    equal-length paths is then scored on copies of that cache. Logits of paths of at most ``memo``
    tokens are kept for reuse (many steps from one context share them).
    """

    def __init__(self, target, draft, context, memo: int = 0, chunk: int = 64):
        self.models = (target, draft)
        self.device = next(target.parameters()).device
        self.memo, self.chunk = memo, chunk
        self.caches, self.last = [None, None], [None, None]
        self._kept: list[dict] = [{}, {}]
        self.advance(context)

    def advance(self, tokens) -> None:
        """Extend the context by ``tokens``; kept logits are dropped."""
        ids = torch.as_tensor(np.asarray(tokens, dtype=np.int64), device=self.device)[None]
        for m, model in enumerate(self.models):
            logits, self.caches[m] = _forward(model, ids, self.caches[m])
            self.last[m] = logits[0, -1].double().cpu().numpy()
            self._kept[m].clear()

    def logits(self, model: int, paths: list[tuple[int, ...]]) -> np.ndarray:
        """Logits of model ``model`` (0 target, 1 draft) after the context and each path; ``(len(paths), V)``."""
        out = np.empty((len(paths), self.last[model].size))
        todo: dict[int, list[int]] = {}
        for i, path in enumerate(paths):
            if not path:
                out[i] = self.last[model]
            elif path in self._kept[model]:
                out[i] = self._kept[model][path]
            else:
                todo.setdefault(len(path), []).append(i)
        for rows in todo.values():
            for start in range(0, len(rows), self.chunk):
                batch = rows[start : start + self.chunk]
                cache = copy.deepcopy(self.caches[model])
                cache.batch_repeat_interleave(len(batch))
                ids = torch.tensor([paths[i] for i in batch], device=self.device)
                logits, _ = _forward(self.models[model], ids, cache)
                out[batch] = logits[:, -1].double().cpu().numpy()
                for i in batch:
                    if len(paths[i]) <= self.memo:
                        self._kept[model][paths[i]] = out[i].astype(np.float32)
        return out


@dataclass(frozen=True)
class Step:
    """One speculative step: the emitted tokens and what the toolkit predicts for them.

    ``expected``: exact expected number of emitted tokens given the drafted tree.
    ``root_kept``: whether the root kept one of its drafts. ``root_acceptance``: for node-wise methods,
    the root's exact acceptance rate at its ``(p, q)`` before its drafts were drawn (NaN for
    sequence-level methods, whose root decision depends on the whole tree). ``nodes``: the size of
    the drafted tree, root included (for a :class:`DynamicTree`, the budget plus one at most).
    """

    emitted: tuple[int, ...]
    expected: float
    root_kept: bool
    root_acceptance: float
    nodes: int = 0


@dataclass(frozen=True)
class DynamicTree:
    """EAGLE-2's dynamic draft tree (Li et al. 2024, arXiv 2406.16858), grown afresh at every step.

    Expansion: from the root, ``depth`` times, every frontier node gets its ``top_k`` most likely
    tokens of ``q`` (fewer where ``q`` has fewer tokens of positive mass) as children, each valued by
    its path draft probability ``V(c) = V(parent) q(x_c | parent)`` (``V(root) = 1``); the next
    frontier is the ``top_k`` children of highest value. Rerank: of all drafted nodes, the ``budget``
    of highest value are kept (ties: the node drafted first). A child's value is at most its
    parent's, and the parent was drafted first, so the kept nodes form a tree; at every node its
    kept children are its most likely tokens of ``q``, in that order, so it is verified with
    ``"topk"`` (keep ``c_j`` with probability ``p(c_j) / (1 - sum_{i<j} p(c_i))``).

    Parameters
    ----------
    depth : int
        Expansion levels (the tree's depth at most).
    top_k : int
        Children per expanded node, and frontier nodes expanded per level.
    budget : int
        Drafted tokens kept after reranking (the tree has ``budget + 1`` nodes at most).

    Examples
    --------
    >>> DynamicTree(depth=3, top_k=2, budget=6).max_nodes
    7
    """

    depth: int
    top_k: int
    budget: int

    def __post_init__(self):
        for name in ("depth", "top_k", "budget"):
            validate.positive_int(getattr(self, name), name)

    @property
    def max_nodes(self) -> int:
        return self.budget + 1


def grow_dynamic(scorer: "Scorer", spec: DynamicTree, temperature: float, root=()) -> DraftedTree:
    """EAGLE-2's dynamic tree (:class:`DynamicTree`) at the context extended by ``root``, scored by both models.

    Draft passes: one batch per expansion level (the frontier's paths); target pass: one batch over
    the kept nodes. A kept leaf's ``q`` row repeats its ``p`` (no verifier reads it).
    """
    if not isinstance(spec, DynamicTree):
        raise ValueError(f"tree: expected a DynamicTree, got {type(spec).__name__}")
    paths: list[tuple[int, ...]] = [tuple(root)]
    parent, token, value = [-1], [0], [1.0]
    q_rows: dict[int, np.ndarray] = {}
    frontier = [0]
    for _ in range(spec.depth):
        layer = []
        for u, z in zip(frontier, scorer.logits(1, [paths[u] for u in frontier])):
            q = process(z, temperature)
            q_rows[u] = q
            for x in top_tokens(q, min(spec.top_k, int(np.count_nonzero(q > 0)))):
                layer.append(len(paths))
                paths.append(paths[u] + (int(x),))
                parent.append(u)
                token.append(int(x))
                value.append(value[u] * float(q[x]))
        frontier = sorted(layer, key=lambda i: (-value[i], i))[: spec.top_k]
    kept = [0] + sorted(sorted(range(1, len(paths)), key=lambda i: (-value[i], i))[: spec.budget])
    new_id = {u: j for j, u in enumerate(kept)}
    children: list[list[int]] = [[] for _ in kept]
    for u in kept[1:]:
        children[new_id[parent[u]]].append(new_id[u])
    tree = Tree(tuple(tuple(c) for c in children))
    p = process(scorer.logits(0, [paths[u] for u in kept]), temperature)
    q = np.array([q_rows[u] if children[j] else p[j] for j, u in enumerate(kept)])
    return DraftedTree(tree, np.array([token[u] for u in kept], dtype=np.int64), p, q)


def draft_tree(scorer: Scorer, tree: Tree, method: str, temperature: float, rng: np.random.Generator, root=()) -> DraftedTree:
    """Grow and score one drafted tree (steps 1 and 2 of the module docstring) at the context extended by ``root``.

    A leaf's ``q`` is not scored (no verifier reads it): its row repeats the leaf's ``p``.
    """
    validate.choice(method, "method", TREE_METHODS)
    if not tree.children[0]:
        raise ValueError("tree: the root needs at least one draft")
    n = tree.n_nodes
    laws = {v: sibling_law(method, len(kids)) for v, kids in enumerate(tree.children) if kids}
    paths: list[tuple[int, ...]] = [tuple(root)] + [()] * (n - 1)
    tokens = np.zeros(n, dtype=np.int64)
    q_rows: dict[int, np.ndarray] = {}
    for depth in range(tree.depth + 1):
        internal = [v for v in laws if tree.depths[v] == depth]
        if not internal:
            continue
        for v, z in zip(internal, scorer.logits(1, [paths[v] for v in internal])):
            kids = tree.children[v]
            q_rows[v] = process(z, temperature)
            tokens[list(kids)] = laws[v].sample(q_rows[v], len(kids), rng, 1)[0]
            for c in kids:
                paths[c] = paths[v] + (int(tokens[c]),)
    p = process(scorer.logits(0, paths), temperature)
    q = np.array([q_rows.get(v, p[v]) for v in range(n)])
    return DraftedTree(tree, tokens, p, q)


def step(scorer: Scorer, tree, method: str, temperature: float, rng: np.random.Generator, root=()) -> Step:
    """One speculative step (module docstring) from the context extended by the tokens ``root``.

    ``tree`` is a :class:`~spechub_theory.Tree` (a fixed shape) or a :class:`DynamicTree` (EAGLE-2's
    dynamic tree, verified with ``method="topk"`` only).
    """
    if isinstance(tree, DynamicTree):
        if method != "topk":
            raise ValueError(f"method: a DynamicTree's children are the most likely tokens of q, not samples; it is "
                             f"verified with 'topk', not {method!r}")
        drafted = grow_dynamic(scorer, tree, temperature, root)
    elif isinstance(tree, Tree):
        drafted = draft_tree(scorer, tree, method, temperature, rng, root)
    else:
        raise ValueError(f"tree: expected a Tree or a DynamicTree, got {type(tree).__name__}")
    tree = drafted.tree
    emitted = verify_tree(drafted, method, rng)
    k = len(tree.children[0])
    if method == "topk":
        rate = float(drafted.p[0, drafted.drafts(0)].sum())
    elif method in NODE_METHODS:
        rate = float(acceptance_rate(drafted.p[0], drafted.q[0], node_method(method, k), k))
    else:
        rate = float("nan")
    # the root kept a draft exactly when the step emitted more than the one corrected token
    return Step(emitted, tokens_per_step(tree, method, drafted), len(emitted) > 1, rate, tree.n_nodes)


def decode(target, draft, prompt_ids, tree, method: str, *, temperature: float = 1.0, max_new_tokens: int = 64,
           seed=None, eos: int | None = None) -> list[Step]:
    """Decode from ``prompt_ids`` with speculative steps until ``max_new_tokens`` tokens or ``eos``.

    ``tree``: a :class:`~spechub_theory.Tree` verified with any tree verifier (its sibling law draws
    the children; ``"topk"``: the most likely tokens of ``q``), or a :class:`DynamicTree` verified with
    ``"topk"``.
    """
    if isinstance(tree, DynamicTree) and method != "topk":
        raise ValueError(f"method: a DynamicTree is verified with 'topk', not {method!r}")
    if not isinstance(tree, (Tree, DynamicTree)):
        raise ValueError(f"tree: expected a Tree or a DynamicTree, got {type(tree).__name__}")
    validate.choice(method, "method", TREE_METHODS)
    rng = validate.rng(seed)
    scorer = Scorer(target, draft, prompt_ids)
    steps, produced = [], 0
    while produced < max_new_tokens:
        s = step(scorer, tree, method, temperature, rng)
        steps.append(s)
        produced += len(s.emitted)
        if eos in s.emitted:
            break
        scorer.advance(s.emitted)
    return steps


def first_two(scorer: Scorer, tree, method: str, temperature: float, n: int, rng) -> np.ndarray:
    """The first two tokens that speculative decoding emits from the scorer's context, ``n`` times: ``(n, 2)``.

    When a step emits one token, the next step (from the context and that token) gives the second.
    """
    out = np.empty((n, 2), dtype=np.int64)
    for i in range(n):
        emitted = step(scorer, tree, method, temperature, rng).emitted
        if len(emitted) < 2:
            emitted += step(scorer, tree, method, temperature, rng, root=emitted).emitted
        out[i] = emitted[:2]
    return out
