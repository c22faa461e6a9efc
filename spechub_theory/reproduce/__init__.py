"""Reproduce the SpecHub paper's figures and claims from the library and the shipped data.

:func:`reproduce` runs every figure (one module each, ``compute`` then ``plot``), writes
``NAME.{png,pdf,csv,json}`` per figure, then the claims table (``claims.{csv,json,tex}``) and the
numbers the report quotes (``numbers.tex``), each with the command and versions that made it.
``spechub-theory reproduce [--quick]`` and the scripts in the repository's ``figures/`` call it;
the LaTeX report in ``paper/`` reads only these files.

Nothing but this module's own outputs is replaced: the output folder carries a manifest of the
files written there (:class:`spechub_theory.outputs.OutputFolder`), a file of the same name that
it does not list is refused before any work, and a quick run never replaces a full run's files
(it writes to ``figures/quick/`` by default, which git ignores).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib import import_module
from pathlib import Path

from ..logged import load_logged
from . import real_trees
from .claims import Claim, evaluate, latex_table, text_table
from .fig1_tokens_per_step import IID, REAL, rows_of
from ..outputs import OutputFolder
from .common import figure_files, provenance, rows_csv, write_figure

#: The figures, in the order they run and are numbered.
FIGURES = (
    "fig1_tokens_per_step",
    "fig2_temperature_sweep",
    "fig3_per_draft_acceptance",
    "fig4_gap_to_optimum",
    "fig5_vocab_and_drafts",
    "fig6_where_spechub_loses",
    "fig7_optimal_trees",
    "fig8_tree_ceiling",
    "fig9_speedup",
    "fig10_tree_verifiers",
)


#: What :func:`reproduce` writes besides the figures.
CLAIM_FILES = ("claims.csv", "claims.json", "claims.tex", "numbers.tex")
#: Who writes the output folders (the manifest's ``writer``).
WRITER = "spechub-theory reproduce"


def default_out(quick: bool, figures: Path = Path("figures")) -> Path:
    """Where a run writes when no folder is given: ``figures`` for the full run, ``figures/quick`` for a
    quick one, so that a quick run never replaces the committed full run."""
    return figures / "quick" if quick else figures


def _folder(out, quick: bool) -> OutputFolder:
    return out if isinstance(out, OutputFolder) else OutputFolder(out, quick, WRITER)


def run_figure(name: str, out, quick: bool, command: str) -> tuple[list[dict], list[dict]]:
    """Compute, plot and write one figure into ``out`` (a folder, or an
    :class:`~spechub_theory.outputs.OutputFolder`); returns its ``(reproduced, reported)`` rows."""
    if name not in FIGURES:
        raise ValueError(f"figure: unknown figure {name!r}; expected one of {list(FIGURES)}")
    out = _folder(out, quick)
    out.check(figure_files(name))
    module = import_module(f"{__name__}.{name}")
    ours, theirs = module.compute(quick)
    write_figure(module.plot(ours, theirs), out, name, command, ours, theirs)
    return ours, theirs


def _numbers(results: dict) -> str:
    """LaTeX macros for the numbers the report's prose quotes, read from the figures' rows."""
    rows = results["fig1_tokens_per_step"][0]
    tree = {(r["temperature"], r["nodes"], r["method"]): r["tokens_per_step"] for r in rows_of(rows, IID)}
    real = {(r["temperature"], r["nodes"], r["method"]): r for r in rows_of(rows, REAL)}
    summary = real_trees.load()
    drafts = {(r["temperature"], r["method"], r["metric"]): r["value"] for r in results["fig3_per_draft_acceptance"][0]}
    data = load_logged()
    macros = {"DraftModel": data.meta["models"]["draft"], "NPositions": f"{len(data)}",
              "SingleAcceptanceTOne": f"{drafts[(1.0, 'single', 'accept_draft1')]:.3f}",
              "SingleAcceptanceTSix": f"{drafts[(0.6, 'single', 'accept_draft1')]:.3f}"}
    for t, tag in ((0.6, "Six"), (1.0, "One")):
        for method, name in (("rrs", "Rrs"), ("rrs_wo", "RrsWo"), ("spechub", "Spechub")):
            macros[f"Tps{name}T{tag}"] = f"{tree[(t, 31, method)]:.3f}"
            r = real[(t, 31, method)]
            macros[f"RealTps{name}T{tag}"] = f"${r['tokens_per_step']:.3f} \\pm {r['standard_error']:.3f}$"
        for worse, name in (("rrs", "Rrs"), ("rrs_wo", "Wo")):
            mean, se = real_trees.paired_gap(summary, "spechub", worse, t, 31)
            macros[f"RealGapHub{name}T{tag}"] = f"${mean:+.3f} \\pm {se:.3f}$"
    macros["RealTreeRoots"] = f"{real[(1.0, 31, 'rrs')]['roots']}"
    macros["RealTreesPerRoot"] = f"{real[(1.0, 31, 'rrs')]['trees'] // real[(1.0, 31, 'rrs')]['roots']}"
    record = json.loads((Path(str(real_trees.SUMMARY))).with_suffix(".json").read_text())
    names = {"spechub - rrs": "HubRrs", "spechub - rrs_wo": "HubWo", "rrs_wo - rrs": "WoRrs"}
    levers = {"independent": "Independent", "common": "Common", "averaged": "Averaged", "replicates": "Replicates",
              "controls": "Controls"}
    for r in record.get("standard_errors_by_lever", []):
        tag = {0.6: "Six", 1.0: "One"}[r["temperature"]]
        for lever, name in levers.items():
            if r.get(lever) is not None:
                macros[f"RealSe{name}{names[r['gap']]}T{tag}"] = f"{r[lever]:.3f}"
    speed = [r for r in results["fig9_speedup"][0] if r["fastest"]]
    for r in speed:
        if r["profile"] == "gpu-like":
            tag = {0.6: "Six", 1.0: "One"}[r["temperature"]]
            name = {"rrs": "Rrs", "rrs_wo": "RrsWo", "spechub": "Spechub"}[r["method"]]
            macros[f"Speedup{name}T{tag}"] = f"{r['speedup']:.2f}"
            macros[f"SpeedupNodes{name}T{tag}"] = f"{r['nodes']}"
    cpu = [r["speedup"] for r in results["fig9_speedup"][0] if r["profile"] == "cpu" and r["nodes"] > 1]
    macros["SpeedupCpuBest"] = f"{max(cpu):.2f}"
    macros.update(import_module(f"{__name__}.fig8_tree_ceiling").numbers(results["fig8_tree_ceiling"][0]))
    tv = results["fig10_tree_verifiers"][0]
    for t, tag in ((0.6, "Six"), (1.0, "One")):
        for shape, depth, method, name in (("full binary", 5, "traversal_wo", "Traversal"), ("chain", 5, "block", "Block")):
            r = next(r for r in tv if r["temperature"] == t and r["shape"] == shape and r["depth"] == depth
                     and r["method"] == method and r["model"] == "i.i.d. nodes")
            macros[f"{name}GapT{tag}"] = f"${r['gap']:+.3f} \\pm {r['standard_error']:.3f}$"
            macros[f"{name}TpsT{tag}"] = f"{r['tokens_per_step']:.3f}"
        r = next(r for r in tv if r["temperature"] == t and r["shape"] == "full binary" and r["depth"] == 5
                 and r["method"] == "topk" and r["model"] == "i.i.d. nodes")
        macros[f"TopkTpsT{tag}"] = f"{r['tokens_per_step']:.3f}"
        real = {(r["shape"], r["method"], r["nodes"]): r for r in tv if r["temperature"] == t and r["model"] == "real trees"}
        for key, name in ((("full binary", "traversal_wo", 31), "RealTraversal"), (("chain", "block", 6), "RealBlock")):
            r = real[key]
            macros[f"{name}GapT{tag}"] = f"${r['gap']:+.3f} \\pm {r['gap_se']:.3f}$"
        for key, name in ((("full binary", "rrs_wo", 31), "RealRrsWo"), (("full binary", "topk", 31), "RealTopk"),
                          (("EAGLE-2 budget", "eagle", 31), "RealEagle"), (("chain", "single", 6), "RealSingleChain")):
            r = real[key]
            macros[f"{name}TpsT{tag}"] = f"${r['tokens_per_step']:.3f} \\pm {r['standard_error']:.3f}$"
        macros["RealTreeVerifierTrees"] = f"{real[('full binary', 'rrs_wo', 31)]['trees']}"
    return "".join(f"\\newcommand{{\\{k}}}{{{v}}}\n" for k, v in macros.items())


def reproduce(out, quick: bool = False, command: str | None = None, stream=sys.stderr) -> list[Claim]:
    """Every figure into ``out``, then the claims table; progress lines go to ``stream``.

    ``quick`` uses the first positions of the shipped data and smaller synthetic grids (under two
    minutes on two cores); the full run is the README's main job. ``out`` is None for
    :func:`default_out`. Files of the same names in ``out`` are replaced only when they are this
    function's own outputs (see the module docstring); anything else there is refused before any
    work starts.
    """
    out = Path(default_out(quick) if out is None else out)
    folder = OutputFolder(out, quick, WRITER)
    folder.check([f for name in FIGURES for f in figure_files(name)] + list(CLAIM_FILES))
    out.mkdir(parents=True, exist_ok=True)  # an unwritable place fails here, before any work
    command = command or f"spechub-theory reproduce{' --quick' if quick else ''} --out {out}"
    print(f"writing to {out}{' (a quick run: the committed full run is untouched)' if quick else ''}",
          file=stream, flush=True)
    results = {}
    start = time.perf_counter()
    for i, name in enumerate(FIGURES, 1):
        print(f"[{i}/{len(FIGURES) + 1}] {name} ...", end="", file=stream, flush=True)
        tic = time.perf_counter()
        results[name] = run_figure(name, folder, quick, command)
        print(f" {time.perf_counter() - tic:.1f} s", file=stream, flush=True)
    print(f"[{len(FIGURES) + 1}/{len(FIGURES) + 1}] claims ...", end="", file=stream, flush=True)
    claims = evaluate(results)
    folder.write_text("claims.csv", rows_csv([c.as_dict() for c in claims]))
    record = {"provenance": provenance(command), "quick": quick, "claims": [c.as_dict() for c in claims]}
    folder.write_text("claims.json", json.dumps(record, indent=2))
    folder.write_text("claims.tex", latex_table(claims))
    folder.write_text("numbers.tex", _numbers(results))
    print(f" done; {time.perf_counter() - start:.1f} s in all; wrote {len(folder.manifest['files'])} files to {out}",
          file=stream, flush=True)
    return claims


def figure_main(name: str, figures: Path, argv=None) -> int:
    """The command line of a script in ``figures/``: ``[--quick] [--out DIR]``; ``figures`` is the
    folder of the full run (a quick run defaults to its ``quick/`` subfolder)."""
    parser = argparse.ArgumentParser(description=import_module(f"{__name__}.{name}").__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help=f"output folder (default {figures}, or {default_out(True, figures)} with --quick)")
    parser.add_argument("--quick", action="store_true", help="fewer positions and smaller grids")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    out = default_out(args.quick, figures) if args.out is None else args.out
    command = f"python figures/{name}.py{' --quick' if args.quick else ''} --out {out}"
    try:
        run_figure(name, out, args.quick, command)
    except (ValueError, OSError) as err:
        print(f"{name}: {err}", file=sys.stderr)
        return 2
    print(f"wrote {', '.join(str(out / f) for f in figure_files(name))}")
    return 0


__all__ = ["FIGURES", "Claim", "default_out", "figure_main", "reproduce", "run_figure", "text_table"]
