"""Tokens per step on real draft trees: each logged tree's exact value, shipped as a small summary.

The trees were grown by the real models along text the target generates
(``spechub-theory collect-trees --out DIR --roots 200``: 200 roots, a 31-node binary tree per
root, draft law and temperature; 20 minutes on two CPU cores, 520 MB, not shipped).
``python -m spechub_theory.reproduce.real_trees DIR`` reduces such a log to
``data/real_trees.csv``: for every tree, method and binary-tree size (3, 7, 15, 31 nodes, the
smaller ones being the trees' top levels), the tree's tokens per step, exact given its drafts
(:meth:`spechub_theory.LoggedTrees.per_tree`). ``data/real_trees.json`` keeps the log's metadata
(models, hashes, versions, the command) and the reducing command.

Figure 1 plots their means with standard errors beside the i.i.d.-node model; the report compares
methods paired by root, which removes the spread between contexts.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np

from ..logged import load_logged
from ..trees import LoggedTrees, Tree
from .common import TREE_METHODS, provenance

SUMMARY = files("spechub_theory") / "data" / "real_trees.csv"
COLUMNS = ("temperature", "method", "nodes", "root", "tokens_per_step")
SIZES = (3, 7, 15, 31)


def summarize(tree_log, out=SUMMARY, temperatures=(0.6, 1.0), overwrite: bool = False) -> Path:
    """Write the per-tree values of the tree log at ``tree_log`` to ``out`` (CSV) and its ``.json``."""
    out = Path(str(out))
    if out.exists() and not overwrite:
        raise ValueError(f"out: {out} exists; pass overwrite=True to replace it")
    rows = []
    for temperature in temperatures:
        data = load_logged(tree_log, temperature=temperature)
        source = LoggedTrees(data)
        if source.branching != 2:
            raise ValueError(f"tree_log: {data.path} holds {source.branching}-ary trees; the summary is of binary trees")
        for method in TREE_METHODS:
            for nodes in SIZES[: source.depth]:
                tree = Tree.full(2, nodes)
                rows += [(temperature, method, nodes, int(c), f"{v:.12g}")
                         for c, v in zip(source.contexts(tree, method), source.per_tree(tree, method))]
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    meta = {key: data.meta.get(key) for key in ("models", "hashes", "versions", "command", "tree", "max_tail_mass", "seed")}
    command = f"python -m spechub_theory.reproduce.real_trees {tree_log}"
    out.with_suffix(".json").write_text(json.dumps({"tree_log": meta, "provenance": provenance(command)}, indent=2))
    tmp.replace(out)
    return out


def load(path=SUMMARY) -> list[dict]:
    """The rows of a summary written by :func:`summarize`; a corrupt file is an error naming it."""
    path = Path(str(path))
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if tuple(reader.fieldnames or ()) != COLUMNS:
                raise ValueError(f"columns {reader.fieldnames}, expected {list(COLUMNS)}")
            rows = [{"temperature": float(r["temperature"]), "method": r["method"], "nodes": int(r["nodes"]),
                     "root": int(r["root"]), "tokens_per_step": float(r["tokens_per_step"])} for r in reader]
    except (OSError, ValueError, TypeError, csv.Error) as err:
        raise ValueError(f"path: {path} is not a real-trees summary ({err})") from None
    if not rows or any(not 1.0 <= r["tokens_per_step"] <= math.log2(r["nodes"] + 1) for r in rows):
        raise ValueError(f"path: {path} holds no rows or a value outside [1, depth + 1]")
    return rows


def _values(rows, temperature: float, method: str, nodes: int) -> dict[int, float]:
    return {r["root"]: r["tokens_per_step"] for r in rows
            if r["temperature"] == temperature and r["method"] == method and r["nodes"] == nodes}


def means(rows) -> list[dict]:
    """Mean tokens per step and its standard error over trees, per temperature, method and size."""
    out = []
    for key in sorted({(r["temperature"], r["method"], r["nodes"]) for r in rows}):
        v = np.array(list(_values(rows, *key).values()))
        out.append(dict(zip(("temperature", "method", "nodes"), key), tokens_per_step=float(v.mean()),
                        standard_error=float(v.std(ddof=1) / math.sqrt(v.size)), trees=int(v.size)))
    return out


def paired_gap(rows, a: str, b: str, temperature: float, nodes: int) -> tuple[float, float]:
    """Mean and standard error of ``a`` minus ``b`` over the roots both were grown at."""
    va, vb = _values(rows, temperature, a, nodes), _values(rows, temperature, b, nodes)
    diff = np.array([va[root] - vb[root] for root in sorted(va.keys() & vb.keys())])
    return float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(diff.size))


def main(argv=None) -> int:
    """``python -m spechub_theory.reproduce.real_trees TREE_LOG [--overwrite]``."""
    args = sys.argv[1:] if argv is None else argv
    print(f"wrote {summarize(args[0], overwrite='--overwrite' in args)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
