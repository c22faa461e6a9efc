"""Example verifiers written as a user would write them: correct rules, and lossy rules found in released code.

Each takes ``(drafts, p, q, rng)`` -- the ``k`` draft tokens, the target and draft laws of one
position (read-only ``(V,)`` arrays) and a ``numpy.random.Generator`` -- and returns the emitted
token, the form :func:`spechub_theory.testing.check_verifier` calls (``rrs_batched`` takes drafts of
shape ``(n, k)`` and returns ``(n,)``). They are written here from the rules' descriptions, not
derived from :mod:`spechub_theory.verifiers`, so that the harness is tested on independent code.

Correct (the emitted token has law ``p``):

* :func:`single` -- one draft, ``iid`` law, ``k = 1`` (Leviathan et al., 2023);
* :func:`rrs` and :func:`rrs_batched` -- recursive rejection sampling, ``iid`` drafts (SpecInfer);
* :func:`rrs_wo` -- recursive rejection sampling on drafts without replacement (``wo``), with the
  draft law masked and renormalised after each rejection.

Lossy:

* :func:`rrs_skip_duplicates` -- RRS on ``iid`` drafts that skips a token drafted twice without
  updating the residual (a bug read in released engine code), lossy at ``k >= 2`` in general,
  worst at ``k >= 3``;
* :func:`rrs_wo_unmasked` -- RRS on ``wo`` drafts that keeps testing against the original ``q``
  instead of masking the drafted tokens and renormalising, lossy at ``k >= 2``.

:data:`EXAMPLES` lists each with its draft law, a ``k`` it is meant for and whether it is lossless.
"""

from __future__ import annotations

import numpy as np


def _draw(r: np.ndarray, rng: np.random.Generator) -> int:
    """One token from the law ``r`` by inverse CDF (never a token of zero mass)."""
    cdf = np.cumsum(r)
    token = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
    return min(token, int(np.flatnonzero(r > 0)[-1]))


def _residual(r: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``(r - q)_+`` normalised (``r`` itself when no mass is left, which a rejection never reaches)."""
    rest = np.maximum(r - q, 0.0)
    total = rest.sum()
    return rest / total if total > 0 else r


def single(drafts, p, q, rng) -> int:
    """Speculative sampling with one draft: keep ``x`` with probability ``min(1, p(x)/q(x))``, else
    draw from ``(p - q)_+`` normalised. Lossless, ``law="iid"``, ``k = 1``."""
    (x,) = drafts
    if rng.random() * q[x] < p[x]:
        return int(x)
    return _draw(_residual(p, q), rng)


def rrs(drafts, p, q, rng) -> int:
    """Recursive rejection sampling: draft ``j`` is kept with probability ``min(1, r(x)/q(x))``
    against the residual ``r`` (first ``p``), which every rejection replaces by ``(r - q)_+``
    normalised; after ``k`` rejections the token is drawn from ``r``. Lossless, ``law="iid"``."""
    r = p
    for x in drafts:
        if rng.random() * q[x] < r[x]:
            return int(x)
        r = _residual(r, q)
    return _draw(r, rng)


def rrs_batched(drafts, p, q, rng) -> np.ndarray:
    """:func:`rrs` for ``n`` positions at once: drafts of shape ``(n, k)``, tokens of shape ``(n,)``.

    With i.i.d. drafts the residual after ``j`` rejections does not depend on which tokens were
    rejected, so the ``k + 1`` residuals are computed once."""
    n, k = drafts.shape
    residuals = [p]
    for _ in range(k):
        residuals.append(_residual(residuals[-1], q))
    keep = rng.random((n, k)) * q[drafts] < np.stack([residuals[j][drafts[:, j]] for j in range(k)], axis=1)
    first = np.where(keep.any(axis=1), keep.argmax(axis=1), k)
    out = np.empty(n, dtype=np.int64)
    kept = first < k
    out[kept] = drafts[kept, first[kept]]
    cdf = np.cumsum(residuals[k])
    last = int(np.flatnonzero(residuals[k] > 0)[-1])
    out[~kept] = np.minimum(np.searchsorted(cdf, rng.random(int((~kept).sum())) * cdf[-1], side="right"), last)
    return out


def rrs_wo(drafts, p, q, rng) -> int:
    """Recursive rejection sampling on drafts without replacement: as :func:`rrs`, but draft ``j`` was
    drawn from ``q`` with the earlier drafts masked out and renormalised, and is tested against that
    law. Lossless, ``law="wo"``."""
    r, q_j = p, q
    for j, x in enumerate(drafts):
        if rng.random() * q_j[x] < r[x]:
            return int(x)
        r = _residual(r, q_j)
        if j + 1 < len(drafts):  # the next draft's law: q without the tokens drafted so far
            q_j = q_j.copy()
            q_j[x] = 0.0
            q_j = q_j / q_j.sum()
    return _draw(r, rng)


def rrs_skip_duplicates(drafts, p, q, rng) -> int:
    """RRS that skips a draft token it has already rejected, without updating the residual. Lossy.

    In RRS a repeated token is rejected for certain (the residual is zero there after its first
    rejection) but the residual is still updated; skipping the step leaves the chain one update short
    whenever the drafts repeat, so the emitted law drifts from ``p``. ``law="iid"``, ``k >= 2``
    (worst at ``k >= 3``)."""
    r = p
    rejected = set()
    for x in drafts:
        x = int(x)
        if x in rejected:
            continue  # the bug: a correct chain would still set r = (r - q)_+ here
        if rng.random() * q[x] < r[x]:
            return x
        rejected.add(x)
        r = _residual(r, q)
    return _draw(r, rng)


def rrs_wo_unmasked(drafts, p, q, rng) -> int:
    """RRS on drafts without replacement that forgets to mask and renormalise ``q``. Lossy.

    Draft ``j`` was drawn from ``q`` restricted to the undrafted tokens, but this rule tests it and
    forms the residual against the original ``q``, as if the drafts were i.i.d. ``law="wo"``, ``k >= 2``."""
    r = p
    for x in drafts:
        if rng.random() * q[x] < r[x]:
            return int(x)
        r = _residual(r, q)  # the bug: q should lose x and be renormalised before the next draft
    return _draw(r, rng)


#: name -> (verifier, draft law, a k it is meant for, lossless, batched)
EXAMPLES = {
    "single": (single, "iid", 1, True, False),
    "rrs": (rrs, "iid", 3, True, False),
    "rrs_batched": (rrs_batched, "iid", 3, True, True),
    "rrs_wo": (rrs_wo, "wo", 3, True, False),
    "rrs_skip_duplicates": (rrs_skip_duplicates, "iid", 3, False, False),
    "rrs_wo_unmasked": (rrs_wo_unmasked, "wo", 3, False, False),
}
