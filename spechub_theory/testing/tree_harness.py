"""A losslessness harness for a user's tree verifier (sequence-level code).

:func:`check_tree_verifier` draws drafted trees from small context-dependent models, runs the user's
``verify(tree, tokens, p, q, rng) -> emitted tokens`` on each, and tests the law of the first
``length`` emitted tokens (extended by the target where fewer were emitted) against the target's own
law of ``length`` tokens. Because every prefix of a model has its own laws, a verifier that reads
the wrong node's ``p`` or ``q`` emits the wrong sequence law and is caught.
"""

from __future__ import annotations

import itertools
import numbers
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import validate
from ..drafts import DRAFT_LAWS
from ..tree import Tree
from .harness import _fractions
from .models import ContextModel
from .stats import holm, pooled_chisquare

#: Random context-dependent models :func:`default_tree_cases` adds to the corner models.
RANDOM_MODELS = 8

#: Sibling laws a drafted tree may be drawn with: the draft laws, and ``"top"`` (the ``k`` most likely
#: tokens of ``q``, deterministic, as in EAGLE-2 and ``topk``).
TREE_LAWS = (*DRAFT_LAWS, "top")


class FixedLaws:
    """A model whose target and draft laws are ``p`` and ``q`` at every prefix (context-free).

    Examples
    --------
    >>> model = FixedLaws([1/3, 2/3], [2/3, 1/3])  # the Block Verification paper's toy case
    >>> model((1, 0))[0]
    array([0.33333333, 0.66666667])
    """

    def __init__(self, p, q):
        self.p, self.q = validate.pair(p, q)
        if self.p.ndim != 1:
            raise ValueError(f"p: expected one distribution of shape (V,), got shape {self.p.shape}")
        self.v = self.p.size

    def __call__(self, prefix):
        return self.p.copy(), self.q.copy()

    def __repr__(self):
        return f"FixedLaws(p = {_fractions(self.p)}, q = {_fractions(self.q)})"


class SameLaws:
    """``model`` with its target law replaced by its draft law at every prefix (``p = q``, so ``q``
    keeps the support the siblings need)."""

    def __init__(self, model):
        self.model = model
        self.v = model.v

    def __call__(self, prefix):
        _, q = self.model(prefix)
        return q.copy(), q

    def __repr__(self):
        return f"SameLaws({self.model!r})"


@dataclass(frozen=True)
class TreeCase:
    """One model to draft trees from: a name and ``model(prefix) -> (p, q)``, each of shape ``(V,)``."""

    name: str
    model: Callable

    @property
    def v(self) -> int:
        return int(np.asarray(self.model(())[0]).size)


@dataclass(frozen=True)
class TreeCaseResult:
    """What the harness measured on one model.

    Attributes
    ----------
    case : TreeCase
    counts : ndarray, shape (V**length,)
        How often each sequence of ``length`` tokens came out (index ``sum_i y_i V**(length-1-i)``).
    law : ndarray, shape (V**length,)
        The target's exact law of the same sequences.
    tv : float
        Total variation between the empirical and the target law.
    mean_emitted : float
        Mean number of tokens a step emitted (before any extension by the target).
    pvalue : float
        Raw p-value of the chi-square test of ``counts`` against ``law``.
    adjusted : float
        Holm-adjusted p-value over the whole family of cases.
    passed : bool
        ``adjusted > level``.
    """

    case: TreeCase
    counts: np.ndarray
    law: np.ndarray
    tv: float
    mean_emitted: float
    pvalue: float
    adjusted: float = 1.0
    passed: bool = True

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def line(self) -> str:
        verdict = "  ok" if self.passed else "  FAILED"
        return (f"{self.case.name:<32} V={self.case.v:<2} TV {self.tv:.4f}, {self.mean_emitted:.3f} tokens per step, "
                f"p-value {self.pvalue:.2g} (adjusted {self.adjusted:.2g}){verdict}")


@dataclass(frozen=True)
class TreeVerifierCheck:
    """The verdict of :func:`check_tree_verifier` (a SciPy-style result).

    Attributes
    ----------
    passed : bool
        No case rejected at family-wise level ``level`` after Holm's correction over the cases.
    cases : tuple of TreeCaseResult
        Each case, in the order run.
    worst : TreeCaseResult or None
        The failing case of smallest adjusted p-value (largest total variation on ties); ``None``
        when passed.
    tree, law, length, n, seed, level :
        The settings of the run; ``correction`` names the multiple-testing correction (``"holm"``).
    seconds : float
        Wall time of the whole check.
    """

    passed: bool
    cases: tuple
    worst: TreeCaseResult | None
    tree: Tree
    law: str
    length: int
    n: int
    seed: int
    level: float
    seconds: float
    correction: str = "holm"

    @property
    def pvalues(self) -> dict:
        """Case name -> raw p-value."""
        return {c.case.name: c.pvalue for c in self.cases}

    @property
    def adjusted(self) -> dict:
        """Case name -> Holm-adjusted p-value."""
        return {c.case.name: c.adjusted for c in self.cases}

    def summary(self) -> str:
        """A readable verdict: the settings, one line per case, and the worst failing case's laws."""
        head = (f"{'PASSED' if self.passed else 'FAILED'}: tree of {self.tree.n_nodes} nodes (depth {self.tree.depth}), "
                f"law {self.law!r}, first {self.length} tokens, n = {self.n:,} per case; {len(self.cases)} cases, "
                f"Holm's correction at family-wise level {self.level:g}; {self.seconds:.1f} s")
        lines = [head] + ["  " + c.line() for c in self.cases]
        if self.worst is not None:
            w = self.worst
            v = w.case.v
            gap = w.counts / max(w.n, 1) - w.law
            top = np.argsort(-np.abs(gap), kind="stable")[:4]
            lines.append(f"worst failing case: {w.case.name!r} ({w.case.model!r}); largest gaps:")
            for i in top:
                seq = tuple(int(t) for t in np.unravel_index(int(i), (v,) * self.length))
                lines.append(f"  tokens {seq}: emitted {w.counts[i] / max(w.n, 1):.4f}, target {w.law[i]:.4f}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _sibling_law(law: str):
    if law == "top":
        from ..tree.verifiers import TOP

        return TOP
    return DRAFT_LAWS[law]


def _check_tree_and_law(tree, law) -> tuple[Tree, str]:
    if not isinstance(tree, Tree):
        raise ValueError(f"tree: expected a spechub_theory.Tree, got {type(tree).__name__}")
    if not tree.children[0]:
        raise ValueError("tree: the root needs at least one child (a tree of drafts to verify)")
    law = validate.choice(law, "law", TREE_LAWS)
    rule = _sibling_law(law)
    for v, kids in enumerate(tree.children):
        if kids and not rule.supports(len(kids)):
            raise ValueError(f"tree: node {v} has {len(kids)} children; the {law!r} draft law is not defined for "
                             f"k = {len(kids)}")
    return tree, law


def _min_support(tree, law) -> int:
    rule = _sibling_law(law)
    return max(rule.min_support(len(kids)) for kids in tree.children if kids)


def default_tree_cases(tree: Tree, law: str = "wo", *, seed: int = 0, random: int = RANDOM_MODELS) -> list[TreeCase]:
    """The models :func:`check_tree_verifier` drafts trees from by default.

    Corners: the Block Verification paper's toy laws ``p = (1/3, 2/3)``, ``q = (2/3, 1/3)`` at every
    prefix (when two tokens suffice for the law's siblings), fixed laws with a zero in each and a
    tie, and ``q = p`` at every prefix of a random model; then ``random`` random context-dependent
    models (:class:`ContextModel`, integer weights 0..6 per prefix, some prefixes with ``q = p`` or
    a one-hot ``p``) over ``V`` from 2 (or the support the law needs) to 5, seeded by ``seed``.

    Examples
    --------
    >>> [c.name for c in default_tree_cases(Tree.chain(2), "iid", random=1)]
    ['toy: p = (1/3, 2/3), q = (2/3, 1/3)', 'fixed laws with zeros and ties', 'q = p at every prefix', 'random model 1']
    """
    tree, law = _check_tree_and_law(tree, law)
    if isinstance(random, bool) or not isinstance(random, numbers.Integral) or random < 0:
        raise ValueError(f"random: expected a non-negative number of random models, got {random!r}")
    m = _min_support(tree, law)
    cases = []
    if m <= 2:
        cases.append(TreeCase("toy: p = (1/3, 2/3), q = (2/3, 1/3)", FixedLaws([1 / 3, 2 / 3], [2 / 3, 1 / 3])))
    v = max(4, m + 1)
    p = np.arange(v, 0, -1.0)
    p[1] = 0.0  # a zero of p inside q's support
    q = np.ones(v)
    q[0], q[-1] = 3.0, 0.0  # a hub, and a zero of q where p has mass
    if np.count_nonzero(q) < m:
        q[-1] = 1.0
    q[2] = q[1]  # ties
    cases.append(TreeCase("fixed laws with zeros and ties", FixedLaws(p / p.sum(), q / q.sum())))
    cases.append(TreeCase("q = p at every prefix", SameLaws(ContextModel(max(3, m), seed, min_support=m))))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    for j in range(random):
        size = int(rng.integers(max(2, m), max(5, m) + 1))
        cases.append(TreeCase(f"random model {j + 1}", ContextModel(size, int(rng.integers(2**31)), min_support=m)))
    return cases


def _user_tree_cases(models, m: int) -> list[TreeCase]:
    items = list(models.items()) if isinstance(models, dict) else [(f"model {i + 1}", c) for i, c in enumerate(models)]
    if not items:
        raise ValueError("models: expected at least one model(prefix) -> (p, q), got none")
    out = []
    for i, (name, model) in enumerate(items):
        where = f"models[{name!r}]" if isinstance(models, dict) else f"models[{i}]"
        if isinstance(model, TreeCase):
            name, model = model.name, model.model
        if not callable(model):
            raise ValueError(f"{where}: expected a callable model(prefix) -> (p, q), got {type(model).__name__}")
        try:
            p, q = validate.pair(*model(()))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: model(()) must return a pair (p, q) of distributions: {err}") from None
        if p.ndim != 1:
            raise ValueError(f"{where}: model(prefix) must return laws of shape (V,), got shape {p.shape}")
        if np.count_nonzero(q) < m:
            raise ValueError(f"{where}: the tree's siblings need {m} tokens of positive mass in q, the root has "
                             f"{np.count_nonzero(q)}")
        out.append(TreeCase(str(name), model))
    return out


class _Contexts:
    """The prefixes met while drafting, numbered, with both models' laws at each (checked once)."""

    def __init__(self, model, v: int, where: str):
        self.model, self.v, self.where = model, v, where
        self.prefixes: list[tuple[int, ...]] = []
        self.ids: dict[tuple[int, ...], int] = {}
        self.p: list[np.ndarray] = []
        self.q: list[np.ndarray] = []
        self.child: dict[tuple[int, int], int] = {}

    def id(self, prefix: tuple[int, ...]) -> int:
        if prefix not in self.ids:
            try:
                p, q = validate.pair(*self.model(prefix))
            except (TypeError, ValueError) as err:
                raise ValueError(f"{self.where}: model({prefix}) must return a pair (p, q) of distributions: {err}") from None
            if p.shape != (self.v,):
                raise ValueError(f"{self.where}: model({prefix}) returned laws of shape {p.shape}, the root's are ({self.v},)")
            self.ids[prefix] = len(self.prefixes)
            self.prefixes.append(prefix)
            self.p.append(p)
            self.q.append(q)
        return self.ids[prefix]

    def extend(self, ids: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """The id of each ``prefix(ids[i]) + (tokens[i],)``."""
        out = np.empty(ids.size, dtype=np.int64)
        pairs = ids * self.v + tokens
        for code in np.unique(pairs):
            c, t = divmod(int(code), self.v)
            key = (c, t)
            if key not in self.child:
                self.child[key] = self.id(self.prefixes[c] + (t,))
            out[pairs == code] = self.child[key]
        return out


def _draft(case: TreeCase, tree: Tree, law: str, n: int, rng) -> tuple[_Contexts, np.ndarray, np.ndarray]:
    """``n`` drafted trees from ``case``'s model: the contexts, tokens ``(n, n_nodes)`` and context ids ``(n, n_nodes)``."""
    v = case.v
    contexts = _Contexts(case.model, v, f"models[{case.name!r}]")
    rule = _sibling_law(law)
    tokens = np.zeros((n, tree.n_nodes), dtype=np.int64)
    ids = np.zeros((n, tree.n_nodes), dtype=np.int64)
    ids[:, 0] = contexts.id(())
    for u, kids in enumerate(tree.children):
        if not kids:
            continue
        for c in np.unique(ids[:, u]):
            steps = np.flatnonzero(ids[:, u] == c)
            q = contexts.q[int(c)]
            need = rule.min_support(len(kids))
            if np.count_nonzero(q) < need:
                raise ValueError(f"models[{case.name!r}]: q after {list(contexts.prefixes[int(c)])} has "
                                 f"{np.count_nonzero(q)} tokens of positive mass; {law!r} siblings of node {u} need {need}")
            tokens[np.ix_(steps, list(kids))] = rule.sample(q, len(kids), rng, steps.size)
        for c in kids:
            ids[:, c] = contexts.extend(ids[:, u], tokens[:, c])
    return contexts, tokens, ids


def _is_path(tree: Tree, tokens_row: np.ndarray, seq) -> bool:
    """Whether ``seq`` is the token path from the root to some node of one drafted tree."""
    frontier = [0]
    for t in seq:
        frontier = [c for u in frontier for c in tree.children[u] if tokens_row[c] == t]
        if not frontier:
            return False
    return True


def _emitted(out, tree: Tree, tokens_row, v: int, where: str) -> list[int]:
    try:
        seq = [int(t) for t in out]
        if any(t != x for t, x in zip(seq, out)):
            raise TypeError("non-integer token")
    except (TypeError, ValueError, OverflowError) as err:  # e.g. a float token, or a tensor on another device
        raise ValueError(f"verify: must return a list of integer token ids, got {out!r} at {where}: {err}") from None
    if not 1 <= len(seq) <= tree.depth + 1:
        raise ValueError(f"verify: emitted {len(seq)} tokens at {where}; a step emits its accepted path and one more "
                         f"token, 1 to depth + 1 = {tree.depth + 1}")
    if min(seq) < 0 or max(seq) >= v:
        raise ValueError(f"verify: emitted token {[t for t in seq if not 0 <= t < v][0]} outside the vocabulary "
                         f"0..{v - 1} at {where}")
    if not _is_path(tree, tokens_row, seq[:-1]):
        raise ValueError(f"verify: emitted {seq} at {where}, but {seq[:-1]} is not a path of drafted tokens from the "
                         f"root (drafts {tokens_row[1:].tolist()})")
    return seq


def _target_law(contexts: _Contexts, v: int, length: int) -> np.ndarray:
    """The target's law of the first ``length`` tokens, index ``sum_i y_i v**(length-1-i)``."""
    law = np.zeros(v**length)
    for i, seq in enumerate(itertools.product(range(v), repeat=length)):
        prob, prefix = 1.0, ()
        for t in seq:
            prob *= contexts.p[contexts.id(prefix)][t]
            if prob == 0:
                break
            prefix += (t,)
        law[i] = prob
    return law


def _run_tree_case(verify, case: TreeCase, tree: Tree, law: str, n: int, length: int, seeds) -> TreeCaseResult:
    draft_seed, verify_seed, extend_seed = seeds.spawn(3)
    contexts, tokens, ids = _draft(case, tree, law, n, np.random.default_rng(draft_seed))
    v = case.v
    p_all = np.stack(contexts.p)[ids]
    q_all = np.stack(contexts.q)[ids]
    for x in (tokens, p_all, q_all):
        x.setflags(write=False)
    rng = np.random.default_rng(verify_seed)
    extend = np.random.default_rng(extend_seed)
    codes = np.empty(n, dtype=np.int64)
    emitted = 0
    place = v ** np.arange(length - 1, -1, -1)
    for i in range(n):
        seq = _emitted(verify(tree, tokens[i], p_all[i], q_all[i], rng), tree, tokens[i], v,
                       f"case {case.name!r}, step {i}")
        emitted += len(seq)
        seq = seq[:length]
        while len(seq) < length:  # extended by the target
            p = contexts.p[contexts.id(tuple(seq))]
            seq.append(int(min(np.searchsorted(np.cumsum(p), extend.random() * p.sum(), side="right"),
                               np.flatnonzero(p > 0)[-1])))
        codes[i] = int(np.dot(seq, place))
    counts = np.bincount(codes, minlength=v**length)
    target = _target_law(contexts, v, length)
    tv = 0.5 * float(np.abs(counts / n - target).sum())
    return TreeCaseResult(case, counts, target, tv, emitted / n, pooled_chisquare(counts, target))


def check_tree_verifier(verify: Callable, tree: Tree, law: str = "wo", *, n: int = 20_000, seed: int = 0,
                        models=None, length: int = 2, level: float = 1e-3,
                        progress: Callable | None = None) -> TreeVerifierCheck:
    """Check that a tree verifier is lossless: the tokens it emits follow the target's sequence law.

    On every case (a model ``prefix -> (p, q)``) the harness drafts ``n`` trees of shape ``tree``: at
    each internal node ``u`` the children are drawn by the sibling law ``law`` from ``q(. | path(u))``,
    and ``p``, ``q`` are the laws at every node's context. It calls ``verify`` on each and tests

        H_0 : P(Y_1..Y_L = y_1..y_L) = prod_{i=1}^{L} p(y_i | y_1..y_{i-1})   for every y,

    ``L = length``, where ``Y`` is the emitted tokens extended by the target's own draws where a
    step emitted fewer than ``L`` (Pearson's chi-square over the ``V**L`` sequences, rare ones
    pooled; an impossible sequence emitted rejects outright). A lossless verifier emits the target's
    law of every prefix (speculative decoding never changes the output law), so ``L = 2`` already
    catches a verifier that mixes up the levels' laws. The cases form one family, corrected by
    Holm's method at family-wise level ``level``: a lossless verifier fails with probability at
    most ``level``.

    Parameters
    ----------
    verify : callable
        ``verify(tree, tokens, p, q, rng) -> list of int``: the tree shape, the drafted token at every
        node (int64, shape ``(tree.n_nodes,)``, the root's entry 0 and unused), the target and draft
        laws at every node's context (read-only float64, shape ``(tree.n_nodes, V)``, as in
        :class:`spechub_theory.DraftedTree`) and a ``numpy.random.Generator`` for its uniforms;
        returns the accepted path's tokens followed by one corrected or bonus token.
    tree : Tree
        The shape of the drafted trees.
    law : str
        How siblings are drafted: a draft law of :data:`spechub_theory.DRAFT_LAWS` (``"iid"``,
        ``"wo"``, ``"hub"``, ``"greedy"``) or ``"top"`` (the most likely tokens of ``q``).
    n : int
        Drafted trees per case (at least 100). At the default 20,000 a total variation of 0.05 over
        25 sequences is caught with near certainty.
    seed : int
        Seed of every random draw (the random models, the drafts, the verifier's generator, the
        target's extensions).
    models : sequence or dict of callables, optional
        ``model(prefix) -> (p, q)`` (a tuple of token ids to two laws of shape ``(V,)``; e.g.
        :class:`ContextModel`) to run instead of :func:`default_tree_cases`.
    length : int
        How many emitted tokens are tested, 1 to ``tree.depth + 1``.
    level : float
        Family-wise significance level, in (0, 1).
    progress : callable, optional
        Called as ``progress(done, total, case_name)`` after each case.

    Returns
    -------
    result : TreeVerifierCheck
        ``.passed``, the per-case results and p-values, and the worst failing case.

    Raises
    ------
    ValueError
        For a ``tree`` that is not a Tree or has a node the law cannot draft, an unknown ``law``,
        bad ``n``, ``seed``, ``length``, ``level`` or ``models``, or a ``verify`` that is not
        callable or returns something other than a path of the drafted tree and one token.

    Examples
    --------
    >>> from spechub_theory.testing.examples import block, block_uncapped
    >>> check_tree_verifier(block, Tree.chain(2), "iid", n=2_000).passed
    True
    >>> check_tree_verifier(block_uncapped, Tree.chain(2), "iid", n=5_000).worst.case.name
    'toy: p = (1/3, 2/3), q = (2/3, 1/3)'

    References
    ----------
    Z. Sun, U. Mendlovic, Y. Leviathan, A. Aharoni, A. Beirami, J. H. Ro, A. T. Suresh, "Block
    Verification Accelerates Speculative Decoding", ICLR 2025, arXiv 2403.10444.
    Y. Weng et al., "Traversal Verification for Speculative Tree Decoding", NeurIPS 2025, arXiv 2505.12398.
    S. Holm, "A simple sequentially rejective multiple test procedure", Scand. J. Statist. 6 (1979).
    """
    start = time.perf_counter()
    if not callable(verify):
        raise ValueError(f"verify: expected a callable verify(tree, tokens, p, q, rng), got {type(verify).__name__}")
    tree, law = _check_tree_and_law(tree, law)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 100:
        raise ValueError(f"n: expected an integer number of drafted trees per case >= 100, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    if isinstance(length, bool) or not isinstance(length, numbers.Integral) or not 1 <= length <= tree.depth + 1:
        raise ValueError(f"length: expected an integer from 1 to tree.depth + 1 = {tree.depth + 1}, got {length!r}")
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise ValueError(f"level: expected a family-wise level in (0, 1), got {level!r}")
    m = _min_support(tree, law)
    case_list = default_tree_cases(tree, law, seed=seed) if models is None else _user_tree_cases(models, m)
    seeds = np.random.SeedSequence([seed, 4]).spawn(len(case_list))
    results = []
    for case, s in zip(case_list, seeds):
        results.append(_run_tree_case(verify, case, tree, law, int(n), int(length), s))
        if progress is not None:
            progress(len(results), len(case_list), case.name)
    adjusted = holm([r.pvalue for r in results])
    results = [TreeCaseResult(r.case, r.counts, r.law, r.tv, r.mean_emitted, r.pvalue, float(a), bool(a > level))
               for r, a in zip(results, adjusted)]
    failing = [r for r in results if not r.passed]
    worst = min(failing, key=lambda r: (r.adjusted, -r.tv)) if failing else None
    return TreeVerifierCheck(not failing, tuple(results), worst, tree, law, int(length), int(n), int(seed),
                             float(level), time.perf_counter() - start)
