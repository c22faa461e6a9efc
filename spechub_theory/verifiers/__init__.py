"""The multi-draft verifiers, one module each, and the registry that names them.

A verifier is defined once, as the procedure an inference engine runs: a generator
``procedure(drafts, p, q)`` that yields the steps of a sequential rejection chain, each a pair
``(accept_probability, emit)`` where ``emit`` is either an ``int``, the position ``j`` of the draft
kept (the token ``drafts[j]``; in a token tree, the child whose subtree is verified next), or a law
over tokens. The engine walks the chain with uniforms and emits from the first accepted step; the
last step has probability 1.
:mod:`spechub_theory.exact` enumerates the same chain for the exact output law and
:mod:`spechub_theory.simulate` samples it. Each module also gives the closed-form probability that
draft ``j`` is kept, ``positions(p, q, k)`` of shape ``(n, k)`` on validated ``(n, V)`` arrays;
the acceptance rate is its sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from .. import validate
from ..drafts import DRAFT_LAWS
from . import greedy, kseq, nss, rrs, rrs_wo, single, spechub

Step = tuple[float, "int | np.ndarray"]


@dataclass(frozen=True)
class Verifier:
    """A verifier: its draft law, its procedure, its closed-form kept-draft probabilities, the k it supports."""

    name: str
    drafts: str
    procedure: Callable[..., Iterator[Step]]
    positions: Callable[[np.ndarray, np.ndarray, int], np.ndarray]
    k_values: str
    #: What the procedure needs of ``(p, q, k)`` alone, computed once for many draft tuples: keyword
    #: arguments of ``procedure`` (which computes them itself when they are not given).
    setup: Callable[[np.ndarray, np.ndarray, int], dict] | None = None

    def supports(self, k: int) -> bool:
        """Whether the verifier is defined for ``k`` drafts (``k_values``: 'any', '1' or '2')."""
        return self.k_values == "any" or int(self.k_values) == k

    def prepared(self, p: np.ndarray, q: np.ndarray, k: int) -> dict:
        """The keyword arguments :meth:`chain` can reuse for every k-tuple of drafts at ``(p, q)``."""
        return {} if self.setup is None else self.setup(p, q, k)

    def at(self, k: int) -> "Verifier":
        """The verifier run on a row where the draft law makes only ``k`` drafts (``DraftLaw.drafted``):
        the method itself where it is defined for ``k``; single-draft sampling for one draft (SpecHub on
        a one-hot ``q`` drafts the hub alone, accepted with probability ``p(hub)``)."""
        if self.supports(k):
            return self
        if k == 1:
            return VERIFIERS["single"]
        raise ValueError(f"q: a row of q lets the {self.drafts!r} law draft only {k} tokens but method "
                         f"{self.name!r} supports k = {self.k_values} only; pass strict=True to refuse such rows")

    def chain(self, drafts: np.ndarray, p: np.ndarray, q: np.ndarray, **prepared) -> list[Step]:
        """The procedure's steps up to the first certain one, probabilities clipped to ``[0, 1]``;
        ``prepared`` is :meth:`prepared` at the same ``(p, q, len(drafts))``."""
        steps = []
        for accept, emit in self.procedure(drafts, p, q, **prepared):
            steps.append((min(max(accept, 0.0), 1.0), emit))
            if accept >= 1.0:
                break
        return steps


#: Every verifier by method name.
VERIFIERS: dict[str, Verifier] = {
    v.name: v
    for v in (
        Verifier("single", "iid", single.procedure, single.positions, "1"),
        Verifier("rrs", "iid", rrs.procedure, rrs.positions, "any"),
        Verifier("rrs_wo", "wo", rrs_wo.procedure, rrs_wo.positions, "any"),
        Verifier("spechub", "hub", spechub.procedure, spechub.positions, "2", spechub.setup),
        Verifier("kseq", "iid", kseq.procedure, kseq.positions, "any", kseq.setup),
        Verifier("nss", "iid", nss.procedure, nss.positions, "any"),
        Verifier("greedy", "greedy", greedy.procedure, greedy.positions, "any"),
    )
}


def checked(p, q, method: str, k, *, normalize: bool = False, strict: bool = False):
    """Validate a call ``(p, q, method, k)``: returns ``(p, q, verifier, k)`` with ``p, q`` of shape ``(..., V)``.

    Raises ``ValueError`` for bad distributions, an unknown method or a ``k`` the method does not
    support; with ``strict=True`` also for a row of ``q`` with fewer tokens of positive mass than the
    draft law needs for ``k`` drafts (naming the row), which otherwise drafts all of them (:func:`row_groups`).
    """
    verifier = VERIFIERS[validate.choice(method, "method", VERIFIERS)]
    k = validate.draft_count(k)
    if not verifier.supports(k):
        raise ValueError(f"k: method {method!r} supports k = {verifier.k_values} only, got k = {k}")
    p, q = validate.pair(p, q, normalize=normalize)
    if not isinstance(strict, bool):
        raise ValueError(f"strict: expected True or False, got {strict!r}")
    if strict:
        validate.support_at_least(q, DRAFT_LAWS[verifier.drafts].min_support(k), verifier.drafts)
    return p, q, verifier, k


def row_groups(verifier: Verifier, q: np.ndarray, k: int) -> list[tuple[int, Verifier, np.ndarray]]:
    """The rows of the validated ``q`` (shape ``(n, V)``) by the number of drafts the law makes on each.

    Returns ``[(k_row, verifier_row, rows)]``: on the rows ``rows`` the law drafts ``k_row <= k``
    tokens (:meth:`spechub_theory.drafts.DraftLaw.drafted`) and ``verifier_row = verifier.at(k_row)``
    verifies them; positions ``k_row..k-1`` are never kept there. One group, of every row, when
    every row has the support ``k`` drafts need.
    """
    law = DRAFT_LAWS[verifier.drafts]
    support = np.count_nonzero(q > 0, axis=-1)
    if support.size and int(support.min()) >= law.min_support(k):
        return [(k, verifier, np.arange(q.shape[0]))]
    values, inverse = np.unique(support, return_inverse=True)
    counts = np.array([law.drafted(int(s), k) for s in values], dtype=np.int64)[inverse.reshape(-1)]
    return [(int(c), verifier.at(int(c)), np.flatnonzero(counts == c)) for c in np.unique(counts)]
