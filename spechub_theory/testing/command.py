"""The ``spechub-theory check FILE.py:FUNCTION`` command: :func:`check_verifier` from the shell.

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
from .harness import check_verifier


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


def add_check_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``check`` subcommand to ``subparsers`` (from ``ArgumentParser.add_subparsers``); returns its parser."""
    check = subparsers.add_parser(
        "check", help="check that your verifier is lossless (FILE.py:FUNCTION)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Run FUNCTION(drafts, p, q, rng) -> token from FILE.py on drafts drawn from a draft law, over "
                    "random and corner cases, and test that the emitted token has the target's law (chi-square, "
                    "Holm's correction). Exit status 0 passed, 1 failed.")
    check.add_argument("target", metavar="FILE.py:FUNCTION", help="the verifier: a function in a Python file")
    check.add_argument("--law", default="iid", help=f"draft law the drafts are drawn from: {', '.join(DRAFT_LAWS)}")
    check.add_argument("--k", default="2", help="number of drafts")
    check.add_argument("--n", default="20000", help="runs per case")
    check.add_argument("--seed", default="0", help="seed of every random draw")
    check.add_argument("--batched", action="store_true",
                       help="call FUNCTION once per case with drafts of shape (n, k); it returns n tokens")
    check.add_argument("--reference", default=None,
                       help=f"also compare acceptance and the law given the drafts with a method: {', '.join(VERIFIERS)}")
    check.add_argument("--level", default="0.001", help="family-wise significance level")
    return check


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
        For bad input, naming the flag (``--law``, ``--k``, ``--n``, ``--seed``, ``--reference``,
        ``--level``) or the file.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    if args.law not in DRAFT_LAWS:
        raise ValueError(f"--law: unknown draft law {args.law!r}; expected one of {', '.join(DRAFT_LAWS)}")
    k = _integer(args.k, "--k", 1)
    if not DRAFT_LAWS[args.law].supports(k):
        raise ValueError(f"--k: the {args.law!r} draft law is not defined for k = {k}")
    n = _integer(args.n, "--n", 100)
    seed = _integer(args.seed, "--seed", 0)
    try:
        level = float(args.level)
    except ValueError:
        raise ValueError(f"--level: expected a number in (0, 1), got {args.level!r}") from None
    if not 0 < level < 1:
        raise ValueError(f"--level: expected a number in (0, 1), got {args.level!r}")
    if args.reference is not None:
        ref = VERIFIERS.get(args.reference)
        if ref is None:
            raise ValueError(f"--reference: unknown method {args.reference!r}; expected one of {', '.join(VERIFIERS)}")
        if ref.drafts != args.law:
            raise ValueError(f"--reference: {args.reference!r} draws its drafts from {ref.drafts!r}, not --law {args.law}")
        if not ref.supports(k):
            raise ValueError(f"--reference: {args.reference!r} supports k = {ref.k_values} only, not --k {k}")
    verify = load_function(args.target)
    progress = None
    if getattr(err, "isatty", lambda: False)():
        def progress(done, total, name):
            bar = "#" * (20 * done // total)
            err.write(f"\rcheck: [{bar:<20}] {done}/{total} cases ({name})\033[K")
            if done == total:
                err.write("\n")
            err.flush()
    result = check_verifier(verify, args.law, k, n=n, seed=seed, batched=args.batched, reference=args.reference,
                            level=level, progress=progress)
    print(result.summary(), file=out)
    return 0 if result.passed else 1
