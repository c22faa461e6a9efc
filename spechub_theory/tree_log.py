"""Logging draft trees: grow full trees of drafts from a scorer, and store them as a logged dataset.

At a root context the draft model's law ``q`` gives ``branching`` drafts from a draft law (i.i.d.,
without replacement, SpecHub's hub pair, ...); each drafted token extends the context to a child
node, where both models are scored again, down to ``depth`` levels of drafts. Every internal node
stores both models' logits over its truncated support (:func:`spechub_theory.logged.truncated_support`)
and its drafted children; leaves need no laws, since a leaf always emits one bonus token.

The drafts are sampled from the *stored* draft law at the tree's temperature (the truncated support,
renormalised, from the float32 logits the file keeps), so a logged tree is an exact sample of what
an engine drafting from those laws would build, and :class:`spechub_theory.trees.LoggedTrees`
computes its tokens per step exactly given the drafts.
"""

from __future__ import annotations

import numbers
from typing import Callable

import numpy as np

from . import validate
from .drafts import DRAFT_LAWS, top_tokens
from .logged import MIN_TOKENS, stored_law, truncated_support

#: ``score(root, paths)``: both models' logits, shapes ``(len(paths), V)`` each at temperature 1,
#: after the context of ``root`` extended by each path of drafted tokens.
Scorer = Callable[[int, list[tuple[int, ...]]], tuple[np.ndarray, np.ndarray]]


def grow_trees(score: Scorer, roots: int, laws, temperatures, branching: int, depth: int, *, seed,
               max_tail_mass: float, trees_per_root: int = 1, first_root: int = 0, progress=None) -> dict:
    """Grow ``trees_per_root`` trees per (root, law, temperature); returns the dataset arrays of the trees.

    The returned dict holds ``offsets``, ``tokens``, ``target_logits``, ``draft_logits``, the tree
    arrays of :mod:`spechub_theory.logged` and ``root_of`` (the root index of every node), for the
    caller to complete with prompt ids, steps and contexts. The roots are ``first_root`` to
    ``first_root + roots - 1`` (so a long run can grow them in batches). The trees are stored root by root, and
    at one root as replicate ``r = 0, 1, ...``, then law, then temperature. ``progress(done, total)``
    is called after every root with the number of trees grown.

    **Common random numbers.** Every node draws its children from its own stream of uniforms,
    seeded by ``(seed, root, r, key)`` (an integer ``seed`` as it is; a generator gives one draw), where ``key`` is the node's path of drafted tokens, each
    with its occurrence among its siblings (0 unless i.i.d. siblings repeat it), and turns them
    into drafts with :func:`coupled_drafts`. The key does not name the law or the temperature, so
    replicate ``r`` of every law at one root is drawn from the same uniforms, and a node reached in
    two laws' trees by the same path draws from the same stream there too. Each law's tree is
    still an exact sample of that law (every node of one tree has its own key), but the trees of
    different laws are strongly coupled, which is what makes their per-root differences precise. All the trees of one root are grown level by level
    together, and each distinct path is scored once per level.

    Every argument is checked before ``score`` is first called, so a law that cannot draft
    ``branching`` children (the hub law drafts pairs only) fails before any model time is spent.
    """
    _check_tree_arguments(roots, laws, temperatures, branching, depth, max_tail_mass)
    trees_per_root = validate.positive_int(trees_per_root, "trees_per_root")
    first_root = validate.nonnegative_int(first_root, "first_root")
    entropy = int(seed) if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0 else int(
        validate.rng(seed).integers(0, 2**63))
    kinds = [(r, law_index, law, float(t)) for r in range(trees_per_root) for law_index, law in enumerate(laws)
             for t in temperatures]
    supports, target, draft, drafts, children, root_of = [], [], [], [], [], []
    tree_roots, tree_law, tree_temperature = [], [], []
    for root in range(first_root, first_root + roots):
        grown = [_Nodes() for _ in kinds]
        level = [(i, (), (), -1, -1) for i in range(len(kinds))]  # (tree, path, key, parent, child slot)
        for d in range(depth):
            paths = list(dict.fromkeys(path for _, path, _, _, _ in level))
            row = {path: i for i, path in enumerate(paths)}
            zt, zd = score(root, paths)
            nxt = []
            for i, path, key, parent, slot in level:
                r, _, law, temperature = kinds[i]
                nodes = grown[i]
                here = len(nodes.drafts)
                if parent >= 0:
                    nodes.children[parent][slot] = here
                t_logits, d_logits = np.asarray(zt[row[path]]), np.asarray(zd[row[path]])
                support = truncated_support(t_logits, d_logits, max_tail_mass)
                d_kept = d_logits[support]
                q = stored_law(support, d_kept.astype(np.float32), temperature, np.zeros(len(d_logits)))
                drawn = coupled_drafts(law, q, branching, np.random.default_rng([entropy, root, r, *key]))
                # float32, as the dataset stores them: a large log is held in memory until written
                nodes.add(support.astype(np.int32), t_logits[support].astype(np.float32), d_kept.astype(np.float32),
                          drawn, branching)
                if d + 1 < depth:
                    seen: dict[int, int] = {}
                    for j, x in enumerate(drawn.tolist()):
                        seen[x] = seen.get(x, -1) + 1
                        nxt.append((i, path + (x,), key + (x, seen[x]), here, j))
            level = nxt
        for (_, law_index, _, temperature), nodes in zip(kinds, grown):
            base = len(drafts)
            tree_roots.append(base)
            tree_law.append(law_index)
            tree_temperature.append(temperature)
            supports += nodes.supports
            target += nodes.target
            draft += nodes.draft
            drafts += nodes.drafts
            children += [[c + base if c >= 0 else -1 for c in kids] for kids in nodes.children]
            root_of += [root] * len(nodes.drafts)
        if progress is not None:
            progress(len(tree_roots), roots * len(kinds))
    return tree_entries(supports, target, draft, drafts, children, branching, tree_roots, tree_law,
                        tree_temperature, root_of)


def coupled_drafts(law: str, q: np.ndarray, k: int, stream: np.random.Generator) -> np.ndarray:
    """``k`` drafts of ``law`` from ``q``, read off one i.i.d. sequence ``x_1, x_2, ...`` of ``q``
    (inverse CDF of ``stream``'s uniforms), so that the built-in laws share their draws:

    * ``iid``: ``x_1..x_k``;
    * ``wo``: the first ``k`` distinct tokens of the sequence (skipping repeats draws each next token
      from ``q`` restricted to the undrafted ones: sampling without replacement);
    * ``hub``: ``(x_1, a)`` with ``a`` the argmax of ``q`` when ``x_1 != a``, else ``(a, y)`` with ``y``
      the first token of the sequence other than ``a`` (``q`` restricted to the spokes);
    * ``greedy``: the top ``k - 1`` of ``q``, then the first token of the sequence outside them.

    Each is an exact draw of its law (:class:`spechub_theory.drafts.DraftLaw`), and the laws agree
    on ``x_1`` always and ``iid``/``wo`` on ``x_2`` unless ``x_2 = x_1``, which couples their trees.
    Any other law draws with its own :meth:`~spechub_theory.drafts.DraftLaw.sample` from ``stream``.
    Where repeats make the sequence long (after 16 blocks of 64 draws), the rest is drawn from the
    restricted law directly: a restricted law is what a skip yields whatever was skipped before.
    """
    if law not in ("iid", "wo", "hub", "greedy"):
        return DRAFT_LAWS[law].sample(q, k, stream, 1)[0]
    support = np.flatnonzero(q > 0)
    cdf = np.cumsum(q[support])
    blocks: list[np.ndarray] = []

    def sequence():
        for _ in range(16):
            u = stream.random(64) * cdf[-1]
            block = support[np.minimum(np.searchsorted(cdf, u, side="right"), support.size - 1)]
            blocks.append(block)
            yield from block.tolist()

    def first_outside(excluded, draws) -> int:
        for x in draws:
            if x not in excluded:
                return int(x)
        rest = q.copy()
        rest[list(excluded)] = 0.0
        return int(stream.choice(q.size, p=rest / rest.sum()))

    draws = sequence()
    if law == "iid":
        return np.array([next(draws) for _ in range(k)], dtype=np.int64)
    if law == "greedy":
        fixed = [int(x) for x in top_tokens(q, k - 1)]
        return np.array(fixed + [first_outside(set(fixed), draws)], dtype=np.int64)
    if law == "hub":
        a = int(top_tokens(q, 1)[0])
        if k == 1:
            return np.array([a], dtype=np.int64)
        first = next(draws)
        return np.array([first, a] if first != a else [a, first_outside({a}, draws)], dtype=np.int64)
    out: list[int] = []
    while len(out) < k:
        out.append(first_outside(set(out), draws))
    return np.array(out, dtype=np.int64)


class _Nodes:
    """The nodes of one tree being grown, in the order they were drafted (children local to the tree)."""

    def __init__(self):
        self.supports, self.target, self.draft, self.drafts, self.children = [], [], [], [], []

    def add(self, support, target, draft, drawn, branching):
        self.supports.append(support)
        self.target.append(target)
        self.draft.append(draft)
        self.drafts.append(drawn)
        self.children.append([-1] * branching)


def tree_entries(supports, target, draft, drafts, children, branching: int, tree_roots, tree_law,
                 tree_temperature, root_of) -> dict:
    """The dataset arrays of grown trees from the per-node lists (every node's support, both models'
    logits there, its drafted children and their positions) and the per-tree lists; ``root_of`` is
    the root index of every node. Shared by every tree grower."""
    return {
        "offsets": np.concatenate([[0], np.cumsum([s.size for s in supports])]),
        "tokens": np.concatenate(supports),
        "target_logits": np.concatenate(target),
        "draft_logits": np.concatenate(draft),
        "tree_drafts": np.array(drafts, dtype=np.int64).reshape(-1, branching),
        "tree_children": np.array(children, dtype=np.int64).reshape(-1, branching),
        "tree_roots": np.array(tree_roots, dtype=np.int64),
        "tree_law": np.array(tree_law, dtype=np.int64),
        "tree_temperature": np.array(tree_temperature),
        "root_of": np.array(root_of, dtype=np.int64),
    }


def _check_tree_arguments(roots, laws, temperatures, branching, depth, max_tail_mass) -> None:
    """The checks of :func:`grow_trees`, each a ``ValueError`` naming its argument."""
    validate.positive_int(roots, "roots")
    validate.positive_int(depth, "depth")
    branching = validate.positive_int(branching, "branching")
    if not len(laws):
        raise ValueError("laws: need at least one draft law")
    for law in laws:
        rule = DRAFT_LAWS[validate.choice(law, "laws", DRAFT_LAWS)]
        if not rule.supports(branching):
            raise ValueError(f"branching: the {law!r} draft law cannot draft {branching} children per node "
                             "(the hub law drafts pairs only: branching = 2)")
        if rule.min_support(branching) > MIN_TOKENS:
            raise ValueError(f"branching: the {law!r} draft law needs {rule.min_support(branching)} distinct tokens "
                             f"for {branching} children, but a logged node may keep only {MIN_TOKENS}")
    if not len(temperatures):
        raise ValueError("temperatures: need at least one temperature")
    for t in temperatures:
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not 0 < t <= 1:
            raise ValueError(f"temperatures: logged trees support 0 < T <= 1, got {t!r}")
    if isinstance(max_tail_mass, bool) or not isinstance(max_tail_mass, numbers.Real) or not 0 <= max_tail_mass < 1:
        raise ValueError(f"max_tail_mass: must be a number in [0, 1), got {max_tail_mass!r}")
