"""Sequence-level and deterministic tree verifiers on real draft trees, shipped as a small summary.

Two tree logs grown by the real models along text the target generates (not shipped; their
metadata and commands are in ``data/real_tree_verifiers.json``):

* binary trees of depth 4 (``spechub-theory collect-trees --laws wo top eagle``): every tree drafted
  without replacement is verified both by RRS without replacement and by Traversal Verification,
  every deterministic top-2 tree by the target alone (``topk``), and every EAGLE-2 expansion tree
  reranked to each budget of drafted tokens (EAGLE-2's dynamic tree, Li et al., 2024, arXiv
  2406.16858) by the target alone;
* chains of 5 drafts (``--laws iid --branching 1 --depth 5``): every chain verified both by
  single-draft verification and by Block Verification.

``python -m spechub_theory.reproduce.real_tree_verifiers TREES CHAINS`` reduces them to
``data/real_tree_verifiers.csv``: per tree, method and size, the tree's tokens per step, exact given
its drafts (:meth:`spechub_theory.LoggedTrees.per_tree`). The two verifiers of one log see the same
drafts, so their per-tree difference is exact per tree and its mean over trees carries a standard
error far smaller than that of either verifier's mean (:func:`paired_gap`).
"""

from __future__ import annotations

import argparse
import math
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np

from ..logged import load_logged
from ..tree import LoggedTrees, Tree
from .common import provenance
from .real_trees import read_summary, summary_target, write_summary

SUMMARY = files("spechub_theory") / "data" / "real_tree_verifiers.csv"
COLUMNS = ("temperature", "shape", "method", "nodes", "root", "tokens_per_step")
#: (shape, method) pairs read from the binary log, and the sizes (root included).
BINARY = (("full binary", "rrs_wo"), ("full binary", "traversal_wo"), ("full binary", "topk"),
          ("EAGLE-2 budget", "topk"))
BINARY_SIZES = (3, 7, 15, 31)
#: (shape, method) pairs read from the chain log, and its chains' numbers of drafts.
CHAIN = (("chain", "single"), ("chain", "block"))
CHAIN_DRAFTS = (1, 2, 3, 4, 5)


def _rows_of(log, temperature: float, pairs, sizes, shape_of) -> tuple[list, dict]:
    data = load_logged(log, temperature=temperature)
    source = LoggedTrees(data)
    rows = []
    for shape, method in pairs:
        for size in sizes:
            if shape == "EAGLE-2 budget":
                values = source.per_tree_dynamic(size - 1)
                roots = np.asarray(data.arrays["prompt_ids"])[source.roots["eagle"]]  # their contexts
            else:
                tree = shape_of(size)
                values = source.per_tree(tree, method)
                roots = source.contexts(tree, method)
            nodes = size if shape != "chain" else size + 1
            rows += [(temperature, shape, method, nodes, int(c), f"{v:.12g}") for c, v in zip(roots, values)]
    meta = {key: data.meta.get(key) for key in ("models", "hashes", "versions", "command", "tree", "max_tail_mass", "seed")}
    return rows, meta


def summarize(trees, chains, out=SUMMARY, temperatures=(0.6, 1.0), overwrite: bool = False) -> Path:
    """Write the per-tree values of the binary log ``trees`` and the chain log ``chains`` to ``out``
    (CSV) and its ``.json`` (both logs' metadata); atomic, after all the work, and an existing
    ``out`` is replaced only with ``overwrite=True`` when it is such a summary."""
    out, sidecar = summary_target(out, overwrite, COLUMNS, "a real tree-verifier summary of this library",
                                  [trees, chains])
    rows, logs = [], {}
    for temperature in temperatures:
        found, logs["trees"] = _rows_of(trees, temperature, BINARY, BINARY_SIZES, lambda n: Tree.full(2, n))
        rows += found
        found, logs["chains"] = _rows_of(chains, temperature, CHAIN, CHAIN_DRAFTS, Tree.chain)
        rows += found
    command = f"python -m spechub_theory.reproduce.real_tree_verifiers {trees} {chains}"
    return write_summary(out, sidecar, COLUMNS, rows, {"logs": logs, "provenance": provenance(command)})


def load(path=SUMMARY) -> list[dict]:
    """The rows of a summary written by :func:`summarize`; a corrupt file is an error naming it."""
    rows = read_summary(path, COLUMNS, lambda r: {
        "temperature": float(r["temperature"]), "shape": r["shape"], "method": r["method"], "nodes": int(r["nodes"]),
        "root": int(r["root"]), "tokens_per_step": float(r["tokens_per_step"])}, "a real tree-verifier summary")
    if not rows or any(not 1.0 <= r["tokens_per_step"] <= r["nodes"] for r in rows):
        raise ValueError(f"path: {path} holds no rows or a value outside [1, nodes]")
    return rows


def _values(rows, temperature: float, shape: str, method: str, nodes: int) -> dict[int, float]:
    return {r["root"]: r["tokens_per_step"] for r in rows if r["temperature"] == temperature
            and r["shape"] == shape and r["method"] == method and r["nodes"] == nodes}


def means(rows) -> list[dict]:
    """Mean tokens per step and its standard error over trees, per temperature, shape, method and size."""
    out = []
    for key in sorted({(r["temperature"], r["shape"], r["method"], r["nodes"]) for r in rows}):
        v = np.array(list(_values(rows, *key).values()))
        out.append(dict(zip(("temperature", "shape", "method", "nodes"), key), tokens_per_step=float(v.mean()),
                        standard_error=float(v.std(ddof=1) / math.sqrt(v.size)), trees=int(v.size)))
    return out


def paired_gap(rows, shape: str, a: str, b: str, temperature: float, nodes: int) -> tuple[float, float, int]:
    """Mean, standard error and count of ``a`` minus ``b`` over the trees both verified (the same drafts)."""
    va, vb = _values(rows, temperature, shape, a, nodes), _values(rows, temperature, shape, b, nodes)
    diff = np.array([va[root] - vb[root] for root in sorted(va.keys() & vb.keys())])
    if diff.size < 2:
        raise ValueError(f"rows: fewer than two trees hold both {a!r} and {b!r} ({shape}, {nodes} nodes, T = {temperature})")
    return float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(diff.size)), int(diff.size)


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
