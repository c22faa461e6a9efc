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
# # Quickstart: one real decoding position, every verifier, exactly
#
# The shipped dataset holds the target (SmolLM2-135M-Instruct) and draft (the project's early-exit
# model) next-token distributions at every 10th position of text generated for 100 prompts. Here we take one position
# and ask, for every verifier: how often does it accept a draft, how far is that from the best any
# lossless verifier of the same drafts could do, does it really emit the target's law, and does a
# simulation agree with the exact number?

# %%
import numpy as np

import spechub_theory as st

data = st.load_logged()  # the shipped default, temperature 1
print(len(data), "positions, vocabulary", data.vocab_size)
print("target:", data.meta["models"]["target"], "| draft:", data.meta["models"]["draft"])

position = 7
p, q = data.p[position], data.q[position]  # dense (V,) float64 rows
print("target top-1 mass", p.max().round(3), "| draft top-1 mass", q.max().round(3))

# %% [markdown]
# ## Acceptance of every verifier, and the optimum of its draft law
#
# `acceptance_rate` is exact (closed forms, numba kernels). `optimal_acceptance_rate` is the value of
# the optimal transport with membership cost for the same draft law,
# `alpha* = 1 + min_H [p(H) - P(all drafts in H)]` (Hu et al., ICLR 2025).

# %%
k = 2
print(f"{'method':<8} {'drafts':<7} {'acceptance':>10} {'optimum':>9} {'gap':>8}")
for method, verifier in st.VERIFIERS.items():
    kk = 1 if method == "single" else k
    acc = st.acceptance_rate(p, q, method, kk)
    opt = st.optimal_acceptance_rate(p, q, verifier.law, kk)
    print(f"{method:<8} {verifier.law:<7} {acc:>10.4f} {opt:>9.4f} {opt - acc:>8.1e}")

# %% [markdown]
# SpecHub's acceptance equals the optimum of its own (hub) draft law: its verifier is optimal for the
# drafts it makes. `optimal_cut` returns the set H that certifies an optimum.

# %%
best = st.optimal_cut(p, q, "iid", k)
value, cut = best.value, best.cut
print("i.i.d. optimum", round(value, 4), "certified by a set of", int(np.count_nonzero(cut)), "tokens")

# %% [markdown]
# ## The output law equals p
#
# `output_distribution` enumerates every draft tuple, so we restrict the position to the 8 tokens the
# target likes most (renormalised): 8^3 tuples at k = 3.

# %%
top = np.argsort(-p)[:8]
p8, q8 = p[top] / p[top].sum(), q[top] / q[top].sum()
for method, verifier in st.VERIFIERS.items():
    kk = 1 if method == "single" else (2 if method == "spechub" else 3)
    err = np.abs(st.output_distribution(p8, q8, method, kk) - p8).max()
    print(f"{method:<8} k={kk}  max |P(Y=y) - p(y)| = {err:.1e}")
    assert err < 1e-12

# %% [markdown]
# ## A simulation agrees with the exact value
#
# `simulate` draws drafts from the method's law and runs the same verifier procedure with uniforms;
# its Wilson interval should contain the exact acceptance.

# %%
sim = st.simulate(p, q, "spechub", 2, n=20_000, seed=0)
exact = st.acceptance_rate(p, q, "spechub", 2)
low, high = sim.interval(5.0)
print(f"exact {exact:.4f}  simulated {sim.estimate:.4f}  5-sigma interval [{low:.4f}, {high:.4f}]")
assert low <= exact <= high
