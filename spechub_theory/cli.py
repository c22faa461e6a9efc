"""The ``spechub-theory`` command.

Its commands: ``table`` (the default: every verifier's exact acceptance and every draft law's
optimum against the number of drafts, on a synthetic LLM-like family), ``tree`` (tokens per step on
full binary trees), ``reproduce`` (the SpecHub paper's figures and claims), ``bench`` (benchmarks
as ratios to baselines timed in the same run), ``sweep`` (a grid over a logged dataset on Dask,
the ``sweep`` extra), ``check`` (a user's verifier tested for losslessness) and ``synthetic-data`` (a large LLM-like dataset for it), and with the ``llm``
extra ``collect``, ``collect-trees``, ``validate`` and ``profile`` (the real models).

Every error is one line on standard error naming the flag or file, with exit status 2; Ctrl-C
stops with one line and status 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import numpy as np

from . import bench
from .acceptance import acceptance_rate
from .drafts import DRAFT_LAWS
from .llm import VALIDATED_METHODS as VALIDATED
from .logged import check_temperature, load_logged
from .optimal import optimal_acceptance_rate
from .synthetic import llm_like_logits, process
from .trees import LoggedTrees, NodePool, Tree, tokens_per_step
from .verifiers import VERIFIERS

#: The shipped prompt set (100 prompts in eight MT-Bench-like categories, written for this project).
PROMPTS = Path(__file__).resolve().parent / "data" / "prompts.jsonl"



def acceptance_table(vocab: int, positions: int, ks: list[int], temperature: float, seed: int) -> str:
    """Mean exact acceptance over ``positions`` LLM-like positions, one row per method, one column per k."""
    target, draft = llm_like_logits(positions, vocab, seed=seed)
    p, q = process(target, temperature), process(draft, temperature)
    lines = [
        f"Exact acceptance P(Y in drafts), mean over {positions} LLM-like positions "
        f"(V = {vocab}, T = {temperature}, seed = {seed}); single-draft sum min(p, q) = "
        f"{np.minimum(p, q).sum(-1).mean():.4f}",
        f"{'method':<10}{'drafts':<8}" + "".join(f"{'k=' + str(k):>9}" for k in ks),
    ]
    notes = []
    for name, verifier in VERIFIERS.items():
        cells = []
        for k in ks:
            if not verifier.supports(k):
                cells.append("·")
            else:
                try:  # the library's own cost guard decides what is too expensive, before any work
                    cells.append(f"{np.mean(acceptance_rate(p, q, name, k)):.4f}")
                except ValueError as err:
                    if "max_cost" not in str(err):
                        raise
                    cells.append("—")
                    work = str(err).split(" exceeds max_cost")[0].removeprefix("k: ")
                    notes.append(f"{work}, above the library's default limit; use a smaller --vocab or --positions")
        lines.append(f"{name:<10}{verifier.law:<8}" + "".join(f"{c:>9}" for c in cells))
    for name, law in DRAFT_LAWS.items():
        cells = [
            f"{np.mean(optimal_acceptance_rate(p, q, name, k)):.4f}" if law.supports(k) else "·" for k in ks
        ]
        lines.append(f"{'optimum':<10}{name:<8}" + "".join(f"{c:>9}" for c in cells))
    lines.append("optimum: the best lossless verifier for the draft law (OTM value, subset form)")
    lines.append("· the method is not defined for this k")
    lines.extend(f"— {note}" for note in dict.fromkeys(notes))
    return "\n".join(lines)


def tree_table(methods, sizes, temperatures, data, vocab: int, positions: int, seed: int) -> str:
    """Exact tokens per step on full binary trees of ``sizes`` nodes, one row per (temperature, method).

    Node pairs are drawn i.i.d. from the logged dataset at ``data`` (its first ``positions``
    positions), or from ``positions`` synthetic LLM-like positions when ``data`` is ``"synthetic"``.
    A dataset of logged draft trees (``spechub-theory collect-trees``) is used as logged: the mean
    over its trees of the exact value given their drafts, with the standard error over trees.
    """
    trees = False
    if data == "synthetic":
        target, draft = llm_like_logits(positions, vocab, seed=seed)
        origin = f"node pairs drawn i.i.d. from {positions} synthetic LLM-like positions (V = {vocab}, seed = {seed})"
    else:
        logged = load_logged(None if data == "default" else data)
        _check_data_temperatures(logged.meta, temperatures)
        trees = "tree" in logged.meta
        positions = min(positions, len(logged))
        origin = (f"the logged draft trees of {logged.path} (mean +/- standard error over trees)" if trees else
                  f"node pairs drawn i.i.d. from the first {positions} positions of {logged.path} ({logged.meta['models']['target']})")
    width = 18 if trees else 9
    lines = [
        f"Tokens per step, full binary trees (nodes include the root); {origin}",
        f"{'T':>5} {'method':<9}" + "".join(f"{'n=' + str(s):>{width}}" for s in sizes),
    ]
    for temperature in temperatures:
        if data == "synthetic":
            source = NodePool(process(target, temperature), process(draft, temperature))
        elif trees:
            source = LoggedTrees(load_logged(logged.path, temperature))
        else:
            at_t = load_logged(logged.path, temperature)
            source = NodePool(at_t.p, at_t.q, positions=positions)
        for method in methods:
            if trees:
                values = [source.per_tree(Tree.full(2, s), method) for s in sizes]
                cells = [f"{v.mean():.4f} +/- {v.std(ddof=1) / np.sqrt(v.size):.3f}" if v.size > 1 else f"{v.mean():.4f}"
                         for v in values]
            else:
                cells = [f"{tokens_per_step(Tree.full(2, s), method, source):.4f}" for s in sizes]
            lines.append(f"{temperature:>5} {method:<9}" + "".join(f"{c:>{width}}" for c in cells))
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """Errors as one line naming the command and the flag, exit status 2 (argparse prints the usage too)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Every flag's help ends with its default, unless the help already says what the default is
    (a ``None`` default that means "the shipped model" is stated in words, not as ``None``)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text.lower() or action.default in (None, argparse.SUPPRESS) or action.default is False:
            return text
        return super()._get_help_string(action)


def _number(kind, name: str, low=None, high=None, low_open: bool = False, high_open: bool = False):
    """An argparse type: ``kind`` within the bounds, refused with a message naming the bounds."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {name}, got {text!r}") from None
        if (low is not None and (value < low or (low_open and value == low))) or (
                high is not None and (value > high or (high_open and value == high))) or value != value:
            raise argparse.ArgumentTypeError(f"expected {name}, got {text!r}")
        return value
    parse.__name__ = name  # argparse names the type in its messages
    return parse


POSITIVE = _number(int, "a positive integer", 1)
NONNEGATIVE = _number(int, "a non-negative integer", 0)
#: Draft counts the table accepts (each verifier and optimum refuses what it cannot compute itself).
DRAFTS = _number(int, "a number of drafts between 1 and 64", 1, 64)
TEMPERATURE = _number(float, "a temperature >= 0", 0.0)
LOGGED_TEMPERATURE = _number(float, "a temperature in (0, 1] (logged data is stored at T = 1)", 0.0, 1.0, low_open=True)
#: A temperature a logged dataset is read at; the dataset's own limit is checked against its metadata.
DATA_TEMPERATURE = _number(float, "a temperature > 0", 0.0, low_open=True)


def _check_data_temperatures(meta: dict, temperatures, flag: str = "--temperatures") -> None:
    """Refuse, naming ``flag``, a temperature the dataset with ``meta`` cannot be read at."""
    for t in temperatures:
        try:
            check_temperature(meta, t)
        except ValueError as err:
            raise ValueError(f"{flag} {t:g}: {str(err).removeprefix('temperature: ')}") from None
TAIL_MASS = _number(float, "a tail mass in (0, 1)", 0.0, 1.0, low_open=True, high_open=True)
DESCRIPTION = ("Exact acceptance rates, output laws and optima of multi-draft speculative decoding verifiers. "
               "Without a command it prints the table command's output.")


def _parser() -> argparse.ArgumentParser:
    fmt = _Help
    parser = _Parser(prog="spechub-theory", description=DESCRIPTION, formatter_class=fmt)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    table = sub.add_parser("table", help="acceptance of every verifier against k (the default)", formatter_class=fmt)
    table.add_argument("--vocab", type=POSITIVE, default=2000, help="vocabulary size V of the synthetic family")
    table.add_argument("--positions", type=POSITIVE, default=100, help="positions averaged")
    table.add_argument("--k", type=DRAFTS, nargs="+", default=[1, 2, 3, 4], help="draft counts")
    table.add_argument("--temperature", type=TEMPERATURE, default=1.0, help="sampling temperature")
    table.add_argument("--seed", type=NONNEGATIVE, default=0, help="seed of the synthetic family")
    tree = sub.add_parser("tree", help="tokens per step on full binary trees", formatter_class=fmt)
    tree.add_argument("--methods", nargs="+", default=["rrs", "rrs_wo", "spechub"], choices=list(VERIFIERS),
                      metavar="METHOD", help=f"verifiers, of {', '.join(VERIFIERS)}")
    tree.add_argument("--nodes", type=POSITIVE, nargs="+", default=[3, 7, 15, 31], help="tree sizes, root included")
    tree.add_argument("--temperatures", type=DATA_TEMPERATURE, nargs="+", default=[0.6, 1.0],
                      help="sampling temperatures (logged data: at most the temperature it was collected at)")
    tree.add_argument("--data", default="default",
                      help="a logged dataset directory, 'default' (the shipped one) or 'synthetic'")
    tree.add_argument("--vocab", type=POSITIVE, default=2000, help="vocabulary of the synthetic family")
    tree.add_argument("--positions", type=POSITIVE, default=2000, help="positions in the node pool")
    tree.add_argument("--seed", type=NONNEGATIVE, default=0, help="seed of the synthetic family")
    c = sub.add_parser("collect", help="log target and draft distributions along generated text (llm extra)",
                       formatter_class=fmt)
    _model_arguments(c)
    c.add_argument("--out", type=Path, required=True, help="dataset directory to write")
    c.add_argument("--prompts", type=Path, default=PROMPTS, help="JSON-lines prompts")
    c.add_argument("--exit-layer", type=POSITIVE, help="exit layer of a draft trained without a stored adapter")
    c.add_argument("--max-new-tokens", type=POSITIVE, default=100, help="tokens generated per prompt")
    c.add_argument("--max-tail-mass", type=TAIL_MASS, default=1e-3,
                   help="mass at --temperature left out of each stored distribution")
    c.add_argument("--temperature", type=DATA_TEMPERATURE, default=1.0,
                   help="temperature the text is sampled and the laws are logged at; the data then reads at any "
                        "temperature up to it (at it only with --top-p or --top-k)")
    c.add_argument("--top-p", type=_number(float, "a number in (0, 1]", 0.0, 1.0, low_open=True), default=1.0,
                   help="nucleus filter of the sampling and of the logged laws (1: none)")
    c.add_argument("--top-k", type=POSITIVE, default=None, help="top-k filter of the sampling and of the logged laws")
    c.add_argument("--every", type=POSITIVE, default=1, help="keep one generated position in this many")
    c.add_argument("--seed", type=NONNEGATIVE, default=0, help="seed of the sampled continuations")
    c.add_argument("--batch", type=POSITIVE, default=8, help="prompts generated at once")
    c.add_argument("--overwrite", action="store_true", help="replace an existing dataset of this library at --out")
    ct = sub.add_parser("collect-trees", help="log full draft trees along generated text (llm extra)",
                        formatter_class=fmt)
    _model_arguments(ct)
    ct.add_argument("--out", type=Path, required=True, help="dataset directory to write")
    ct.add_argument("--prompts", type=Path, default=PROMPTS, help="JSON-lines prompts")
    ct.add_argument("--roots", type=POSITIVE, default=24, help="trees per law and temperature")
    ct.add_argument("--laws", nargs="+", default=["iid", "wo", "hub"], choices=[*DRAFT_LAWS, "top", "eagle"],
                    metavar="LAW",
                    help=f"draft laws, of {', '.join(DRAFT_LAWS)}; and deterministic trees: top (every node's "
                         "most likely tokens of q, verified with topk) and eagle (EAGLE-2's expansion: the "
                         "branching most probable drafted paths expanded at every level; reranked to a budget when read)")
    ct.add_argument("--temperatures", type=LOGGED_TEMPERATURE, nargs="+", default=[0.6, 1.0],
                    help="sampling temperatures")
    ct.add_argument("--branching", type=POSITIVE, default=2, help="children of every internal node")
    ct.add_argument("--depth", type=POSITIVE, default=4, help="levels of drafts (4: a 31-node binary tree)")
    ct.add_argument("--max-tail-mass", type=TAIL_MASS, default=1e-2,
                    help="mass at T = 1 left out of each stored distribution")
    ct.add_argument("--seed", type=NONNEGATIVE, default=0, help="seed of the roots and drafts")
    ct.add_argument("--trees-per-root", type=POSITIVE, default=1,
                    help="sampled trees per root, law and temperature (the laws' trees from common random numbers)")
    ct.add_argument("--overwrite", action="store_true", help="replace an existing dataset of this library at --out")
    val = sub.add_parser("validate", help="check acceptance and losslessness on the real models (llm extra)",
                         formatter_class=fmt)
    _model_arguments(val)
    val.add_argument("--methods", nargs="+", choices=[m for m, _ in VALIDATED], default=[m for m, _ in VALIDATED],
                     metavar="METHOD",
                     help="verifiers to check, of " + ", ".join(f"{m} (k = {k})" for m, k in VALIDATED))
    val.add_argument("--contexts", type=POSITIVE, default=6, help="contexts of the node checks (a third of them for pairs)")
    val.add_argument("--n", type=POSITIVE, help="simulated verifications per node check (default 4000 on CPU, 20000 on CUDA)")
    val.add_argument("--pairs", type=POSITIVE, help="two-token continuations per pair check (default 300 on CPU, 2000 on CUDA)")
    val.add_argument("--prompts", type=POSITIVE, help="prompts each method decodes (default 3 on CPU, 16 on CUDA)")
    val.add_argument("--max-new-tokens", type=POSITIVE, help="tokens decoded per prompt (default 48 on CPU, 128 on CUDA)")
    val.add_argument("--depth", type=POSITIVE, default=2, help="levels of drafts of the decoding trees")
    val.add_argument("--temperature", type=LOGGED_TEMPERATURE, default=1.0, help="sampling temperature")
    val.add_argument("--kinds", nargs="+", choices=["node", "decode", "pairs"], default=["node", "decode", "pairs"],
                     help="which checks to run")
    val.add_argument("--seed", type=NONNEGATIVE, default=0, help="seed of every check")
    val.add_argument("--data", type=Path, help="dataset collected with the target, for contexts and prompts (default: shipped)")
    r = sub.add_parser("reproduce", help="every figure and the claims table of the SpecHub paper (the main job)",
                       formatter_class=fmt)
    r.add_argument("--out", type=Path, help="output folder (default ./figures, or ./figures/quick with --quick)")
    r.add_argument("--quick", action="store_true", help="fewer positions and smaller grids: under 2 minutes")
    b = sub.add_parser("bench", help="benchmarks as ratios to baselines timed in the same run", formatter_class=fmt)
    b.add_argument("--positions", type=POSITIVE, default=256, help="positions of the batched benchmarks")
    b.add_argument("--vocab", type=POSITIVE, default=32_000, help="vocabulary of the batched benchmarks")
    b.add_argument("--repeats", type=POSITIVE, default=5, help="timings per benchmark (the best is kept)")
    b.add_argument("--tree-positions", type=POSITIVE, default=10_000,
                   help="positions the tree benchmark runs over: the shipped data repeated")
    b.add_argument("--lp-scaling", action="store_true", help="also find the largest V the dense LP solves in 30 s (minutes)")
    b.add_argument("--llm", action="store_true", help="also time the real models' cached tree scoring (llm extra)")
    b.add_argument("--sweep", action="store_true", help="also time sweep on Dask against the serial loop (sweep extra)")
    sw = sub.add_parser("sweep", help="the (method, k, temperature) grid over a logged dataset, on Dask (sweep extra)",
                        formatter_class=fmt)
    sw.add_argument("--data", type=Path, help="a logged dataset directory (default: the shipped one)")
    sw.add_argument("--methods", nargs="+", required=True, choices=list(VERIFIERS), metavar="METHOD",
                    help=f"verifiers, of {', '.join(VERIFIERS)}")
    sw.add_argument("--k", type=DRAFTS, nargs="+", required=True, help="draft counts (each method must support each)")
    sw.add_argument("--temperatures", type=DATA_TEMPERATURE, nargs="+", default=[1.0],
                    help="sampling temperatures (at most the temperature the data was collected at)")
    sw.add_argument("--top-p", type=_number(float, "a top-p in (0, 1]", 0.0, 1.0, low_open=True),
                    help="nucleus truncation of both laws (default: none)")
    sw.add_argument("--no-optimum", action="store_true", help="skip the optimum of each method's draft law")
    sw.add_argument("--per-position", action="store_true", help="one row per position and cell")
    sw.add_argument("--chunk", type=POSITIVE, default=1024, help="positions per task (sweep.CHUNK)")
    sw.add_argument("--scheduler", help="a Dask scheduler address tcp://host:port, or processes, threads or sync "
                                        "(default: the local process scheduler)")
    sw.add_argument("--out", type=Path, required=True, help="Parquet file to write (finished chunks are kept in OUT.partial/)")
    sw.add_argument("--overwrite", action="store_true", help="replace an existing sweep table at --out")
    pr = sub.add_parser("profile", help="time the target over n tree tokens and the draft per level (llm extra)",
                        formatter_class=fmt)
    _model_arguments(pr)
    pr.add_argument("--out", type=Path, required=True, help="cost profile to write (JSON)")
    pr.add_argument("--sizes", type=POSITIVE, nargs="+", default=[1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128],
                    help="tree sizes n measured (the cost model interpolates between them)")
    pr.add_argument("--repeats", type=POSITIVE, default=5, help="timings per size (the median is kept)")
    pr.add_argument("--context", type=POSITIVE, default=128, help="tokens of cached context before the tree")
    pr.add_argument("--overwrite", action="store_true", help="replace an existing cost profile at --out")
    from .testing import add_check_parser

    add_check_parser(sub, fmt)
    sd = sub.add_parser("synthetic-data", help="write a large LLM-like logged dataset chunk by chunk",
                        formatter_class=fmt)
    sd.add_argument("--out", type=Path, required=True, help="dataset directory to write")
    sd.add_argument("--positions", type=POSITIVE, default=1_000_000, help="positions")
    sd.add_argument("--vocab", type=POSITIVE, default=32_000, help="vocabulary size")
    sd.add_argument("--top-k", type=POSITIVE, default=64, help="tokens stored per position")
    sd.add_argument("--chunk", type=POSITIVE, default=2000, help="positions generated at once")
    sd.add_argument("--seed", type=NONNEGATIVE, default=0, help="seed of the synthetic family")
    sd.add_argument("--overwrite", action="store_true", help="replace an existing dataset of this library at --out")
    return parser


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--target``, ``--draft`` and ``--device``, shared by the commands that run the real models."""
    parser.add_argument("--target", help="GGUF file or Hugging Face directory (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--draft", help="a draft sharing the target's tokenizer (default: the project's early-exit draft)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="where the models run (auto: cuda when torch sees one)")


def _llm(command: str, module: str, function: str):
    """``spechub_theory.llm.<module>.<function>``, or None after saying that the llm extra is missing."""
    try:
        return getattr(importlib.import_module(f".llm.{module}", __package__), function)
    except ImportError as err:
        print(f"spechub-theory {command} needs the llm extra ({err}); see the README", file=sys.stderr)
        return None


def _write(command: str, module: str, function: str, *args, **kwargs) -> int:
    """Run an llm function that writes a dataset, and say where it went."""
    run = _llm(command, module, function)
    if run is None:
        return 2
    print(f"wrote {run(*args, **kwargs)}")
    return 0


def _collect(args) -> int:
    return _write(
        "collect", "collect", "collect", args.prompts, args.out, target=args.target, draft=args.draft,
        exit_layer=args.exit_layer, max_new_tokens=args.max_new_tokens, max_tail_mass=args.max_tail_mass,
        every=args.every, seed=args.seed, device=args.device, batch=args.batch, temperature=args.temperature,
        top_p=args.top_p, top_k=args.top_k, overwrite=args.overwrite,
    )


def _collect_trees(args) -> int:
    return _write(
        "collect-trees", "collect_trees", "collect_trees", args.prompts, args.out, roots=args.roots, laws=args.laws,
        temperatures=args.temperatures, branching=args.branching, depth=args.depth, target=args.target,
        draft=args.draft, max_tail_mass=args.max_tail_mass, seed=args.seed, device=args.device,
        trees_per_root=args.trees_per_root, overwrite=args.overwrite,
    )


def _validate(args) -> int:
    validate = _llm("validate", "validate", "validate")
    if validate is None:
        return 2
    methods = tuple((m, k) for m, k in VALIDATED if m in args.methods)
    checks = validate(args.contexts, args.n, methods, kinds=args.kinds, pairs=args.pairs, prompts=args.prompts,
                      max_new_tokens=args.max_new_tokens, depth=args.depth, temperature=args.temperature, seed=args.seed,
                      device=args.device, target=args.target, draft=args.draft, data=args.data)
    failed = [c for c in checks if not c.passed]
    print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def _sweep(args) -> int:
    from .outputs import check_replaceable
    from .sweep import _is_sweep_table, sweep, write_table

    check_replaceable(args.out, "--out", args.overwrite, _is_sweep_table, "a sweep table of this library")
    checkpoint = args.out.parent / (args.out.name + ".partial")
    scheduler = None if args.scheduler in (None, "processes") else args.scheduler
    table = sweep(args.data, args.methods, args.k, args.temperatures, top_p=args.top_p, optimum=not args.no_optimum,
                  scheduler=scheduler, per_position=args.per_position, chunk=args.chunk, checkpoint=checkpoint,
                  progress=sys.stderr.isatty())
    write_table(table, args.out, overwrite=args.overwrite)
    for item in checkpoint.iterdir():  # the checkpoint holds only this run's chunks and settings
        item.unlink()
    checkpoint.rmdir()
    if not args.per_position:
        print(table.to_string(index=False))
    print(f"wrote {args.out} ({len(table)} rows; peak memory of a task {table.attrs['peak_rss_mb']:.0f} MB)")
    return 0


def _synthetic_data(args) -> int:
    from .sweep import synthetic_dataset

    path = synthetic_dataset(args.out, args.positions, args.vocab, top_k=args.top_k, chunk=args.chunk, seed=args.seed,
                             overwrite=args.overwrite,
                             progress=lambda done, total, s: print(f"synthetic-data: {done}/{total} positions ({s:.0f} s)",
                                                                   file=sys.stderr))
    print(f"wrote {path}")
    return 0


def _profile(args) -> int:
    return _write("profile", "profile", "profile", args.out, target=args.target, draft=args.draft, device=args.device,
                  sizes=args.sizes, repeats=args.repeats, context=args.context,
                  overwrite=args.overwrite)


def _run(args) -> int:
    if args.command == "bench":
        lines = (bench.run(args.positions, args.vocab, args.repeats) + bench.run_optimum()
                 + bench.run_trees(positions=args.tree_positions) + bench.run_ceiling()
                 + (bench.run_scorer() if args.llm else []))
        print(bench.report(lines))
        if args.sweep:
            from .sweep import benchmark

            for line in benchmark(log=lambda text: print(f"sweep benchmark: {text}", file=sys.stderr, flush=True)):
                print(f"{line['run']:<52} {line['seconds']:8.2f} s  {line['throughput']:10.0f} position-cells/s  "
                      f"{line['ratio']:5.2f}x the serial loop")
        if args.lp_scaling:
            for k in (2, 3):
                v, seconds, why = bench.dense_lp_limit(k)
                print(f"dense OTM LP, k={k}: largest V solved within 30 s: V={v} ({seconds:.1f} s); next: {why}")
        return 0
    if args.command == "collect":
        return _collect(args)
    if args.command == "collect-trees":
        return _collect_trees(args)
    if args.command == "validate":
        return _validate(args)
    if args.command == "reproduce":
        from .reproduce import reproduce, text_table

        claims = reproduce(args.out, args.quick)
        print(text_table(claims))
        return 0 if all(c.holds for c in claims if c.exact) else 1
    if args.command == "sweep":
        return _sweep(args)
    if args.command == "profile":
        return _profile(args)
    if args.command == "check":
        from .testing import run_check

        return run_check(args)
    if args.command == "synthetic-data":
        return _synthetic_data(args)
    if args.command == "tree":
        print(tree_table(args.methods, args.nodes, args.temperatures, args.data, args.vocab, args.positions, args.seed))
        return 0
    print(acceptance_table(args.vocab, args.positions, args.k, args.temperature, args.seed))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 a failed check, 2 bad input, 130 Ctrl-C)."""
    parser = _parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # name the command they were given to, not the top-level usage
            prog = f"{parser.prog} {args.command}" if args.command else parser.prog
            parser.exit(2, f"{prog}: unrecognized arguments: {' '.join(extra)} (see {prog} --help)\n")
    except SystemExit as stop:  # argparse: --help (0) or a one-line error already printed (2)
        return int(stop.code or 0)
    if args.command is None:
        args = _parser().parse_args(["table"])
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("spechub-theory: interrupted", file=sys.stderr)
        return 130
    except ValueError as err:
        print(f"spechub-theory {args.command}: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a file or folder that cannot be read or written, named by the error
        where = f" {err.filename}" if err.filename else ""
        print(f"spechub-theory {args.command}:{where}: {err.strerror or err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
