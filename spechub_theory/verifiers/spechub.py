r"""SpecHub (Sun, Zhou, Chen, Sun, EMNLP 2024, arXiv 2411.05289), verified as the authors' engines do.

Drafts come in pairs through the hub ``a = argmax q`` (ties: the lowest index): ``(i, a)`` with
probability ``q(i)`` and ``(a, i)`` with probability ``Q(a, i) = q(a) q(i) / (1 - q(a))``, ``i != a``,
so the spoke ``i`` has law ``w(i) = q(i) + Q(a, i) = q(i) / (1 - q(a))`` and the hub is always drafted.

The verifier is a transport plan from the pairs to ``Y ~ p``, filled in a fixed order (the authors'
Sequoia ``MyTree.accept_step`` and EAGLE ``evaluate_posterior(mode="spechub")``). With
``r(i) = (p(i) - q(i))_+`` the part of ``p(i)`` the pair ``(i, a)`` leaves,
``s_ai = sum_{i != a} (Q(a, i) - r(i))_+`` and ``s_ia = sum_{i != a} (q(i) - p(i))_+`` the mass the
pairs ``(a, i)`` and ``(i, a)`` have left once their spokes are served:

1. ``(i, a)``: keep ``i`` (position 0) with probability ``min(1, p(i) / q(i))``;
2. ``(a, i)``: keep ``i`` (position 1) with probability ``min(1, r(i) / Q(a, i))``;
3. ``(a, i)``, ``i`` rejected: keep the hub (position 0) with probability ``min(1, p(a) / s_ai)``;
4. ``(i, a)``, ``i`` rejected: keep the hub (position 1) with probability
   ``min(1, (p(a) - s_ai)_+ / s_ia)``, what ``p(a)`` still needs;
5. otherwise draw ``Y`` from ``(p - w)_+`` off the hub, normalised.

Losslessness: steps 1-2 give each spoke ``min(p(i), q(i)) + min(r(i), Q(a, i)) = min(p(i), w(i))``;
steps 3-4 give the hub ``min(p(a), s_ai + s_ia)``, which is all of ``p(a)`` because
``s_ai + s_ia = sum_{i != a} (w(i) - p(i))_+ >= sum_{i != a} (w(i) - p(i)) = p(a)``. What ``p`` still
needs is ``(p(i) - w(i))_+`` at the spokes, of total ``s_ai + s_ia - p(a)``, the mass every pair has
left after step 4; step 5 sends each pair's leftover there in proportion, so ``P(Y = y) = p(y)``.
Step 5 never lands on a draft: a spoke with ``p(i) > w(i)`` is kept at step 1 or 2 for certain.

Hence the probability that the first and the second draft are kept,

    P(first kept)  = sum_{i != a} min(p(i), q(i))       + min(p(a), s_ai),
    P(second kept) = sum_{i != a} min(r(i), Q(a, i))    + min((p(a) - s_ai)_+, s_ia),

and their sum, the acceptance rate

    alpha = p(a) + sum_{i != a} min(p(i), q(i) / (1 - q(a))),

the optimum for the hub draft law and the greedy verifier's value at ``k = 2``
(:mod:`spechub_theory.verifiers.greedy`). At ``p = q`` the first draft is always kept: ``(1, 0)``.

Examples
--------
>>> from spechub_theory import acceptance_by_position
>>> acceptance_by_position([0.5, 0.25, 0.25], [0.5, 0.25, 0.25], "spechub", k=2)
array([1., 0.])
>>> acceptance_by_position([0.5, 0.1, 0.4], [0.6, 0.3, 0.1], "spechub", k=2)  # 13/20, 1/5
array([0.65, 0.2 ])

References
----------
Sun, Zhou, Chen, Sun. SpecHub: Provable acceleration to multi-draft speculative decoding. EMNLP 2024,
arXiv:2411.05289; the verifier of their code, github.com/MasterGodzilla/Speculative_decoding_OT.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..drafts import top_tokens
from .single import normalized


@dataclass(frozen=True)
class HubPlan:
    """What the chain needs of ``(p, q)`` alone: the hub, ``Q(a, i) / q(i) = q(a) / (1 - q(a))``, the
    hub's acceptance after a rejected spoke in each order (steps 3 and 4), and the residual law (step 5)."""

    hub: int
    scale: float
    hub_after_ai: float
    hub_after_ia: float
    residual: np.ndarray


def _ratio(num: float, den: float) -> float:
    """``min(1, num / den)``; 1 where ``den = 0`` (a step that no draft of positive probability reaches)."""
    return min(1.0, num / den) if den > 0.0 else 1.0


def hub_plan(p: np.ndarray, q: np.ndarray) -> HubPlan:
    """The :class:`HubPlan` at one position (``p, q`` of shape ``(V,)``, validated), in ``O(V)``."""
    a = int(top_tokens(q, 1)[0])
    spokes = q.copy()
    spokes[a] = 0.0
    scale = q[a] / spokes.sum()  # summed directly: 1 - q(a) rounds to 0 when q(a) is within 1e-16 of 1
    pair_ai = scale * spokes
    r = np.maximum(p - q, 0.0)
    r[a] = 0.0
    s_ai = np.maximum(pair_ai - r, 0.0).sum()
    left_ia = np.maximum(spokes - p, 0.0)
    left_ia[a] = 0.0
    s_ia = left_ia.sum()
    residual = np.maximum(r - pair_ai, 0.0)
    residual[a] = 0.0
    residual = normalized(residual, p)
    residual.setflags(write=False)  # shared by every draft tuple's chain
    return HubPlan(a, float(scale), _ratio(p[a], s_ai), _ratio(max(p[a] - s_ai, 0.0), s_ia), residual)


def setup(p, q, k):
    """The plan depends on ``(p, q)`` only: computed once for every draft tuple of a position."""
    return {"plan": hub_plan(p, q)}


def procedure(drafts, p, q, plan=None):
    plan = hub_plan(p, q) if plan is None else plan
    a = plan.hub
    first, second = int(drafts[0]), int(drafts[1])
    if second == a:  # (i, a): the spoke first, then the hub as the second draft
        yield _ratio(p[first], q[first]), 0
        yield plan.hub_after_ia, 1
    else:  # (a, i): the spoke gets what (i, a) left of p(i), then the hub as the first draft
        yield _ratio(max(p[second] - q[second], 0.0), plan.scale * q[second]), 1
        yield plan.hub_after_ai, 0
    yield 1.0, plan.residual


def positions(p, q, k):
    """``P(first kept), P(second kept)`` of the module docstring, per row (:func:`kernels.spechub_positions`)."""
    out = np.empty((p.shape[0], 2))
    kernels.spechub_positions(p, q, out)
    return out
