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


def draft_count(k) -> int:
    """Validate the number of drafts ``k`` (an integer >= 1)."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise ValueError(f"k: expected an integer number of drafts, got {k!r}")
    if k < 1:
        raise ValueError(f"k: the number of drafts must be at least 1, got {k}")
    return int(k)


def support_at_least(q: np.ndarray, k: int, law: str) -> None:
    """Check that every row of ``q`` has at least ``k`` tokens of positive mass."""
    smallest = int(np.min(np.count_nonzero(q > 0, axis=-1)))
    if smallest < k:
        raise ValueError(
            f"k: {k} distinct drafts are needed by the {law!r} draft law but a row of q has only "
            f"{smallest} token(s) of positive mass"
        )


def choice(value, name: str, options) -> str:
    """Validate that ``value`` is one of the names in ``options``."""
    if value not in options:
        raise ValueError(f"{name}: unknown {name} {value!r}; expected one of {sorted(options)}")
    return value


def rng(seed) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a seed, a ``SeedSequence`` or a generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise ValueError("seed: an explicit seed or numpy.random.Generator is required for reproducibility")
    return np.random.default_rng(seed)
