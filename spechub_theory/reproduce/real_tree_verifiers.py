"""Sequence-level and deterministic tree verifiers on real draft trees, shipped as a small summary.

Two tree logs grown by the real models along text the target generates (not shipped; their
metadata and commands are in ``data/real_tree_verifiers.json``):

* binary trees of depth 4 (``spechub-theory collect-trees --laws iid wo hub top eagle``, the log
  :mod:`.real_trees` reduces too): every tree drafted
  without replacement is verified both by RRS without replacement and by Traversal Verification,
  every deterministic top-2 tree by the target alone (``topk``), and every EAGLE-2 expansion tree
  reranked to each budget of drafted tokens (EAGLE-2's dynamic tree, Li et al., 2024, arXiv
  2406.16858) by the target alone;
* chains of 5 drafts (``--laws iid --branching 1 --depth 5``, two per root and temperature): every chain verified both by
  single-draft verification and by Block Verification.

``python -m spechub_theory.reproduce.real_tree_verifiers TREES CHAINS`` reduces them to
``data/real_tree_verifiers.csv``: per tree, method and size, the tree's tokens per step, exact given
its drafts (:meth:`spechub_theory.LoggedTrees.per_tree`; on the chains averaged exactly over the last
draft, :data:`AVERAGED`). The two verifiers of one log see the same drafts, so their per-tree
difference is exact per tree and its mean over roots carries a standard error far smaller than
that of either verifier's mean (:func:`paired_gap`).
"""

from __future__ import annotations

import argparse
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np

from ..logged import load_logged
from ..tree import LoggedTrees, Tree
from .common import provenance
from .real_trees import (format_controls, keyed_gap, keyed_means, levers, parse_controls, read_summary, summary_target,
                         write_summary)

SUMMARY = files("spechub_theory") / "data" / "real_tree_verifiers.csv"
COLUMNS = ("temperature", "shape", "method", "nodes", "root", "tree", "tokens_per_step", "controls")
#: (shape, method) pairs read from the binary log, and the sizes (root included).
BINARY = (("full binary", "rrs_wo"), ("full binary", "traversal_wo"), ("full binary", "topk"),
          ("EAGLE-2 budget", "topk"))
BINARY_SIZES = (3, 7, 15, 31)
#: (shape, method) pairs read from the chain log, and its chains' numbers of drafts.
CHAIN = (("chain", "single"), ("chain", "block"))
CHAIN_DRAFTS = (1, 2, 3, 4, 5)
#: Methods whose values are averaged exactly over the last level of drafts (``average_last_level``):
#: both verifiers of the chains, so their paired difference is of two such averages. The binary
#: trees' pair keeps the exact value given every draft: Traversal Verification does not average
#: node by node (:func:`spechub_theory.tree.verifiers.expected_tokens`), and RRS without
#: replacement is compared with it on the same drafts.
AVERAGED = ("single", "block")
#: Methods whose rows carry control variates (:meth:`spechub_theory.LoggedTrees.controls`): the
#: token-level counterparts, node-wise, on the very trees their sequence-level verifier sees.
CONTROLLED = ("rrs_wo", "single")


def _rows_of(log, temperature: float, pairs, sizes, shape_of) -> tuple[list, dict, dict]:
    data = load_logged(log, temperature=temperature)
    source = LoggedTrees(data)
    rows = []
    sequence, base = pairs[1][1], pairs[0][1]  # the sequence-level verifier and its token-level counterpart
    largest = shape_of(sizes[-1])
    reduction = {"temperature": temperature, "gap": f"{sequence} - {base}", "nodes": largest.n_nodes,
                 **levers(source, largest, sequence, base, average=sequence in AVERAGED)}
    for shape, method in pairs:
        for size in sizes:
            if shape == "EAGLE-2 budget":
                values = source.per_tree_dynamic(size - 1)
                roots = np.asarray(data.arrays["prompt_ids"])[source.roots["eagle"]]  # their contexts
                replicates = np.zeros(roots.size, dtype=np.int64)  # one deterministic tree per root
                z = [""] * roots.size
            else:
                tree = shape_of(size)
                values = source.per_tree(tree, method, average_last_level=method in AVERAGED)
                roots, replicates = source.contexts(tree, method), source.replicates(tree, method)
                z = ([format_controls(x) for x in source.controls(tree, method, method in AVERAGED)]
                     if method in CONTROLLED else [""] * roots.size)
            nodes = size if shape != "chain" else size + 1
            rows += [(temperature, shape, method, nodes, int(c), int(r), f"{v:.12g}", cell)
                     for c, r, v, cell in zip(roots, replicates, values, z)]
    meta = {key: data.meta.get(key) for key in ("models", "hashes", "versions", "command", "tree", "max_tail_mass", "seed")}
    return rows, meta, reduction


def summarize(trees, chains, out=SUMMARY, temperatures=(0.6, 1.0), overwrite: bool = False) -> Path:
    """Write the per-tree values of the binary log ``trees`` and the chain log ``chains`` to ``out``
    (CSV) and its ``.json`` (both logs' metadata); atomic, after all the work, and an existing
    ``out`` is replaced only with ``overwrite=True`` when it is such a summary."""
    out, sidecar = summary_target(out, overwrite, COLUMNS, "a real tree-verifier summary of this library",
                                  [trees, chains])
    rows, logs, reductions = [], {}, []
    for temperature in temperatures:
        found, logs["trees"], reduction = _rows_of(trees, temperature, BINARY, BINARY_SIZES, lambda n: Tree.full(2, n))
        rows += found
        reductions.append(reduction)
        found, logs["chains"], reduction = _rows_of(chains, temperature, CHAIN, CHAIN_DRAFTS, Tree.chain)
        rows += found
        reductions.append(reduction)
    command = f"python -m spechub_theory.reproduce.real_tree_verifiers {trees} {chains}"
    return write_summary(out, sidecar, COLUMNS, rows, {"logs": logs, "provenance": provenance(command),
                                                       "standard_errors_by_lever": reductions})


def load(path=SUMMARY) -> list[dict]:
    """The rows of a summary written by :func:`summarize`; a corrupt file is an error naming it."""
    rows = read_summary(path, COLUMNS, lambda r: {
        "temperature": float(r["temperature"]), "shape": r["shape"], "method": r["method"], "nodes": int(r["nodes"]),
        "root": int(r["root"]), "tree": int(r["tree"]), "tokens_per_step": float(r["tokens_per_step"]),
        "controls": parse_controls(r["controls"])}, "a real tree-verifier summary")
    if not rows or any(not 1.0 <= r["tokens_per_step"] <= r["nodes"] for r in rows):
        raise ValueError(f"path: {path} holds no rows or a value outside [1, nodes]")
    return rows


def means(rows) -> list[dict]:
    """Mean tokens per step and its standard error over roots, per temperature, shape, method and size
    (:func:`spechub_theory.reproduce.real_trees.keyed_means`)."""
    return keyed_means(rows, ("temperature", "shape", "method", "nodes"))


def paired_gap(rows, shape: str, a: str, b: str, temperature: float, nodes: int) -> tuple[float, float, int]:
    """Mean, standard error and number of roots of ``a`` minus ``b`` over the trees both verified (the
    same drafts), paired by root and tree and adjusted by the counterpart's control variates
    (:func:`spechub_theory.reproduce.real_trees.keyed_gap`)."""
    key = dict(temperature=temperature, shape=shape, nodes=nodes)
    try:
        return keyed_gap(rows, dict(key, method=a), dict(key, method=b))
    except ValueError:
        raise ValueError(f"rows: fewer than two roots hold both {a!r} and {b!r} ({shape}, {nodes} nodes, "
                         f"T = {temperature})") from None


def main(argv=None) -> int:
    """``python -m spechub_theory.reproduce.real_tree_verifiers TREES CHAINS [--out CSV] [--overwrite]``."""
    parser = argparse.ArgumentParser(prog="python -m spechub_theory.reproduce.real_tree_verifiers",
                                     description="Reduce a binary tree log and a chain log to per-tree exact values.")
    parser.add_argument("trees", type=Path, help="binary trees: collect-trees --laws wo top eagle")
    parser.add_argument("chains", type=Path, help="chains: collect-trees --laws iid --branching 1 --depth 5")
    parser.add_argument("--out", type=Path, default=Path(str(SUMMARY)), help="summary CSV to write (default: the shipped one)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing summary at --out")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        print(f"wrote {summarize(args.trees, args.chains, args.out, overwrite=args.overwrite)}")
    except (ValueError, OSError) as err:
        print(f"real_tree_verifiers: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
