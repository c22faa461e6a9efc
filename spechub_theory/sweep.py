r"""Sweeps of the (method, k, temperature) grid over a logged dataset, on Dask.

The work is embarrassingly parallel over positions: each *chunk* of consecutive positions is one
task that opens the memory-mapped dataset itself (nothing large is sent to it), reads its rows once
per temperature, and computes every cell of the grid on them, returning the per-position values.

A chunk's rows are *compact* (:func:`stored_rows`): each position on its stored tokens only (the
union of both models' supports) in increasing token order, padded with zeros to the chunk's widest
position, instead of dense over the vocabulary. A token of zero mass under both laws adds nothing to
any built-in method's acceptance or optimum, and the ties the methods break by token index (the
hub, the top tokens of ``q``) keep their order, so every value is the dense rows' to rounding; the
work per position is then ``O(stored tokens)`` instead of ``O(V)`` (at ``V = 32,000`` with 64
stored, 60-100x less per position). A method registered by the user gets the dense rows, and
the tasks carry its registration (and its draft law's) to worker processes, which start with the
built-in methods only.

The chunks run on Dask (``dask[distributed]``): the local scheduler (``scheduler=None``:
processes, or ``"threads"``) or a cluster (``scheduler="tcp://host:port"``).

For a cell ``c`` over ``n`` positions with exact per-position acceptance ``a_i``

.. math::

    \text{acceptance} = \frac1n \sum_i a_i, \qquad
    \text{acceptance\_se} = \sqrt{\frac{\sum_i (a_i - \bar a)^2}{n (n - 1)}},

the mean being the exact mean over the dataset's positions (the spread between positions, not a
Monte Carlo error: each ``a_i`` is exact), and likewise for the optimum of the method's draft law.

A run with a ``checkpoint`` folder writes every finished chunk there atomically, with the run's
settings; a rerun with the same settings skips those chunks (and refuses other settings, naming
them), so an interrupted sweep resumes, and a chunk whose worker died is simply recomputed: chunk
files are named by their positions, so none is lost or counted twice.

References: the grid's values are :func:`spechub_theory.acceptance_rate` and
:func:`spechub_theory.optimal_acceptance_rate`; Dask, https://docs.dask.org.
"""

from __future__ import annotations

import json
import math
import os
import resource
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from . import validate
from .acceptance import acceptance_rate
from .drafts import BUILT_IN_LAWS, DRAFT_LAWS
from .logged import LoggedData, check_temperature, default_path, load_logged, stored_law
from .optimal import optimal_acceptance_rate
from .synthetic import process
from .outputs import atomic_path, check_replaceable, protect, resume_folder
from .verifiers import BUILT_IN, VERIFIERS

#: Positions per task unless asked otherwise. On compact rows a task's cost is mostly per position
#: from about 1,000 on: on the benchmark's grid (16 cells, 65,536 positions at V = 32,000, serial,
#: three interleaved repeats in one run) 0.43-0.46 ms per position at 256, 0.38-0.43 at 1,024 and
#: 0.40-0.41 at 4,096.
CHUNK = 1024
#: Seconds to wait for a scheduler before giving up.
CONNECT_TIMEOUT = 10
#: Dask settings for workers that run only sweeps, and for their scheduler: its housekeeping wakes
#: up less often. Dask's defaults tick every server's event loop every 20 ms, sample each worker's
#: stack every 10 ms (the statistical profiler), read the system every 500 ms and a worker's memory
#: every 100 ms. Measured on this project's 2-core machine, a 2-worker ``LocalCluster`` with
#: nothing to do used 5.7-7.3% of a core in the process holding the scheduler, the client and the
#: nannies, and 4.8-6.2% in each worker; with these settings 1.2-1.4% and 0.5-0.6% (two runs of
#: 10 s each). None of the four alone did it: the profiler alone took each worker to 2.7-3.2%, the
#: tick alone the main process to 3.2-3.6%. What is given up: the dashboard's profile, and a
#: worker over its memory limit is noticed within a second rather than 100 ms (the event loop's
#: health warning still fires after 3 s). Use with ``dask.config.set(QUIET_WORKERS)`` before
#: starting a ``LocalCluster``, or as environment variables for ``dask scheduler`` / ``dask worker``
#: (:data:`QUIET_WORKERS_ENV`).
QUIET_WORKERS = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}
#: :data:`QUIET_WORKERS` as the environment variables Dask reads at start-up.
QUIET_WORKERS_ENV = {"DASK_" + key.upper().replace(".", "__").replace("-", "_"): str(value)
                     for key, value in QUIET_WORKERS.items()}
#: The columns of a sweep's table (``optimum`` and ``optimum_se`` only with ``optimum=True``).
COLUMNS = ("method", "k", "temperature", "law", "positions", "acceptance", "acceptance_se", "optimum", "optimum_se")


def _cells(methods, k, temperatures):
    """The grid as ``[(method, k, temperature)]``, each checked before anything runs."""
    methods = [methods] if isinstance(methods, str) else list(methods)
    temperatures = [temperatures] if isinstance(temperatures, (int, float)) else list(temperatures)
    if isinstance(k, Mapping):  # draft counts per method
        extra = sorted(set(k) - set(methods))
        if extra:
            raise ValueError(f"k: draft counts given for methods not in methods: {extra}")
        missing = [m for m in methods if m not in k]
        if missing:
            raise ValueError(f"k: no draft counts given for methods {missing}")
        return [c for m in methods for c in _cells([m], k[m], temperatures)]
    ks = [k] if isinstance(k, (int, np.integer)) and not isinstance(k, bool) else list(k)
    if not methods or not ks or not temperatures:
        raise ValueError("methods, k, temperatures: each needs at least one value")
    for m in methods:
        validate.choice(m, "methods", VERIFIERS)
    ks = [validate.draft_count(v) for v in ks]
    for t in temperatures:
        if isinstance(t, bool) or not isinstance(t, (int, float, np.floating)) or not 0 < t < np.inf:
            raise ValueError(f"temperatures: must be positive numbers, got {t!r}")
    unsupported = [(m, v) for m in methods for v in ks if not VERIFIERS[m].supports(v)]
    if unsupported:
        m, v = unsupported[0]
        raise ValueError(f"k: method {m!r} is not defined for k = {v} (it supports k = {VERIFIERS[m].k_values}); "
                         f"sweep it separately with the k it supports")
    return [(m, v, float(t)) for t in temperatures for m in methods for v in ks]


def _top_p(rows: np.ndarray, top_p: float) -> np.ndarray:
    """Each row restricted to its smallest set of most likely tokens holding at least ``top_p``,
    renormalised: the engines' nucleus step (:func:`spechub_theory.synthetic.process`) on a law."""
    with np.errstate(divide="ignore"):
        return process(np.log(rows), 1.0, top_p=top_p)


def chunk_values(data, lo: int, hi: int, cells, top_p=None, optimum: bool = True) -> dict:
    """The exact per-position values of every cell on positions ``lo:hi`` of the dataset at ``data``.

    Returns ``{"lo", "hi", "acceptance": (cells, hi - lo), "optimum": (cells, hi - lo) or None,
    "peak_rss_mb"}``; what a task computes.
    """
    where = default_path() if data is None else Path(data)
    acceptance = np.empty((len(cells), hi - lo))
    best = np.empty((len(cells), hi - lo)) if optimum else None
    try:  # opened once, read at each temperature; its shapes (a scan of every token id) checked once per process
        opened = load_logged(where, reuse_checks=True)
        at = {t: LoggedData(opened.path, opened.meta, opened.arrays, check_temperature(opened.meta, t))
              for t in {c[2] for c in cells}}
    except ValueError as err:
        raise ValueError(f"data: {_worker_name()} cannot open {where}: {err}") from None
    rows = {}

    def read(t, dense):
        if (t, dense) not in rows:
            logged = at[t]
            p, q = (logged.p[lo:hi], logged.q[lo:hi]) if dense else stored_rows(logged, lo, hi)
            rows[t, dense] = (p, q) if top_p is None else (_top_p(p, top_p), _top_p(q, top_p))
        return rows[t, dense]

    optima = {}  # methods of one draft law share its optimum: computed once per (law, k, temperature)
    for i, (method, k, t) in enumerate(cells):
        dense = method not in BUILT_IN
        p, q = read(t, dense)
        try:
            acceptance[i] = acceptance_rate(p, q, method, k)
            if optimum:
                law = VERIFIERS[method].law
                key = (law if isinstance(law, str) else id(law), k, t, dense)
                if key not in optima:
                    optima[key] = optimal_acceptance_rate(p, q, law, k)
                best[i] = optima[key]
        except ValueError as err:  # a cost guard: say what "V" is on compact rows
            if dense:
                raise
            raise ValueError(f"{err} [on compact rows: the {p.shape[-1]} columns are the stored tokens of positions "
                             f"{lo}..{hi - 1}, of a vocabulary of {at[t].vocab_size:,}]") from None
    return {"lo": lo, "hi": hi, "acceptance": acceptance, "optimum": best, "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's peak resident size so far, in MB: ``VmHWM`` of ``/proc/self/status`` where
    there is one (Linux), else ``getrusage``'s ``ru_maxrss``. Not ``ru_maxrss`` on Linux: it keeps,
    across ``fork`` and ``exec``, the resident size of the parent at the fork, so a worker started by
    a large process (one that had just written a dataset of a million positions: 773 MB reported,
    its own peak 304 MB) reports its parent's size."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, kB elsewhere


def stored_rows(data, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """``(p, q)`` of positions ``lo:hi`` of a loaded dataset on their stored tokens only, shape ``(hi - lo, W)``.

    Row ``i`` holds position ``lo + i``'s laws on its stored tokens in increasing token order, then
    zeros up to ``W``, the most tokens a position of the chunk stores. Each law is computed from the
    stored logits by the loader's own rule (:func:`spechub_theory.logged.stored_law`, in the stored
    order), so every number equals its entry of the dense row ``data.p[lo + i]`` bit for bit: the
    compact row is the dense row without columns that are zero in both ``p`` and ``q``.

    Why the built-in methods' values are unchanged (to rounding: sums over fewer terms): every closed
    form and optimum sums terms that vanish where ``p = q = 0`` (``min(p, q)``, ``(p - c q)_+``,
    ``p (1 - (1 - q)^k)``, prefix sums in ``p/q`` order), a draft law draws only tokens of positive
    ``q`` (a row with fewer than ``k`` of them is drafted in full,
    :meth:`spechub_theory.drafts.DraftLaw.drafted`), and ties in ``argmax q`` and the ranking of
    ``q`` go to the lowest index, which the increasing column order keeps. The ``rrs_wo`` cost guard
    counts the tokens of positive mass, not the columns, so it refuses the same cells.
    """
    a = data.arrays
    offsets = np.asarray(a["offsets"][lo:hi + 1], dtype=np.int64)
    start, stop = int(offsets[0]), int(offsets[-1])
    sizes = np.diff(offsets)
    width = int(sizes.max()) if sizes.size else 0
    tokens = np.asarray(a["tokens"][start:stop])
    first = offsets[:-1] - start  # each position's first entry in the chunk
    row = np.repeat(np.arange(hi - lo), sizes)
    column = np.empty(stop - start, dtype=np.int64)  # each entry's rank among its position's tokens
    column[np.lexsort((tokens, row))] = np.arange(stop - start) - first[row]
    laws = []
    for logits in (a["target_logits"], a["draft_logits"]):
        out = np.zeros((hi - lo, width))
        for i in range(hi - lo):
            s, e = int(first[i]), int(first[i] + sizes[i])
            stored_law(column[s:e], logits[start + s:start + e], data.temperature, out[i])
        laws.append(out)
    return laws[0], laws[1]


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return f"worker {get_worker().address}"
    except (ImportError, ValueError):
        return f"process {os.getpid()}"


def _chunk_file(folder: Path, lo: int, hi: int) -> Path:
    return folder / f"chunk_{lo:010d}_{hi:010d}.npz"


def _run_chunk(data, lo, hi, cells, top_p, optimum, checkpoint, registered=None):
    """One task: the chunk's values, read from the checkpoint when it was already computed, else
    computed and (with a checkpoint) written there atomically; ``registered``: the caller's
    registered verifiers and draft laws the cells need (:func:`_registered`)."""
    _install(registered)
    if checkpoint is not None:
        done = _chunk_file(Path(checkpoint), lo, hi)
        if done.is_file():
            with np.load(done) as f:
                return {"lo": lo, "hi": hi, "acceptance": f["acceptance"],
                        "optimum": f["optimum"] if optimum else None, "peak_rss_mb": 0.0}
    values = chunk_values(data, lo, hi, cells, top_p, optimum)
    if checkpoint is not None:
        with atomic_path(_chunk_file(Path(checkpoint), lo, hi)) as tmp:
            np.savez(tmp, acceptance=values["acceptance"],
                     optimum=values["optimum"] if optimum else np.zeros((len(cells), 0)))
    return values


def _settings(data, cells, top_p, optimum, chunk, n) -> dict:
    where = default_path() if data is None else Path(data)
    meta = json.loads((where / "meta.json").read_text())
    return {"data": str(where.resolve()), "hashes": meta.get("hashes"), "n_positions": n,
            "cells": [list(c) for c in cells], "top_p": top_p, "optimum": bool(optimum), "chunk": int(chunk)}


def _open_checkpoint(checkpoint: Path, settings: dict) -> None:
    protect(checkpoint, "checkpoint")
    resume_folder(checkpoint, settings, "checkpoint", "an interrupted sweep's checkpoint",
                  "choose another output")


def _client(scheduler):
    """A distributed ``Client`` for an address (or a ``Client``/cluster given), within a timeout."""
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler, False
    if hasattr(scheduler, "scheduler_address"):
        return Client(scheduler, timeout=f"{CONNECT_TIMEOUT}s"), True
    try:
        return Client(str(scheduler), timeout=f"{CONNECT_TIMEOUT}s"), True
    except (OSError, TimeoutError) as err:
        raise ValueError(f"scheduler: no Dask scheduler answered at {scheduler} within {CONNECT_TIMEOUT} s ({err})") from None


def _compute(tasks, scheduler, progress: bool):
    """Run the ``(function, *args)`` tasks on the scheduler; returns their results in order."""
    import dask

    delayed = [dask.delayed(f, pure=False)(*args) for f, *args in tasks]
    if scheduler is None or scheduler in ("processes", "threads", "sync"):
        from dask.diagnostics import ProgressBar

        with ProgressBar(minimum=1.0) if progress else _nothing():
            return list(dask.compute(*delayed, scheduler=scheduler or "processes"))
    client, own = _client(scheduler)
    try:
        futures = client.compute(delayed)
        if progress:
            from distributed import progress as show

            show(futures)
        return client.gather(futures)
    finally:
        if own:
            client.close()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def sweep(data=None, methods=("rrs", "spechub"), k=2, temperatures=1.0, *, top_p=None, optimum: bool = True,
          scheduler=None, per_position: bool = False, chunk: int = CHUNK, checkpoint=None, progress: bool = False):
    """Every cell of the (method, k, temperature) grid over a logged dataset, computed on Dask.

    Parameters
    ----------
    data : path or None
        A logged dataset (:mod:`spechub_theory.logged`); None for the shipped one. Every worker opens
        it itself, so it must be at that path on the workers too (a shared file system).
    methods, k, temperatures : name or sequence
        The grid: every method at every ``k`` and temperature ``T > 0`` the dataset can be read at
        (at most its collection temperature). ``k`` may also map each method to its own draft
        counts (``{"single": 1, "rrs": [2, 3]}``). A method that is not defined for one of its ``k``
        is refused before anything runs.
    top_p : float, optional
        Apply nucleus truncation (keep the most likely tokens until their mass reaches ``top_p``,
        renormalise) to both laws at each temperature, as engines do.
    optimum : bool
        Also compute the optimum of each method's draft law (:func:`spechub_theory.optimal_acceptance_rate`).
    scheduler : None, "processes", "threads", "sync", an address ``"tcp://host:port"``, or a ``Client``/cluster
        None runs Dask's local scheduler on processes.
    per_position : bool
        One row per position and cell (columns ``position``, ``acceptance`` and ``optimum``)
        instead of one row per cell.
    chunk : int
        Positions per task. A task's rows take ``chunk * W * 8`` bytes per law and temperature
        (``W`` the most tokens a position of the chunk stores, :func:`stored_rows`); a worker's
        resident memory also holds the pages of the dataset's token ids, which the loader's shape
        check reads once per worker process (measured: 361 MB per worker at ``chunk = 1024`` over a
        1,000,000-position dataset of 64 tokens per position, on a 138 MB baseline, about 130 MB
        of it those pages).
    checkpoint : path, optional
        A folder for finished chunks (see the module docstring): a rerun resumes from it.
    progress : bool
        Show Dask's progress bar.

    Returns
    -------
    pandas.DataFrame
        One row per cell: ``method, k, temperature, law, positions, acceptance, acceptance_se``,
        and ``optimum, optimum_se`` with ``optimum=True``; each mean is exact over the positions,
        each ``_se`` the standard error of that mean over positions. Its ``attrs["peak_rss_mb"]``
        is the largest peak resident memory a task's process reported.
    """
    cells, tasks = plan(data, methods, k, temperatures, top_p=top_p, optimum=optimum, chunk=chunk,
                        checkpoint=checkpoint)
    return assemble(_compute(tasks, scheduler, progress), cells, optimum, per_position, positions=tasks[-1][3])


def plan(data, methods, k, temperatures, *, top_p=None, optimum=True, chunk=CHUNK, checkpoint=None):
    """``(cells, tasks)``: the checked grid and one task ``(function, *args)`` per chunk of
    positions, as :func:`sweep` submits them (opening the checkpoint, which must match)."""
    cells = _cells(methods, k, temperatures)
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1):
        raise ValueError(f"top_p: must be in (0, 1], got {top_p!r}")
    validate.positive_int(chunk, "chunk")
    logged = load_logged(data)
    for t in {c[2] for c in cells}:  # the dataset's own limit, before any task is submitted
        try:
            check_temperature(logged.meta, t)
        except ValueError as err:
            raise ValueError(f"temperatures: {t:g}: {str(err).removeprefix('temperature: ')}") from None
    n = len(logged)
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        _open_checkpoint(checkpoint, _settings(data, cells, top_p, optimum, chunk, n))
    data_arg = None if data is None else str(Path(data).resolve())
    registered = _registered(cells)
    tasks = [(_run_chunk, data_arg, lo, min(lo + chunk, n), cells, top_p, optimum,
              None if checkpoint is None else str(checkpoint.resolve()), registered) for lo in range(0, n, chunk)]
    return cells, tasks


def _registered(cells) -> dict | None:
    """The user's registrations the grid needs (``{"verifiers": {...}, "laws": {...}}``), or None.

    A worker process knows only the built-in methods: :func:`spechub_theory.register_verifier` and
    :func:`spechub_theory.register_draft_law` ran in the process that calls :func:`sweep`, so the
    tasks carry the verifiers and draft laws they registered (already checked there), and
    :func:`_install` adds them to the worker's registry before the chunk is computed."""
    verifiers = {m: VERIFIERS[m] for m in sorted({c[0] for c in cells}) if m not in BUILT_IN}
    laws = {v.law: DRAFT_LAWS[v.law] for v in verifiers.values() if v.law not in BUILT_IN_LAWS}
    return {"verifiers": verifiers, "laws": laws} if verifiers else None


def _install(registered) -> None:
    """Add the caller's registrations to this process's registries (a no-op where they are already)."""
    if registered:
        for name, law in registered["laws"].items():
            DRAFT_LAWS.setdefault(name, law)
        for name, verifier in registered["verifiers"].items():
            VERIFIERS.setdefault(name, verifier)


def assemble(results, cells, optimum: bool, per_position: bool, *, positions: int):
    """The table of :func:`sweep` from its tasks' results (in any order), checking that the chunks
    cover positions ``0 .. positions - 1`` exactly once."""
    import pandas as pd

    results = sorted(results, key=lambda r: r["lo"])
    n = positions
    edges = [r["lo"] for r in results] + [results[-1]["hi"] if results else 0]
    if edges[0] != 0 or edges[-1] != n or any(r["hi"] != lo for r, lo in zip(results, edges[1:])):
        raise RuntimeError("sweep: the chunks returned do not cover the dataset once each (a scheduler error)")
    acc = np.concatenate([r["acceptance"] for r in results], axis=1)
    best = np.concatenate([r["optimum"] for r in results], axis=1) if optimum else None
    if per_position:
        frames = []
        for i, (method, kk, t) in enumerate(cells):
            frame = {"method": method, "k": kk, "temperature": t, "law": VERIFIERS[method].law,
                     "position": np.arange(n), "acceptance": acc[i]}
            if optimum:
                frame["optimum"] = best[i]
            frames.append(pd.DataFrame(frame))
        table = pd.concat(frames, ignore_index=True)
    else:
        rows = []
        for i, (method, kk, t) in enumerate(cells):
            row = {"method": method, "k": kk, "temperature": t, "law": VERIFIERS[method].law, "positions": n,
                   "acceptance": float(acc[i].mean()), "acceptance_se": _se(acc[i])}
            if optimum:
                row.update(optimum=float(best[i].mean()), optimum_se=_se(best[i]))
            rows.append(row)
        table = pd.DataFrame(rows)
    table.attrs["peak_rss_mb"] = max(r["peak_rss_mb"] for r in results)
    return table


def _se(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else float("nan")


def write_table(table, out, overwrite: bool = False) -> Path:
    """Write a sweep's table to ``out`` as Parquet, atomically; an existing file is replaced only
    with ``overwrite=True`` and only when it is a Parquet file of this function's columns."""
    out = Path(out)
    check_replaceable(out, "out", overwrite, _is_sweep_table, "a sweep table of this library")
    with atomic_path(out) as tmp:
        table.to_parquet(tmp, index=False)
    return out


def _is_sweep_table(path: Path) -> bool:
    try:
        import pyarrow.parquet as pq

        names = set(pq.read_schema(path).names)
    except Exception:  # noqa: BLE001 -- anything unreadable is not ours
        return False
    return {"method", "k", "temperature", "acceptance"} <= names


def _distinct_tokens(rng: np.random.Generator, n: int, k: int, vocab: int) -> np.ndarray:
    """``(n, k)`` token ids, each row ``k`` distinct ids uniform over ``[0, vocab)`` (rows with a
    repeat are redrawn whole, so every row is a uniform draw without replacement)."""
    tokens = rng.integers(0, vocab, (n, k))
    while True:
        ordered = np.sort(tokens, axis=1)
        repeated = np.flatnonzero((np.diff(ordered, axis=1) == 0).any(axis=1))
        if repeated.size == 0:
            return tokens
        tokens[repeated] = rng.integers(0, vocab, (repeated.size, k))


def synthetic_dataset(path, positions: int, vocab: int, *, top_k: int = 64, chunk: int = 2000, seed=0,
                      overwrite: bool = False, progress=None) -> Path:
    """Write an LLM-like logged dataset of ``positions`` positions at vocabulary ``vocab`` without
    holding it in memory, chunk by chunk, into memory-mapped ``.npy`` files in a temporary folder
    swapped in when complete.

    Each position stores ``top_k`` distinct token ids drawn uniformly from the vocabulary, with the
    profile of :func:`spechub_theory.synthetic.llm_like_logits` on its top ranks: target logits
    ``-2 log(1 + r) + N(0, 1)`` for the ranks ``r = 0 .. top_k - 1`` and draft logits those plus
    ``2 N(0, 1)``. The work is ``O(top_k)`` per position (a million positions in seconds), where
    drawing all ``vocab`` logits and truncating would be ``O(vocab)``; the rows the library reads
    are still dense over ``vocab``, so the sweep's cost is that of real data at that vocabulary.
    The laws at a position are the softmax over its stored tokens (the loader's rule), so the
    dataset is exactly what it stores.
    """
    from numpy.lib.format import open_memmap

    from .logged import FORMAT_VERSION, is_dataset
    from .outputs import swap_in_dir
    path = Path(path)
    for name, value in (("positions", positions), ("vocab", vocab), ("top_k", top_k), ("chunk", chunk)):
        validate.positive_int(value, name)
    if top_k > vocab:
        raise ValueError(f"top_k: {top_k} exceeds the vocabulary ({vocab})")
    check_replaceable(path, "path", overwrite, is_dataset, "a dataset of this library")
    path.parent.mkdir(parents=True, exist_ok=True)
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        nnz = positions * top_k
        token_type = np.uint16 if vocab <= np.iinfo(np.uint16).max else np.int32
        arrays = {
            "offsets": open_memmap(tmp / "offsets.npy", "w+", np.int64, (positions + 1,)),
            "tokens": open_memmap(tmp / "tokens.npy", "w+", token_type, (nnz,)),
            "target_logits": open_memmap(tmp / "target_logits.npy", "w+", np.float32, (nnz,)),
            "draft_logits": open_memmap(tmp / "draft_logits.npy", "w+", np.float32, (nnz,)),
            "prompt_ids": open_memmap(tmp / "prompt_ids.npy", "w+", np.int32, (positions,)),
            "steps": open_memmap(tmp / "steps.npy", "w+", np.int32, (positions,)),
        }
        arrays["offsets"][:] = np.arange(positions + 1, dtype=np.int64) * top_k
        arrays["prompt_ids"][:] = 0
        arrays["steps"][:] = np.arange(positions, dtype=np.int64).astype(np.int32)
        seeds = np.random.SeedSequence(validate.rng(seed).integers(2**63)).spawn(math.ceil(positions / chunk))
        start = time.perf_counter()
        profile = -2.0 * np.log1p(np.arange(top_k))
        for c, lo in enumerate(range(0, positions, chunk)):
            hi = min(lo + chunk, positions)
            rng = np.random.default_rng(seeds[c])
            tokens = _distinct_tokens(rng, hi - lo, top_k, vocab)
            zt = profile + rng.standard_normal((hi - lo, top_k))
            zd = zt + 2.0 * rng.standard_normal((hi - lo, top_k))
            order = np.argsort(tokens, axis=1)  # rows stored by token id
            rows = np.arange(hi - lo)[:, None]
            arrays["tokens"][lo * top_k : hi * top_k] = tokens[rows, order].ravel()
            arrays["target_logits"][lo * top_k : hi * top_k] = zt[rows, order].ravel()
            arrays["draft_logits"][lo * top_k : hi * top_k] = zd[rows, order].ravel()
            if progress is not None:
                progress(hi, positions, time.perf_counter() - start)
        for a in arrays.values():
            a.flush()
        del arrays
        np.save(tmp / "context.npy", np.zeros(0, np.int32))
        np.save(tmp / "context_offsets.npy", np.array([0, 0], np.int64))
        meta = {"format_version": FORMAT_VERSION, "vocab_size": int(vocab), "n_positions": int(positions),
                "temperature": 1.0, "max_tail_mass": None, "models": {"target": "llm_like_logits", "draft": "llm_like_logits"},
                "hashes": {"seed": str(seed)}, "synthetic": {"top_k": int(top_k), "chunk": int(chunk), "seed": str(seed)}}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        os.chmod(tmp, 0o755)
        load_logged(tmp)  # the loader's own checks of every shape
        swap_in_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


#: The grid :func:`benchmark` times: each method at the draft counts it supports.
BENCH_GRID = {"single": [1], "rrs": [1, 2, 3], "spechub": [2], "kseq": [1, 2, 3]}


def benchmark(data=None, grid=None, temperatures=(0.6, 1.0), *, positions: int = 262_144, vocab: int = 32_000,
              chunk: int = CHUNK, workers: int = 2, repeats: int = 3, log=None) -> list[dict]:
    """Throughput of :func:`sweep` (positions x cells per second) on the local process scheduler and
    on a ``LocalCluster`` of ``workers`` processes, against the serial loop over the same chunks in
    this process, timed in the same run.

    ``data`` None makes a :func:`synthetic_dataset` of ``positions`` positions at ``vocab`` in a
    temporary folder (the default: 262,144 positions at V = 32,000, 64 tokens stored per position,
    under a minute of serial work on one core). ``grid`` maps methods to draft counts (:data:`BENCH_GRID`).
    The serial loop runs in a process whose kernels are already compiled; the local scheduler's time
    includes starting its worker processes (what a user pays on every call); the cluster is started
    and its workers warmed (one chunk each) before it is timed, as a long-lived cluster would be, and
    closed before the next serial loop (its scheduler's threads would run in this process beside it).
    The cluster is timed twice: with Dask's default settings and with :data:`QUIET_WORKERS`.

    The three runs are timed ``repeats`` times, interleaved (serial, local, cluster, serial, ...),
    and each reports its fastest (``seconds``; every time in ``all_seconds``): on a shared virtual
    machine the same serial loop was seen to take 11 s and 14 s minutes apart, so one timing of each
    can put the ratio anywhere in a +-20% band; the fastest of several is each run's time with the
    least interference, and the interleaving exposes all three to the same spells of it.
    """
    import tempfile

    import dask
    from distributed import Client, LocalCluster

    repeats = validate.positive_int(repeats, "repeats")
    grid = dict(BENCH_GRID if grid is None else grid)
    cells = _cells(list(grid), grid, temperatures)
    with tempfile.TemporaryDirectory() as tmp:
        if data is None:
            data = synthetic_dataset(Path(tmp) / "bench", positions, vocab, chunk=max(chunk, 1024), seed=0)
        n = len(load_logged(data))
        work = n * len(cells)
        say = log or (lambda line: None)

        def timed(run):
            tic = time.perf_counter()
            run()
            return time.perf_counter() - tic

        names = ("serial loop over the same chunks", "sweep, local process scheduler",
                 f"sweep, LocalCluster of {workers} workers", f"sweep, LocalCluster of {workers}, QUIET_WORKERS")
        times = {name: [] for name in names}
        chunk_values(data, 0, min(chunk, n), cells, None, True)  # compile the kernels in this process

        def clustered(settings):
            # started for each repeat, and only after the serial loop and the local scheduler ran:
            # an idle cluster's scheduler and client threads live in this process and slowed the
            # serial loop by 10-15% (48 s without, 55-62 s beside one, in one session)
            with dask.config.set(settings), LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                    Client(cluster) as client:
                client.run(chunk_values, data, 0, min(chunk, n), cells, None, True)  # on every worker
                return timed(lambda: sweep(data, list(grid), grid, temperatures, chunk=chunk, scheduler=client))

        for r in range(repeats):
            times[names[0]].append(timed(lambda: [chunk_values(data, lo, min(lo + chunk, n), cells, None, True)
                                                  for lo in range(0, n, chunk)]))
            times[names[1]].append(timed(lambda: sweep(data, list(grid), grid, temperatures, chunk=chunk, scheduler=None)))
            times[names[2]].append(clustered({}))
            times[names[3]].append(clustered(QUIET_WORKERS))
            say(f"repeat {r + 1}/{repeats}: " + ", ".join(f"{times[name][-1]:.1f} s" for name in names))
    serial = min(times[names[0]])
    return [{"run": name, "seconds": min(times[name]), "all_seconds": times[name],
             "throughput": work / min(times[name]), "ratio": serial / min(times[name])} for name in names]


def cell_costs(data, grid, temperature: float = 1.0, *, lo: int = 0, positions: int = 256,
               optimum: bool = True) -> dict:
    """Seconds per position of each cell (with the optimum of its draft law when ``optimum``), measured
    on ``positions`` positions of ``data`` in this process after one warm-up call: the input of
    :func:`wall_time_estimate`.

    Returns ``{"read": seconds per position of reading both laws (:func:`stored_rows`), "cells": [...]}``;
    each cell's ``seconds_per_position`` is its own work, the reading (measured alone, on the
    cheapest cell) subtracted, since a sweep reads a chunk once per temperature for all its cells. A cell the library refuses at this vocabulary (a cost guard, e.g. ``rrs_wo`` at large
    ``k``) has ``seconds_per_position = None`` and the reason."""
    hi = lo + positions

    def timed(cells, with_optimum):
        chunk_values(data, lo, lo + 2, cells, None, with_optimum)
        tic = time.perf_counter()
        chunk_values(data, lo, hi, cells, None, with_optimum)
        return (time.perf_counter() - tic) / positions

    read = timed([("single", 1, float(temperature))], False)
    out = []
    for cell in _cells(list(grid), grid, [temperature]):
        row = {"method": cell[0], "k": cell[1], "temperature": cell[2]}
        try:
            row.update(seconds_per_position=max(timed([cell], optimum) - read, 0.0), refused=None)
        except ValueError as err:
            row.update(seconds_per_position=None, refused=str(err).split(" exceeds max_cost")[0])
        out.append(row)
    return {"read": read, "cells": out}


def wall_time_estimate(costs: dict, positions: int, temperatures: int, workers: int) -> dict:
    """The wall time of the grid of ``costs`` (:func:`cell_costs`, at one temperature) over ``positions``
    positions and ``temperatures`` temperatures on ``workers`` workers: ``(read + sum_cells cost)
    * positions * temperatures / workers``, assuming the chunks divide evenly (they are independent)
    and each worker runs as fast as the process that measured the costs. Refused cells are left out
    and listed."""
    timed = [c for c in costs["cells"] if c["seconds_per_position"] is not None]
    per_position = costs["read"] + sum(c["seconds_per_position"] for c in timed)
    seconds = per_position * positions * temperatures / workers
    return {"seconds": seconds, "hours": seconds / 3600, "cells": len(timed) * temperatures,
            "seconds_per_position_and_temperature": per_position,
            "refused": [(c["method"], c["k"], c["refused"]) for c in costs["cells"] if c["seconds_per_position"] is None]}
