"""Tokens per step on real draft trees: each logged tree's exact value, shipped as a small summary.

The trees were grown by the real models along text the target generates
(``spechub-theory collect-trees --out DIR --roots 480 --trees-per-root 2 --laws iid wo hub top
eagle``: 480 roots, two 31-node binary trees per root, draft law and temperature, drawn from common
random numbers; 49 minutes on two CPU cores after 12 minutes of sampling the contexts, 3.0 GB,
not shipped).
``python -m spechub_theory.reproduce.real_trees DIR`` reduces such a log to
``data/real_trees.csv``: for every tree, method and binary-tree size (3, 7, 15, 31 nodes, the
smaller ones being the trees' top levels), the tree's tokens per step, exact given its drafts above
the last level and averaged exactly over the last level's drafts
(:meth:`spechub_theory.LoggedTrees.per_tree`, ``average_last_level=True``). ``data/real_trees.json`` keeps the log's metadata
(models, hashes, versions, the command) and the reducing command.

Figure 1 plots their means over roots with standard errors beside the i.i.d.-node model; the
report and the claims compare methods paired by root and replicate (:func:`paired_gap`), which
removes the spread between contexts, with the control variates (:func:`adjusted`) removing much of
the rest; :func:`levers` reports what each variance-reduction lever bought.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np

from ..logged import load_logged
from ..outputs import check_replaceable, write_text
from ..tree.verifiers import NODE_METHODS, sibling_law
from ..trees import LoggedTrees, Tree
from .common import TREE_METHODS, provenance

SUMMARY = files("spechub_theory") / "data" / "real_trees.csv"
COLUMNS = ("temperature", "method", "nodes", "root", "tree", "tokens_per_step", "controls")
SIZES = (3, 7, 15, 31)
#: The paired gaps whose standard errors by lever (:func:`levers`) the summary's record keeps.
GAPS = (("spechub", "rrs"), ("spechub", "rrs_wo"), ("rrs_wo", "rrs"))


def has_header(path: Path, columns) -> bool:
    """Whether ``path`` is a CSV file whose header is ``columns`` (a summary of this package)."""
    try:
        with open(path, newline="") as f:
            return path.is_file() and tuple(next(csv.reader(f), ())) == tuple(columns)
    except (OSError, UnicodeDecodeError, csv.Error):
        return False


def summary_target(out, overwrite: bool, columns, kind: str, inputs) -> tuple[Path, Path]:
    """``(out, sidecar)`` for a summary CSV and its ``.json`` record, checked before any work: ``out``
    is replaced only with ``overwrite`` and when it has the summary's header, and the sidecar only
    when it is that summary's record."""
    out = Path(str(out))
    check_replaceable(out, "out", overwrite, lambda path: has_header(path, columns), kind, inputs=inputs)
    sidecar = out.with_suffix(".json")
    if out.suffix == ".json" or (sidecar.exists() and not out.exists()):
        raise ValueError(f"out: {sidecar} would be replaced but is not this summary's record; choose another path")
    return out, sidecar


def write_summary(out: Path, sidecar: Path, columns, rows, record: dict) -> Path:
    """Write ``rows`` under ``columns`` to ``out`` and ``record`` to ``sidecar``, each atomically."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(columns)
    writer.writerows(rows)
    write_text(sidecar, json.dumps(record, indent=2))
    write_text(out, text.getvalue())
    return out


def read_summary(path, columns, convert, kind: str) -> list[dict]:
    """The rows of a summary CSV, each through ``convert``; a corrupt file is an error naming it as
    not ``kind``."""
    path = Path(str(path))
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if tuple(reader.fieldnames or ()) != tuple(columns):
                raise ValueError(f"columns {reader.fieldnames}, expected {list(columns)}")
            return [convert(r) for r in reader]
    except (OSError, ValueError, TypeError, csv.Error) as err:
        raise ValueError(f"path: {path} is not {kind} ({err})") from None


def summarize(tree_log, out=SUMMARY, temperatures=(0.6, 1.0), overwrite: bool = False) -> Path:
    """Write the per-tree values of the tree log at ``tree_log`` to ``out`` (CSV) and its ``.json``.

    Each value is the tree's tokens per step averaged exactly over its last level of drafts
    (:meth:`spechub_theory.LoggedTrees.per_tree` with ``average_last_level=True``: the same mean,
    a smaller spread), per root and replicate (``tree``). An existing ``out`` is replaced only with
    ``overwrite=True`` and only when it is such a summary (its header); both files are written
    atomically, after all the work.
    """
    out, sidecar = summary_target(out, overwrite, COLUMNS, "a real-tree summary of this library", [tree_log])
    rows, reductions = [], []
    for temperature in temperatures:
        data = load_logged(tree_log, temperature=temperature)
        source = LoggedTrees(data)
        if source.branching != 2:
            raise ValueError(f"tree_log: {data.path} holds {source.branching}-ary trees; the summary is of binary trees")
        largest = Tree.full(2, SIZES[source.depth - 1])
        for a, b in GAPS:
            reductions.append({"temperature": temperature, "gap": f"{a} - {b}", "nodes": largest.n_nodes,
                               **levers(source, largest, a, b)})
        for method in TREE_METHODS:
            for nodes in SIZES[: source.depth]:
                tree = Tree.full(2, nodes)
                values = source.per_tree(tree, method, average_last_level=True)
                z = source.controls(tree, method, average_last_level=True)
                rows += [(temperature, method, nodes, int(c), int(r), f"{v:.12g}", format_controls(zs)) for c, r, v, zs in
                         zip(source.contexts(tree, method), source.replicates(tree, method), values, z)]
    meta = {key: data.meta.get(key) for key in ("models", "hashes", "versions", "command", "tree", "max_tail_mass", "seed")}
    command = f"python -m spechub_theory.reproduce.real_trees {tree_log}"
    return write_summary(out, sidecar, COLUMNS, rows, {"tree_log": meta, "provenance": provenance(command),
                                                       "values": "averaged over the last level of drafts",
                                                       "standard_errors_by_lever": reductions})


def load(path=SUMMARY) -> list[dict]:
    """The rows of a summary written by :func:`summarize`; a corrupt file is an error naming it."""
    rows = read_summary(path, COLUMNS, lambda r: {
        "temperature": float(r["temperature"]), "method": r["method"], "nodes": int(r["nodes"]),
        "root": int(r["root"]), "tree": int(r["tree"]), "tokens_per_step": float(r["tokens_per_step"]),
        "controls": parse_controls(r["controls"])}, "a real-trees summary")
    if not rows or any(not 1.0 <= r["tokens_per_step"] <= math.log2(r["nodes"] + 1) for r in rows):
        raise ValueError(f"path: {path} holds no rows or a value outside [1, depth + 1]")
    return rows


def keyed_values(rows, **key) -> dict[tuple[int, int], float]:
    """``{(root, tree): tokens_per_step}`` of the rows whose fields equal ``key`` (e.g. ``method="rrs"``)."""
    return {(r["root"], r["tree"]): r["tokens_per_step"] for r in rows if all(r[f] == v for f, v in key.items())}


def root_mean(values: dict[tuple[int, int], float]) -> tuple[float, float, int]:
    """``(mean, standard error, roots)`` of values keyed by ``(root, tree)``: the mean over roots of each
    root's mean over its trees, and its standard error over roots. Trees grown at one root share its
    context (and, across laws, their random numbers), so they are not independent; the roots are."""
    by_root: dict[int, list[float]] = {}
    for (root, _), v in values.items():
        by_root.setdefault(root, []).append(v)
    m = np.array([np.mean(v) for v in by_root.values()])
    if m.size < 2:
        raise ValueError(f"rows: {m.size} root(s) hold these values; a standard error needs two")
    return float(m.mean()), float(m.std(ddof=1) / math.sqrt(m.size)), int(m.size)


def keyed_means(rows, fields) -> list[dict]:
    """:func:`root_mean` of every combination of ``fields`` in ``rows``: those fields, ``tokens_per_step``,
    ``standard_error``, ``trees`` and ``roots``."""
    out = []
    for key in sorted({tuple(r[f] for f in fields) for r in rows}):
        values = keyed_values(rows, **dict(zip(fields, key)))
        mean, se, roots = root_mean(values)
        out.append(dict(zip(fields, key), tokens_per_step=mean, standard_error=se, trees=len(values), roots=roots))
    return out


def format_controls(z) -> str:
    """A tree's control variates (:meth:`spechub_theory.LoggedTrees.controls`) as one CSV cell."""
    return ";".join(f"{x:.12g}" for x in z)


def parse_controls(text: str) -> np.ndarray:
    """The control variates of a CSV cell written by :func:`format_controls` (empty: none)."""
    return np.array([float(x) for x in text.split(";")]) if text else np.zeros(0)


def adjusted(values: dict[tuple[int, int], float], controls: dict[tuple[int, int], np.ndarray]) -> dict:
    r"""``values`` (keyed by ``(root, tree)``) less a cross-fitted multiple of their control variates.

    The roots are split in two folds (alternately, in root order); each fold's values become
    ``y - Z beta``, with ``beta`` the least-squares coefficients (with an intercept) of ``y`` on ``Z``
    fitted on the *other* fold. Every control has mean exactly 0 at every context
    (:meth:`spechub_theory.LoggedTrees.controls`) and a fold's ``beta`` depends only on the other
    fold's contexts and trees, so ``E[Z beta] = E[Z] E[beta] = 0``: the adjusted values keep the
    expectation of the values exactly, and lose the part of their spread the controls explain.
    Controls that are 0 on every tree are left out; without any, ``values`` is returned as is.
    """
    keys = sorted(values)
    z = np.array([controls.get(key, np.zeros(0)) for key in keys])
    z = z[:, np.abs(z).sum(axis=0) > 0] if z.ndim == 2 and z.size else np.zeros((len(keys), 0))
    if z.shape[1] == 0:
        return dict(values)
    roots = sorted({key[0] for key in keys})
    fold = {root: i % 2 for i, root in enumerate(roots)}
    f = np.array([fold[key[0]] for key in keys])
    y = np.array([values[key] for key in keys])
    out = y.copy()
    for g in (0, 1):
        train = f != g
        design = np.column_stack([np.ones(int(train.sum())), z[train]])
        beta = np.linalg.lstsq(design, y[train], rcond=None)[0][1:]
        out[f == g] = y[f == g] - z[f == g] @ beta
    return dict(zip(keys, out.tolist()))


def keyed_controls(rows, **key) -> dict[tuple[int, int], np.ndarray]:
    """``{(root, tree): controls}`` of the rows whose fields equal ``key`` (as :func:`keyed_values`)."""
    return {(r["root"], r["tree"]): r.get("controls", np.zeros(0)) for r in rows
            if all(r[f] == v for f, v in key.items())}


def keyed_gap(rows, a: dict, b: dict, adjust: bool = True) -> tuple[float, float, int]:
    """:func:`root_mean` of the differences between the rows matching ``a`` and ``b``, paired by
    ``(root, tree)`` (the same context and random numbers); with ``adjust``, less the cross-fitted
    multiple of both sides' control variates (:func:`adjusted`): the same expectation, a smaller
    standard error (an estimate, as every standard error here)."""
    va, vb = keyed_values(rows, **a), keyed_values(rows, **b)
    keys = sorted(va.keys() & vb.keys())
    diff = {key: va[key] - vb[key] for key in keys}
    if adjust:
        za, zb = keyed_controls(rows, **a), keyed_controls(rows, **b)
        diff = adjusted(diff, {key: np.concatenate([za.get(key, np.zeros(0)), zb.get(key, np.zeros(0))]) for key in keys})
    return root_mean(diff)


def means(rows) -> list[dict]:
    """Mean tokens per step and its standard error over roots, per temperature, method and size."""
    return keyed_means(rows, ("temperature", "method", "nodes"))


def paired_gap(rows, a: str, b: str, temperature: float, nodes: int) -> tuple[float, float]:
    """Mean and standard error of ``a`` minus ``b`` paired by root and tree (:func:`keyed_gap`)."""
    mean, se, _ = keyed_gap(rows, dict(temperature=temperature, method=a, nodes=nodes),
                            dict(temperature=temperature, method=b, nodes=nodes))
    return mean, se


def levers(source: LoggedTrees, tree, a: str, b: str, average: bool = True) -> dict:
    """What each variance-reduction lever buys on the paired gap ``a - b`` of a tree log.

    Every entry is the standard error of the mean gap over the log's roots, with one tree per root
    unless said: ``independent``, ``a``'s replicate 0 against ``b``'s replicate 1 (independent
    draws at one context, as separately seeded trees would be; needs two replicates, and equals
    ``common`` when ``a`` and ``b`` verify one law's trees); ``common``, both on replicate 0
    (common random numbers); ``averaged``, as ``common`` with both values averaged over the last
    level (``average``); ``replicates``, as ``averaged`` (or ``common``) with each root's mean over
    all its replicates; ``controls``, as ``replicates`` less the cross-fitted multiple of the
    node-wise methods' control variates (:func:`adjusted`), the estimator :func:`keyed_gap` uses.
    ``roots`` and ``trees_per_root`` say what the log holds.
    """
    k = len(tree.children[0])
    shared = sibling_law(a, k) == sibling_law(b, k)
    contexts, reps = source.contexts(tree, a), source.replicates(tree, a)
    if not (np.array_equal(contexts, source.contexts(tree, b)) and np.array_equal(reps, source.replicates(tree, b))):
        raise ValueError(f"tree_log: the trees of {a!r} and {b!r} do not pair by root and replicate")
    m = int(reps.max()) + 1
    exact = {x: source.per_tree(tree, x) for x in (a, b)}
    smooth = {x: source.per_tree(tree, x, average_last_level=True) for x in (a, b)} if average else exact

    def se(va, vb, ra=0, rb=0):
        diff = va[reps == ra] - vb[reps == rb]
        return float(diff.std(ddof=1) / math.sqrt(diff.size))

    out = {"roots": int((reps == 0).sum()), "trees_per_root": m,
           "common": se(exact[a], exact[b]),
           "independent": (se(exact[a], exact[b]) if shared else se(exact[a], exact[b], 0, 1)) if m > 1 or shared else None}
    if average:
        out["averaged"] = se(smooth[a], smooth[b])
    diff = {(int(c), int(r)): float(d) for c, r, d in zip(contexts, reps, smooth[a] - smooth[b])}
    out["replicates"] = root_mean(diff)[1]
    z = [source.controls(tree, x, average_last_level=average) if x in NODE_METHODS else np.zeros((len(contexts), 0))
         for x in (a, b)]
    out["controls"] = root_mean(adjusted(diff, dict(zip(diff, np.hstack(z)))))[1]
    return out


def main(argv=None) -> int:
    """``python -m spechub_theory.reproduce.real_trees TREE_LOG [--out CSV] [--overwrite]``."""
    parser = argparse.ArgumentParser(prog="python -m spechub_theory.reproduce.real_trees",
                                     description="Reduce a tree log to its per-tree exact tokens per step.")
    parser.add_argument("tree_log", type=Path, help="a dataset written by spechub-theory collect-trees")
    parser.add_argument("--out", type=Path, default=Path(str(SUMMARY)), help="summary CSV to write (default: the shipped one)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing summary at --out")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        print(f"wrote {summarize(args.tree_log, args.out, overwrite=args.overwrite)}")
    except (ValueError, OSError) as err:
        print(f"real_trees: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
