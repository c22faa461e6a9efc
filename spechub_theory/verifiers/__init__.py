"""The multi-draft verifiers, one module each, and the registry that names them.

A verifier is defined once, as the procedure an inference engine runs: a generator
``procedure(drafts, p, q)`` that yields the steps of a sequential rejection chain, each a pair
``(accept_probability, emit)`` where ``emit`` is either an ``int``, the position ``j`` of the draft
kept (the token ``drafts[j]``; in a token tree, the child whose subtree is verified next), or a law
over tokens. The engine walks the chain with uniforms and emits from the first accepted step; the
last step has probability 1 (a chain that ends otherwise is an error).
:mod:`spechub_theory.exact` enumerates the same chain for the exact output law and
:mod:`spechub_theory.simulate` samples it. A module may also give the closed-form probability that
draft ``j`` is kept, ``positions(p, q, k)`` of shape ``(n, k)`` on validated ``(n, V)`` arrays
(the acceptance rate is its sum); without one the library enumerates the chain, at the cost
:func:`spechub_theory.exact.enumeration_cost` states.

:func:`register_verifier` adds a verifier to :data:`VERIFIERS` after checking it on small cases.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from .. import validate
from ..drafts import DRAFT_LAWS
from . import greedy, kseq, nss, rrs, rrs_wo, single, spechub

Step = tuple[float, "int | np.ndarray"]


@dataclass(frozen=True)
class Verifier:
    """A verifier: its draft law, its procedure, its closed-form kept-draft probabilities (optional),
    and the draft counts it is restricted to beyond what its law allows.

    ``law`` names a law of :data:`spechub_theory.DRAFT_LAWS`; ``ks`` is ``None`` (every ``k`` the law
    supports) or the tuple of ``k`` the procedure is defined for (``single``: ``(1,)``); ``positions``
    is ``None`` where the verifier has no closed form (the chain is enumerated instead).
    """

    name: str
    law: str
    procedure: Callable[..., Iterator[Step]]
    positions: Callable[[np.ndarray, np.ndarray, int], np.ndarray] | None = None
    ks: tuple[int, ...] | None = None
    #: What the procedure needs of ``(p, q, k)`` alone, computed once for many draft tuples: keyword
    #: arguments of ``procedure`` (which computes them itself when they are not given).
    setup: Callable[[np.ndarray, np.ndarray, int], dict] | None = None

    def supports(self, k: int) -> bool:
        """Whether the verifier is defined for ``k`` drafts: its law is, and ``k`` is in ``ks`` if given."""
        law = DRAFT_LAWS.get(self.law)
        return (law is None or law.supports(k)) and (self.ks is None or k in self.ks)

    @property
    def k_values(self) -> str:
        """The draft counts :meth:`supports`, in words for messages (``"any"``, ``"1"``, ``"2"``)."""
        if self.ks is not None:
            return ", ".join(str(k) for k in self.ks if self.supports(k))
        law = DRAFT_LAWS.get(self.law)
        return "any" if law is None else law.k_values

    @property
    def default_k(self) -> int:
        """The ``k`` a call with ``k=None`` gets: 2 where supported, else the smallest supported (single: 1)."""
        return next(k for k in (2, 1, *range(3, 257)) if self.supports(k))

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
        raise ValueError(f"q: a row of q lets the {self.law!r} law draft only {k} tokens but method "
                         f"{self.name!r} supports k = {self.k_values} only; pass strict=True to refuse such rows")

    def chain(self, drafts: np.ndarray, p: np.ndarray, q: np.ndarray, **prepared) -> list[Step]:
        """The procedure's steps up to the first certain one, probabilities clipped to ``[0, 1]``;
        ``prepared`` is :meth:`prepared` at the same ``(p, q, len(drafts))``.

        Raises ``RuntimeError`` when the procedure stops before a step of probability 1.
        """
        steps = []
        for accept, emit in self.procedure(drafts, p, q, **prepared):
            steps.append((min(max(accept, 0.0), 1.0), emit))
            if accept >= 1.0:
                return steps
        raise RuntimeError(f"method {self.name!r}: its procedure stopped without a certain step (accept = 1) on "
                           f"drafts {list(map(int, drafts))}; the last step of a chain must have probability 1")


#: Every verifier by method name (:func:`register_verifier` adds to it).
VERIFIERS: dict[str, Verifier] = {
    v.name: v
    for v in (
        Verifier("single", "iid", single.procedure, single.positions, ks=(1,)),
        Verifier("rrs", "iid", rrs.procedure, rrs.positions),
        Verifier("rrs_wo", "wo", rrs_wo.procedure, rrs_wo.positions),
        Verifier("spechub", "hub", spechub.procedure, spechub.positions, setup=spechub.setup),
        Verifier("kseq", "iid", kseq.procedure, kseq.positions, setup=kseq.setup),
        Verifier("nss", "iid", nss.procedure, nss.positions),
        Verifier("greedy", "greedy", greedy.procedure, greedy.positions),
    )
}
BUILT_IN = frozenset(VERIFIERS)


class Names:
    """A live, read-only sequence of names: the keys of a registry (plus fixed extras) as they are now.

    What :data:`spechub_theory.METHODS` is, so that it never goes stale when a verifier is registered.
    """

    def __init__(self, registry: dict, extra: tuple = ()):
        self._registry, self._extra = registry, tuple(extra)

    def _names(self) -> tuple:
        return tuple(self._registry) + self._extra

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())

    def __contains__(self, name):
        return name in self._names()

    def __getitem__(self, i):
        return self._names()[i]

    def __add__(self, other):
        return Names(self._registry, self._extra + tuple(other))

    def __eq__(self, other):
        return tuple(self) == tuple(other)

    def __repr__(self):
        return repr(self._names())


def method_names(*extra: str) -> Names:
    """The verifier names of :data:`VERIFIERS` as they are whenever read, followed by ``extra``."""
    return Names(VERIFIERS, extra)


def checked(p, q, method: str, k, *, normalize: bool = False, strict: bool = False):
    """Validate a call ``(p, q, method, k)``: returns ``(p, q, verifier, k)`` with ``p, q`` of shape ``(..., V)``.

    ``k=None`` is the method's :attr:`Verifier.default_k` (2 drafts; 1 for ``single``). Raises
    ``ValueError`` for bad distributions, an unknown method or a ``k`` the method does not support; with ``strict=True`` also for a row of ``q`` with fewer tokens of positive mass than the
    draft law needs for ``k`` drafts (naming the row), which otherwise drafts all of them (:func:`row_groups`).
    """
    verifier = VERIFIERS[validate.choice(method, "method", VERIFIERS)]
    k = verifier.default_k if k is None else validate.draft_count(k)
    if not verifier.supports(k):
        raise ValueError(f"k: method {method!r} supports k = {verifier.k_values} only, got k = {k}")
    p, q = validate.pair(p, q, normalize=normalize)
    if not isinstance(strict, bool):
        raise ValueError(f"strict: expected True or False, got {strict!r}")
    if strict:
        validate.support_at_least(q, DRAFT_LAWS[verifier.law].min_support(k), verifier.law)
    return p, q, verifier, k


def row_groups(verifier: Verifier, q: np.ndarray, k: int) -> list[tuple[int, Verifier, np.ndarray]]:
    """The rows of the validated ``q`` (shape ``(n, V)``) by the number of drafts the law makes on each.

    Returns ``[(k_row, verifier_row, rows)]``: on the rows ``rows`` the law drafts ``k_row <= k``
    tokens (:meth:`spechub_theory.drafts.DraftLaw.drafted`) and ``verifier_row = verifier.at(k_row)``
    verifies them; positions ``k_row..k-1`` are never kept there. One group, of every row, when
    every row has the support ``k`` drafts need.
    """
    law = DRAFT_LAWS[verifier.law]
    support = np.count_nonzero(q > 0, axis=-1)
    if support.size and int(support.min()) >= law.min_support(k):
        return [(k, verifier, np.arange(q.shape[0]))]
    values, inverse = np.unique(support, return_inverse=True)
    counts = np.array([law.drafted(int(s), k) for s in values], dtype=np.int64)[inverse.reshape(-1)]
    return [(int(c), verifier.at(int(c)), np.flatnonzero(counts == c)) for c in np.unique(counts)]


#: Names of the tree package's own methods, which a registered verifier may not take.
RESERVED_METHOD_NAMES = frozenset({"topk", "block", "traversal", "traversal_wo"})
#: Largest error tolerated in a registered verifier's probe: its output law against ``p``, and its
#: closed form against the enumeration of its chain.
PROBE_TOLERANCE = 1e-9


def _draft_counts(value) -> tuple[int, ...] | None:
    if value is None:
        return None
    values = (value,) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else tuple(value)
    if not values or any(isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1 for k in values):
        raise ValueError(f"k: expected None, a positive integer or a collection of them, got {value!r}")
    return tuple(sorted({int(k) for k in values}))


def register_verifier(name: str, law: str, procedure, *, positions=None, k=None, setup=None) -> Verifier:
    """Add a verifier to :data:`VERIFIERS`, after checking it on small cases.

    Every function of the library then takes ``method=name``: the exact acceptance (``positions``,
    or the enumeration of the chain when it is ``None``, at the cost
    :func:`spechub_theory.exact.enumeration_cost` states and refused above ``max_cost``), the output
    law, the simulator (chains of any length), the trees (node by node) and the sweeps.

    Parameters
    ----------
    name : str
        The method name, a Python identifier not yet in :data:`VERIFIERS` (nor a tree method's).
    law : str
        The draft law of :data:`spechub_theory.DRAFT_LAWS` the drafts come from.
    procedure : callable
        ``procedure(drafts, p, q, **prepared)`` yields the chain's steps ``(accept, emit)``: ``emit``
        the position ``j`` of the draft kept, or a law over tokens of shape ``(V,)``; the last step
        must have ``accept = 1``. ``p, q`` have shape ``(V,)``, ``drafts`` shape ``(k,)``.
    positions : callable or None
        ``positions(p, q, k)`` on ``(n, V)`` arrays: the closed-form probability that draft ``j`` is
        kept, shape ``(n, k)``. ``None``: enumerate the chain.
    k : None, int or collection of int
        The draft counts the procedure is defined for; ``None``: every ``k`` the law supports.
    setup : callable or None
        ``setup(p, q, k) -> dict`` of keyword arguments of ``procedure`` computed once per position.

    Returns
    -------
    Verifier
        The verifier, now ``VERIFIERS[name]``.

    Raises
    ------
    ValueError
        Naming the argument: a bad name or law, a callable missing, and what the probes find. On the
        rows of ``q`` of :func:`spechub_theory.drafts.register_draft_law` against three targets, at
        every supported ``k <= 3`` (or the first three of ``k``), for every draft tuple of the law:
        a chain that stops before a certain step or emits something other than a draft position or a
        law, an output law farther than :data:`PROBE_TOLERANCE` from ``p`` (not lossless), or
        ``positions`` farther than that from the enumeration of the chain.

    Examples
    --------
    See the README section "Adding a verifier".
    """
    from ..drafts import _probe_rows

    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name: a method name must be a Python identifier, got {name!r}")
    if name in VERIFIERS or name in RESERVED_METHOD_NAMES:
        raise ValueError(f"name: method {name!r} exists already; choose another name")
    validate.choice(law, "law", DRAFT_LAWS)
    for arg, value, required in (("procedure", procedure, True), ("positions", positions, False), ("setup", setup, False)):
        if (value is not None or required) and not callable(value):
            raise ValueError(f"{arg}: expected a callable, got {type(value).__name__}")
    verifier = Verifier(name, law, procedure, positions, _draft_counts(k), setup)
    ks = [kk for kk in (verifier.ks or (1, 2, 3)) if verifier.supports(kk)][:3]
    if not ks:
        raise ValueError(f"k: the {law!r} draft law supports k = {DRAFT_LAWS[law].k_values}, none of k = {verifier.ks}")
    targets = [np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.5, 0.0, 0.25, 0.25]), None]  # None: p = q
    for q in _probe_rows():
        for p in targets:
            _probe_verifier(verifier, q if p is None else p, q, ks)
    VERIFIERS[name] = verifier
    return verifier


def _probe_verifier(verifier: Verifier, p: np.ndarray, q: np.ndarray, ks) -> None:
    from ..exact import chain_outcome

    law = DRAFT_LAWS[verifier.law]
    for k in ks:
        k_row = law.drafted(int(np.count_nonzero(q > 0)), k)
        row_verifier = verifier.at(k_row) if k_row != k else verifier
        where = f"at p = {np.round(p, 4).tolist()}, q = {np.round(q, 4).tolist()}, k = {k}"
        out, kept = np.zeros_like(p), np.zeros(k)
        for drafts, prob in zip(*law.enumerate(q, k_row)):
            try:
                steps = row_verifier.chain(drafts, p, q, **row_verifier.prepared(p, q, k_row))
            except RuntimeError as err:
                raise ValueError(f"procedure: {err} ({where})") from None
            except Exception as err:
                raise ValueError(f"procedure: raised {type(err).__name__}: {err} on drafts {drafts.tolist()} {where}") from None
            for accept, emit in steps:
                if isinstance(emit, np.ndarray):
                    if emit.shape != p.shape or np.any(emit < 0) or abs(emit.sum() - 1.0) > 1e-9:
                        raise ValueError(f"procedure: a step emits an array that is not a law over the {p.size} tokens "
                                         f"(shape {emit.shape}, sum {emit.sum():.6g}) on drafts {drafts.tolist()} {where}")
                elif isinstance(emit, bool) or not isinstance(emit, numbers.Integral) or not 0 <= emit < k_row:
                    raise ValueError(f"procedure: a step emits {emit!r}; expected a draft position in 0..{k_row - 1} or "
                                     f"a law over tokens (drafts {drafts.tolist()} {where})")
            law_y, kept_y = chain_outcome(row_verifier, drafts, p, q)
            out += prob * law_y
            kept[:k_row] += prob * kept_y
        tv = 0.5 * np.abs(out - p).sum()
        if tv > PROBE_TOLERANCE:
            raise ValueError(f"procedure: not lossless: the emitted token's law {where} is {np.round(out, 6).tolist()}, "
                             f"{tv:.3g} from p in total variation (spechub_theory.check_verifier finds such cases)")
        if row_verifier is verifier and verifier.positions is not None:
            closed = np.asarray(verifier.positions(p[None].copy(), q[None].copy(), k), dtype=np.float64)
            if closed.shape != (1, k) or np.max(np.abs(closed - kept)) > PROBE_TOLERANCE:
                raise ValueError(f"positions: the closed form gives {np.round(closed, 6).tolist()} {where} but the "
                                 f"enumeration of the chain gives {np.round(kept, 6).tolist()}")
