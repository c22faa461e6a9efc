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


def acceptance(p, q, k):
    out = np.empty(p.shape[0])
    kernels.hub_set_acceptance(p, q, 1, out)
    return out
