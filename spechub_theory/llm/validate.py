"""Check the library against the real models: acceptance and losslessness at real contexts.

At contexts taken from the shipped dataset (a prompt and the first tokens the target generated
for it), both models are run afresh and their full next-token distributions (all 49,152 tokens,
no truncation) are handed to every verifier:

* the acceptance measured by sampling drafts and running the verifier's procedure ``n`` times
  must agree with :func:`spechub_theory.acceptance_rate` (``|z| < 5``);
* the emitted tokens must follow the target: a chi-square test of their counts against ``n p``
  (tokens with expected count below 5 pooled) must not reject at level 1e-4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from .. import acceptance_rate, load_logged, simulate
from .generate import chat_ids
from .models import build_draft, load_model

METHODS = (("single", 1), ("rrs", 2), ("rrs_wo", 2), ("spechub", 2), ("kseq", 2), ("greedy", 3), ("nss", 2))


@dataclass(frozen=True)
class Check:
    """One verifier at one context: exact and measured acceptance, and the losslessness test."""

    context: int
    method: str
    k: int
    exact: float
    estimate: float
    z: float
    chi2_pvalue: float

    @property
    def passed(self) -> bool:
        return abs(self.z) < 5 and self.chi2_pvalue > 1e-4


def pooled_chisquare(counts: np.ndarray, p: np.ndarray) -> float:
    """p-value of counts against ``n p``, tokens expected fewer than 5 times pooled into one cell."""
    expected = counts.sum() * p
    big = expected >= 5
    observed = np.append(counts[big], counts[~big].sum())
    wanted = np.append(expected[big], expected[~big].sum())
    if wanted[-1] < 5:  # fold a small pooled cell into the largest one
        observed, wanted = observed[:-1].copy(), wanted[:-1].copy()
        observed[np.argmax(wanted)] += counts[~big].sum()
        wanted[np.argmax(wanted)] += expected[~big].sum()
    if wanted.size < 2:
        return 1.0
    return float(stats.chisquare(observed, wanted * observed.sum() / wanted.sum()).pvalue)


def contexts_from_dataset(tokenizer, count: int, data=None) -> list[np.ndarray]:
    """``count`` contexts spread over the dataset: a prompt's chat ids and the target's first tokens."""
    data = load_logged(data)
    offsets = np.asarray(data.arrays["context_offsets"])
    picks = np.linspace(0, len(data) - 1, count).astype(int)
    out = []
    for row in picks:
        prompt_id, step = int(data.arrays["prompt_ids"][row]), int(data.arrays["steps"][row])
        sequence = np.asarray(data.arrays["context"][offsets[prompt_id] : offsets[prompt_id + 1]])
        prompt = chat_ids(tokenizer, data.meta["prompts"][prompt_id])
        out.append(sequence[: len(prompt) + step].astype(np.int64))
    return out


def validate(contexts: int = 6, n: int = 4000, methods=METHODS, seed: int = 0, device: str = "cpu", log=print):
    """Run the checks of the module docstring; returns the list of :class:`Check`."""
    target, tokenizer = load_model()
    draft = build_draft(target)
    target.to(device)
    draft.to(device)
    checks = []
    for c, ids in enumerate(contexts_from_dataset(tokenizer, contexts)):
        x = torch.tensor(ids)[None].to(device)
        with torch.no_grad():
            p = torch.softmax(target(x).logits[0, -1].double(), -1).cpu().numpy()
            q = torch.softmax(draft(x).logits[0, -1].double(), -1).cpu().numpy()
        for method, k in methods:
            exact = float(acceptance_rate(p, q, method, k, normalize=True))
            sim = simulate(p, q, method, k, n=n, seed=[seed, c, k, len(method)], normalize=True)
            sd = math.sqrt(max(exact * (1 - exact), 1e-12) / n)
            check = Check(c, method, k, exact, sim.acceptance_estimate, (sim.acceptance_estimate - exact) / sd,
                          pooled_chisquare(sim.counts, p / p.sum()))
            checks.append(check)
            log(f"context {c} {method:<8} k={k}: exact {exact:.4f}, measured {check.estimate:.4f} (z {check.z:+.2f}), "
                f"chi-square p {check.chi2_pvalue:.3g} {'ok' if check.passed else 'FAILED'}")
    return checks
