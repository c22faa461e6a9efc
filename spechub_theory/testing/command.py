"""The ``spechub-theory check FILE.py:FUNCTION`` command: :func:`check_verifier` from the shell, and
:func:`check_tree_verifier` with ``--tree``.

:func:`add_check_parser` adds the subcommand to an ``argparse`` subparsers object and
:func:`run_check` runs it (0 passed, 1 failed; bad input raises ``ValueError`` naming the flag or file).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from ..drafts import DRAFT_LAWS
from ..verifiers import VERIFIERS
from ..tree import Tree
from .harness import check_verifier
from .tree_harness import TREE_LAWS, check_tree_verifier


def load_function(spec: str):
    """The function ``FUNCTION`` of the Python file ``FILE.py``, from ``"FILE.py:FUNCTION"``.

    The file runs as a fresh module with its own folder on ``sys.path`` (for its local imports).

    Raises
    ------
    ValueError
        If ``spec`` has no ``:FUNCTION``, the file does not exist or fails to import, or it has no
        callable of that name.
    """
    path_text, sep, name = str(spec).rpartition(":")
    if not sep or not path_text or not name:
        raise ValueError(f"FILE.py:FUNCTION: expected a file and a function name such as verifier.py:verify, got {spec!r}")
    path = Path(path_text)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    module_name = f"_spechub_check_{abs(hash(str(path.resolve())))}"
    loader = importlib.util.spec_from_file_location(module_name, path)
    if loader is None or loader.loader is None:
        raise ValueError(f"{path}: not a Python file that can be imported")
    module = importlib.util.module_from_spec(loader)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        loader.loader.exec_module(module)
    except Exception as err:
        raise ValueError(f"{path}: importing it raised {type(err).__name__}: {err}") from err
    finally:
        if sys.path and sys.path[0] == folder:
            sys.path.pop(0)
    function = getattr(module, name, None)
    if function is None:
        defined = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_")
                         and getattr(v, "__module__", None) == module_name)
        raise ValueError(f"{path}: no function {name!r} (it defines: {', '.join(defined) or 'none'})")
    if not callable(function):
        raise ValueError(f"{path}: {name!r} is a {type(function).__name__}, not a function")
    return function


def add_check_parser(subparsers, formatter=argparse.ArgumentDefaultsHelpFormatter) -> argparse.ArgumentParser:
    """Add the ``check`` subcommand to ``subparsers`` (from ``ArgumentParser.add_subparsers``), its help
    formatted by ``formatter``; returns its parser."""
    check = subparsers.add_parser(
        "check", help="check that your verifier is lossless (FILE.py:FUNCTION)",
        formatter_class=formatter,
        description="Run FUNCTION(drafts, p, q, rng) -> token from FILE.py on drafts drawn from a draft law, over "
                    "random and corner cases, and test that the emitted token has the target's law (chi-square, "
                    "Holm's correction). With --tree, run FUNCTION(tree, tokens, p, q, rng) -> emitted tokens on "
                    "trees drafted from small context-dependent models and test the first two emitted tokens "
                    "against the target's two-token law. Exit status 0 passed, 1 failed.")
    check.add_argument("target", metavar="FILE.py:FUNCTION", help="the verifier: a function in a Python file")
    check.add_argument("--law", default=None,
                       help=f"draft law the drafts are drawn from: {', '.join(DRAFT_LAWS)} (default iid; with --tree "
                            "the siblings' law, also top, default wo)")
    check.add_argument("--k", default=None, help="number of drafts (default 2; not with --tree)")
    check.add_argument("--tree", default=None, metavar="SHAPE",
                       help="check a tree verifier on trees of this shape: chain:DEPTH, full:BRANCHING:NODES (e.g. "
                            "full:2:7) or levels:W1,W2,... (every node at depth d has W_d children)")
    check.add_argument("--length", default="2", help="with --tree: emitted tokens tested (1 to depth + 1)")
    check.add_argument("--n", default="20000", help="runs (with --tree: drafted trees) per case")
    check.add_argument("--seed", default="0", help="seed of every random draw")
    check.add_argument("--batched", action="store_true",
                       help="call FUNCTION once per case with drafts of shape (n, k); it returns n tokens")
    check.add_argument("--reference", default=None,
                       help=f"also compare acceptance and the law given the drafts with a method: {', '.join(VERIFIERS)}")
    check.add_argument("--level", default="0.001", help="family-wise significance level")
    return check


def parse_tree(text: str, flag: str = "--tree") -> Tree:
    """The tree shape of ``chain:DEPTH``, ``full:BRANCHING:NODES`` or ``levels:W1,W2,...``.

    Examples
    --------
    >>> parse_tree("full:2:7").n_nodes, parse_tree("levels:3,1").children[0]
    (7, (1, 2, 3))
    """
    kind, _, rest = str(text).partition(":")
    parts = rest.split(":") if kind != "levels" else rest.split(",")
    wanted = {"chain": 1, "full": 2}.get(kind)
    if kind not in ("chain", "full", "levels") or not rest or (wanted is not None and len(parts) != wanted):
        raise ValueError(f"{flag}: expected chain:DEPTH, full:BRANCHING:NODES or levels:W1,W2,..., got {text!r}")
    numbers_ = [_integer(x, flag, 1 if kind != "chain" else 0) for x in parts]
    try:
        if kind == "chain":
            return Tree.chain(numbers_[0])
        if kind == "full":
            return Tree.full(*numbers_)
        return Tree.from_levels(numbers_)
    except ValueError as err:
        raise ValueError(f"{flag}: {err}") from None


def _integer(text, flag: str, low: int) -> int:
    try:
        value = int(str(text).replace("_", ""))
    except ValueError:
        raise ValueError(f"{flag}: expected an integer, got {text!r}") from None
    if value < low:
        raise ValueError(f"{flag}: expected an integer >= {low}, got {value}")
    return value


def run_check(args, out=None, err=None) -> int:
    """Run the ``check`` subcommand on parsed ``args``: print the verdict, return 0 (passed) or 1 (failed).

    A progress line goes to ``err`` (standard error) when it is a terminal.

    Raises
    ------
    ValueError
        For bad input, naming the flag (``--law``, ``--k``, ``--tree``, ``--length``, ``--n``,
        ``--seed``, ``--reference``, ``--batched``, ``--level``) or the file.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    n = _integer(args.n, "--n", 100)
    seed = _integer(args.seed, "--seed", 0)
    try:
        level = float(args.level)
    except ValueError:
        raise ValueError(f"--level: expected a number in (0, 1), got {args.level!r}") from None
    if not 0 < level < 1:
        raise ValueError(f"--level: expected a number in (0, 1), got {args.level!r}")
    tree = getattr(args, "tree", None)
    if tree is not None:
        return _run_tree_check(args, n, seed, level, out, err)
    law = "iid" if args.law is None else args.law
    if law not in DRAFT_LAWS:
        raise ValueError(f"--law: unknown draft law {law!r}; expected one of {', '.join(DRAFT_LAWS)}")
    k = _integer("2" if args.k is None else args.k, "--k", 1)
    if not DRAFT_LAWS[law].supports(k):
        raise ValueError(f"--k: the {law!r} draft law is not defined for k = {k}")
    if args.reference is not None:
        ref = VERIFIERS.get(args.reference)
        if ref is None:
            raise ValueError(f"--reference: unknown method {args.reference!r}; expected one of {', '.join(VERIFIERS)}")
        if ref.law != law:
            raise ValueError(f"--reference: {args.reference!r} draws its drafts from {ref.law!r}, not --law {law}")
        if not ref.supports(k):
            raise ValueError(f"--reference: {args.reference!r} supports k = {ref.k_values} only, not --k {k}")
    verify = load_function(args.target)
    result = check_verifier(verify, law, k, n=n, seed=seed, batched=args.batched, reference=args.reference,
                            level=level, progress=_progress(err))
    print(result.summary(), file=out)
    return 0 if result.passed else 1


def _progress(err):
    """A progress bar on ``err`` when it is a terminal, else ``None``."""
    if not getattr(err, "isatty", lambda: False)():
        return None

    def progress(done, total, name):
        bar = "#" * (20 * done // total)
        err.write(f"\rcheck: [{bar:<20}] {done}/{total} cases ({name})\033[K")
        if done == total:
            err.write("\n")
        err.flush()

    return progress


def _run_tree_check(args, n, seed, level, out, err) -> int:
    tree = parse_tree(args.tree)
    law = "wo" if args.law is None else args.law
    if law not in TREE_LAWS:
        raise ValueError(f"--law: unknown sibling law {law!r}; expected one of {', '.join(TREE_LAWS)}")
    for v, kids in enumerate(tree.children):
        rule = DRAFT_LAWS.get(law)
        if kids and rule is not None and not rule.supports(len(kids)):
            raise ValueError(f"--tree: node {v} has {len(kids)} children; the {law!r} draft law is not defined for "
                             f"k = {len(kids)} (--law)")
    for flag, given in (("--k", args.k is not None), ("--batched", args.batched), ("--reference", args.reference is not None)):
        if given:
            raise ValueError(f"{flag}: not used with --tree (the tree's shape gives each node's number of drafts)")
    length = _integer(args.length, "--length", 1)
    if length > tree.depth + 1:
        raise ValueError(f"--length: at most the tree's depth + 1 = {tree.depth + 1}, got {length}")
    verify = load_function(args.target)
    result = check_tree_verifier(verify, tree, law, n=n, seed=seed, length=length, level=level,
                                 progress=_progress(err))
    print(result.summary(), file=out)
    return 0 if result.passed else 1
