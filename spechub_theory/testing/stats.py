"""The statistical tests of the harness: pooled chi-square, its grouped form, Holm's correction, a binomial z.

Torch-free and hypothesis-free, so that the library, :mod:`spechub_theory.llm.validate` and the
harness share one copy.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import chdtrc

#: Cells expected fewer times than this are pooled before a chi-square test.
MIN_EXPECTED = 5.0


def _pooled_cells(counts: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Observed and expected counts with the cells expected fewer than :data:`MIN_EXPECTED` times pooled
    into one cell, which is folded into the largest cell when it is itself expected too rarely."""
    big = expected >= MIN_EXPECTED
    observed = np.append(counts[big], counts[~big].sum())
    wanted = np.append(expected[big], expected[~big].sum())
    if wanted[-1] < MIN_EXPECTED:
        observed, wanted = observed[:-1].copy(), wanted[:-1].copy()
        if wanted.size:
            observed[np.argmax(wanted)] += counts[~big].sum()
            wanted[np.argmax(wanted)] += expected[~big].sum()
    return observed, wanted


def _statistic(observed: np.ndarray, wanted: np.ndarray) -> tuple[float, int]:
    """Pearson's statistic of one pooled group and its degrees of freedom (cells - 1)."""
    if wanted.size < 2:
        return 0.0, 0
    wanted = wanted * observed.sum() / wanted.sum()
    return float(np.sum((observed - wanted) ** 2 / wanted)), wanted.size - 1


def pooled_chisquare(counts, p) -> float:
    """p-value of token counts against the law ``p``: Pearson's chi-square test of ``counts`` against
    ``n p``, ``n = sum(counts)``, the tokens expected fewer than 5 times pooled into one cell.

    A token of zero mass in ``p`` that was observed gives ``0.0`` (the law cannot have produced the
    counts); fewer than two cells after pooling give ``1.0`` (nothing to test).

    Parameters
    ----------
    counts : array_like, shape (V,)
        How often each token was observed.
    p : array_like, shape (V,)
        The law under test.

    Returns
    -------
    pvalue : float

    Examples
    --------
    >>> pooled_chisquare([500, 300, 200], [0.5, 0.3, 0.2])
    1.0
    >>> pooled_chisquare([500, 300, 200], [0.5, 0.5, 0.0])
    0.0
    """
    return grouped_chisquare(np.asarray(counts)[None], np.asarray(p)[None])


def grouped_chisquare(counts, probs) -> float:
    """p-value of counts in groups against one law per group: the sum of the groups' pooled
    Pearson statistics against ``chi2`` with the sum of their degrees of freedom.

    Row ``g`` of ``counts`` holds the outcomes of the trials that fell in group ``g`` (here, the
    draft tuples), and row ``g`` of ``probs`` their law; the group sizes are taken as given, so this
    tests the conditional laws (a product-multinomial goodness of fit). Each row is pooled as in
    :func:`pooled_chisquare`; an observed outcome of zero probability gives ``0.0``.

    Parameters
    ----------
    counts : array_like, shape (G, V)
    probs : array_like, shape (G, V)
        Each row a law (rows of unobserved groups are ignored).

    Returns
    -------
    pvalue : float

    Examples
    --------
    >>> grouped_chisquare([[60, 40], [10, 90]], [[0.6, 0.4], [0.1, 0.9]])
    1.0
    """
    counts = np.asarray(counts, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    if counts.shape != probs.shape or counts.ndim != 2:
        raise ValueError(f"probs: shape {probs.shape} does not match counts' shape {counts.shape} (G, V)")
    if np.any((counts > 0) & (probs <= 0)):
        return 0.0
    statistic, df = 0.0, 0
    for row, law in zip(counts, probs):
        total = row.sum()
        if total > 0:
            s, d = _statistic(*_pooled_cells(row, total * law))
            statistic, df = statistic + s, df + d
    return float(chdtrc(df, statistic)) if df > 0 else 1.0


def binomial_pvalue(successes: int, n: int, prob: float) -> tuple[float, float]:
    """``(z, two-sided p-value)`` of ``successes`` in ``n`` trials of probability ``prob`` (normal approximation).

    Where ``n prob (1 - prob)`` is below 1e-9 the outcome is all but certain, and the p-value is
    ``1.0`` when the count is the certain one and ``0.0`` otherwise (``z`` is then 0 or infinite).

    Examples
    --------
    >>> binomial_pvalue(500, 1000, 0.5)
    (0.0, 1.0)
    """
    variance = n * prob * (1.0 - prob)
    if variance < 1e-9:
        same = round(prob * n) == successes
        return (0.0, 1.0) if same else (math.copysign(math.inf, successes - prob * n), 0.0)
    z = (successes - n * prob) / math.sqrt(variance)
    return z, math.erfc(abs(z) / math.sqrt(2.0))


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values: reject test ``i`` at family-wise level ``a`` when ``adjusted[i] <= a``.

    With the p-values sorted, ``p_(1) <= ... <= p_(m)``, the adjusted value of ``p_(j)`` is
    ``max_{i <= j} min(1, (m - i + 1) p_(i))``. It controls the family-wise error rate under any
    dependence between the tests and is never less powerful than Bonferroni.

    References
    ----------
    S. Holm, "A simple sequentially rejective multiple test procedure", Scandinavian Journal of
    Statistics 6 (1979) 65-70.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03])
    array([0.03, 0.06, 0.06])
    """
    p = np.asarray(pvalues, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    m = p.size
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.maximum.accumulate(scaled)
    return out
