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
from .drafts import DRAFT_LAWS
from .logged import MIN_TOKENS, stored_law, truncated_support

#: ``score(root, paths)``: both models' logits, shapes ``(len(paths), V)`` each at temperature 1,
#: after the context of ``root`` extended by each path of drafted tokens.
Scorer = Callable[[int, list[tuple[int, ...]]], tuple[np.ndarray, np.ndarray]]


def grow_trees(score: Scorer, roots: int, laws, temperatures, branching: int, depth: int, *, seed,
               max_tail_mass: float, progress=None) -> dict:
    """Grow one tree per (root, law, temperature); returns the dataset arrays of the trees.

    The returned dict holds ``offsets``, ``tokens``, ``target_logits``, ``draft_logits``, the tree
    arrays of :mod:`spechub_theory.logged` and ``root_of`` (the root index of every node), for the
    caller to complete with prompt ids, steps and contexts. ``progress(done, total)`` is called
    after every tree.

    Every argument is checked before ``score`` is first called, so a law that cannot draft
    ``branching`` children (the hub law drafts pairs only) fails before any model time is spent.
    """
    _check_tree_arguments(roots, laws, temperatures, branching, depth, max_tail_mass)
    rng = validate.rng(seed)
    supports, target, draft, drafts, children, root_of = [], [], [], [], [], []
    tree_roots, tree_law, tree_temperature = [], [], []
    total = roots * len(laws) * len(temperatures)
    for root in range(roots):
        for law_index, law in enumerate(laws):
            for temperature in temperatures:
                tree_roots.append(len(supports))
                tree_law.append(law_index)
                tree_temperature.append(float(temperature))
                level = [((), -1, -1)]  # (path, parent position, child slot)
                for d in range(depth):
                    zt, zd = score(root, [path for path, _, _ in level])
                    nxt = []
                    for (path, parent, slot), t_logits, d_logits in zip(level, zt, zd):
                        pos = len(supports)
                        if parent >= 0:
                            children[parent][slot] = pos
                        support = truncated_support(t_logits, d_logits, max_tail_mass)
                        d_kept = np.asarray(d_logits)[support]
                        q = stored_law(support, d_kept.astype(np.float32), temperature, np.zeros(len(d_logits)))
                        drawn = DRAFT_LAWS[law].sample(q, branching, rng, 1)[0]
                        supports.append(support)
                        target.append(np.asarray(t_logits)[support])
                        draft.append(d_kept)
                        drafts.append(drawn)
                        children.append([-1] * branching)
                        root_of.append(root)
                        if d + 1 < depth:
                            nxt += [(path + (int(x),), pos, j) for j, x in enumerate(drawn)]
                    level = nxt
                if progress is not None:
                    progress(len(tree_roots), total)
    return tree_entries(supports, target, draft, drafts, children, branching, tree_roots, tree_law,
                        tree_temperature, root_of)


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
