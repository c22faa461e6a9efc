"""Benchmarks: the cost of each exact computation as a ratio to a baseline timed in the same run.

Wall-clock numbers depend on the machine; the ratios are what the targets are stated in:

* ``single``, ``spechub``, ``rrs`` (k = 2) through :func:`acceptance_rate` on a batch of 256
  LLM-like positions at V = 32,000, against the one-pass floor ``np.minimum(p, q).sum(-1)``
  (target: within 4x);
* ``rrs_wo`` (k = 2) on the same rows, against ``np.sort`` of ``p`` (target: within 2x);
* ``rrs_wo`` at k = 3 and V = 2,000, seconds per position (target: under 2 s).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .acceptance import acceptance_rate
from .synthetic import llm_like_logits, process


@dataclass(frozen=True)
class Timing:
    """One benchmark line: what was timed, its best time, and its ratio to the baseline."""

    name: str
    seconds: float
    baseline: str
    ratio: float
    target: str

    @property
    def met(self) -> bool:
        """Whether the ratio is within the target (``target`` reads ``"<= 4x"`` or ``"< 2 s"``)."""
        bound = float(self.target.split()[1].rstrip("xs"))
        return self.ratio <= bound


def best_time(fn, repeats: int) -> float:
    """The fastest of ``repeats`` calls of ``fn`` (after one warm-up call), in seconds."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run(positions: int = 256, vocab: int = 32_000, repeats: int = 5, seed: int = 0) -> list[Timing]:
    """Time every benchmark of this module; returns one :class:`Timing` per line."""
    target, draft = llm_like_logits(positions, vocab, seed=seed)
    p, q = process(target), process(draft)
    floor = best_time(lambda: np.minimum(p, q).sum(-1), repeats)
    lines = []
    for method in ("single", "spechub", "rrs"):
        k = 1 if method == "single" else 2
        t = best_time(lambda: acceptance_rate(p, q, method, k), repeats)
        lines.append(Timing(f"{method} k={k} ({positions}x{vocab})", t, "min(p,q).sum", t / floor, "<= 4x"))
    sort = best_time(lambda: np.sort(p, axis=-1), repeats)
    t = best_time(lambda: acceptance_rate(p, q, "rrs_wo", 2), repeats)
    lines.append(Timing(f"rrs_wo k=2 ({positions}x{vocab})", t, "np.sort(p)", t / sort, "<= 2x"))
    small_t, small_d = llm_like_logits(8, 2_000, seed=seed + 1)
    p3, q3 = process(small_t), process(small_d)
    t = best_time(lambda: acceptance_rate(p3, q3, "rrs_wo", 3), max(1, repeats // 2)) / 8
    lines.append(Timing("rrs_wo k=3 (per position, V=2000)", t, "1 second", t, "< 2 s"))
    return lines


def report(lines: list[Timing]) -> str:
    """The benchmark lines as a fixed-width table."""
    rows = [f"{'benchmark':<36} {'seconds':>10} {'baseline':>14} {'ratio':>8}  target  met"]
    for line in lines:
        rows.append(
            f"{line.name:<36} {line.seconds:>10.4g} {line.baseline:>14} {line.ratio:>8.2f}  "
            f"{line.target:<6}  {'yes' if line.met else 'NO'}"
        )
    return "\n".join(rows)
