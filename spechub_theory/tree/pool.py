r"""The i.i.d.-node model: every node's ``(p, q)`` drawn independently from a pool of positions.

The expectation over drafts then factorises over nodes for node-wise methods: ``a_j(v)`` is the pool
mean of the node verifier's kept probabilities, and the recursion of
:mod:`spechub_theory.tree.recursion` is exact for the model. Along real text node laws are not
independent (easy stretches make every level easier), so on logged chains this is the i.i.d.-node
model of the data, not the tree an engine would meet (:class:`~spechub_theory.LoggedTrees` is).

Sequence-level methods do not factorise. ``block`` on a chain uses that its expected accepted length
is ``sum_l E[b_l]`` with ``b_l = min(1, b_{l-1} p_l(x_l) / q_l(x_l))``, a Markov chain whose law is
propagated exactly (its support grows with every level); ``traversal`` and ``traversal_wo`` enumerate
every drafted tree (rows and drafts at every internal node). Both refuse above ``max_trees`` terms and
name :func:`spechub_theory.estimate_tokens_per_step`, unbiased and exact per sampled tree.
"""

from __future__ import annotations

import itertools
import math
import numbers

import numpy as np

from .. import validate
from ..acceptance import acceptance_by_position
from ..logged import LoggedDistributions
from ..simulate import run_chains
from .drafted import DraftedTree, DraftedView
from .recursion import step_value
from .verifiers import NODE_METHODS, TOPK, check_shape, expected_tokens, node_method, sibling_law

#: Default bound on the drafted trees (or ``b`` states) an exact sequence-level value may enumerate.
MAX_TREES = 100_000
#: Default bound on the rejected draft prefixes ``rows * m^(k-1)`` of exact RRS without replacement at
#: ``k >= 3`` (``m`` tokens with mass), which costs ``O(m^(k-1) log m)`` per row.
MAX_PREFIXES = 10**8


def _count(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


class NodePool:
    """Node distributions drawn independently from a pool of positions.

    ``p`` and ``q`` of shape ``(n, V)`` serve every depth; of shape ``(D, n, V)`` depth ``d`` uses
    pool ``min(d, D - 1)``. A logged dataset's ``data.p`` and ``data.q`` serve every depth too,
    and are densified ``chunk`` rows at a time. ``positions`` keeps only the first rows of every pool.
    """

    def __init__(self, p, q, chunk: int = 256, positions: int | None = None):
        if isinstance(p, LoggedDistributions) and isinstance(q, LoggedDistributions):
            self.pools = [(p, q)]  # rows are validated when a chunk is densified
        else:
            p, q = validate.pair(p, q)
            if p.ndim not in (2, 3):
                raise ValueError(f"p: a pool has shape (n, V) or (depths, n, V), got {p.shape}")
            self.pools = list(zip(p, q)) if p.ndim == 3 else [(p, q)]
        rows = len(self.pools[0][0])
        if rows == 0:
            raise ValueError("p: the pool has no positions")
        self.size = rows if positions is None else min(rows, _count(positions, "positions"))
        self.chunk = _count(chunk, "chunk")
        self._kept: dict[tuple[str, int, int], np.ndarray] = {}

    @property
    def depths(self) -> int:
        """How many depth-specific pools there are (the last serves every deeper node)."""
        return len(self.pools)

    def at(self, depth: int):
        """The ``(p, q)`` pool of nodes at ``depth``."""
        return self.pools[min(depth, len(self.pools) - 1)]

    def _chunks(self, depth: int):
        p, q = self.at(depth)
        for start in range(0, self.size, self.chunk):
            stop = min(start + self.chunk, self.size)
            yield p[start:stop], q[start:stop]

    def row(self, depth: int, i: int) -> tuple[np.ndarray, np.ndarray]:
        """The validated dense ``(p, q)`` of row ``i`` of the pool at ``depth``, shapes ``(V,)``."""
        p, q = self.at(depth)
        return validate.pair(p[i], q[i])

    def mean_kept(self, method: str, k: int, depth: int, max_prefixes: float = MAX_PREFIXES) -> np.ndarray:
        """The pool mean of the probability that a node at ``depth`` with ``k`` children keeps each,
        shape ``(k,)`` (:func:`spechub_theory.acceptance_by_position`; ``topk``: ``p`` of the top ``k`` of ``q``).

        ``rrs_wo`` at ``k >= 3`` is refused when its ``rows * m^(k-1)`` rejected draft prefixes
        (``m`` the most tokens with mass in a row) exceed ``max_prefixes``.
        """
        d = min(depth, len(self.pools) - 1)
        key = (method, k, d)
        if key not in self._kept:
            if method == "rrs_wo" and k >= 3:
                self._guard_rrs_wo(d, k, max_prefixes)
            total = np.zeros(k)
            for p, q in self._chunks(d):
                if method == "topk":
                    p, q = validate.pair(p, q)
                    self._guard_topk(q, k, d)
                    total += TOPK.positions(p, q, k).sum(0)
                else:
                    total += acceptance_by_position(p, q, method, k).sum(0)
            self._kept[key] = total / self.size
        return self._kept[key]

    @staticmethod
    def _guard_topk(q, k, d):
        short = int(np.min(np.count_nonzero(q > 0, axis=-1)))
        if short < k:
            raise ValueError(f"tree: a node has {k} children but a row of q in the pool at depth {d} has only {short} "
                             "tokens of positive mass ('topk' drafts distinct tokens of positive mass)")

    def _guard_rrs_wo(self, d, k, max_prefixes):
        m = max(int(np.max(np.count_nonzero((p > 0) | (q > 0), axis=-1))) for p, q in self._chunks(d))
        cost = self.size * float(m) ** (k - 1)
        if cost > max_prefixes:
            raise ValueError(f"tree: a node with {k} 'rrs_wo' children costs about {self.size} x {m}^{k - 1} = {cost:.3g} "
                             f"rejected draft prefixes (O(m^(k-1) log m) per row), more than max_prefixes = "
                             f"{max_prefixes:.3g}; pass a larger max_prefixes, or use estimate_tokens_per_step or simulate_tree")

    # -- the source protocol (:mod:`spechub_theory.tree.source`) --------------------------------

    def check(self, tree, method):
        check_shape(tree, method)
        if method == "topk":
            for v, kids in enumerate(tree.children):
                if kids:
                    d = min(tree.depths[v], len(self.pools) - 1)
                    for _, q in self._chunks(d):
                        self._guard_topk(validate.distribution(q, "q"), len(kids), d)

    def exact(self, tree, method, max_trees: int = MAX_TREES, max_prefixes: float = MAX_PREFIXES):
        if method in NODE_METHODS:
            return step_value(tree, lambda v, kids: self.mean_kept(node_method(method, len(kids)), len(kids),
                                                                   tree.depths[v], max_prefixes))
        if method == "block":
            return self._block_chain(tree.depth, max_trees)
        return self._enumerated(tree, method, max_trees)

    def _refuse(self, method, what, count, max_trees):
        raise ValueError(f"source: the exact {method!r} value over this pool enumerates about {count:.3g} {what}, more "
                         f"than max_trees = {max_trees:,}; use estimate_tokens_per_step (the mean of exact per-tree "
                         "values over sampled drafted trees, with its standard error) or pass a larger max_trees")

    def _block_chain(self, depth: int, max_trees: int) -> float:
        """``1 + sum_l E[b_l]``: the law of ``b`` propagated level by level, the last level in closed form.

        Level 1 takes the pool's ratios as they are (``M`` states, ``M`` the pool's entries with
        ``q > 0``); deeper levels multiply states by ratios (merged when equal; refused above
        ``max_trees``). The last level needs only ``E[b_D] = sum_b P(b_{D-1} = b) F(b)`` with
        ``F(b) = mean_rows sum_x min(q(x), b p(x))``, which :meth:`_min_curve` evaluates at every
        ``b`` from one sort of the pool's thresholds ``q/p``: depth 2 costs ``O(V log V)`` per position.
        """
        if depth == 0:
            return 1.0
        if depth == 2 and self.depths == 1:
            return 1.0 + sum(self._block_two_levels())
        values, weights = np.ones(1), np.ones(1)
        total = 1.0
        for d in range(depth - 1):
            ratios, probs = self._ratios(d)
            if values.size > 1 and values.size * ratios.size > max_trees:
                self._refuse("block", "states of b", values.size * ratios.size, max_trees)
            new = np.minimum(1.0, values[:, None] * ratios[None, :]).ravel()
            mass = (weights[:, None] * probs[None, :]).ravel()
            if d + 1 < depth - 1:  # merged only where another level multiplies them
                new, inverse = np.unique(new, return_inverse=True)
                mass = np.bincount(inverse.ravel(), weights=mass, minlength=new.size)
            values, weights = new, mass
            total += float(weights @ values)
        return total + float(weights @ self._min_curve(depth - 1, values))

    def _ratios(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """``p(x)/q(x)`` at every entry of the pool at depth ``d`` with ``q(x) > 0``, and ``q(x) / rows``."""
        ratios, probs = [], []
        for p, q in self._chunks(d):
            p, q = validate.pair(p, q)
            has = q > 0
            ratios.append(p[has] / q[has])
            probs.append(q[has] / self.size)
        return np.concatenate(ratios), np.concatenate(probs)

    def _entries(self, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``t = q/p``, ``q`` and ``p`` at every entry of the pool at depth ``d`` with ``p, q > 0``, sorted by ``t``."""
        t, qs, ps = [], [], []
        for p, q in self._chunks(d):
            p, q = validate.pair(p, q)
            both = (p > 0) & (q > 0)
            qs.append(q[both])
            ps.append(p[both])
            t.append(qs[-1] / ps[-1])
        t, qs, ps = np.concatenate(t), np.concatenate(qs), np.concatenate(ps)
        order = np.argsort(t)
        return t[order], qs[order], ps[order]

    def _block_two_levels(self) -> tuple[float, float]:
        """``(E[b_1], E[b_2])`` of a depth-2 chain over one pool, from one sort of its entries.

        An entry ``(row, x)`` with ``p, q > 0`` and threshold ``t = q/p`` gives ``b_1 = min(1, 1/t)``
        with probability ``q / rows`` (an entry with ``p = 0`` gives ``b_1 = 0``, and then ``b_2 = 0``),
        so ``E[b_1] = sum min(q, p) / rows`` and ``E[b_2] = sum q F(min(1, 1/t)) / rows``; the queries
        ``min(1, 1/t)`` come out sorted (decreasing) with the thresholds, so the binary searches of
        :meth:`_min_curve` run over sorted keys.
        """
        t, qs, ps = self._entries(0)
        cum_q = np.concatenate([[0.0], np.cumsum(qs)])
        cum_p = np.concatenate([[0.0], np.cumsum(ps)])
        b = np.minimum(1.0, 1.0 / t)[::-1]  # increasing
        i = np.searchsorted(t, b, side="right")
        f = (cum_q[i] + b * (cum_p[-1] - cum_p[i])) / self.size
        first = float(np.minimum(qs, ps).sum()) / self.size
        return first, float(qs[::-1] @ f) / self.size

    def _min_curve(self, d: int, b: np.ndarray) -> np.ndarray:
        """``F(b) = mean_rows sum_x min(q(x), b p(x))`` over the pool at depth ``d``, at every ``b``, shape of ``b``.

        ``min(q, b p)`` is ``q`` where the threshold ``t = q/p <= b`` and ``b p`` above it, so with the
        entries of ``p, q > 0`` sorted by ``t``, ``F(b) = (Q(b) + b (P - P(b))) / rows``, ``Q(b)`` and
        ``P(b)`` the sums of ``q`` and ``p`` over the entries with ``t <= b``: one sort and one binary
        search per ``b``.
        """
        t, qs, ps = self._entries(d)
        cum_q = np.concatenate([[0.0], np.cumsum(qs)])
        cum_p = np.concatenate([[0.0], np.cumsum(ps)])
        i = np.searchsorted(t, b, side="right")
        return (cum_q[i] + b * (cum_p[-1] - cum_p[i])) / self.size

    def _enumerated(self, tree, method, max_trees: int) -> float:
        """The exact value by enumerating every row and draft tuple at every internal node."""
        internal = [v for v, kids in enumerate(tree.children) if kids]
        options = []  # per internal node: (probability, row, drafts)
        count = 1.0
        for v in internal:
            k = len(tree.children[v])
            law = sibling_law(method, k)
            rows_here = [self.row(tree.depths[v], i)[1] for i in range(self.size)]
            # count the draft tuples from the supports before enumerating any (an enumeration is an
            # array of tuples by V, so counting after it could exhaust memory first)
            count *= sum(law.tuple_count(int(np.count_nonzero(q > 0)), k) for q in rows_here)
            if count > max_trees:
                self._refuse(method, "drafted trees", count, max_trees)
            here = []
            for i, q in enumerate(rows_here):
                tuples, probs = law.enumerate(q, k)
                here += [(prob / self.size, i, drafts) for drafts, prob in zip(tuples, probs)]
            options.append(here)
        rows = {}
        total = 0.0
        for choice in itertools.product(*options):
            weight = math.prod(c[0] for c in choice)
            tokens = np.zeros(tree.n_nodes, dtype=np.int64)
            row_of = {}
            for v, (_, i, drafts) in zip(internal, choice):
                tokens[list(tree.children[v])] = drafts
                row_of[v] = i
            total += weight * expected_tokens(_PoolView(self, tree, tokens, row_of, rows), method)
        return total

    def draw(self, tree, method, rng):
        n = tree.n_nodes
        p = q = None
        tokens = np.zeros(n, dtype=np.int64)
        for v, kids in enumerate(tree.children):
            pv, qv = self.row(tree.depths[v], int(rng.integers(self.size)))
            if p is None:
                p, q = np.empty((n, pv.size)), np.empty((n, pv.size))
            p[v], q[v] = pv, qv
            if kids:
                law = sibling_law(method, len(kids))
                if np.count_nonzero(qv > 0) < law.min_support(len(kids)):
                    raise ValueError(f"tree: node {v} has {len(kids)} children but a row of q in the pool has only "
                                     f"{np.count_nonzero(qv > 0)} tokens of positive mass ({law.name!r} siblings)")
                tokens[list(kids)] = law.sample(qv, len(kids), rng, 1)[0]
        return DraftedTree.trusted(tree, tokens, p, q)

    def start(self, tree, method, n, rng):
        return np.full(n, -1, dtype=np.int64)

    def advance(self, tree, v, verifier, keys, rng):
        from ..drafts import DRAFT_LAWS
        from .verifiers import TOP

        k = len(tree.children[v])
        law = TOP if verifier.law == "top" else DRAFT_LAWS[verifier.law]
        rows = rng.integers(0, self.size, size=keys.size)
        kept = np.empty(keys.size, dtype=np.int64)
        for row in np.unique(rows):
            group = np.flatnonzero(rows == row)
            p, q = self.row(tree.depths[v], int(row))
            _, kept[group] = run_chains(verifier, law, p, q, k, group.size, rng)
        return kept, keys


class _PoolView(DraftedView):
    """A drafted tree over pool rows: internal node ``v`` has row ``row_of[v]`` (leaves need no laws)."""

    def __init__(self, pool, tree, tokens, row_of, cache):
        self.pool, self.tree, self.tokens, self.row_of, self.cache = pool, tree, tokens, row_of, cache

    def laws(self, v):
        key = (self.tree.depths[v], self.row_of[v])
        if key not in self.cache:
            self.cache[key] = self.pool.row(*key)
        return self.cache[key]
