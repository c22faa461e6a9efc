"""Small random context-dependent models: the target and draft laws given the whole prefix.

For sequence-level checks (a tree verifier uses the laws of every node, and using the wrong node's
law must show up), a model must give different laws at different prefixes, reproducibly.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np


def _integer(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class ContextModel:
    """Target and draft laws over ``v`` tokens for every prefix, a function ``prefix -> (p, q)``.

    The laws at a prefix are integer weights 0..6, drawn from a generator seeded by ``seed`` and the
    prefix itself, so a prefix always gets the same laws and any two prefixes get independent ones.
    ``q`` has at least ``min_support`` tokens of positive mass; one prefix in eight has ``q = p`` and
    one in eight a one-hot ``p``.

    Parameters
    ----------
    v : int
        Vocabulary size, at least 2.
    seed : int
        Non-negative seed of the model.
    min_support : int
        Tokens of positive mass every ``q`` has (``DRAFT_LAWS[law].min_support(k)``), at most ``v``.

    Examples
    --------
    >>> model = ContextModel(3, seed=7)
    >>> p, q = model((0, 2))
    >>> p.shape, bool(np.all(model((0, 2))[1] == q)), bool(abs(q.sum() - 1) < 1e-12)
    ((3,), True, True)
    """

    v: int
    seed: int = 0
    min_support: int = 1
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        _integer(self.v, "v", 2)
        _integer(self.seed, "seed", 0)
        _integer(self.min_support, "min_support", 1)
        if self.min_support > self.v:
            raise ValueError(f"min_support: {self.min_support} tokens of positive mass asked of a vocabulary of {self.v}")

    def __call__(self, prefix) -> tuple[np.ndarray, np.ndarray]:
        """``(p, q)``, each of shape ``(v,)``, the laws of the token after ``prefix`` (a sequence of tokens)."""
        key = tuple(int(t) for t in prefix)
        if any(t < 0 or t >= self.v for t in key):
            raise ValueError(f"prefix: tokens must lie in 0..{self.v - 1}, got {list(key)}")
        if key not in self._cache:
            self._cache[key] = self._laws(key)
        p, q = self._cache[key]
        return p.copy(), q.copy()

    def _laws(self, key: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, len(key), *key])
        shape = rng.integers(8)
        p = rng.integers(0, 7, size=self.v).astype(np.float64)
        if p.sum() == 0 or shape == 0:
            p = np.eye(self.v)[rng.integers(self.v)]
        if shape == 1 and np.count_nonzero(p) >= self.min_support:
            q = p.copy()
        else:
            q = rng.integers(0, 7, size=self.v).astype(np.float64)
            empty = np.flatnonzero(q == 0)
            missing = self.min_support - np.count_nonzero(q)
            if missing > 0:
                q[rng.choice(empty, size=missing, replace=False)] = rng.integers(1, 7, size=missing)
        return p / p.sum(), q / q.sum()


def random_context_model(v: int, seed: int = 0, *, min_support: int = 1) -> ContextModel:
    """A :class:`ContextModel` over ``v`` tokens from ``seed`` (what the hypothesis strategy
    :func:`spechub_theory.testing.context_models` draws, for use without hypothesis)."""
    return ContextModel(v, seed, min_support=min_support)
