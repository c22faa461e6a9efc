# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---


# %% [markdown]
# # Vocabulary size and draft count
#
# How do acceptance, and its gap to the optimum of the draft law, move with the vocabulary size V
# (10 .. 152k) and the number of drafts k (1 .. 8)? First on a synthetic family whose
# single-draft acceptance resembles the SpecHub paper's llama-68m / Llama-2-7B pairing, then on the
# real shipped data restricted to the target's top-V tokens.

# %%
import matplotlib.pyplot as plt
import numpy as np

import spechub_theory as st
from spechub_theory import synthetic

def llm_like(n, vocab, temperature=1.0):
    """Target and draft laws of the LLM-like family: draft logits are the target's plus noise."""
    target, draft = synthetic.llm_like_logits(n, vocab, seed=0)
    return synthetic.process(target, temperature), synthetic.process(draft, temperature)

# %% [markdown]
# ## Against V, k = 2
#
# Every verifier with two drafts, and the optimum of the i.i.d. and without-replacement laws
# (dashed). The mean over 16 positions per V; each value is exact for its positions, and the
# wiggles between V come from which positions were drawn, not from error.

# %%
vocabs = [10, 100, 1000, 10_000, 152_064]
methods = ["rrs", "rrs_wo", "spechub", "kseq", "nss"]
curves = {m: [] for m in methods + ["single", "opt iid", "opt wo"]}
for vocab in vocabs:
    p, q = llm_like(16, vocab)
    for m in methods:
        curves[m].append(np.mean(st.acceptance_rate(p, q, m, 2)))
    curves["single"].append(np.mean(st.acceptance_rate(p, q, "single", 1)))
    curves["opt iid"].append(np.mean(st.optimal_acceptance_rate(p, q, "iid", 2)))
    curves["opt wo"].append(np.mean(st.optimal_acceptance_rate(p, q, "wo", 2)))

fig, ax = plt.subplots(figsize=(6, 4))
for name, ys in curves.items():
    ax.plot(vocabs, ys, "--" if name.startswith("opt") else "-o", label=name, ms=3)
ax.set_xscale("log")
ax.set_xlabel("vocabulary size V")
ax.set_ylabel("acceptance rate (k = 2)")
ax.legend(fontsize=7, ncol=2)
ax.grid(alpha=0.3)
print({name: np.round(ys, 3).tolist() for name, ys in curves.items()})

# %% [markdown]
# ## Against k, V = 1000
#
# RRS, K-SEQ and the naive verifier take any k in closed form; the i.i.d. optimum is a search over
# V + 1 prefixes and the without-replacement optimum an exponential-race quadrature, both fast at any
# k. RRS without replacement has an exact kernel of cost O(V^(k-1) log V), so we stop it at k = 3;
# SpecHub is defined for k = 2.

# %%
p, q = llm_like(32, 1000)
ks = list(range(1, 9))
rows = {}
for k in ks:
    rows.setdefault("rrs", []).append(np.mean(st.acceptance_rate(p, q, "rrs" if k > 1 else "single", k)))
    rows.setdefault("kseq", []).append(np.mean(st.acceptance_rate(p, q, "kseq" if k > 1 else "single", k)))
    rows.setdefault("opt iid", []).append(np.mean(st.optimal_acceptance_rate(p, q, "iid", k)))
    rows.setdefault("opt wo", []).append(np.mean(st.optimal_acceptance_rate(p, q, "wo", k)))
wo = [np.mean(st.acceptance_rate(p, q, "rrs_wo", k)) for k in (2, 3)]

fig, ax = plt.subplots(figsize=(6, 4))
for name, ys in rows.items():
    ax.plot(ks, ys, "--" if name.startswith("opt") else "-o", label=name, ms=3)
ax.plot([2, 3], wo, "-s", label="rrs_wo", ms=4)
ax.plot([2], [np.mean(st.acceptance_rate(p, q, "spechub", 2))], "*", ms=10, label="spechub")
ax.set_xlabel("drafts k")
ax.set_ylabel("acceptance rate")
ax.legend(fontsize=7)
ax.grid(alpha=0.3)
gap = np.array(rows["opt iid"]) - np.array(rows["rrs"])
print("gap of RRS to the i.i.d. optimum, k = 1..8:", np.round(gap, 3).tolist())

# %% [markdown]
# The gap of RRS to the best verifier of the same i.i.d. drafts is zero at k = 1 (both are
# `sum min(p, q)`) and grows with k: the second and later drafts of RRS are rarely kept.
#
# ## Real data restricted to the top-V tokens
#
# The shipped positions, each restricted to the V tokens the target likes most and renormalised.
# Small V removes the draft's mistakes in the long tail, so acceptance falls as V grows toward
# the full vocabulary.

# %%
data = st.load_logged()
P, Q = data.p[:200], data.q[:200]
order = np.argsort(-P, axis=1)
table = {}
for vocab in (10, 100, 1000, 10_000, data.vocab_size):
    idx = order[:, :vocab]
    p_v = np.take_along_axis(P, idx, 1)
    q_v = np.take_along_axis(Q, idx, 1)
    keep = (p_v.sum(1) > 0) & (q_v.sum(1) > 0) & ((q_v > 0).sum(1) >= 2)
    p_v = p_v[keep] / p_v[keep].sum(1, keepdims=True)
    q_v = q_v[keep] / q_v[keep].sum(1, keepdims=True)
    table[vocab] = {m: float(np.mean(st.acceptance_rate(p_v, q_v, m, 2))) for m in ("rrs", "rrs_wo", "spechub")}
    table[vocab]["opt wo"] = float(np.mean(st.optimal_acceptance_rate(p_v, q_v, "wo", 2)))
for vocab, row in table.items():
    print(f"V = {vocab:>6}: " + "  ".join(f"{m} {v:.3f}" for m, v in row.items()))
