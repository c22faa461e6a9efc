"""The paper's claims, the value this library finds for each, the value reported, and whether it holds.

Claims marked ``exact`` are theorems about the verifiers; they must hold to float64 rounding on any
data, and the tests check them. The others are empirical: they compare tokens per step and
acceptance on the shipped SmolLM2 data with what Sun et al. (EMNLP 2024, arXiv 2411.05289)
report for Llama-2 in the paper and in their run logs (``data/spechub_reported.csv``). C4 compares
the probability that the second of two drafts is kept, computed for SpecHub with the authors' own
verifier (:mod:`spechub_theory.verifiers.spechub`), with what they measured with it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..exact import output_distribution
from ..synthetic import dirichlet_pairs
from ..verifiers import VERIFIERS
from .fig1_tokens_per_step import IID, rows_of
from .fig7_optimal_trees import half_tree

#: Tolerance of the exact claims (the engine's values are exact to float64 rounding).
EXACT_TOL = 1e-9


@dataclass(frozen=True)
class Claim:
    """One row of the claims table."""

    id: str
    claim: str
    reported: str
    here: str
    holds: bool
    exact: bool
    #: An estimate whose standard error leaves the claim open: neither holds nor fails at 2 SE.
    undecided: bool = False

    def as_dict(self) -> dict:
        return {**asdict(self), "verdict": self.verdict}

    @property
    def verdict(self) -> str:
        return "undecided" if self.undecided else "holds" if self.holds else "fails"


def _tree_gaps(rows: list[dict], better: str, worse: str) -> list[float]:
    """``better - worse`` tokens per step at every (temperature, nodes) both appear at."""
    value = {(r["temperature"], r["nodes"], r["method"]): r["tokens_per_step"] for r in rows}
    return [value[(t, n, better)] - v for (t, n, m), v in value.items() if m == worse and (t, n, better) in value]


def _span(values) -> str:
    return f"{min(values):+.3f} to {max(values):+.3f}"


def _versus(pairs: dict, temperatures) -> str:
    """``T=t: a vs b`` for the ``(SpecHub, RRS)`` pairs at ``temperatures``."""
    return "; ".join(f"T={t}: {pairs[t][0]:.3f} vs {pairs[t][1]:.3f}" for t in temperatures)


def _half_tree(rows: list[dict], nodes: int = 15) -> tuple[bool, str]:
    """Whether SpecHub on ``nodes`` nodes gives at least RRS on ``2 nodes + 1``, at every temperature present."""
    value = {(r["temperature"], r["nodes"], r["method"]): r["tokens_per_step"] for r in rows}
    pairs = {t: (v, value[(t, 2 * nodes + 1, "rrs")]) for (t, n, m), v in sorted(value.items())
             if m == "spechub" and n == nodes and (t, 2 * nodes + 1, "rrs") in value}
    return bool(pairs) and all(s >= r for s, r in pairs.values()), _versus(pairs, pairs)


def _second_drafts(rows: list[dict]) -> dict:
    """``(SpecHub, RRS)`` probability that the second of two drafts is kept, per temperature."""
    value = {(r["temperature"], r["method"]): r["value"] for r in rows if r["metric"] == "accept_draft2"}
    return {t: (v, value[(t, "rrs")]) for (t, m), v in sorted(value.items()) if m == "spechub" and (t, "rrs") in value}


def lossless_error(vocab: int = 5, pairs: int = 20, seed: int = 0) -> float:
    """Largest ``|P(Y = y) - p(y)|`` over every verifier (k = 2, and 3 where supported) on Dirichlet pairs,
    from the exact output law (:func:`spechub_theory.output_distribution`, by enumeration)."""
    p, q = dirichlet_pairs(pairs, vocab, seed=seed, concentration=0.5)
    worst = 0.0
    for method, verifier in VERIFIERS.items():
        for k in (1, 2, 3):
            if verifier.supports(k):
                worst = max(worst, float(np.abs(output_distribution(p, q, method, k) - p).max()))
    return worst


#: The LP check of C5: positions, vocabulary and the solver's tolerance.
LP_POSITIONS, LP_VOCAB, LP_TOL = 8, 1000, 1e-7


def spechub_against_lp(seed: int = 5) -> tuple[float, int]:
    """Largest ``|alpha*_LP - alpha_SpecHub|`` on LLM-like positions: the closed form against the hub
    law's OTM linear programme (:func:`spechub_theory.otm`, compact form), not against its own formula."""
    from ..acceptance import acceptance_rate
    from ..optimal import optimal_acceptance_rate
    from ..synthetic import llm_like_logits, process

    target, draft = llm_like_logits(LP_POSITIONS, LP_VOCAB, seed=seed)
    p, q = process(target), process(draft)
    lp = optimal_acceptance_rate(p, q, "hub", 2, solver="lp")
    return float(np.abs(lp - acceptance_rate(p, q, "spechub", 2)).max()), LP_POSITIONS


#: Standard errors a real-tree gap must clear, either way, for its claim to hold or fail.
REAL_SE = 2.0


def _estimated_claim(cid: str, claim: str, reported: str, gaps) -> Claim:
    """A claim that a gap is positive in every setting, from ``(label, mean, se)`` estimates: holds when
    every gap exceeds :data:`REAL_SE` standard errors, fails when one is below minus that, and is
    undecided otherwise."""
    gaps = list(gaps)
    here = "; ".join(f"{label}: {mean:+.3f} +/- {se:.3f}" for label, mean, se in gaps)
    holds = all(mean > REAL_SE * se for _, mean, se in gaps)
    fails = any(mean < -REAL_SE * se for _, mean, se in gaps)
    return Claim(cid, claim, reported, f"{here} (mean +/- standard error over contexts)", holds, False,
                 undecided=not holds and not fails)


def real_tree_claims(reported_verifiers: list[dict]) -> list[Claim]:
    """C11-C14 from the shipped real-tree summaries (:mod:`.real_trees`, :mod:`.real_tree_verifiers`):
    each gap paired by context and random numbers, with its standard error over contexts."""
    from . import real_tree_verifiers, real_trees

    trees, verifiers = real_trees.load(), real_tree_verifiers.load()
    claims = []
    for cid, worse, paper in (("C11", "rrs", "+0.05 to +0.27"), ("C12", "rrs_wo", "+0.02 to +0.16")):
        name = "RRS" if worse == "rrs" else "RRS without replacement"
        claims.append(_estimated_claim(
            cid, f"On real draft trees of 31 nodes, SpecHub emits more tokens per step than {name} (T = 0.6 and 1.0)",
            f"{paper} (abstract, all settings, real trees)",
            [(f"T={t}", *real_trees.paired_gap(trees, "spechub", worse, t, 31)) for t in (0.6, 1.0)]))
    for cid, shape, nodes, method, base, tree, text in (
            ("C13", "full binary", 31, "traversal_wo", "rrs_wo", "binary tree depth 5",
             "Traversal Verification emits more tokens per step than RRS without replacement on the same real "
             "31-node binary trees (T = 0.6 and 1.0)"),
            ("C14", "chain", 6, "block", "single", "chain depth 5",
             "Block Verification emits more tokens per step than single-draft verification on the same real "
             "chains of 5 drafts (T = 0.6 and 1.0)")):
        value = {r["method"]: r["tokens_per_step"] for r in reported_verifiers
                 if r["shape"] == shape and r["temperature"] == 1.0}
        paper = (f"{value[method] - value[base]:+.2f} (Weng et al. 2025, Table 3: Llama-2-7B / llama-68m, {tree}, "
                 "T = 1)") if method in value and base in value else "Weng et al. 2025"
        claims.append(_estimated_claim(
            cid, text, paper,
            [(f"T={t}", *real_tree_verifiers.paired_gap(verifiers, shape, method, base, t, nodes)[:2])
             for t in (0.6, 1.0)]))
    return claims


def evaluate(results: dict[str, tuple[list[dict], list[dict]]]) -> list[Claim]:
    """The claims table from the figures' ``(reproduced, reported)`` rows (every figure must be present)."""
    tree, tree_reported = results["fig1_tokens_per_step"]
    tree = rows_of(tree, IID)
    drafts, drafts_reported = results["fig3_per_draft_acceptance"]
    gaps = results["fig4_gap_to_optimum"][0]
    hub = results["fig6_where_spechub_loses"][0]
    claims = []
    for cid, worse, paper in (("C1", "rrs", "+0.05 to +0.27"), ("C2", "rrs_wo", "+0.02 to +0.16")):
        ours, theirs = _tree_gaps(tree, "spechub", worse), _tree_gaps(tree_reported, "spechub", worse)
        claims.append(Claim(
            cid, f"SpecHub emits more tokens per step than {'RRS' if worse == 'rrs' else 'RRS without replacement'} "
                 "(binary trees of 3-31 nodes, T = 0.6 and 1.0)",
            f"{paper} (abstract, all settings); {_span(theirs)} (logs, Llama-2-7B / llama-68m, CNN/DM)",
            _span(ours), min(ours) > 0, False))
    holds, text = _half_tree(tree)
    claims.append(Claim("C3", "SpecHub on a 15-node binary tree emits at least as many tokens per step as RRS on 31",
                        f"Figure 1; logs: {_half_tree(tree_reported)[1]}", text, holds, False))
    ours, theirs = _second_drafts(drafts), _second_drafts(drafts_reported)
    shown = [t for t in ours if t in theirs]
    claims.append(Claim(
        "C4", "SpecHub's second draft is kept more often than RRS's (k = 2)", _versus(theirs, shown),
        _versus(ours, shown) + f" (holds at all {len(ours)} temperatures computed)" * (len(ours) > len(shown)),
        all(s > r for s, r in ours.values()), False))
    spechub_gap, positions = spechub_against_lp()
    claims.append(Claim("C5", "SpecHub's acceptance equals the OTM optimum of its own (hub) draft law",
                        "SpecHub solves the transport LP of its sparse draft law (Sec. 4)",
                        f"largest |LP optimum - SpecHub| = {spechub_gap:.1e} over {positions} LLM-like positions "
                        f"(V = {LP_VOCAB}; the hub OTM linear programme solved by HiGHS)",
                        spechub_gap <= LP_TOL, True))
    lowest = min(r["gap"] for r in gaps)
    claims.append(Claim("C6", "No lossless verifier exceeds the OTM optimum of its draft law",
                        "OTM is the optimal verifier (Sec. 3; Sun et al. 2024; Hu et al., ICLR 2025)",
                        f"smallest optimum - acceptance = {lowest:.1e} over {len(gaps)} (method, data, k)",
                        lowest >= -EXACT_TOL, True))
    violations = sum(1 for r in hub if r["condition"] and r["spechub_minus_rrs"] < -EXACT_TOL)
    losses = sum(1 for r in hub if r["spechub_minus_rrs"] < -EXACT_TOL)
    claims.append(Claim("C7", "Where q(a) >= (1 - a1) / (2 - a1), SpecHub accepts at least as often as RRS",
                        "Sun et al. 2024 (the hub condition); proved in the report (Proposition 4)",
                        f"{violations} of {sum(r['condition'] for r in hub)} pairs meeting the condition violate it; "
                        f"RRS wins at {losses} of {len(hub)} pairs in all", violations == 0, True))
    error = lossless_error()
    claims.append(Claim("C8", "Every verifier is lossless: its output law is p",
                        "each verifier's paper (SpecInfer, SpecTr, SpecHub, ...)",
                        f"largest |P(Y = y) - p(y)| = {error:.1e} (exact, every method, k <= 3, V = 5)",
                        error <= EXACT_TOL, True))
    optimal = results["fig7_optimal_trees"][0]
    for cid, worse in (("C9", "rrs"), ("C10", "rrs_wo")):
        pairs = {(t, n): (a, b) for t in (0.6, 1.0) for n, a, b in half_tree(optimal, "spechub", worse, t)}
        name = "RRS" if worse == "rrs" else "RRS without replacement"
        claims.append(Claim(
            cid, f"SpecHub on its own optimal tree of n nodes emits at least as many tokens per step as {name} on "
                 f"its own optimal tree of 2n (n = 8, 16, 32; Figure 7)",
            "'the same batch efficiency with half the concurrency' (abstract; shown on fixed binary trees)",
            "; ".join(f"T={t}, n={n}: {a:.3f} vs {b:.3f}" for (t, n), (a, b) in pairs.items()),
            all(a >= b for a, b in pairs.values()), False))
    return claims + real_tree_claims(results["fig10_tree_verifiers"][1])


def _tex(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("#", r"\#"), ("_", r"\_"),
                 (">=", r"$\geq$"), ("<=", r"$\leq$"), ("|", r"$|$")):
        text = text.replace(a, b)
    return text


def latex_table(claims: list[Claim]) -> str:
    """The claims as rows of a LaTeX ``longtable`` body (the report's ``\\input``)."""
    lines = []
    for c in claims:
        verdict = {"holds": "holds", "fails": r"\textbf{fails}", "undecided": r"\textit{undecided}"}[c.verdict]
        kind = "exact" if c.exact else "empirical"
        lines.append(f"{c.id} & {_tex(c.claim)} & {_tex(c.reported)} & {_tex(c.here)} & {verdict} ({kind}) \\\\")
    return "\n".join(lines) + "\n"


def text_table(claims: list[Claim]) -> str:
    """The claims table for a terminal."""
    lines = []
    for c in claims:
        verdict = {"holds": "holds", "fails": "FAILS", "undecided": "UNDECIDED"}[c.verdict]
        lines.append(f"{c.id} [{verdict}, {'exact' if c.exact else 'empirical'}] {c.claim}")
        lines.append(f"     here:     {c.here}")
        lines.append(f"     reported: {c.reported}")
    return "\n".join(lines)
