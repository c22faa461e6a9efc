"""Check the library against the real models: acceptance, tokens per step and losslessness.

Everything runs both models afresh with their full next-token distributions (all 49,152 tokens,
no truncation). Three kinds of check, each verifier in :data:`METHODS` (the tree-level verifiers
``block``, ``traversal``, ``traversal_wo`` and ``topk`` have no node check: they verify whole trees):

* **node** -- at contexts from a logged dataset (the shipped one by default) (a prompt and the first tokens the target
  generated for it), the acceptance measured by sampling drafts and running the verifier's
  procedure ``n`` times must agree with :func:`spechub_theory.acceptance_rate` (``|z| < 5``), and
  the emitted tokens must follow the target (chi-square, below);
* **decode** -- end-to-end speculative decoding (:mod:`spechub_theory.llm.decode`) from shipped
  prompts, with a chain for single-draft sampling and a full tree of depth ``depth`` for the
  others: the mean tokens per step must agree with the mean of the toolkit's exact expectation
  given each drafted tree, and the root's acceptance with the mean of its exact acceptance rate;
* **pairs** -- at a fixed context, the first two tokens speculative decoding emits (across a step
  boundary when the first step emits one) must follow the target's two-token law
  ``p(y1) p(y2 | y1)``; node-wise verifiers draft one level, the tree-level ones two levels (a
  chain of two drafts for ``block``), so that the second token is accepted along a path.

A chi-square test pools cells expected fewer than 5 times and must not reject at level 1e-4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import acceptance_rate, load_logged, simulate
from ..logged import LoggedData
from ..synthetic import process
from ..testing.stats import pooled_chisquare
from ..tree.verifiers import SEQUENCE_METHODS
from ..trees import NodePool, Tree, tokens_per_step
from . import TREE_LEVEL_METHODS, VALIDATED_METHODS
from .collect import load_pair
from .decode import Scorer, decode, first_two
from .generate import chat_ids

METHODS = VALIDATED_METHODS


@dataclass(frozen=True)
class Check:
    """One check: what the toolkit computes exactly, what was measured, and the tests' statistics."""

    name: str
    exact: float
    estimate: float
    z: float
    chi2_pvalue: float = 1.0

    @property
    def passed(self) -> bool:
        return abs(self.z) < 5 and self.chi2_pvalue > 1e-4

    def line(self) -> str:
        test = f", chi-square p {self.chi2_pvalue:.3g}" if self.chi2_pvalue < 1.0 else ""
        return (f"{self.name}: exact {self.exact:.4f}, measured {self.estimate:.4f} (z {self.z:+.2f}){test} "
                f"{'ok' if self.passed else 'FAILED'}")


def z_score(measured: np.ndarray, exact: np.ndarray, variance: float | None = None) -> float:
    """``z`` of ``sum(measured - exact)``; with no ``variance`` the differences' sample variance is used."""
    diff = np.asarray(measured, dtype=float) - np.asarray(exact, dtype=float)
    if variance is None:
        variance = diff.size * diff.var(ddof=1) if diff.size > 1 else 0.0
    return float(diff.sum() / math.sqrt(max(variance, 1e-12)))


def tree_for(k: int, depth: int) -> Tree:
    """The tree a method with ``k`` drafts per node decodes with: a chain for k = 1, else the full k-ary tree."""
    return Tree.from_levels([k] * depth)


def contexts_from_dataset(tokenizer, count: int, data: LoggedData) -> list[np.ndarray]:
    """``count`` contexts spread over the dataset: a prompt's chat ids and the target's first tokens."""
    offsets = np.asarray(data.arrays["context_offsets"])
    picks = np.linspace(0, len(data) - 1, count).astype(int)
    out = []
    for row in picks:
        prompt_id, step = int(data.arrays["prompt_ids"][row]), int(data.arrays["steps"][row])
        sequence = np.asarray(data.arrays["context"][offsets[prompt_id] : offsets[prompt_id + 1]])
        prompt = chat_ids(tokenizer, data.meta["prompts"][prompt_id])
        out.append(sequence[: len(prompt) + step].astype(np.int64))
    return out


def prompts_from_dataset(tokenizer, count: int, data: LoggedData) -> list[list[int]]:
    """The chat ids of ``count`` prompts spread evenly over the dataset's prompts."""
    prompts = data.meta["prompts"]
    return [chat_ids(tokenizer, prompts[i]) for i in np.linspace(0, len(prompts) - 1, count).round().astype(int)]


def node_checks(target, draft, contexts, n: int, methods, temperature: float, seed: int, log) -> list[Check]:
    """The node checks of the module docstring at the given contexts."""
    checks = []
    for c, ids in enumerate(contexts):
        scorer = Scorer(target, draft, ids)
        p, q = (process(scorer.last[m], temperature) for m in (0, 1))
        for m, (method, k) in enumerate(methods):
            if method in TREE_LEVEL_METHODS:
                continue
            exact = float(acceptance_rate(p, q, method, k))
            sim = simulate(p, q, method, k, n=n, seed=[seed, c, m])
            z = z_score([sim.accepted], [n * exact], n * exact * (1 - exact))
            checks.append(Check(f"node, context {c}, {method} k={k}", exact, sim.estimate, z,
                                pooled_chisquare(sim.counts, p)))
            log(checks[-1].line())
    return checks


def decode_checks(target, draft, prompts, methods, depth: int, max_new_tokens: int, temperature: float, seed: int,
                  eos, pool: NodePool, log) -> list[Check]:
    """The decode checks of the module docstring: every method decodes every prompt. The
    i.i.d.-node model of ``pool`` is logged beside each (for comparison, not checked)."""
    checks = []
    for m, (method, k) in enumerate(methods):
        tree = tree_for(k, depth)
        steps = [s for i, ids in enumerate(prompts)
                 for s in decode(target, draft, ids, tree, method, temperature=temperature,
                                 max_new_tokens=max_new_tokens, seed=[seed, i, m], eos=eos)]
        emitted = np.array([len(s.emitted) for s in steps])
        expected = np.array([s.expected for s in steps])
        kept = np.array([s.root_kept for s in steps], dtype=float)
        rate = np.array([s.root_acceptance for s in steps])
        name = f"decode, {method} on a {tree.n_nodes}-node {'chain' if k == 1 else 'tree'}, {len(steps)} steps"
        checks.append(Check(f"{name}: tokens per step", float(expected.mean()), float(emitted.mean()),
                            z_score(emitted, expected)))
        if method in SEQUENCE_METHODS:  # its pool expectation is not computable at this vocabulary
            log(checks[-1].line())
        else:
            log(checks[-1].line() + f" [i.i.d.-node model of the dataset: {tokens_per_step(tree, method, pool):.4f}]")
        if np.isfinite(rate).all():  # a sequence-level verifier's root acceptance depends on the whole tree
            checks.append(Check(f"{name}: root acceptance", float(rate.mean()), float(kept.mean()),
                                z_score(kept, rate, float(np.sum(rate * (1 - rate))))))
            log(checks[-1].line())
    return checks


def pair_checks(target, draft, contexts, n: int, methods, temperature: float, seed: int, log) -> list[Check]:
    """The pair checks of the module docstring: ``n`` two-token continuations per context and method.

    Besides the chi-square test of the pairs, ``z`` compares how often the first token is the
    target's most likely one with its probability.
    """
    checks = []
    for c, ids in enumerate(contexts):
        scorer = Scorer(target, draft, ids, memo=1)
        p1 = process(scorer.last[0], temperature)
        top = int(np.argmax(p1))
        for m, (method, k) in enumerate(methods):
            depth = 2 if method in TREE_LEVEL_METHODS else 1
            pairs = first_two(scorer, tree_for(k, depth), method, temperature, n, np.random.default_rng([seed, c, m]))
            hits = float(np.mean(pairs[:, 0] == top))
            z = z_score([n * hits], [n * p1[top]], n * p1[top] * (1 - p1[top]))
            checks.append(Check(f"pairs, context {c}, {method} k={k}: first token is the target's argmax",
                                float(p1[top]), hits, z, pair_pvalue(scorer, pairs, temperature)))
            log(checks[-1].line())
    return checks


def pair_pvalue(scorer: Scorer, pairs: np.ndarray, temperature: float) -> float:
    """Chi-square p-value of two-token continuations ``pairs`` against ``p(y1) p(y2 | y1)``.

    Cells: every ``(y1, y2)`` for the first tokens expected at least 5 times (at most 50 of them),
    and one cell for all other first tokens."""
    n = len(pairs)
    p1 = process(scorer.last[0], temperature)
    tested = [int(y) for y in np.argsort(-p1)[:50] if n * p1[y] >= 5]
    probs, counts = [], []
    for y, z in zip(tested, scorer.logits(0, [(y,) for y in tested])):
        probs.append(p1[y] * process(z, temperature))
        counts.append(np.bincount(pairs[pairs[:, 0] == y, 1], minlength=p1.size))
    probs.append([max(1.0 - p1[tested].sum(), 0.0)])
    counts.append([np.count_nonzero(~np.isin(pairs[:, 0], tested))])
    return pooled_chisquare(np.concatenate(counts), np.concatenate(probs))


#: Sample sizes: small on the CPU (10 minutes on two cores), larger on a GPU. The node checks and
#: each step's verification run in NumPy on the CPU whatever the device (about 2-8 s per 4,000
#: simulated verifications at a flat real context), so the GPU sizes grow them 5x, and the
#: model-bound decode and pair checks 5-7x.
SIZES = {"cpu": {"n": 4000, "pairs": 300, "prompts": 3, "max_new_tokens": 48},
         "cuda": {"n": 20_000, "pairs": 2000, "prompts": 16, "max_new_tokens": 128}}


def validate(contexts: int = 6, n: int | None = None, methods=METHODS, *, kinds=("node", "decode", "pairs"),
             pairs: int | None = None, prompts: int | None = None, max_new_tokens: int | None = None, depth: int = 2,
             temperature: float = 1.0, seed: int = 0, device: str = "auto", target=None, draft=None, data=None,
             log=print) -> list[Check]:
    """Run the checks of the module docstring; returns the list of :class:`Check`.

    ``target`` and ``draft`` are as in :func:`spechub_theory.llm.collect.collect` (SmolLM2 and the
    project's draft by default); contexts and prompts come from the logged dataset ``data`` (the
    shipped one by default), which must have been collected with the target's tokenizer. Sizes left
    as None take the device's defaults (:data:`SIZES`): ``n`` simulated verifications per node
    check, ``pairs`` continuations per pair check, ``prompts`` decoded for up to ``max_new_tokens``
    tokens each per method.
    """
    target_model, draft_model, tokenizer, dev, _ = load_pair(target, draft, None, device)
    dataset = load_logged(data, temperature=temperature)
    if dataset.vocab_size != target_model.config.vocab_size:
        raise ValueError(f"data: {dataset.path} was logged over {dataset.vocab_size} tokens, the target has "
                         f"{target_model.config.vocab_size}; collect a dataset with this target and pass it")
    sizes = SIZES["cuda" if dev.type == "cuda" else "cpu"]
    n, pairs, prompts, max_new_tokens = (sizes[key] if value is None else value for key, value in
                                         (("n", n), ("pairs", pairs), ("prompts", prompts), ("max_new_tokens", max_new_tokens)))
    at = contexts_from_dataset(tokenizer, contexts, dataset)
    checks = []
    if "node" in kinds:
        checks += node_checks(target_model, draft_model, at, n, methods, temperature, seed, log)
    if "decode" in kinds:
        checks += decode_checks(target_model, draft_model, prompts_from_dataset(tokenizer, prompts, dataset), methods,
                                depth, max_new_tokens, temperature, seed, tokenizer.eos_token_id,
                                NodePool(dataset.p, dataset.q), log)
    if "pairs" in kinds:
        checks += pair_checks(target_model, draft_model, at[: max(1, contexts // 3)], pairs, methods, temperature, seed,
                              log)
    return checks
