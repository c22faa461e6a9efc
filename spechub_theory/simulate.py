"""Monte Carlo: sample drafts, run the verifier's procedure with uniforms, count what it emits."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import validate
from .drafts import DRAFT_LAWS
from .exact import first_positions
from .verifiers import checked


@dataclass(frozen=True)
class Simulation:
    """The outcome of :func:`simulate`: how often the emitted token was a draft, and which tokens.

    ``counts[y]`` counts the emitted token ``y``; ``kept[j]`` the draws whose token was kept as
    draft ``j`` (see :func:`spechub_theory.acceptance_by_position`), summing to ``accepted``.
    ``estimate`` is the acceptance rate it estimates and ``se`` its standard error, the names every
    estimate of the library uses (:class:`spechub_theory.TreeSimulation`, :class:`spechub_theory.TreeEstimate`).
    """

    method: str
    k: int
    n: int
    accepted: int
    counts: np.ndarray
    kept: np.ndarray

    @property
    def estimate(self) -> float:
        """The empirical acceptance rate ``accepted / n`` (an estimate, not an exact value)."""
        return self.accepted / self.n

    @property
    def se(self) -> float:
        """The standard error of :attr:`estimate`, ``sqrt(a (1 - a) / n)`` at ``a = estimate``."""
        a = self.estimate
        return math.sqrt(a * (1.0 - a) / self.n)

    def interval(self, z: float = 5.0) -> tuple[float, float]:
        """Wilson score interval for the acceptance rate at ``z`` standard deviations."""
        phat, n = self.estimate, self.n
        centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        lo = 0.0 if self.accepted == 0 else max(0.0, centre - half)
        hi = 1.0 if self.accepted == n else min(1.0, centre + half)
        return lo, hi


def _walk(steps, drafts, uniforms, rng):
    """Emitted tokens and kept positions (-1: not a draft) for draws that share one chain.

    Each draw emits from the first step whose uniform falls below the step's probability;
    ``uniforms`` has at least ``len(steps)`` columns (more are drawn here when a chain is longer).
    """
    if uniforms.shape[1] < len(steps):
        uniforms = np.concatenate([uniforms, rng.random((len(uniforms), len(steps) - uniforms.shape[1]))], axis=1)
    accepts = np.array([a for a, _ in steps])
    first = np.argmax(uniforms[:, : len(steps)] < accepts, axis=1)
    tokens = np.empty(len(uniforms), dtype=np.int64)
    kept = np.empty(len(uniforms), dtype=np.int64)
    for j, (_, emit) in enumerate(steps):
        hit = first == j
        if isinstance(emit, np.ndarray):
            tokens[hit] = rng.choice(emit.size, size=int(hit.sum()), p=emit)
            kept[hit] = first_positions(drafts, emit.size)[tokens[hit]]
        else:
            tokens[hit] = drafts[emit]
            kept[hit] = emit
    return tokens, kept


def simulate(p, q, method: str, k: int | None = None, n: int = 10_000, seed=None, *, normalize: bool = False,
             strict: bool = False) -> Simulation:
    """Sample ``n`` positions: draw drafts from the method's law and run its verifier procedure.

    Parameters
    ----------
    p, q : array_like, shape (V,)
        Target and draft distributions of one position.
    method, k : str, int or None
        As in :func:`spechub_theory.acceptance_rate` (``k=None``: the method's default). On a ``q``
        with fewer tokens of positive mass than the draft law needs for ``k`` drafts, the law drafts
        all of them (as there; ``kept`` is 0 beyond); ``strict=True`` refuses it.
    n : int
        Number of independent positions.
    seed : int, SeedSequence or numpy.random.Generator
        Required: every random draw is reproducible.

    Returns
    -------
    Simulation
        ``accepted`` (how often ``Y`` was a draft), ``counts`` of emitted tokens (shape ``(V,)``),
        ``kept`` per draft position (shape ``(k,)``), the ``estimate`` of the acceptance rate, its
        standard error ``se`` and a Wilson ``interval``.
    """
    p, q, verifier, k = checked(p, q, method, k, normalize=normalize, strict=strict)
    if p.ndim != 1:
        raise ValueError(f"p: simulate takes one position of shape (V,), got shape {p.shape}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: expected a positive integer number of samples, got {n!r}")
    rng = validate.rng(seed)
    tokens, kept = run_chains(verifier, DRAFT_LAWS[verifier.law], p, q, k, int(n), rng)
    counts, kept_counts = np.bincount(tokens, minlength=p.size), np.bincount(kept[kept >= 0], minlength=k)
    return Simulation(method, k, int(n), int((kept >= 0).sum()), counts, kept_counts)


def walk(verifier, drafts, p, q, n, rng):
    """``n`` verifications of one position with the given ``drafts``: ``(tokens, kept)`` as in :func:`run_chains`."""
    return _walk(verifier.chain(drafts, p, q), drafts, rng.random((n, len(drafts) + 2)), rng)


def run_chains(verifier, law, p, q, k, n, rng):
    """``n`` independent verifications of one position: ``(tokens, kept)``, both of shape ``(n,)``.

    Drafts come from ``law``: ``k`` of them, or all the tokens of a ``q`` with fewer than the law
    needs (:meth:`~spechub_theory.drafts.DraftLaw.drafted`, verified by ``verifier.at`` that many).
    The verifier's chain is built once per distinct draft tuple and walked with uniforms. ``kept[i]``
    is the position of the draft ``tokens[i]`` was kept as, or -1 when the token is not a draft
    (arguments are trusted: validate before calling).
    """
    k_row = law.drafted(int(np.count_nonzero(q > 0)), k)
    if k_row != k:
        verifier, k = verifier.at(k_row), k_row
    drafts = law.sample(q, k, rng, n)
    unique, inverse = np.unique(drafts, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=len(unique)))])
    uniforms = rng.random((n, k + 2))  # chains longer than k + 2 steps draw more in _walk
    tokens = np.empty(n, dtype=np.int64)
    kept = np.empty(n, dtype=np.int64)
    prepared = verifier.prepared(p, q, k)
    for g, group_drafts in enumerate(unique):
        members = order[bounds[g] : bounds[g + 1]]
        steps = verifier.chain(group_drafts, p, q, **prepared)
        tokens[members], kept[members] = _walk(steps, group_drafts, uniforms[members], rng)
    return tokens, kept
