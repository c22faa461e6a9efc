"""Draft laws: how the ``k`` draft tokens ``(X_1, ..., X_k)`` of one position are drawn from ``q``.

Each law can sample ordered k-tuples with a ``numpy.random.Generator``, enumerate its support
with exact probabilities (for small vocabularies), and say how large that support is before
enumerating it (:meth:`DraftLaw.tuple_count`), so that callers can refuse an enumeration too
large. All take a single validated distribution ``q`` of shape ``(V,)``.

* ``iid`` -- k independent draws from ``q``.
* ``wo`` -- k sequential draws without replacement, ``q`` renormalised over the tokens not yet
  drawn (equivalently the k largest of ``log q + Gumbel`` in decreasing order, Gumbel-top-k).
* ``hub`` -- SpecHub's pair law (Sun et al., EMNLP 2024, arXiv 2411.05289), ``k = 2``: with the hub
  ``a = argmax q``, ``Q(i, a) = q(i)`` and ``Q(a, i) = q(a) q(i) / (1 - q(a))`` for ``i != a``. It is
  sampled as ``X_1 ~ q``; ``X_2 = a`` unless ``X_1 = a``, when ``X_2 ~ q`` restricted to ``i != a``.
* ``greedy`` -- the ``k - 1`` most likely tokens of ``q`` in decreasing order, then one draw from
  ``q`` restricted to the rest (Hu et al., ICLR 2025, arXiv 2502.18779). As a set it equals the hub
  law at ``k = 2``.

Ties in ``argmax`` and in the ranking of ``q`` go to the lowest token index.

Rows with fewer tokens than drafts. A law that needs distinct tokens (``wo``, ``hub``, ``greedy``)
cannot draw ``k`` of them from a row of ``q`` with only ``s < k`` tokens of positive mass (a top-p
or one-hot draft). It then drafts all ``s`` of them, as engines do: :meth:`DraftLaw.drafted` says
how many drafts a law makes on a row, and every function of the library (exact acceptance, output
law, simulation, optimum, trees) evaluates such a row with that many. So ``wo`` with ``k`` drafts
on an ``s``-token row is ``wo`` with ``s``; ``hub`` on a one-hot ``q`` drafts the hub alone;
``greedy`` with ``s <= k - 1`` drafts the whole support. ``strict=True`` on the public functions
refuses such rows instead, naming the first one.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np


def top_tokens(q: np.ndarray, m: int) -> np.ndarray:
    """The ``m`` most likely tokens of ``q`` in decreasing order of ``q`` (ties: lowest index).

    O(V): the tokens of positive mass, then among them those at or above the m-th largest value (ties
    included), then a stable sort of those; zeros (by index) only when fewer than ``m`` are positive.
    Selecting among the positive tokens first matters: a truncated law is mostly exact zeros, and
    NumPy's selection slows down about 800x on so many ties (8 ms instead of 10 us at V = 32,000).
    """
    if m <= 0:
        return np.zeros(0, dtype=np.intp)
    positive = np.flatnonzero(q > 0)  # in increasing index order, so the stable sorts break ties by index
    values = q[positive]
    if positive.size > m:
        cut = np.partition(values, values.size - m)[values.size - m]
        keep = values >= cut
        positive, values = positive[keep], values[keep]
    ranked = positive[np.argsort(-values, kind="stable")][:m]
    if ranked.size < m:
        ranked = np.concatenate([ranked, np.flatnonzero(q <= 0)[: m - ranked.size]])
    return ranked


def _choice_excluding(q: np.ndarray, excluded: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` draws from ``q`` restricted to the tokens not in ``excluded``."""
    rest = q.copy()
    rest[excluded] = 0.0
    return rng.choice(q.size, size=n, p=rest / rest.sum())


@dataclass(frozen=True)
class DraftLaw:
    """A law of ordered draft k-tuples, with the number of tokens of positive mass it needs."""

    name: str

    def min_support(self, k: int) -> int:
        """Tokens of positive mass ``q`` needs so that ``k`` drafts can be drawn."""
        return 1

    def supports(self, k: int) -> bool:
        """Whether the law is defined for ``k`` drafts."""
        return k >= 1

    @property
    def k_values(self) -> str:
        """The draft counts :meth:`supports`, in words for messages (``"any"``, or e.g. ``"2"``)."""
        return "any"

    @property
    def default_k(self) -> int:
        """The ``k`` a call with ``k=None`` gets: 2 where supported, else the smallest supported."""
        return next(k for k in (2, 1, *range(3, 257)) if self.supports(k))

    def drafted(self, support: int, k: int) -> int:
        """How many drafts the law makes when ``k`` are asked of a row of ``q`` with ``support`` tokens of
        positive mass: ``k`` when ``support >= min_support(k)``, else all ``support`` tokens (a law that
        needs distinct tokens drafts the whole support of a short row; see the module docstring).

        :meth:`sample` and :meth:`enumerate` take this count, not ``k``, on such a row.
        """
        return int(k) if support >= self.min_support(k) else int(support)

    def sample(self, q: np.ndarray, k: int, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` ordered draft tuples, shape ``(n, k)``."""
        raise NotImplementedError

    def enumerate(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Every tuple of positive probability, shape ``(m, k)``, with its probability, shape ``(m,)``."""
        raise NotImplementedError

    def tuple_count(self, support: int, k: int) -> int:
        """How many tuples :meth:`enumerate` lists for a ``q`` with ``support`` tokens of positive mass
        (at least :meth:`min_support`), computed without enumerating them (an exact integer)."""
        raise NotImplementedError

    def tuple_count_rule(self, support: int, k: int) -> str:
        """:meth:`tuple_count` as the expression it evaluates, e.g. ``"2000^2"``, for messages."""
        return f"{self.tuple_count(support, k):,}"

    def optimum(self, p: np.ndarray, q: np.ndarray, k: int, max_cost=None) -> tuple[float, np.ndarray]:
        """``(alpha*, H)`` at one position: the best acceptance of any lossless verifier with ``k`` drafts
        from this law, and a token set certifying it (:func:`spechub_theory.optimal_cut`).

        ``p, q`` of shape ``(V,)``, validated, with ``k`` the drafts the law makes at ``q``
        (:meth:`drafted`). This default is the subset form by enumeration: every subset of ``q``'s
        support against the enumerated law (:func:`spechub_theory.optimal.subset.enumerated_cut`,
        ``O(2^m m)``, refused above ``max_cost`` subset steps; ``None``: its default limit). A law with a
        faster exact form overrides it, as the four built-in laws do.
        """
        from .optimal.subset import ENUMERATED_MAX_COST, enumerated_cut

        tuples, probs = self.enumerate(q, k)
        return enumerated_cut(p, q, tuples, probs, ENUMERATED_MAX_COST if max_cost is None else max_cost)


class IID(DraftLaw):
    def sample(self, q, k, rng, n):
        return rng.choice(q.size, size=(n, k), p=q)

    def enumerate(self, q, k):
        support = np.flatnonzero(q > 0)
        tuples = np.array(list(itertools.product(support, repeat=k)), dtype=np.int64).reshape(-1, k)
        return tuples, np.prod(q[tuples], axis=1)

    def tuple_count(self, support, k):
        return support**k

    def tuple_count_rule(self, support, k):
        return f"{support}^{k}"

    def optimum(self, p, q, k, max_cost=None):
        """The prefix search in ``p/q`` order, ``O(V log V)`` (proved; :mod:`spechub_theory.optimal.subset`)."""
        from .optimal.subset import prefix_cut

        return prefix_cut(p, q, k, "iid")


class WithoutReplacement(DraftLaw):
    def min_support(self, k):
        return k

    def sample(self, q, k, rng, n):
        """Sequential draws by inverse CDF over the tokens of positive mass: draw ``j`` maps a
        uniform on ``[0, 1 - q(drawn))`` onto the CDF with the drawn tokens' intervals skipped.
        O(n k (k + log V)) time and O(n k + V) memory, so n = 10^5 at V = 152,064 is cheap."""
        support = np.flatnonzero(q > 0)
        w = q[support]
        cdf = np.cumsum(w)
        left = cdf - w
        picks = np.empty((n, k), dtype=np.int64)  # positions in ``support``
        for j in range(k):
            v = rng.random(n) * (cdf[-1] - w[picks[:, :j]].sum(axis=1))
            for s in np.sort(picks[:, :j], axis=1).T:  # drawn tokens, in increasing order
                v = np.where(v >= left[s], v + w[s], v)
            picks[:, j] = np.minimum(np.searchsorted(cdf, v, side="right"), support.size - 1)
        ordered = np.sort(picks, axis=1)
        bad = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
        for row in bad:  # a uniform that rounding put on an interval's edge (probability ~1e-16): redraw
            picks[row] = rng.choice(support.size, size=k, replace=False, p=w / w.sum())
        return support[picks]

    def enumerate(self, q, k):
        support = np.flatnonzero(q > 0)
        tuples = np.array(list(itertools.permutations(support, k)), dtype=np.int64).reshape(-1, k)
        remaining = np.empty(tuples.shape)
        undrafted = np.ones((len(tuples), q.size), dtype=bool)
        for j in range(k):  # the undrafted mass summed directly: 1 - q(drafted) can round to 0
            remaining[:, j] = (q * undrafted).sum(axis=1)
            undrafted[np.arange(len(tuples)), tuples[:, j]] = False
        return tuples, np.prod(q[tuples] / remaining, axis=1)

    def tuple_count(self, support, k):
        return math.perm(support, k)

    def tuple_count_rule(self, support, k):
        return f"{support}!/{support - k}!"

    def optimum(self, p, q, k, max_cost=None):
        """The same prefix search as ``iid`` with the without-replacement containment; that the
        prefixes suffice is not proved (:mod:`spechub_theory.optimal.subset`)."""
        from .optimal.subset import prefix_cut

        return prefix_cut(p, q, k, "wo")


class Hub(DraftLaw):
    def min_support(self, k):
        return 2

    def supports(self, k):
        return k == 2

    @property
    def k_values(self):
        return "2"

    def sample(self, q, k, rng, n):
        a = top_tokens(q, 1)[0]
        if k == 1:  # a one-hot row (Hub.drafted): the hub alone
            return np.full((n, 1), a, dtype=np.int64)
        first = rng.choice(q.size, size=n, p=q)
        second = np.full(n, a)
        at_hub = first == a
        second[at_hub] = _choice_excluding(q, np.array([a]), rng, int(at_hub.sum()))
        return np.stack([first, second], axis=1)

    def enumerate(self, q, k):
        a = top_tokens(q, 1)[0]
        if k == 1:  # a one-hot row (Hub.drafted): the hub alone
            return np.array([[a]], dtype=np.int64), np.ones(1)
        spokes = np.flatnonzero((q > 0) & (np.arange(q.size) != a))
        tuples = np.concatenate(
            [np.stack([spokes, np.full_like(spokes, a)], 1), np.stack([np.full_like(spokes, a), spokes], 1)]
        )
        probs = np.concatenate([q[spokes], q[a] * q[spokes] / q[spokes].sum()])
        return tuples, probs

    def tuple_count(self, support, k):
        return 1 if k == 1 else 2 * (support - 1)  # (i, a) and (a, i) for every spoke i

    def tuple_count_rule(self, support, k):
        return "1" if k == 1 else f"2 x ({support} - 1)"

    def optimum(self, p, q, k, max_cost=None):
        """The closed form ``p(T) + sum_{x not in T} min(p(x), q(x) / (1 - q(T)))``, ``T`` the top ``k - 1``
        of ``q`` (:func:`spechub_theory.optimal.subset.fixed_set_cut`)."""
        from .optimal.subset import fixed_set_cut

        return fixed_set_cut(p, q, top_tokens(q, k - 1))


class Greedy(DraftLaw):
    def min_support(self, k):
        return k

    def sample(self, q, k, rng, n):
        fixed = top_tokens(q, k - 1)
        last = _choice_excluding(q, fixed, rng, n)
        return np.concatenate([np.tile(fixed, (n, 1)), last[:, None]], axis=1)

    def enumerate(self, q, k):
        fixed = top_tokens(q, k - 1)
        rest = np.flatnonzero(q > 0)
        rest = rest[~np.isin(rest, fixed)]
        tuples = np.concatenate([np.tile(fixed, (rest.size, 1)), rest[:, None]], axis=1)
        return tuples, q[rest] / q[rest].sum()

    def tuple_count(self, support, k):
        return support - (k - 1)  # the last draft ranges over the support outside the top k - 1

    def tuple_count_rule(self, support, k):
        return f"{support} - {k - 1}"

    def optimum(self, p, q, k, max_cost=None):
        """The closed form ``p(T) + sum_{x not in T} min(p(x), q(x) / (1 - q(T)))``, ``T`` the top ``k - 1``
        of ``q`` (:func:`spechub_theory.optimal.subset.fixed_set_cut`)."""
        from .optimal.subset import fixed_set_cut

        return fixed_set_cut(p, q, top_tokens(q, k - 1))


#: The draft laws by name.
DRAFT_LAWS: dict[str, DraftLaw] = {
    "iid": IID("iid"),
    "wo": WithoutReplacement("wo"),
    "hub": Hub("hub"),
    "greedy": Greedy("greedy"),
}


#: Names the tree package uses for its own sibling laws, which a registered law may not take.
RESERVED_LAW_NAMES = frozenset({"top"})
#: The laws that ship with the library (:func:`register_draft_law` cannot replace them).
BUILT_IN_LAWS = frozenset(DRAFT_LAWS)


def _probe_rows(v: int = 4) -> list[np.ndarray]:
    """Draft laws for checking a new law or verifier: distinct masses, a zero, a near-uniform row."""
    return [np.array([0.4, 0.3, 0.2, 0.1])[:v] / np.array([0.4, 0.3, 0.2, 0.1])[:v].sum(),
            np.array([0.0, 0.5, 0.3, 0.2])[:v] / np.array([0.0, 0.5, 0.3, 0.2])[:v].sum(),
            np.array([0.26, 0.25, 0.25, 0.24])[:v] / np.array([0.26, 0.25, 0.25, 0.24])[:v].sum()]


def register_draft_law(law: DraftLaw, *, replace: bool = False) -> DraftLaw:
    """Add a draft law to :data:`DRAFT_LAWS` under ``law.name``, after checking it on small cases.

    ``law`` is an instance of a subclass of :class:`DraftLaw` that defines :meth:`~DraftLaw.sample`,
    :meth:`~DraftLaw.enumerate` and :meth:`~DraftLaw.tuple_count`, and may define
    :meth:`~DraftLaw.min_support` (the tokens of positive mass ``k`` drafts need; a row with fewer is
    drafted in full, :meth:`~DraftLaw.drafted`), :meth:`~DraftLaw.supports`, and its own
    :meth:`~DraftLaw.optimum`. Without one the optimum is the subset form by enumeration of the law's
    support (``O(2^m m)`` for ``m`` tokens of positive mass), and ``solver="lp"`` solves the OTM LP
    of the enumerated law; no other law's formula is ever used.

    Before it is added, on three rows of ``q`` at ``V = 4`` and every supported ``k <= 3``:
    :meth:`~DraftLaw.enumerate` must list tuples of tokens of positive mass with probabilities
    summing to 1, as many as :meth:`~DraftLaw.tuple_count` says; 4,000 tuples from
    :meth:`~DraftLaw.sample` (seeded) must lie in that list with frequencies within six standard
    errors (plus 0.005) of the probabilities; and an own :meth:`~DraftLaw.optimum` must equal the
    subset form by enumeration to 1e-9. Each failure is a ``ValueError`` naming what is wrong.

    Parameters
    ----------
    law : DraftLaw
    replace : bool
        Replace a law registered earlier under the same name (never a built-in one).

    Returns
    -------
    DraftLaw
        ``law``, now ``DRAFT_LAWS[law.name]``.
    """
    if not isinstance(law, DraftLaw):
        raise ValueError(f"law: expected an instance of a DraftLaw subclass, got {type(law).__name__}")
    name = law.name
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"law: its name must be a Python identifier, got {name!r}")
    if name in BUILT_IN_LAWS or name in RESERVED_LAW_NAMES:
        raise ValueError(f"law: {name!r} is a built-in draft law's name; choose another")
    if name in DRAFT_LAWS and not replace:
        raise ValueError(f"law: a draft law {name!r} is already registered; pass replace=True to replace it")
    for method in ("sample", "enumerate", "tuple_count"):
        if getattr(type(law), method) is getattr(DraftLaw, method):
            raise ValueError(f"law: {type(law).__name__} does not define {method}(), which every draft law needs")
    ks = [k for k in (1, 2, 3) if law.supports(k)] or [law.default_k]
    for q in _probe_rows():
        support = int(np.count_nonzero(q > 0))
        for k in ks:
            _probe_law(law, q, law.drafted(support, k), support)
    DRAFT_LAWS[name] = law
    return law


def _probe_law(law: DraftLaw, q: np.ndarray, k: int, support: int) -> None:
    where = f"at q = {np.round(q, 4).tolist()}, k = {k}"
    tuples, probs = law.enumerate(q, k)
    tuples, probs = np.asarray(tuples), np.asarray(probs, dtype=np.float64)
    if tuples.ndim != 2 or tuples.shape[1] != k or probs.shape != (tuples.shape[0],):
        raise ValueError(f"law: enumerate() {where} returned tuples of shape {tuples.shape} and probabilities of shape "
                         f"{probs.shape}; expected (m, {k}) and (m,)")
    if not np.issubdtype(tuples.dtype, np.integer) or np.any(q[np.clip(tuples, 0, q.size - 1)] <= 0) \
            or np.any((tuples < 0) | (tuples >= q.size)):
        raise ValueError(f"law: enumerate() {where} lists a token outside the support of q")
    if np.any(probs < 0) or abs(probs.sum() - 1.0) > 1e-9:
        raise ValueError(f"law: enumerate() {where} gives probabilities summing to {probs.sum():.12g}, not 1")
    if law.tuple_count(support, k) != len(tuples):
        raise ValueError(f"law: tuple_count({support}, {k}) = {law.tuple_count(support, k)} but enumerate() {where} "
                         f"lists {len(tuples)} tuples")
    n = 4000
    drawn = np.asarray(law.sample(q, k, np.random.default_rng(0), n))
    if drawn.shape != (n, k):
        raise ValueError(f"law: sample(q, {k}, rng, {n}) {where} returned shape {drawn.shape}, expected ({n}, {k})")
    index = {tuple(t): i for i, t in enumerate(tuples.tolist())}
    hits = [index.get(tuple(t), -1) for t in drawn.tolist()]
    if min(hits) < 0:
        raise ValueError(f"law: sample() {where} drew {drawn[hits.index(-1)].tolist()}, a tuple enumerate() does not list")
    freq = np.bincount(hits, minlength=len(tuples)) / n
    bound = 6 * np.sqrt(probs * (1 - probs) / n) + 0.005
    if np.any(np.abs(freq - probs) > bound):
        worst = int(np.argmax(np.abs(freq - probs) - bound))
        raise ValueError(f"law: sample() {where} drew {tuples[worst].tolist()} with frequency {freq[worst]:.4f} where "
                         f"enumerate() gives it probability {probs[worst]:.4f}")
    if type(law).optimum is not DraftLaw.optimum:
        from .optimal.subset import enumerated_cut

        p = np.array([0.1, 0.2, 0.3, 0.4])[: q.size]
        p = p / p.sum()
        own, reference = law.optimum(p, q, k)[0], enumerated_cut(p, q, tuples, probs)[0]
        if abs(own - reference) > 1e-9:
            raise ValueError(f"law: optimum() {where}, p = {p.tolist()} gives {own!r} but the subset form by enumeration "
                             f"of the law gives {reference!r}")
