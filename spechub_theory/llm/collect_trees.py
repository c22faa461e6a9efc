"""Log draft trees along text the target generates (``spechub-theory collect-trees``).

For each chosen prompt the target samples a continuation at temperature 1; a root is placed after
a random number of its generated tokens. From every root, for every draft law and temperature, a
full tree of drafts is grown (:func:`spechub_theory.tree_log.grow_trees`): both models score each
node's context (the root context's cached keys and values plus the drafted path,
:class:`spechub_theory.llm.decode.Scorer`) and the draft law draws the node's children from the
stored draft law. The dataset is written atomically when complete.

Beside the sampled laws, ``laws`` may name two deterministic trees
(:mod:`spechub_theory.tree.grow`): ``"top"``, the full tree of every node's ``branching`` most likely
tokens of ``q`` (verified with ``topk``), and ``"eagle"``, EAGLE-2's expansion tree (Li et al. 2024,
arXiv 2406.16858: the ``branching`` drafted nodes of highest path draft probability expanded at every
level), which :meth:`spechub_theory.LoggedTrees.dynamic` reranks to any token budget.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from .. import validate
from ..drafts import DRAFT_LAWS
from ..logged import is_dataset, write_logged
from ..outputs import atomic_path, check_replaceable, protect, resume_folder
from ..tree.grow import DETERMINISTIC_KINDS, check_kinds, grow_logged_trees, merge_tree_entries
from .collect import check_tail_mass, dataset_meta, file_hash, load_pair
from .decode import Scorer
from .generate import read_prompts, sample


def collect_trees(prompts_file, out, *, roots: int = 24, laws=("iid", "wo", "hub"), temperatures=(0.6, 1.0),
                  branching: int = 2, depth: int = 4, target=None, draft=None, exit_layer: int | None = None,
                  max_new_tokens: int = 60, max_tail_mass: float = 1e-2, seed: int = 0, device: str = "auto",
                  trees_per_root: int = 1, batch: int = 25, overwrite: bool = False, log=print) -> Path:
    """Grow and log the trees; returns the dataset's path. Roots come from prompts spread evenly over the file.

    ``trees_per_root`` sampled trees are grown per root, law and temperature, the laws' trees from
    common random numbers (:func:`spechub_theory.tree_log.grow_trees`); the deterministic trees are
    one per root. Every path is scored once per root: the logits at temperature 1 do not depend on
    the law or the temperature, so trees that share a path share its forward pass.

    Every input is checked before any model runs; ``out`` is replaced as in
    :func:`spechub_theory.llm.collect.collect` (only a dataset of this library, only with
    ``overwrite=True``, swapped in when complete). Every ``batch`` roots are kept in
    ``OUT.partial/`` as they finish (atomically), beside the sampled contexts: an interrupted run
    rerun with the same settings resumes there, and one with other settings is refused, naming
    what differs. A failure before the first finished batch removes the ``OUT.partial/`` it created.
    """
    out = Path(out)
    for name, value in (("roots", roots), ("branching", branching), ("depth", depth),
                        ("max_new_tokens", max_new_tokens), ("trees_per_root", trees_per_root), ("batch", batch)):
        validate.positive_int(value, name)
    if not len(laws):
        raise ValueError("laws: need at least one draft law or deterministic tree")
    sampled = [law for law in laws if law not in DETERMINISTIC_KINDS]
    check_kinds([law for law in laws if law in DETERMINISTIC_KINDS], branching)
    for law in sampled:
        if not DRAFT_LAWS[validate.choice(law, "laws", (*DRAFT_LAWS, *DETERMINISTIC_KINDS))].supports(branching):
            raise ValueError(f"laws: draft law {law!r} does not draft {branching} children (branching = {branching})")
    if not len(temperatures):
        raise ValueError("temperatures: need at least one temperature")
    for t in temperatures:
        if isinstance(t, bool) or not isinstance(t, (int, float, np.floating)) or not 0 < t <= 1:
            raise ValueError(f"temperatures: logged trees support 0 < T <= 1, got {t!r}")
    check_tail_mass(max_tail_mass)
    rows = read_prompts(prompts_file)
    check_replaceable(out, "out", overwrite, is_dataset, "a dataset of this library", inputs=[prompts_file])
    partial = out.parent / (out.name + ".partial")
    protect(partial, "out", inputs=[prompts_file])
    target_model, draft_model, tokenizer, dev, description = load_pair(target, draft, exit_layer, device)
    chosen = np.linspace(0, len(rows) - 1, min(roots, len(rows))).round().astype(int)
    chosen = np.resize(chosen, roots)  # more roots than prompts: prompts are reused with new samples
    settings = {"models": description["models"], "hashes": description["hashes"], "prompts": file_hash(Path(prompts_file)),
                "exit_layer": exit_layer, "roots": int(roots), "laws": list(laws),
                "temperatures": [float(t) for t in temperatures], "branching": int(branching), "depth": int(depth),
                "max_new_tokens": int(max_new_tokens), "max_tail_mass": float(max_tail_mass), "seed": int(seed),
                "trees_per_root": int(trees_per_root), "batch": int(batch)}
    created = resume_folder(partial, settings, "out", "an interrupted tree collection of this library",
                            "choose another --out")
    try:
        contexts, steps, entropy = _contexts(partial, target_model, tokenizer, [rows[r]["prompt"] for r in chosen],
                                             max_new_tokens, seed, log)
        scorer: dict[int, Scorer] = {}  # the current root's (trees are grown root by root)

        def score(root, paths):
            if root not in scorer:
                scorer.clear()
                scorer[root] = Scorer(target_model, draft_model, contexts[root], memo=depth)
            return scorer[root].logits(0, paths), scorer[root].logits(1, paths)

        start = time.time()
        for first in range(0, roots, batch):
            chunk = partial / f"roots_{first:05d}.npz"
            if chunk.is_file():
                continue
            entries = {}
            for root in range(first, min(first + batch, roots)):  # a root's sampled and deterministic trees share its scorer
                grown, _ = grow_logged_trees(score, 1, laws, temperatures, branching, depth, seed=entropy,
                                               max_tail_mass=max_tail_mass, trees_per_root=trees_per_root,
                                               first_root=root)
                entries = merge_tree_entries(entries, grown, 0)
            with atomic_path(chunk) as tmp:
                np.savez(tmp, **entries)
            log(f"collect-trees: roots {min(first + batch, roots)}/{roots} ({time.time() - start:.0f} s)")
    except BaseException:
        if created and not any(partial.glob("roots_*.npz")):
            shutil.rmtree(partial, ignore_errors=True)
        raise
    entries = {}
    for first in range(0, roots, batch):
        with np.load(partial / f"roots_{first:05d}.npz") as chunk:
            entries = merge_tree_entries(entries, {name: chunk[name] for name in chunk.files}, 0)
    logged_laws = [*sampled, *[law for law in laws if law in DETERMINISTIC_KINDS]]  # as tree_law indexes them
    root_of = entries.pop("root_of")
    entries.update(prompt_ids=root_of, steps=np.asarray(steps)[root_of], context=np.concatenate(contexts),
                   context_offsets=np.concatenate([[0], np.cumsum([c.size for c in contexts])]))
    meta = dataset_meta(description, prompts_file, [rows[r] for r in chosen], seed=seed, max_new_tokens=max_new_tokens,
                        max_tail_mass=max_tail_mass, tree={"branching": branching, "depth": depth,
                                                           "laws": logged_laws, "trees_per_root": int(trees_per_root),
                                                           "common_random_numbers": True})
    written = write_logged(out, meta, entries, overwrite=overwrite, inputs=[prompts_file])
    shutil.rmtree(partial)
    return written


def _contexts(partial: Path, model, tokenizer, prompts, max_new_tokens: int, seed: int, log=print):
    """The root contexts, their generated steps and the trees' seed: sampled once and kept in
    ``partial/contexts.npz``, so a resumed run grows its trees at the very same contexts."""
    file = partial / "contexts.npz"
    if file.is_file():
        with np.load(file) as saved:
            n = int(saved["count"])
            return [saved[f"context_{i}"] for i in range(n)], saved["steps"].tolist(), int(saved["entropy"])
    rng = np.random.default_rng(seed)
    contexts, steps = [], []
    start = time.time()

    def progress(done, total):
        log(f"collect-trees: contexts {done}/{total} ({time.time() - start:.0f} s)")

    for prompt, generated in sample(model, tokenizer, prompts, max_new_tokens, seed, progress=progress):
        step = int(rng.integers(0, max(1, len(generated))))
        contexts.append(np.concatenate([prompt, generated[:step]]).astype(np.int64))
        steps.append(step)
    entropy = int(rng.integers(0, 2**63))  # the trees' seed (tree_log.grow_trees)
    with atomic_path(file) as tmp:
        np.savez(tmp, count=len(contexts), steps=np.asarray(steps), entropy=entropy,
                 **{f"context_{i}": c for i, c in enumerate(contexts)})
    return contexts, steps, entropy


