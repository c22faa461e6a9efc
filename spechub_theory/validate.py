"""Boundary checks shared by every public function.

Public functions validate their arguments here, once, and raise a ``ValueError`` that names the
argument and the problem; the kernels behind them trust their inputs.
"""

from __future__ import annotations

import numbers

import numpy as np

from .kernels import row_sums_checked

#: Largest tolerated ``|sum - 1|`` of a distribution before it is rejected (or rescaled on request).
SUM_TOLERANCE = 1e-6


#: Rows whose sum is within this of 1 are used as given: the deviation is float64 rounding of the
#: producer (a softmax over 10^5 tokens sums to 1 within ~1e-14); other accepted rows are rescaled.
EXACT_SUM_TOLERANCE = 1e-13


def distribution(x, name: str, *, normalize: bool = False) -> np.ndarray:
    """Return ``x`` as a C-contiguous float64 array of distributions over its last axis.

    Rows must be finite, non-negative and sum to 1 within :data:`SUM_TOLERANCE`; with
    ``normalize=True`` any row of positive mass is accepted. Rows that pass are divided by their
    sum unless it is within :data:`EXACT_SUM_TOLERANCE` of 1, so that later computations start
    from a simplex point to float64 rounding. One fused pass checks and sums.
    """
    arr = np.ascontiguousarray(x, dtype=np.float64)
    if arr.ndim == 0:
        raise ValueError(f"{name}: expected an array of shape (..., V), got a scalar")
    if arr.shape[-1] == 0:
        raise ValueError(f"{name}: the vocabulary axis (last axis) is empty")
    flat = arr.reshape(-1, arr.shape[-1])
    sums = np.empty(flat.shape[0])
    problem = row_sums_checked(flat, sums)
    if problem == 1:
        raise ValueError(f"{name}: contains NaN or infinite entries")
    if problem == 2:
        raise ValueError(f"{name}: contains negative entries (a distribution has non-negative mass)")
    if np.any(sums <= 0):
        raise ValueError(f"{name}: a row has zero total mass")
    off = np.abs(sums - 1.0)
    worst = int(np.argmax(off))
    if off[worst] > SUM_TOLERANCE and not normalize:
        raise ValueError(
            f"{name}: a row sums to {sums[worst]:.12g}, more than {SUM_TOLERANCE:g} from 1; "
            "pass normalize=True to rescale"
        )
    if off[worst] <= EXACT_SUM_TOLERANCE:
        return arr
    return (flat / sums[:, None]).reshape(arr.shape)


def pair(p, q, *, normalize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Validate a target ``p`` and draft ``q`` and broadcast them to one shape ``(..., V)``."""
    p_arr = distribution(p, "p", normalize=normalize)
    q_arr = distribution(q, "q", normalize=normalize)
    if p_arr.shape[-1] != q_arr.shape[-1]:
        raise ValueError(
            f"q: vocabulary size {q_arr.shape[-1]} does not match p's {p_arr.shape[-1]} (shape mismatch)"
        )
    try:
        shape = np.broadcast_shapes(p_arr.shape, q_arr.shape)
    except ValueError:
        raise ValueError(
            f"q: shape {q_arr.shape} does not broadcast with p's shape {p_arr.shape} (shape mismatch)"
        ) from None
    return _expanded(p_arr, shape), _expanded(q_arr, shape)


def _expanded(arr: np.ndarray, shape: tuple) -> np.ndarray:
    """``arr`` broadcast to ``shape`` as a writable C-contiguous array (one compiled signature per kernel)."""
    return arr if arr.shape == shape else np.array(np.broadcast_to(arr, shape), order="C")


def scalar_or_array(x: np.ndarray):
    """A 0-d result as a Python ``float``, anything else unchanged (what a batched function returns)."""
    return float(x) if np.ndim(x) == 0 else x


def positive_int(value, name: str) -> int:
    """``value`` as an ``int`` >= 1 (any integer type, not ``bool``), or a ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}: must be a positive integer, got {value!r}")
    return int(value)


def nonnegative_int(value, name: str) -> int:
    """``value`` as an ``int`` >= 0 (any integer type, not ``bool``), or a ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name}: must be a non-negative integer, got {value!r}")
    return int(value)


def draft_count(k) -> int:
    """Validate the number of drafts ``k`` (an integer >= 1)."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise ValueError(f"k: expected an integer number of drafts, got {k!r}")
    if k < 1:
        raise ValueError(f"k: the number of drafts must be at least 1, got {k}")
    return int(k)


def support_at_least(q: np.ndarray, k: int, law: str) -> None:
    """Check that every row of ``q`` has at least ``k`` tokens of positive mass (the ``strict=True``
    rule: without it a law drafts all the tokens of a shorter row, :meth:`~spechub_theory.drafts.DraftLaw.drafted`).

    The ``ValueError`` names the first row that falls short, by its index over the leading axes.
    """
    counts = np.count_nonzero(q > 0, axis=-1)
    short = np.flatnonzero(np.reshape(counts, -1) < k)
    if short.size:
        first = int(short[0])
        where = "q" if q.ndim == 1 else f"row {tuple(int(i) for i in np.unravel_index(first, counts.shape))} of q"
        raise ValueError(
            f"q: {where} has only {int(np.reshape(counts, -1)[first])} token(s) of positive mass but the {law!r} "
            f"draft law needs {k} distinct tokens ({short.size} such row(s)); strict=False drafts all the tokens "
            "of such a row instead"
        )


def choice(value, name: str, options) -> str:
    """Validate that ``value`` is one of the names in ``options``."""
    if value not in options:
        raise ValueError(f"{name}: unknown {name} {value!r}; expected one of {sorted(options)}")
    return value


def cost_limit(max_cost):
    """Validate a ``max_cost`` keyword: a positive number, or None for no limit."""
    if max_cost is None:
        return None
    if isinstance(max_cost, bool) or not isinstance(max_cost, numbers.Real) or not max_cost > 0:
        raise ValueError(f"max_cost: expected a positive number or None (no limit), got {max_cost!r}")
    return float(max_cost)


def affordable(cost: float, max_cost, *, name: str, work: str, alternative: str) -> None:
    """Refuse a call whose estimated ``cost`` exceeds ``max_cost`` (validated by :func:`cost_limit`).

    Every expensive public function estimates its cost before starting, in the unit its docstring
    names, and calls this: the ``ValueError`` names the argument that makes the call expensive
    (``name``), the work and its estimated cost (``work``, e.g. ``"searching 3.2e+12 rejected
    prefixes"``), the ``max_cost`` keyword that lifts the limit and the cheaper ``alternative``.
    """
    max_cost = cost_limit(max_cost)
    if max_cost is not None and cost > max_cost:
        raise ValueError(
            f"{name}: {work} exceeds max_cost={max_cost:.3g}; pass max_cost=None (or a larger number) to run it "
            f"anyway, or {alternative}"
        )


#: How far outside ``[0, 1]`` a computed probability may fall by float64 rounding before it is an error.
PROBABILITY_ROUNDING = 1e-9


def probabilities(x, what: str, tolerance: float = PROBABILITY_ROUNDING) -> np.ndarray:
    """``x`` clipped to ``[0, 1]`` once it is checked to lie there within ``tolerance`` (rounding).

    A value further out (or NaN) is a bug in the computation behind ``what``, not bad input: it
    raises ``RuntimeError`` naming the value, rather than being clipped out of sight.
    """
    x = np.asarray(x, dtype=np.float64)
    if not (np.all(x >= -tolerance) and np.all(x <= 1.0 + tolerance)):
        flat = x.reshape(-1)
        bad = int(np.argmax(~((flat >= -tolerance) & (flat <= 1.0 + tolerance))))
        where = "" if x.ndim == 0 else f" at index {tuple(int(i) for i in np.unravel_index(bad, x.shape))}"
        raise RuntimeError(
            f"internal error: {what} computed {float(flat[bad])!r}{where}, outside [0, 1] by more than {tolerance:g}; "
            "this is a bug in spechub_theory, please report it with the arguments"
        )
    return np.clip(x, 0.0, 1.0)


def rng(seed) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a seed, a ``SeedSequence`` or a generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise ValueError("seed: an explicit seed or numpy.random.Generator is required for reproducibility")
    return np.random.default_rng(seed)
