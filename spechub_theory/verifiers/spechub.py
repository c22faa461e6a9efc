"""SpecHub (Sun, Zhou, Chen, Sun, EMNLP 2024, arXiv 2411.05289).

Drafts come in pairs through the hub ``a = argmax q``: ``(i, a)`` with probability ``q(i)`` and
``(a, i)`` with probability ``q(a) q(i) / (1 - q(a))``, so the non-hub draft ``i`` has law
``w(i) = q(i) / (1 - q(a))`` and the hub is always drafted. The paper verifies the pair with the
solution of a small transport LP, solved greedily; the chain here reaches the same optimum: keep
``i`` with probability ``min(1, p(i) / w(i))``, else emit ``a`` with probability ``p(a) / E``
(``E`` the rejected mass), else draw from ``(p - w)_+`` off the hub. Hence

    alpha = min(1, p(a) + sum_{i != a} min(p(i), q(i) / (1 - q(a))))

(the ``min(1, .)`` never binds), the greedy verifier's value at ``k = 2``
(:mod:`spechub_theory.verifiers.greedy`).
"""

from __future__ import annotations

import numpy as np

from .. import kernels
from ..drafts import top_tokens
from .greedy import hub_set_chain


def procedure(drafts, p, q):
    hub = top_tokens(q, 1)
    spoke = 1 if int(drafts[0]) == hub[0] else 0
    return hub_set_chain(hub, int(drafts[spoke]), spoke, p, q)


def positions(p, q, k):
    """With ``S = sum_{i != a} min(p(i), w(i))``: the pair ``(i, a)`` (probability ``1 - q(a)`` in all)
    keeps ``i`` first or the hub second; ``(a, i)`` (probability ``q(a)``) the reverse. The hub is kept
    with total probability ``p(a)`` and the spoke with ``S``, independently of the order, so
    ``P(first kept) = (1 - q(a)) S + q(a) p(a)`` and ``P(second kept) = (1 - q(a)) p(a) + q(a) S``."""
    out = np.empty((p.shape[0], 3))
    kernels.hub_set_acceptance(p, q, 1, out)
    hub_p, spoke, hub_q = out[:, 0], out[:, 1], out[:, 2]
    return np.stack([(1 - hub_q) * spoke + hub_q * hub_p, (1 - hub_q) * hub_p + hub_q * spoke], axis=1)
