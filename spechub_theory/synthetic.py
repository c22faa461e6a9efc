"""Synthetic (p, q) families and the logit processors inference engines apply.

Every generator takes a ``seed`` (int, ``SeedSequence`` or ``numpy.random.Generator``).

* :func:`llm_like_logits` -- correlated target/draft logits with a Zipf-like rank profile: the
  target's logits at a position are ``-s log(1 + rank) + noise`` over a random ranking of the
  vocabulary, and the draft's are the target's plus independent Gaussian noise (a weaker model
  that mostly agrees on what is likely).
* :func:`dirichlet_pairs` -- independent Dirichlet draws (no correlation between p and q).
* :func:`zipf_pairs` -- p and q with exact Zipf profiles over independently shuffled rankings
  that share their top tokens with a given probability.
* :func:`process` -- temperature, then top-k, then top-p, then softmax, as engines apply them.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import softmax

from . import validate


def llm_like_logits(n: int, vocab: int, *, seed, steepness: float = 2.0, noise: float = 1.0, draft_noise: float = 2.0):
    """Target and draft logits of ``n`` positions over ``vocab`` tokens, shapes ``(n, vocab)`` each.

    ``z = -steepness * log(1 + rank) + noise * N(0, 1)`` over a uniformly random ranking per
    position, and ``z_draft = z + draft_noise * N(0, 1)``. At ``vocab = 32000`` and temperature 1 the
    defaults give a target top-1 mass near 0.56 and a single-draft acceptance ``sum min(p, q)``
    near 0.47, close to the llama-68m / Llama-2-7B pairing of the SpecHub paper (about 0.48 in the
    authors' logs).
    """
    rng = validate.rng(seed)
    ranks = rng.permuted(np.tile(np.arange(vocab, dtype=np.float64), (n, 1)), axis=1)
    target = -steepness * np.log1p(ranks) + noise * rng.standard_normal((n, vocab))
    return target, target + draft_noise * rng.standard_normal((n, vocab))


def dirichlet_pairs(n: int, vocab: int, *, seed, concentration: float = 1.0):
    """``n`` independent pairs ``p, q ~ Dirichlet(concentration)``, shapes ``(n, vocab)`` each."""
    rng = validate.rng(seed)
    alpha = np.full(vocab, float(concentration))
    return rng.dirichlet(alpha, size=n), rng.dirichlet(alpha, size=n)


def zipf_pairs(n: int, vocab: int, *, seed, exponent: float = 1.0, agreement: float = 0.8):
    """p and q with Zipf profiles ``~ (1 + rank)^-exponent``; each of q's ranks is p's with prob. ``agreement``.

    q's ranking is p's with a random fraction ``1 - agreement`` of the positions reshuffled.
    """
    rng = validate.rng(seed)
    profile = (1.0 + np.arange(vocab)) ** -float(exponent)
    profile /= profile.sum()
    p = np.empty((n, vocab))
    q = np.empty((n, vocab))
    for i in range(n):
        order = rng.permutation(vocab)
        moved = np.flatnonzero(rng.random(vocab) >= agreement)
        q_order = order.copy()
        q_order[moved] = rng.permutation(order[moved])
        p[i, order] = profile
        q[i, q_order] = profile
    return p, q


def process(logits, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> np.ndarray:
    """Distributions from logits of shape ``(..., V)``: temperature, top-k, top-p, softmax, in that order.

    ``top_k`` keeps the ``top_k`` largest logits (ties at the boundary are all kept); ``top_p`` keeps
    the smallest set of most likely tokens whose mass reaches ``top_p`` (the token that crosses the
    threshold is kept). ``temperature = 0`` gives the one-hot argmax (ties: lowest index), which
    both filters keep, in ``O(V)`` memory per row. A logit of ``-inf`` (a masked token) has zero
    mass; every row needs a finite one.

    Examples
    --------
    >>> process([0.0, np.log(3.0), -np.inf])
    array([0.25, 0.75, 0.  ])
    """
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ValueError(f"logits: expected an array of shape (..., V) with V >= 1, got shape {z.shape}")
    if not np.isfinite(z).all():
        _check_masked(z)
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) or not 0 <= temperature < np.inf:
        raise ValueError(f"temperature: must be a finite number >= 0, got {temperature!r}")
    if top_k is not None:
        validate.positive_int(top_k, "top_k")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, numbers.Real) or not 0 < top_p <= 1):
        raise ValueError(f"top_p: must be a number in (0, 1], got {top_p!r}")
    if temperature == 0:
        out = np.zeros(z.shape)
        np.put_along_axis(out, np.argmax(z, axis=-1)[..., None], 1.0, axis=-1)
        return out
    z = z / temperature
    if top_k is not None and top_k < z.shape[-1]:
        kth = np.partition(z, -top_k, axis=-1)[..., -top_k, None]
        z = np.where(z >= kth, z, -np.inf)
    probs = softmax(z, axis=-1)
    if top_p is not None:
        order = np.argsort(-probs, axis=-1, kind="stable")
        sorted_probs = np.take_along_axis(probs, order, axis=-1)
        before = np.cumsum(sorted_probs, axis=-1) - sorted_probs
        keep_sorted = before < top_p
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, axis=-1)
        probs = np.where(keep, probs, 0.0)
        probs /= probs.sum(axis=-1, keepdims=True)
    return probs


def _check_masked(z: np.ndarray) -> None:
    """Logits with non-finite entries: ``-inf`` is a masked token; NaN, ``+inf`` and a row without
    a finite logit are refused (one pass over ``z`` on the common, all-finite path stays enough)."""
    if np.isnan(z).any() or np.isposinf(z).any():
        raise ValueError("logits: contains NaN or +inf entries (a masked token is -inf)")
    masked = np.isneginf(z).all(axis=-1)
    if masked.ndim == 0 and masked:
        raise ValueError("logits: every entry is -inf, so no token has mass")
    if masked.any():
        row = tuple(int(i) for i in np.unravel_index(int(np.argmax(masked)), masked.shape))
        raise ValueError(f"logits: row {row[0] if masked.ndim == 1 else row} is -inf everywhere, so no token has mass")
