"""What every figure shares: the authors' reported numbers, the shipped data in chunks, provenance, output."""

from __future__ import annotations

import csv
import datetime
import io
import importlib.metadata
import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np

from ..logged import load_logged
from ..outputs import OutputFolder
from ..trees import NodePool, Tree, tokens_per_step

#: The reported numbers: Sun, Zhou, Chen, Sun, EMNLP 2024 (arXiv 2411.05289), from the authors'
#: public run logs (repository MasterGodzilla/Speculative_decoding_OT); see ``data/REPORTED.md``.
REPORTED = files("spechub_theory") / "data" / "spechub_reported.csv"
#: The pairing the paper's Figure 1 uses: JackFram/llama-68m drafting for Llama-2-7B-chat on CNN/DailyMail.
PAIRING = {"draft": "JackFram/llama-68m", "target": "meta-llama/Llama-2-7b-chat-hf", "dataset": "cnn_dailymail"}
TREE_METHODS = ("rrs", "rrs_wo", "spechub")
COLORS = {"single": "tab:gray", "rrs": "tab:blue", "rrs_wo": "tab:orange", "spechub": "tab:green",
          "kseq": "tab:red", "nss": "tab:brown", "greedy": "tab:purple"}
LABELS = {"single": "single draft", "rrs": "RRS", "rrs_wo": "RRS w/o replacement", "spechub": "SpecHub",
          "kseq": "K-SEQ", "nss": "NSS", "greedy": "greedy top-(k-1)"}
#: Positions of the shipped data a ``--quick`` run uses (the full run uses all of them).
QUICK_POSITIONS = 120


def reported(table: str, temperatures=None, methods=TREE_METHODS) -> list[dict]:
    """Rows of the reported CSV for ``table`` and :data:`PAIRING`: temperature, method, tree, metric, value."""
    rows = []
    with REPORTED.open(newline="") as f:
        for r in csv.DictReader(f):
            if r["table"] != table or any(r[key] != value for key, value in PAIRING.items()):
                continue
            if (temperatures is None or float(r["temperature"]) in temperatures) and r["method"] in methods:
                rows.append({"temperature": float(r["temperature"]), "method": r["method"], "tree": r["tree"],
                             "metric": r["metric"], "value": float(r["value"])})
    return rows


def positions(quick: bool) -> int | None:
    """How many shipped positions a run uses: :data:`QUICK_POSITIONS` when quick, else all."""
    return QUICK_POSITIONS if quick else None


def shipped_rows(temperature: float, fn, n: int | None, chunk: int = 128) -> np.ndarray:
    """``fn(p, q)`` (one value or row per position) over the shipped positions at ``temperature``, stacked."""
    data = load_logged(temperature=temperature)
    size = len(data) if n is None else min(n, len(data))
    return np.concatenate([fn(data.p[s:min(size, s + chunk)], data.q[s:min(size, s + chunk)])
                           for s in range(0, size, chunk)])


def binary_tree_rows(temperatures, sizes, n: int | None) -> list[dict]:
    """Exact tokens per step of full binary trees on the shipped data (i.i.d. node pool)."""
    rows = []
    for temperature in temperatures:
        data = load_logged(temperature=temperature)
        pool = NodePool(data.p, data.q, positions=n)
        for method in TREE_METHODS:
            for nodes in sizes:
                value = tokens_per_step(Tree.full(2, nodes), method, pool)
                rows.append({"temperature": temperature, "method": method, "nodes": nodes, "tokens_per_step": value})
    return rows


def reported_binary_trees(table: str, temperatures) -> list[dict]:
    """The reported tokens per step of ``binary-N`` trees, as rows like :func:`binary_tree_rows`."""
    return [{"temperature": r["temperature"], "method": r["method"], "nodes": int(r["tree"].split("-")[1]),
             "tokens_per_step": r["value"]}
            for r in reported(table, temperatures) if r["metric"] == "tokens_per_step"]


def provenance(command: str) -> dict:
    """The command, library versions, commit and time that made an output.

    ``commit`` is the checkout's HEAD, with ``+modified`` when the library's files differ from it.
    """
    package = Path(__file__).resolve().parent.parent

    def git(*args) -> str:
        try:
            return subprocess.run(["git", *args], cwd=package, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""

    commit = git("rev-parse", "HEAD")
    if commit and git("status", "--porcelain", "--", "."):
        commit += "+modified"
    packages = ("spechub-theory", "numpy", "scipy", "numba", "cvxpy", "matplotlib")
    return {
        "command": command,
        "versions": {pkg: importlib.metadata.version(pkg) for pkg in packages},
        "commit": commit,
        "python": sys.version.split()[0],
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }


def rows_csv(rows: list[dict]) -> str:
    """``rows`` as CSV text, the columns being the union of the rows' keys in first-seen order."""
    columns: dict[str, None] = {}
    for r in rows:
        columns.update(dict.fromkeys(r))
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, list(columns))
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def figure_files(name: str) -> tuple[str, ...]:
    """The files :func:`write_figure` writes for figure ``name``."""
    return tuple(f"{name}.{suffix}" for suffix in ("png", "pdf", "csv", "json"))


def write_figure(fig, out: OutputFolder, name: str, command: str, ours: list[dict], theirs: list[dict]) -> None:
    """``name.png``, ``name.pdf``, the plotted numbers as ``name.csv`` and ``name.json`` with provenance,
    each written atomically into ``out`` (:class:`spechub_theory.outputs.OutputFolder`)."""
    import matplotlib.pyplot as plt

    out.check(figure_files(name))
    try:
        for suffix in ("png", "pdf"):
            with out.atomic(f"{name}.{suffix}") as tmp:
                fig.savefig(tmp, dpi=150, format=suffix)
    finally:
        plt.close(fig)
    out.write_text(f"{name}.csv", rows_csv([{"source": "reproduced", **r} for r in ours]
                                           + [{"source": "reported", **r} for r in theirs]))
    record = {"provenance": provenance(command), "reproduced": ours, "reported": theirs}
    out.write_text(f"{name}.json", json.dumps(record, indent=2))


def plot_beside(ax, ours: list[dict], theirs: list[dict], x: str, y: str, methods=TREE_METHODS,
                ours_label: str = "SmolLM2 (here)", **where) -> None:
    """One line per method for the reproduced rows (solid) and the reported ones (dashed), filtered by ``where``."""
    for method in methods:
        for rows, style, who in ((ours, "-o", ours_label), (theirs, "--s", "Llama-2 (reported)")):
            pts = sorted((r[x], r[y]) for r in rows
                         if r["method"] == method and all(r.get(key) == value for key, value in where.items()))
            if pts:
                ax.plot(*zip(*pts), style, color=COLORS[method], label=f"{LABELS[method]}, {who}", ms=4)
