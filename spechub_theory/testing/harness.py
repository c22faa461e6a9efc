"""A losslessness harness for a user's verifier at one decoding position.

:func:`check_verifier` draws drafts from a named draft law, runs the user's code on them over random
and corner cases, and tests the law of the token it emits against the target (and, given a
reference method, its acceptance rate and its law given each draft tuple against the library's
exact chain).
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

import numpy as np

from .. import validate
from ..acceptance import acceptance_rate
from ..drafts import DRAFT_LAWS
from ..exact import chain_outcome
from ..verifiers import VERIFIERS
from .stats import binomial_pvalue, grouped_chisquare, holm, pooled_chisquare

#: Random cases :func:`default_cases` adds to the corner cases.
RANDOM_CASES = 8

#: Re-tests the shrinker may run on simplified versions of the worst failing case.
SHRINK_BUDGET = 24

#: Denominators the shrinker tries, smallest first, when it rounds a failing case's weights.
ROUND_DENOMINATORS = (2, 3, 4, 5, 6, 8, 10, 12, 16, 20)


@dataclass(frozen=True)
class Case:
    """One decoding position to check: a name, the target ``p`` and the draft ``q``, each of shape ``(V,)``."""

    name: str
    p: np.ndarray
    q: np.ndarray

    def describe(self) -> str:
        """``p`` and ``q`` as fractions where they are close to one of denominator <= 1000."""
        return f"p = {_fractions(self.p)}, q = {_fractions(self.q)}"


@dataclass(frozen=True)
class CaseResult:
    """What the harness measured at one case.

    Attributes
    ----------
    case : Case
    counts : ndarray, shape (V,)
        How often each token was emitted in ``n`` runs.
    tv : float
        Total variation between the emitted tokens' empirical law and ``p``; for a lossless verifier
        about ``sqrt(V / n)`` at most.
    acceptance : float
        Share of runs whose token is one of the drafts.
    acceptance_exact : float or None
        The reference method's exact acceptance rate (``None`` without a reference).
    pvalues : dict
        Raw p-value of each test run here: ``"law"`` (emitted tokens against ``p``), and with a
        reference ``"acceptance"`` (binomial z) and ``"given drafts"`` (the emitted token's law
        given each draft tuple against the reference chain's exact one).
    adjusted : dict
        The same tests' Holm-adjusted p-values over the whole family (empty for the shrinker's re-tests).
    passed : bool
        Whether every adjusted p-value is above the family-wise level.
    """

    case: Case
    counts: np.ndarray
    tv: float
    acceptance: float
    acceptance_exact: float | None
    pvalues: dict
    adjusted: dict = field(default_factory=dict)
    passed: bool = True

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    @property
    def pvalue(self) -> float:
        """The smallest raw p-value of the case's tests."""
        return min(self.pvalues.values())

    def line(self) -> str:
        tests = _pvalues_text(self.pvalues)
        acc = f", estimated acceptance {self.acceptance:.4f}" + (
            f" (exact {self.acceptance_exact:.4f})" if self.acceptance_exact is not None else "")
        verdict = "" if not self.adjusted else ("  ok" if self.passed else "  FAILED")
        return f"{self.case.name:<30} V={self.case.p.size:<2} estimated TV {self.tv:.4f}{acc}, {tests}{verdict}"


@dataclass(frozen=True)
class VerifierCheck:
    """The verdict of :func:`check_verifier` (a SciPy-style result).

    Attributes
    ----------
    passed : bool
        No test rejected at family-wise level ``level`` after Holm's correction over every test of
        every case.
    cases : tuple of CaseResult
        Each case, in the order run.
    worst : CaseResult or None
        The failing case of smallest adjusted p-value, shrunk: re-tested on sub-vocabularies and on
        rounder weights, keeping the smallest version that still fails (``None`` when passed).
    worst_original : CaseResult or None
        That case as the family ran it, before shrinking.
    law, k, n, seed, reference, level, batched :
        The settings of the run; ``correction`` names the multiple-testing correction (``"holm"``).
    seconds : float
        Wall time of the whole check, shrinking included.
    """

    passed: bool
    cases: tuple
    worst: CaseResult | None
    worst_original: CaseResult | None
    law: str
    k: int
    n: int
    seed: int
    reference: str | None
    level: float
    batched: bool
    seconds: float
    correction: str = "holm"

    @property
    def pvalues(self) -> dict:
        """Case name -> the smallest raw p-value of its tests."""
        return {c.case.name: c.pvalue for c in self.cases}

    @property
    def adjusted(self) -> dict:
        """Case name -> the smallest Holm-adjusted p-value of its tests."""
        return {c.case.name: min(c.adjusted.values()) for c in self.cases}

    @property
    def tests(self) -> int:
        """Number of tests in the family that Holm's correction covers."""
        return sum(len(c.pvalues) for c in self.cases)

    def summary(self) -> str:
        """A readable verdict: the settings, one line per case, and the shrunk failing case."""
        ref = f", reference {self.reference!r}" if self.reference else ""
        head = (f"{'PASSED' if self.passed else 'FAILED'}: law {self.law!r}, k = {self.k}, n = {self.n:,} per case"
                f"{ref}; {len(self.cases)} cases, {self.tests} tests, Holm's correction at family-wise level "
                f"{self.level:g}; {self.seconds:.1f} s")
        lines = [head] + ["  " + c.line() for c in self.cases]
        if self.worst is not None:
            w = self.worst
            emitted = w.counts / max(w.n, 1)
            lines += [f"worst failing case: {self.worst_original.case.name!r}, shrunk to V = {w.case.p.size}:",
                      f"  {w.case.describe()}",
                      f"  emitted {np.array2string(emitted, precision=4, separator=', ')} "
                      f"(estimated TV {w.tv:.4f} from p); {_pvalues_text(w.pvalues)}"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _pvalues_text(pvalues: dict) -> str:
    return ", ".join(f"{t} p-value {v:.2g}" for t, v in pvalues.items())


def _fractions(x: np.ndarray) -> str:
    parts = []
    for v in x:
        f = Fraction(float(v)).limit_denominator(1000)
        parts.append(str(f) if abs(float(f) - v) < 1e-12 else f"{v:.6g}")
    return "[" + ", ".join(parts) + "]"


def _with_support(weights: np.ndarray, m: int) -> np.ndarray:
    """``weights`` with zero entries raised to 1, lowest index first, until ``m`` are positive; normalised."""
    w = np.asarray(weights, dtype=np.float64).copy()
    for i in np.flatnonzero(w == 0):
        if np.count_nonzero(w) >= m:
            break
        w[i] = 1.0
    return w / w.sum()


def _corner_cases(m: int, k: int) -> list[Case]:
    """Zeros, ties, one-hot laws, ``p = q`` and near-one-hot hubs, for a law needing ``m`` tokens of mass."""
    v = max(4, k + 2, m + 1)
    down = np.arange(v, 0, -1.0)  # v, v-1, ..., 1
    up = down[::-1]
    i = np.arange(v)
    cases = [
        ("p = q", down, down),
        ("one-hot p", np.eye(v)[v - 1], down),
        ("one-hot p outside q", np.eye(v)[v - 1], np.append(np.ones(v - 1), 0.0)),
        (f"q on {m} token{'s' if m > 1 else ''}", up, np.append(np.ones(m), np.zeros(v - m))),
        ("zeros in p and q", np.where(i % 3 == 0, 0.0, i + 1.0), np.where(i % 3 == 1, 0.0, v - i)),
        ("disjoint supports", np.append(np.zeros(max(m, v // 2)), np.ones(v - max(m, v // 2))),
         np.append(np.ones(max(m, v // 2)), np.zeros(v - max(m, v // 2)))),
        ("ties", np.append([1.0, 2.0, 2.0], np.ones(v - 3)), np.append([2.0, 2.0], np.ones(v - 2))),
        ("near-one-hot hub", np.ones(v), np.append(97.0, np.ones(v - 1))),
        ("near-one-hot hub, p elsewhere", np.append(1.0, 3 * np.ones(v - 1)), np.append(97.0, np.ones(v - 1))),
    ]
    return [Case(name, _with_support(p, 1), _with_support(q, m)) for name, p, q in cases]


def default_cases(law: str = "iid", k: int = 2, *, seed: int = 0, random: int = RANDOM_CASES) -> list[Case]:
    """The cases :func:`check_verifier` runs by default: nine corner cases and ``random`` random ones.

    The corners, over ``V = max(4, k + 2)`` tokens: ``p = q``; one-hot ``p`` inside and outside the
    support of ``q``; ``q`` on the fewest tokens the draft law allows (one-hot for ``iid``); zeros in
    both laws; disjoint supports (acceptance 0); ties in ``p`` and in the top of ``q``; a
    near-one-hot ``q`` (the hub of SpecHub's law) with ``p`` uniform, and with ``p`` small there. The
    random cases have ``V`` between ``max(3, k + 1)`` and ``max(6, k + 2)`` and integer weights 0..9,
    drawn from ``seed``. Every ``q`` has the tokens of positive mass the draft law needs.

    Examples
    --------
    >>> [c.name for c in default_cases("wo", 2, random=1)][-2:]
    ['near-one-hot hub, p elsewhere', 'random 1']
    """
    law, k = _law_and_k(law, k)
    if isinstance(random, bool) or not isinstance(random, numbers.Integral) or random < 0:
        raise ValueError(f"random: expected a non-negative number of random cases, got {random!r}")
    m = DRAFT_LAWS[law].min_support(k)
    cases = _corner_cases(m, k)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    low, high = max(3, k + 1, m + 1), max(6, k + 2, m + 1)
    for j in range(random):
        v = int(rng.integers(low, high + 1))
        p = rng.integers(0, 10, size=v).astype(np.float64)
        q = rng.integers(0, 10, size=v).astype(np.float64)
        cases.append(Case(f"random {j + 1}", _with_support(p, 1), _with_support(q, m)))
    return cases


def _law_and_k(law, k) -> tuple[str, int]:
    law = validate.choice(law, "law", DRAFT_LAWS)
    k = validate.draft_count(k)
    if not DRAFT_LAWS[law].supports(k):
        raise ValueError(f"k: the {law!r} draft law is not defined for k = {k}")
    return law, k


def _user_cases(cases, m: int) -> list[Case]:
    items = list(cases.items()) if isinstance(cases, dict) else [(f"case {i + 1}", c) for i, c in enumerate(cases)]
    if not items:
        raise ValueError("cases: expected at least one (p, q) pair, got none")
    out = []
    for i, (name, pair) in enumerate(items):
        where = f"cases[{name!r}]" if isinstance(cases, dict) else f"cases[{i}]"
        if isinstance(pair, Case):
            name, pair = pair.name, (pair.p, pair.q)
        try:
            p, q = pair
            p, q = validate.pair(p, q)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: expected a pair (p, q) of distributions: {err}") from None
        if p.ndim != 1:
            raise ValueError(f"{where}: p and q must be single distributions of shape (V,), got shape {p.shape}")
        if np.count_nonzero(q) < m:
            raise ValueError(f"{where}: the draft law needs {m} tokens of positive mass in q, it has {np.count_nonzero(q)}")
        out.append(Case(str(name), p, q))
    return out


def _read_only(x: np.ndarray) -> np.ndarray:
    x = np.array(x)
    x.setflags(write=False)
    return x


def _run_case(verify, case: Case, law: str, k: int, n: int, batched: bool, reference, seeds) -> CaseResult:
    """Draw ``n`` draft tuples at ``case``, run ``verify`` on each, and test what it emitted."""
    p, q = _read_only(case.p), _read_only(case.q)
    v = p.size
    draft_seed, verify_seed = seeds.spawn(2)
    drafts = _read_only(DRAFT_LAWS[law].sample(q, k, np.random.default_rng(draft_seed), n))
    rng = np.random.default_rng(verify_seed)
    if batched:
        out = verify(drafts, p, q, rng)
    else:
        out = [verify(d, p, q, rng) for d in drafts]
    y = _tokens(out, n, v, case, batched)
    counts = np.bincount(y, minlength=v)
    hit = (drafts == y[:, None]).any(axis=1)
    pvalues = {"law": pooled_chisquare(counts, p)}
    exact = None
    if reference is not None:
        exact = float(acceptance_rate(p, q, reference, k))
        pvalues["acceptance"] = binomial_pvalue(int(hit.sum()), n, exact)[1]
        tuples, inverse = _distinct_rows(drafts, v)
        grouped = np.zeros((len(tuples), v))
        np.add.at(grouped, (inverse, y), 1.0)
        laws = np.array([chain_outcome(VERIFIERS[reference], t, p, q)[0] for t in tuples])
        pvalues["given drafts"] = grouped_chisquare(grouped, laws)
    tv = 0.5 * float(np.abs(counts / n - p).sum())
    return CaseResult(case, counts, tv, float(hit.mean()), exact, pvalues)


def _distinct_rows(drafts: np.ndarray, v: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct draft tuples and each row's index among them (``np.unique(axis=0)``, by integer codes)."""
    k = drafts.shape[1]
    if k * np.log2(max(v, 2)) > 62:
        tuples, inverse = np.unique(drafts, axis=0, return_inverse=True)
        return tuples, inverse.ravel()
    place = v ** np.arange(k - 1, -1, -1, dtype=np.int64)
    codes, inverse = np.unique(drafts @ place, return_inverse=True)
    return (codes[:, None] // place) % v, inverse.ravel()


def _tokens(out, n: int, v: int, case: Case, batched: bool) -> np.ndarray:
    """The verifier's output as ``n`` token ids, or a ValueError naming ``verify`` and the case."""
    try:
        y = np.asarray(out)
    except Exception as err:  # e.g. a list of tensors on another device
        raise ValueError(f"verify: its output at case {case.name!r} does not convert to an array: {err}") from None
    if y.shape != (n,):
        want = "an array of shape (n,) = " if batched else "one token per call, "
        raise ValueError(f"verify: expected {want}({n},) token ids at case {case.name!r}, got shape {y.shape}")
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise ValueError(f"verify: must return integer token ids, got dtype {y.dtype} at case {case.name!r}")
    if y.size and (y.min() < 0 or y.max() >= v):
        bad = int(y[(y < 0) | (y >= v)][0])
        raise ValueError(f"verify: returned token {bad} outside the vocabulary 0..{v - 1} at case {case.name!r}")
    return y.astype(np.int64, copy=False)


def _candidates_dropping(case: Case, m: int):
    """``case`` without one token (the lightest in ``p + q`` first), each still a valid case."""
    for i in np.argsort(case.p + case.q, kind="stable"):
        keep = np.arange(case.p.size) != i
        p, q = case.p[keep], case.q[keep]
        if p.size >= 2 and p.sum() > 0 and np.count_nonzero(q) >= m:
            yield Case(case.name, p / p.sum(), q / q.sum())


def _rounded(x: np.ndarray, d: int) -> np.ndarray:
    """``x`` as integer weights summing to ``d`` (largest remainders; small entries may round to 0)."""
    scaled = x * d
    w = np.floor(scaled)
    short = int(d - w.sum())
    w[np.argsort(-(scaled - w), kind="stable")[:short]] += 1
    return w


def _candidates_rounding(case: Case, m: int):
    for d in ROUND_DENOMINATORS:
        p, q = _rounded(case.p, d), _rounded(case.q, d)
        if p.sum() > 0 and np.count_nonzero(q) >= m and not (np.allclose(p / d, case.p) and np.allclose(q / d, case.q)):
            yield Case(case.name, p / d, q / d)
        if np.allclose(p / d, case.p) and np.allclose(q / d, case.q):
            return  # already this round: coarser roundings were tried


def _shrink(retest, worst: CaseResult, m: int, threshold: float) -> CaseResult:
    """Simplify the failing case while a re-test still fails at ``threshold``, within :data:`SHRINK_BUDGET`."""
    best, budget = worst, SHRINK_BUDGET
    for candidates in (_candidates_dropping, _candidates_rounding, _candidates_dropping):
        improved = True
        while improved and budget > 0:
            improved = False
            for cand in candidates(best.case, m):
                if budget == 0:
                    break
                budget -= 1
                result = retest(cand)
                if result.pvalue < threshold:
                    best, improved = result, True
                    break
            if candidates is _candidates_rounding:
                break
    return best


def check_verifier(verify: Callable, law: str = "iid", k: int = 2, *, n: int = 20_000, seed: int = 0, cases=None,
                   batched: bool = False, reference: str | None = None, level: float = 1e-3,
                   progress: Callable | None = None) -> VerifierCheck:
    """Check that a verifier is lossless at one decoding position: the token it emits has law ``p``.

    For every case ``(p, q)`` the harness draws ``n`` draft tuples ``(X_1..X_k)`` from the draft law
    ``law`` (:data:`spechub_theory.DRAFT_LAWS`), calls ``verify`` on each and tests the null
    hypothesis

        H_0 : P(Y = y) = p(y) for every token y

    with Pearson's chi-square (tokens expected fewer than 5 times pooled; a token of ``p(y) = 0``
    emitted rejects outright). With ``reference`` it also tests that the acceptance rate
    ``P(Y in {X_1..X_k})`` equals ``acceptance_rate(p, q, reference, k)`` (binomial z) and that the
    law of ``Y`` given each draft tuple equals that of the reference's exact chain
    (:func:`spechub_theory.exact.chain_outcome`; chi-square summed over the tuples seen). Every
    test of every case forms one family, corrected by Holm's method at family-wise level
    ``level``: a lossless verifier fails with probability at most ``level``. A failing case is then
    shrunk: re-tested on sub-vocabularies and on rounder weights (each re-test at Bonferroni level
    ``level / SHRINK_BUDGET``), keeping the smallest version that still fails.

    Parameters
    ----------
    verify : callable
        ``verify(drafts, p, q, rng) -> int``: the ``k`` drafts (int64 array, shape ``(k,)``), the
        target and draft laws (read-only float64 arrays, shape ``(V,)``) and a
        ``numpy.random.Generator`` for its own uniforms; returns the emitted token id. With
        ``batched=True``, ``drafts`` has shape ``(n, k)`` and it returns ``n`` token ids.
    law : str
        The draft law the drafts are drawn from: ``"iid"``, ``"wo"``, ``"hub"`` or ``"greedy"``.
    k : int
        Number of drafts.
    n : int
        Runs per case (at least 100); at the default 20,000 a total variation of about 0.02 from
        ``p`` on four tokens is caught with near certainty.
    seed : int
        Seed of every random draw (the random cases, the drafts, the verifier's generator).
    cases : sequence of (p, q), or dict name -> (p, q), optional
        Cases to run instead of :func:`default_cases`.
    batched : bool
        Call ``verify`` once per case on all ``n`` draft tuples.
    reference : str, optional
        A method of :data:`spechub_theory.VERIFIERS` drawing from ``law`` whose acceptance rate and
        chain the verifier should reproduce, not only its output law.
    level : float
        Family-wise significance level, in (0, 1).
    progress : callable, optional
        Called as ``progress(done, total, case_name)`` after each case.

    Returns
    -------
    result : VerifierCheck
        ``.passed``, the per-case results and p-values, and the shrunk worst failing case.

    Raises
    ------
    ValueError
        For an unknown ``law`` or ``reference``, a ``k`` the law or reference does not support, bad
        ``n``, ``seed``, ``level`` or ``cases``, or a ``verify`` that is not callable or returns
        something other than token ids of the vocabulary.

    Examples
    --------
    >>> from spechub_theory.testing.examples import rrs, rrs_skip_duplicates
    >>> check_verifier(rrs, "iid", k=3, n=2_000).passed
    True
    >>> bad = check_verifier(rrs_skip_duplicates, "iid", k=3, n=5_000)
    >>> bad.passed, bad.worst.case.p.size <= 4
    (False, True)

    References
    ----------
    S. Holm, "A simple sequentially rejective multiple test procedure", Scand. J. Statist. 6 (1979).
    Z. Sun, A. T. Suresh, J. H. Ro, A. Beirami, H. Jain, F. Yu, "SpecTr: Fast speculative decoding
    via optimal transport", NeurIPS 2023 (multi-draft verification and what lossless means).
    """
    start = time.perf_counter()
    if not callable(verify):
        raise ValueError(f"verify: expected a callable verify(drafts, p, q, rng), got {type(verify).__name__}")
    law, k = _law_and_k(law, k)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 100:
        raise ValueError(f"n: expected an integer number of runs per case >= 100, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise ValueError(f"level: expected a family-wise level in (0, 1), got {level!r}")
    if reference is not None:
        ref = VERIFIERS[validate.choice(reference, "reference", VERIFIERS)]
        if ref.law != law:
            raise ValueError(f"reference: method {reference!r} draws its drafts from {ref.law!r}, not law={law!r}")
        if not ref.supports(k):
            raise ValueError(f"reference: method {reference!r} supports k = {ref.k_values} only, got k = {k}")
    m = DRAFT_LAWS[law].min_support(k)
    case_list = default_cases(law, k, seed=seed) if cases is None else _user_cases(cases, m)
    seeds = np.random.SeedSequence([seed, 2])
    case_seeds, shrink_seeds = seeds.spawn(2)
    results = []
    for case, s in zip(case_list, case_seeds.spawn(len(case_list))):
        results.append(_run_case(verify, case, law, k, int(n), batched, reference, s))
        if progress is not None:
            progress(len(results), len(case_list), case.name)
    flat = [(i, t, pv) for i, r in enumerate(results) for t, pv in r.pvalues.items()]
    adjusted = holm([pv for _, _, pv in flat])
    per_case = [{} for _ in results]
    for (i, t, _), a in zip(flat, adjusted):
        per_case[i][t] = float(a)
    results = [CaseResult(r.case, r.counts, r.tv, r.acceptance, r.acceptance_exact, r.pvalues, adj,
                          all(a > level for a in adj.values())) for r, adj in zip(results, per_case)]
    failing = [r for r in results if not r.passed]
    worst = original = None
    if failing:
        original = min(failing, key=lambda r: (min(r.adjusted.values()), -r.tv))
        retest_seeds = iter(shrink_seeds.spawn(SHRINK_BUDGET))
        worst = _shrink(lambda c: _run_case(verify, c, law, k, int(n), batched, reference, next(retest_seeds)),
                        original, m, level / SHRINK_BUDGET)
    return VerifierCheck(not failing, tuple(results), worst, original, law, k, int(n), int(seed), reference,
                         float(level), bool(batched), time.perf_counter() - start)
