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
# # Temperature and tree shape
#
# Tokens per step, the expected number of tokens emitted per target forward pass, against the
# sampling temperature and the shape of the draft tree; then where SpecHub wins and where it loses
# to RRS, and why.

# %%
import matplotlib.pyplot as plt
import numpy as np

import spechub_theory as st
from spechub_theory import synthetic

methods = ["rrs", "rrs_wo", "spechub"]

# %% [markdown]
# ## Temperature
#
# The shipped data store logits, so any temperature up to 1 is exact. Above 1 we use the LLM-like
# synthetic family (its logits can be tempered at any T). Tree: 15-node binary.

# %%
tree = st.Tree.full(2, 15)
real_t = [0.1, 0.3, 0.5, 0.7, 1.0]
real = {m: [] for m in methods}
for t in real_t:
    data = st.load_logged(temperature=t)
    pool = st.NodePool(data.p, data.q, positions=300)
    for m in methods:
        real[m].append(st.tokens_per_step(tree, m, pool))

synth_t = [0.1, 0.3, 0.5, 0.7, 1.0, 1.25, 1.5]
target, draft = synthetic.llm_like_logits(64, 2000, seed=0)
synth = {m: [] for m in methods}
for t in synth_t:
    pool = st.NodePool(synthetic.process(target, t), synthetic.process(draft, t))
    for m in methods:
        synth[m].append(st.tokens_per_step(tree, m, pool))

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for ax, xs, curves, title in ((axes[0], real_t, real, "shipped SmolLM2 data"), (axes[1], synth_t, synth, "LLM-like, V = 2000")):
    for m in methods:
        ax.plot(xs, curves[m], "-o", label=m, ms=3)
    ax.set_title(title)
    ax.set_xlabel("temperature")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("tokens per step (15-node binary tree)")
axes[0].legend()
for m in methods:
    print(f"{m:<8} real: {np.round(real[m], 3).tolist()}  synthetic: {np.round(synth[m], 3).tolist()}")

# %% [markdown]
# RRS draws its drafts with replacement: at low temperature both drafts are usually the same token,
# so the second one adds nothing, and RRS falls behind. Drafting without replacement (RRS-wo) or
# through the hub (SpecHub) never repeats a token.
#
# ## Tree shape
#
# Chains, binary and ternary trees, and Sequoia-like trees that are wide near the root and narrow
# below (`Tree.from_levels`: the number of children at each depth). SpecHub verifies at most two
# children per node, so its trees are binary at most; a one-child node runs single-draft sampling.
# RRS without replacement at a three-child node costs O(V^2 log V) per position in its exact kernel
# (about 0.1 s per position on these supports), so this pool holds 30 positions.

# %%
data = st.load_logged(temperature=0.6)
pool = st.NodePool(data.p, data.q, positions=30)
shapes = {
    "chain, 4 drafts": st.Tree.chain(4),
    "binary, 15 nodes": st.Tree.full(2, 15),
    "binary, 31 nodes": st.Tree.full(2, 31),
    "ternary, 13 nodes": st.Tree.full(3, 13),
    "ternary, 40 nodes": st.Tree.full(3, 40),
    "Sequoia-like (3, 2, 1, 1)": st.Tree.from_levels([3, 2, 1, 1]),
    "Sequoia-like (2, 2, 1, 1, 1)": st.Tree.from_levels([2, 2, 1, 1, 1]),
}
print(f"{'shape':<30} {'nodes':>5} " + " ".join(f"{m:>8}" for m in methods))
for name, shape in shapes.items():
    cells = []
    for m in methods:
        try:
            cells.append(f"{st.tokens_per_step(shape, m, pool):8.3f}")
        except ValueError:  # SpecHub on a node with three children
            cells.append(f"{'-':>8}")
    print(f"{name:<30} {shape.n_nodes:>5} " + " ".join(cells))

# %% [markdown]
# ## Where SpecHub loses, and why
#
# SpecHub always drafts the hub `a = argmax q` and one other token. When the draft is confident
# (`q(a)` large) that spends a draft on the likeliest token and wins; when the draft is flat, the
# hub is a poor guess and two i.i.d. drafts do better. The condition
# `q(a) >= (1 - a1) / (2 - a1)`, with `a1 = sum min(p, q)` the single-draft acceptance, separates
# the two regimes; above it SpecHub never loses to RRS.

# %%
data = st.load_logged(temperature=1.0)
P, Q = data.p[:400], data.q[:400]
a1 = np.minimum(P, Q).sum(1)
hub = Q.max(1)
diff = st.acceptance_rate(P, Q, "spechub", 2) - st.acceptance_rate(P, Q, "rrs", 2)
condition = hub >= (1 - a1) / (2 - a1)
print("positions meeting the condition:", int(condition.sum()), "of", len(a1))
print("  ...where RRS wins anyway:", int((condition & (diff < -1e-12)).sum()))
print("positions below the curve where RRS wins:", int((~condition & (diff < -1e-12)).sum()))
assert not np.any(condition & (diff < -1e-12))

fig, ax = plt.subplots(figsize=(5, 4))
ax.scatter(a1[diff >= 0], hub[diff >= 0], s=5, color="tab:green", label="SpecHub >= RRS")
ax.scatter(a1[diff < 0], hub[diff < 0], s=5, color="tab:red", label="RRS > SpecHub")
grid = np.linspace(0, 1, 100)
ax.plot(grid, (1 - grid) / (2 - grid), "k-", lw=1, label="(1 - a1) / (2 - a1)")
ax.set_xlabel("a1 = sum min(p, q)")
ax.set_ylabel("q(a)")
ax.legend(fontsize=7)
ax.grid(alpha=0.3)

# %% [markdown]
# ## Which tree is fastest on your hardware?
#
# Tokens per step is not wall-clock: a tree of `n` nodes costs one target pass over `n` tokens and
# one draft pass per level. `CostModel` holds those times; `speedup` is
# `T * target(1) / (target(n) + depth * draft)`, and `speedups` gives, for every size, the fastest
# tree of that size (each verifier on its own optimal trees). Two models: the profile that ships
# (the real SmolLM2 pair on a two-core CPU, measured by `spechub-theory profile`) and a
# memory-bound GPU-like model (a flat target pass up to 64 tokens, a draft at 0.05 of it). Write
# your own GPU's profile in the same JSON and load it with `CostModel.load`.

# %%

data = st.load_logged(temperature=1.0)
pool = st.NodePool(data.p, data.q, positions=300)
for label, cost in (("CPU, measured", st.CostModel.shipped()), ("GPU-like model", st.CostModel.memory_bound())):
    for method, widths in (("rrs", (1, 2, 3, 4)), ("spechub", (1, 2))):
        kept = st.kept_of(method, pool, widths)
        best, s = st.fastest_tree(kept, cost, max_nodes=64, max_depth=8)
        curve = st.speedups(kept, cost, 64, 8)
        print(f"{label:<15} {method:<8} fastest: {best.nodes:>2} nodes, depth {best.tree.depth}, speedup {s:.2f}"
              f"  (at 8 / 32 nodes: {curve[8]:.2f} / {curve[32]:.2f})")
        assert abs(s - curve.max()) < 1e-12
