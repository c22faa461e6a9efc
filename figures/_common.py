"""What every figure script shares: the reported numbers, provenance, and writing the outputs."""

from __future__ import annotations

import csv
import datetime
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
REPORTED = HERE / "reference" / "spechub_reported.csv"
METHODS = ("rrs", "rrs_wo", "spechub")
COLORS = {"rrs": "tab:blue", "rrs_wo": "tab:orange", "spechub": "tab:green"}
LABELS = {"rrs": "RRS", "rrs_wo": "RRS w/o replacement", "spechub": "SpecHub"}


def reported(table: str, temperatures) -> list[dict]:
    """The authors' tokens per step in ``table`` for llama-68m / Llama-2-7B on CNN/DailyMail."""
    rows = []
    with open(REPORTED, newline="") as f:
        for r in csv.DictReader(f):
            if (
                r["table"] == table
                and r["draft"] == "JackFram/llama-68m"
                and r["target"] == "meta-llama/Llama-2-7b-chat-hf"
                and r["dataset"] == "cnn_dailymail"
                and float(r["temperature"]) in temperatures
                and r["method"] in METHODS
            ):
                rows.append(
                    {
                        "temperature": float(r["temperature"]),
                        "method": r["method"],
                        "nodes": int(r["tree"].split("-")[1]),
                        "tokens_per_step": float(r["value"]),
                    }
                )
    return rows


def tokens_per_step_rows(temperatures, sizes, positions: int | None = None) -> list[dict]:
    """Exact tokens per step of full binary trees on the shipped data (i.i.d. node pool), one row per
    (temperature, method, size)."""
    import spechub_theory as st

    rows = []
    for temperature in temperatures:
        data = st.load_logged(temperature=temperature)
        pool = st.NodePool(data.p, data.q, positions=positions)
        for method in METHODS:
            for nodes in sizes:
                value = st.tokens_per_step(st.Tree.full(2, nodes), method, pool)
                rows.append({"temperature": temperature, "method": method, "nodes": nodes, "tokens_per_step": value})
    return rows


def provenance(name: str, argv: list[str]) -> dict:
    """The command (the script with ``argv``), library versions and commit that made a figure."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    packages = ("spechub-theory", "numpy", "scipy", "numba", "matplotlib")
    return {
        "command": " ".join(["python", f"figures/{name}.py", *argv]),
        "versions": {pkg: importlib.metadata.version(pkg) for pkg in packages},
        "commit": commit,
        "python": sys.version.split()[0],
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }


def main(name: str, doc: str, reproduce, table: str, temperatures, plot, argv=None) -> int:
    """A figure script's command line: reproduce the numbers, read the reported ones, plot, write.

    ``reproduce(positions)`` and ``plot(ours, theirs)`` are the script's own; ``table`` names the
    rows of ``reference/spechub_reported.csv`` to show beside them.
    """
    import argparse

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--positions", type=int, help="use only the first positions of the shipped data")
    args = parser.parse_args(argv)
    ours, theirs = reproduce(args.positions), reported(table, temperatures)
    write(plot(ours, theirs), args.out, name, argv, ours, theirs)
    return 0


def write(fig, out: Path, name: str, argv: list[str], ours: list[dict], theirs: list[dict]) -> None:
    """``name.png``, ``name.pdf``, the plotted numbers as ``name.csv`` and ``name.json`` with provenance."""
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    for suffix in ("png", "pdf"):
        fig.savefig(out / f"{name}.{suffix}", dpi=150)
    plt.close(fig)
    with open(out / f"{name}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["source", "temperature", "method", "nodes", "tokens_per_step"])
        writer.writeheader()
        for source, rows in (("reproduced", ours), ("reported", theirs)):
            for r in rows:
                writer.writerow({"source": source, **r})
    record = {"provenance": provenance(name, argv), "reproduced": ours, "reported": theirs}
    (out / f"{name}.json").write_text(json.dumps(record, indent=2))
