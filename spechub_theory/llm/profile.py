"""Measure the cost model of speculative decoding on the real models (``spechub-theory profile``).

``target(n)``: the time of one target forward pass over ``n`` new tokens after a cached context of
``context`` tokens (a tree of ``n`` nodes is verified in one such pass; a tree attention mask
changes which tokens attend to which, not the work), for ``n`` in ``sizes``. ``draft``: the time of
one draft pass over one new token after the same context (one pass per level of drafts). Each is the
median of ``repeats`` timings, each on a fresh copy of the cache (the copy is not timed).

The profile is JSON, the format :meth:`spechub_theory.tree.choose.CostModel.load` reads, so a
user can write one by hand for hardware this cannot run on::

    {"target": {"1": 0.012, "2": 0.012, ...}, "draft": 0.004,
     "device": "...", "models": {...}, "context": 128, "repeats": 5, "command": "...", "versions": {...}}
"""

from __future__ import annotations

import copy
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from ..outputs import check_replaceable, write_text
from ..validate import positive_int
from .collect import load_pair
from .decode import _forward


def _is_profile(path: Path) -> bool:
    try:
        record = json.loads(path.read_text())
        return isinstance(record, dict) and isinstance(record.get("target"), dict) and "draft" in record
    except (OSError, ValueError, UnicodeDecodeError):
        return False


def _timed(model, ids, cache, repeats: int, sync) -> float:
    times = []
    for _ in range(repeats):
        fresh = copy.deepcopy(cache)
        sync()
        tic = time.perf_counter()
        _forward(model, ids, fresh)
        sync()
        times.append(time.perf_counter() - tic)
    return statistics.median(times)


def profile(out, *, target=None, draft=None, device: str = "auto", sizes=tuple(range(1, 129)), repeats: int = 5,
            context: int = 128, seed: int = 0, overwrite: bool = False, log=print) -> Path:
    """Measure the profile of the module docstring and write it to ``out`` (JSON, atomically)."""
    out = Path(out)
    sizes = sorted({int(n) for n in sizes})
    if not sizes or sizes[0] < 1:
        raise ValueError(f"sizes: expected positive token counts, got {sizes!r}")
    for name, value in (("repeats", repeats), ("context", context)):
        positive_int(value, name)
    check_replaceable(out, "out", overwrite, _is_profile, "a cost profile of this library")
    target_model, draft_model, _, dev, description = load_pair(target, draft, None, device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    rng = np.random.default_rng(seed)
    vocab = int(target_model.config.vocab_size)
    prefix = torch.as_tensor(rng.integers(0, vocab, context), device=dev)[None]
    caches = [_forward(m, prefix, None)[1] for m in (target_model, draft_model)]
    one = torch.as_tensor(rng.integers(0, vocab, 1), device=dev)[None]
    _timed(target_model, one, caches[0], 2, sync)  # warm up
    draft_time = _timed(draft_model, one, caches[1], repeats, sync)
    target_times = {}
    start = time.perf_counter()
    for i, n in enumerate(sizes):
        ids = torch.as_tensor(rng.integers(0, vocab, n), device=dev)[None]
        target_times[str(n)] = _timed(target_model, ids, caches[0], repeats, sync)
        if (i + 1) % 16 == 0 or i + 1 == len(sizes):
            log(f"profile: target over {n} tokens ({i + 1}/{len(sizes)} sizes, {time.perf_counter() - start:.0f} s)")
    record = {"target": target_times, "draft": draft_time, "device": str(dev), "context": context, "repeats": repeats,
              "models": description["models"], "versions": description["versions"], "command": description["command"]}
    write_text(out, json.dumps(record, indent=2) + "\n")
    return out
