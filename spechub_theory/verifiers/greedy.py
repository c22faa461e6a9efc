"""The optimal verifier for greedy drafts (Hu et al., ICLR 2025, arXiv 2502.18779).

The drafts are a fixed set ``T`` (the ``k - 1`` most likely tokens of ``q``) and one token
``X ~ w``, with ``w = q / (1 - q(T))`` off ``T``. The chain keeps ``X`` with probability
``min(1, p(X) / w(X))``; otherwise it emits a token of ``T`` drawn from ``p`` restricted to ``T``
with probability ``min(1, p(T) / E)``, ``E = sum_{x not in T} (w(x) - p(x))_+`` the rejected mass;
otherwise it draws from ``(p - w)_+`` off ``T``. Since ``E - p(T) = sum_{x not in T} (p - w)_+ >= 0``,
all of ``p(T)`` is emitted as a draft and

    alpha = p(T) + sum_{x not in T} min(p(x), q(x) / (1 - q(T))),

which is the optimal transport value for this draft law (no lossless verifier does better: a token
``x`` not in ``T`` is drafted with probability ``w(x)`` and can be emitted as a draft at most
``min(p(x), w(x))`` of the time).
"""

from __future__ import annotations

import numpy as np

from .. import kernels
from .single import normalized


def hub_set_chain(fixed: np.ndarray, x: int, position: int, p: np.ndarray, q: np.ndarray):
    """The chain for drafts ``fixed ∪ {x}``, ``x ~ q`` off ``fixed`` at ``position``."""
    w = q.copy()
    w[fixed] = 0.0
    w /= w.sum()
    yield min(1.0, p[x] / w[x]), position
    p_fixed = p[fixed].sum()
    if p_fixed > 0:
        excess = np.maximum(w - p, 0.0).sum()
        on_fixed = np.zeros_like(p)
        on_fixed[fixed] = p[fixed] / p_fixed
        yield min(1.0, p_fixed / excess), on_fixed
    rest = np.maximum(p - w, 0.0)
    rest[fixed] = 0.0
    yield 1.0, normalized(rest, p)


def procedure(drafts, p, q):
    drafts = np.asarray(drafts)
    return hub_set_chain(drafts[:-1], int(drafts[-1]), len(drafts) - 1, p, q)


def positions(p, q, k):
    """Position ``j < k-1`` (the j-th most likely token) is kept with probability ``p(t_j)``, the last with the rest."""
    out = np.empty((p.shape[0], k + 1))
    kernels.hub_set_acceptance(p, q, k - 1, out)
    return out[:, :k]
