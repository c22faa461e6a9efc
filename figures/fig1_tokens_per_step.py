"""Figure 1 analogue: tokens per step against the size of a full binary token tree.

RRS, RRS without replacement and SpecHub on the shipped SmolLM2-135M-Instruct / early-exit-draft
data (node pairs drawn i.i.d. from its positions, exact values from
:func:`spechub_theory.tokens_per_step`), at temperatures 0.6 and 1.0, beside the values the SpecHub
authors reported for Llama-2-7B with JackFram/llama-68m on CNN/DailyMail (Sun et al., EMNLP 2024;
``reference/spechub_reported.csv``).

    python figures/fig1_tokens_per_step.py [--out DIR] [--positions N]

writes ``fig1_tokens_per_step.{png,pdf,csv,json}``; the JSON records the command and versions.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import spechub_theory as st  # noqa: E402

HERE = Path(__file__).resolve().parent
REPORTED = HERE / "reference" / "spechub_reported.csv"
SIZES = (3, 7, 15, 31)
METHODS = ("rrs", "rrs_wo", "spechub")
TEMPERATURES = (0.6, 1.0)
NAME = "fig1_tokens_per_step"


def reproduced(positions: int | None = None) -> list[dict]:
    """Exact tokens per step on the shipped data, one row per (temperature, method, size)."""
    rows = []
    for temperature in TEMPERATURES:
        data = st.load_logged(temperature=temperature)
        pool = st.NodePool(data.p, data.q, positions=positions)
        for method in METHODS:
            for nodes in SIZES:
                value = st.tokens_per_step(st.Tree.full(2, nodes), method, pool)
                rows.append({"temperature": temperature, "method": method, "nodes": nodes, "tokens_per_step": value})
    return rows


def reported() -> list[dict]:
    """The authors' values for the same methods, sizes and temperatures (llama-68m / Llama-2-7B, CNN/DM)."""
    rows = []
    with open(REPORTED, newline="") as f:
        for r in csv.DictReader(f):
            if (
                r["table"] == "binary_trees_sequoia"
                and r["draft"] == "JackFram/llama-68m"
                and r["target"] == "meta-llama/Llama-2-7b-chat-hf"
                and r["dataset"] == "cnn_dailymail"
                and float(r["temperature"]) in TEMPERATURES
            ):
                nodes = int(r["tree"].split("-")[1])
                rows.append({"temperature": float(r["temperature"]), "method": r["method"], "nodes": nodes,
                             "tokens_per_step": float(r["value"])})
    return rows


def provenance(argv: list[str]) -> dict:
    """The command (this script with ``argv``), library versions and commit that made the figure."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    versions = {pkg: importlib.metadata.version(pkg) for pkg in ("spechub-theory", "numpy", "scipy", "numba", "matplotlib")}
    command = " ".join(["python", f"figures/{NAME}.py", *argv])
    return {"command": command, "versions": versions, "commit": commit,
            "python": sys.version.split()[0], "date": datetime.datetime.now(datetime.timezone.utc).isoformat()}


def plot(ours: list[dict], theirs: list[dict], out: Path) -> list[Path]:
    fig, axes = plt.subplots(1, len(TEMPERATURES), figsize=(9, 4.2), sharey=True)
    colors = {"rrs": "tab:blue", "rrs_wo": "tab:orange", "spechub": "tab:green"}
    labels = {"rrs": "RRS", "rrs_wo": "RRS w/o replacement", "spechub": "SpecHub"}
    for ax, temperature in zip(axes, TEMPERATURES):
        for method in METHODS:
            for rows, style, who in ((ours, "-o", "SmolLM2 (here)"), (theirs, "--s", "Llama-2 (reported)")):
                pts = sorted((r["nodes"], r["tokens_per_step"]) for r in rows
                             if r["method"] == method and r["temperature"] == temperature)
                if pts:
                    ax.plot(*zip(*pts), style, color=colors[method], label=f"{labels[method]}, {who}", ms=4)
        ax.set_xscale("log", base=2)
        ax.set_xticks(SIZES, [str(s) for s in SIZES])
        ax.set_xlabel("nodes in the binary tree")
        ax.set_title(f"T = {temperature}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("tokens per step")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    paths = [out / f"{NAME}.png", out / f"{NAME}.pdf"]
    for path in paths:
        fig.savefig(path, dpi=150)
    plt.close(fig)
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--positions", type=int, help="use only the first positions of the shipped data")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    ours, theirs = reproduced(args.positions), reported()
    plot(ours, theirs, args.out)
    with open(args.out / f"{NAME}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["source", "temperature", "method", "nodes", "tokens_per_step"])
        writer.writeheader()
        for source, rows in (("reproduced", ours), ("reported", theirs)):
            for r in rows:
                writer.writerow({"source": source, **r})
    (args.out / f"{NAME}.json").write_text(json.dumps({"provenance": provenance(argv), "reproduced": ours,
                                                        "reported": theirs}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
