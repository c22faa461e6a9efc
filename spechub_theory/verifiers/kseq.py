"""K-SEQ, SpecTr's draft selection (Sun, Suresh, Ro, Beirami, Jain, Yu, NeurIPS 2023).

With i.i.d. drafts and a division factor ``rho`` each draft is kept with probability
``min(1, p(X_j) / (rho q(X_j)))``; after ``k`` rejections ``Y`` is drawn from the fixed residual
``p - gamma m`` normalised, where ``m = min(q, p/rho)``, ``beta = sum m`` and
``gamma = sum_{j<k} (1 - beta)^j``. Losslessness needs ``gamma <= rho``; ``rho`` is the smallest
such value in ``[1, k]``, found by bisection (:func:`spechub_theory.kernels.kseq_rho`). The residual
may land on a rejected draft, which counts as acceptance (``Y`` is in the draft set):

    alpha = 1 - (1-beta)^k + sum_y (p(y) - gamma m(y)) (1 - (1 - (q(y) - m(y)) / (1-beta))^k).
"""

from __future__ import annotations

import numpy as np

from .. import kernels
from .single import normalized


def setup(p, q, k):
    """``rho`` depends on ``(p, q, k)`` only: computed once for every draft tuple of a position."""
    return {"rho": kernels.kseq_rho(p, q, k)}


def procedure(drafts, p, q, rho=None):
    rho = kernels.kseq_rho(p, q, len(drafts)) if rho is None else rho
    m = np.minimum(q, p / rho)
    beta = m.sum()
    gamma = sum((1.0 - beta) ** j for j in range(len(drafts)))
    for j, x in enumerate(drafts):
        yield min(1.0, p[x] / (rho * q[x])), j
    rest = np.maximum(p - gamma * m, 0.0)
    yield 1.0, normalized(rest, p)


def positions(p, q, k):
    out = np.empty((p.shape[0], k))
    kernels.kseq_acceptance(p, q, k, out)
    return out
