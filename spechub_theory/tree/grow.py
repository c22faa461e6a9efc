"""Logging deterministic draft trees: full top-k trees and EAGLE-2's expansion trees.

Beside the sampled trees of :func:`spechub_theory.tree_log.grow_trees`, ``collect-trees`` logs two
kinds of deterministic tree, in the same format (:mod:`spechub_theory.logged`: one position per
expanded node, its ``branching`` children, -1 for a child that was not expanded):

* ``"top"`` -- the full tree whose every node's children are the ``branching`` most likely tokens of
  its stored draft law ``q`` (EAGLE-2/3, SGLang and vLLM's static trees; verified with ``topk``);
* ``"eagle"`` -- EAGLE-2's expansion (Li et al., "EAGLE-2: Faster inference of language models with
  dynamic draft trees", EMNLP 2024, arXiv 2406.16858): the root's ``branching`` most likely tokens
  are drafted; at every level the ``branching`` drafted nodes of highest path draft probability
  ``prod q`` are expanded the same way. Reranking the drafted nodes to a token budget is done when the
  log is read (:meth:`spechub_theory.LoggedTrees.dynamic`), for any budget.

The laws are the stored ones (the truncated support renormalised, as the loader reads them), so a
logged tree is exactly the tree an engine drafting from those laws builds.
"""

from __future__ import annotations

import numpy as np

from ..drafts import top_tokens
from ..logged import MIN_TOKENS, stored_law, truncated_support

#: The deterministic tree kinds :func:`grow_deterministic_trees` logs.
DETERMINISTIC_KINDS = ("top", "eagle")


def check_kinds(kinds, branching: int) -> list[str]:
    """Refuse an unknown kind or a branching a logged node cannot serve (``ValueError`` naming the argument)."""
    kinds = list(kinds)
    for kind in kinds:
        if kind not in DETERMINISTIC_KINDS:
            raise ValueError(f"laws: unknown deterministic tree {kind!r}; expected one of {', '.join(DETERMINISTIC_KINDS)}")
    if kinds and branching > MIN_TOKENS:
        raise ValueError(f"branching: deterministic trees draft {branching} distinct tokens per node, but a logged node "
                         f"may keep only {MIN_TOKENS}")
    return kinds


def grow_deterministic_trees(score, roots: int, kinds, temperatures, branching: int, depth: int, *,
                             max_tail_mass: float, first_root: int = 0, progress=None) -> dict:
    """Grow one deterministic tree per (root, kind, temperature); the dataset arrays of
    :func:`spechub_theory.tree_log.grow_trees` (``tree_law`` indexes ``kinds``).

    ``score(root, paths)`` gives both models' logits at temperature 1, shapes ``(len(paths), V)``;
    the roots are ``first_root`` to ``first_root + roots - 1``.
    """
    kinds = check_kinds(kinds, branching)
    supports, target, draft, drafts, children, root_of = [], [], [], [], [], []
    tree_roots, tree_law, tree_temperature = [], [], []
    total = roots * len(kinds) * len(temperatures)
    for root in range(first_root, first_root + roots):
        for kind_index, kind in enumerate(kinds):
            for temperature in temperatures:
                tree_roots.append(len(supports))
                tree_law.append(kind_index)
                tree_temperature.append(float(temperature))
                frontier = [((), -1, -1, 1.0)]  # (path, parent position, child slot, path draft probability)
                for d in range(depth):
                    zt, zd = score(root, [path for path, _, _, _ in frontier])
                    drafted = []
                    for (path, parent, slot, value), t_logits, d_logits in zip(frontier, zt, zd):
                        pos = len(supports)
                        if parent >= 0:
                            children[parent][slot] = pos
                        support = truncated_support(t_logits, d_logits, max_tail_mass)
                        d_kept = np.asarray(d_logits)[support]
                        q = stored_law(support, d_kept.astype(np.float32), temperature, np.zeros(len(d_logits)))
                        tops = top_tokens(q, branching)
                        supports.append(support)
                        target.append(np.asarray(t_logits)[support].astype(np.float32))  # as stored
                        draft.append(d_kept.astype(np.float32))
                        drafts.append(tops)
                        children.append([-1] * branching)
                        root_of.append(root)
                        drafted += [(path + (int(x),), pos, j, value * float(q[x])) for j, x in enumerate(tops)]
                    if d + 1 == depth:
                        break
                    if kind == "eagle":  # the branching drafted nodes of highest path draft probability
                        order = sorted(range(len(drafted)), key=lambda i: (-drafted[i][3], i))[:branching]
                        drafted = [drafted[i] for i in sorted(order)]
                    frontier = drafted
                if progress is not None:
                    progress(len(tree_roots), total)
    from ..tree_log import tree_entries

    return tree_entries(supports, target, draft, drafts, children, branching, tree_roots, tree_law,
                        tree_temperature, root_of)


def merge_tree_entries(first: dict, second: dict, laws_in_first: int) -> dict:
    """The tree arrays of two logs as one: the second's positions follow the first's, its law indices
    follow the first's ``laws_in_first`` laws."""
    if not first:
        return second
    if not second:
        return first
    n = len(first["offsets"]) - 1
    children = np.asarray(second["tree_children"])
    return {
        "offsets": np.concatenate([first["offsets"], np.asarray(second["offsets"][1:]) + first["offsets"][-1]]),
        **{name: np.concatenate([first[name], second[name]])
           for name in ("tokens", "target_logits", "draft_logits", "tree_drafts", "tree_temperature", "root_of")},
        "tree_children": np.concatenate([first["tree_children"], np.where(children >= 0, children + n, -1)]),
        "tree_roots": np.concatenate([first["tree_roots"], np.asarray(second["tree_roots"]) + n]),
        "tree_law": np.concatenate([first["tree_law"], np.asarray(second["tree_law"]) + laws_in_first]),
    }


def grow_logged_trees(score, roots: int, laws, temperatures, branching: int, depth: int, *, seed,
                      max_tail_mass: float, trees_per_root: int = 1, first_root: int = 0,
                      log=None) -> tuple[dict, list[str]]:
    """Sampled trees (:func:`spechub_theory.tree_log.grow_trees`) for the draft laws among ``laws`` and
    deterministic ones (:func:`grow_deterministic_trees`) for ``"top"`` and ``"eagle"``, as one log.

    Returns the dataset arrays (with ``root_of``) and the laws in the order ``tree_law`` indexes them
    (the sampled ones first). ``trees_per_root`` applies to the sampled laws (a deterministic tree
    is one per root). ``log(text)`` reports progress.
    """
    from ..tree_log import grow_trees

    laws = list(laws)
    if not laws:
        raise ValueError("laws: need at least one draft law or deterministic tree")
    sampled = [law for law in laws if law not in DETERMINISTIC_KINDS]
    kinds = check_kinds([law for law in laws if law in DETERMINISTIC_KINDS], branching)
    report = (lambda what: (lambda done, total: log(f"collect-trees: {what} trees {done}/{total}"))) if log else (
        lambda what: None)
    entries = {}
    if sampled:
        entries = grow_trees(score, roots, sampled, list(temperatures), branching, depth, seed=seed,
                             max_tail_mass=max_tail_mass, trees_per_root=trees_per_root, first_root=first_root,
                             progress=report("sampled"))
    if kinds:
        entries = merge_tree_entries(entries, grow_deterministic_trees(
            score, roots, kinds, list(temperatures), branching, depth, max_tail_mass=max_tail_mass,
            first_root=first_root, progress=report("deterministic")), len(sampled))
    return entries, [*sampled, *kinds]
