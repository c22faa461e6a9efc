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
# # Check your own verifier
#
# A multi-draft verifier is supposed to be *lossless*: whatever the drafts, the token it emits has
# exactly the target's law `p`. Small slips (a residual not updated, a draft law not renormalised)
# keep the code running and the acceptance rate plausible while the output law drifts. Released
# engines have shipped such slips. `check_verifier` tests your code, as you wrote it, at one
# decoding position:
#
# * it draws `k` drafts from a named draft law (`iid`, `wo`, `hub`, `greedy`) at many `(p, q)`
#   cases: random ones and the corners where bugs hide (zeros, ties, one-hot laws, `p = q`, a
#   near-one-hot draft);
# * it calls your `verify(drafts, p, q, rng) -> token` `n = 20,000` times per case;
# * it tests the emitted tokens against `p` (chi-square, rare tokens pooled), with Holm's
#   correction over every case at family-wise level 0.001, so a lossless verifier fails at most one
#   run in a thousand;
# * on a failure, it shrinks the worst case to a small `(p, q)` that still fails.

# %%
import importlib.util
import time

import numpy as np

import spechub_theory as st

# %% [markdown]
# ## A verifier written in NumPy, with a slip
#
# Recursive rejection sampling on drafts drawn *without replacement* (the `wo` law: each draft is
# drawn from `q` with the earlier drafts removed and the rest renormalised). Draft `x` is kept with
# probability `min(1, r(x) / q_j(x))` against the residual `r` (first `p`), and a rejection sets
# `r = (r - q_j)_+` normalised. The slip below: the code keeps using the original `q` where it should
# use `q_j`, the law the draft was actually drawn from.


# %%
def residual(r, q):
    rest = np.maximum(r - q, 0.0)
    return rest / rest.sum() if rest.sum() > 0 else r


def my_rrs_wo(drafts, p, q, rng):
    r = p
    for x in drafts:
        if rng.random() < min(1.0, r[x] / q[x]):
            return int(x)
        r = residual(r, q)  # forgot: q should lose x and be renormalised for the next draft
    return int(rng.choice(p.size, p=r))


start = time.perf_counter()
result = st.check_verifier(my_rrs_wo, law="wo", k=3)
print(f"{time.perf_counter() - start:.1f} s")
print(result.summary())

# %% [markdown]
# `result.passed` is False. Each line is one case: the total variation between the emitted tokens'
# empirical law and `p`, the share of tokens that were drafts, and the raw p-value (the verdict uses
# the Holm-adjusted one, `result.adjusted`). The last lines name the worst failing case after
# shrinking, with the law the verifier emitted there.
#
# A small case can be checked by hand, and against the library: `output_distribution` enumerates
# every draft tuple and rejection branch of the library's own RRS without replacement, and gives
# back `p` exactly at the same case.

# %%
worst = result.worst
p, q = worst.case.p, worst.case.q
print(worst.case.describe())
print("the library's rrs_wo emits      ", st.output_distribution(p, q, "rrs_wo", 3).round(4))
print("my_rrs_wo emitted (20,000 runs) ", (worst.counts / worst.n).round(4), f"TV {worst.tv:.3f}")

# %% [markdown]
# ## The fix
#
# Mask the rejected draft out of the draft law and renormalise before the next draft.


# %%
def my_rrs_wo_fixed(drafts, p, q, rng):
    r, q_j = p, q
    for x in drafts:
        if rng.random() < min(1.0, r[x] / q_j[x]):
            return int(x)
        r = residual(r, q_j)
        q_j = q_j.copy()
        q_j[x] = 0.0
        if q_j.sum() > 0:
            q_j = q_j / q_j.sum()
    return int(rng.choice(p.size, p=r))


fixed = st.check_verifier(my_rrs_wo_fixed, law="wo", k=3)
print(fixed.passed, f"{fixed.seconds:.1f} s")
print("smallest Holm-adjusted p-value:", min(fixed.adjusted.values()))

# %% [markdown]
# ## More than losslessness: the same chain as a reference method
#
# Two lossless verifiers of the same drafts can still differ: one may accept less often, or keep a
# different draft. With `reference="rrs_wo"` the harness also tests the acceptance rate
# `P(Y in drafts)` against `acceptance_rate(p, q, "rrs_wo", k)` (a binomial z) and, for every draft
# tuple seen, the law of the emitted token given those drafts against the library's exact chain.

# %%
same = st.check_verifier(my_rrs_wo_fixed, law="wo", k=3, reference="rrs_wo", n=5_000)
print(same.passed)
print(same.cases[0].line())

# %% [markdown]
# ## Vectorised verifiers: `batched=True`
#
# A verifier written over a batch takes drafts of shape `(n, k)` and returns `n` tokens, one call per
# case; checks then take a fraction of a second and `n` can be much larger. With i.i.d. drafts the
# residual after `j` rejections does not depend on which drafts were rejected, so plain RRS
# vectorises directly.


# %%
def my_rrs_batched(drafts, p, q, rng):
    n, k = drafts.shape
    residuals = [p]
    for _ in range(k):
        residuals.append(residual(residuals[-1], q))
    ratio = np.stack([residuals[j][drafts[:, j]] / q[drafts[:, j]] for j in range(k)], axis=1)
    keep = rng.random((n, k)) < ratio
    first = np.where(keep.any(axis=1), keep.argmax(axis=1), k)
    out = rng.choice(p.size, size=n, p=residuals[k])  # used where every draft was rejected
    kept = first < k
    out[kept] = drafts[kept, first[kept]]
    return out


big = st.check_verifier(my_rrs_batched, law="iid", k=3, n=200_000, batched=True, reference="rrs")
print(big.passed, f"{big.seconds:.1f} s")

# %% [markdown]
# ## Tree verifiers: `check_tree_verifier`
#
# Sequence-level verifiers (Block Verification, Traversal Verification) decide on the whole drafted
# tree at once, so they are checked on whole trees: `verify(tree, tokens, p, q, rng)` gets the tree
# shape, the token drafted at every node and both laws at every node's context (shape
# `(n_nodes, V)`), and returns the accepted path and one more token. The harness drafts trees from
# small models whose laws depend on the whole prefix and tests the first two emitted tokens
# (extended by the target when a step emitted one) against the target's two-token law.
#
# A typical slip: Traversal Verification that reads the root's laws at every node. On a model
# whose laws do not depend on the context it cannot be told apart; on the context-dependent models
# it fails.


# %%
block_uncapped, traversal_wo = st.testing.examples.block_uncapped, st.testing.examples.traversal_wo


def my_traversal_wo_root_laws(tree, tokens, p, q, rng):
    n = tree.n_nodes
    with np.errstate(divide="ignore", invalid="ignore"):  # a child's token may have no mass in the root's q
        return traversal_wo(tree, tokens, np.repeat(p[:1], n, 0), np.repeat(q[:1], n, 0), rng)


wrong = st.testing.check_tree_verifier(my_traversal_wo_root_laws, st.Tree.full(2, 7), law="wo", n=5_000)
print(wrong.summary())

# %% [markdown]
# The library's examples: Traversal Verification on without-replacement siblings passes, and Block
# Verification with the joint ratio `prod p/q` left uncapped (a bug read in released code) fails on
# the Block Verification paper's toy case, where its two-token law is 1/9 from the target's.

# %%
good = st.testing.check_tree_verifier(traversal_wo, st.Tree.full(2, 7), law="wo", n=5_000)
bad = st.testing.check_tree_verifier(block_uncapped, st.Tree.chain(2), law="iid", n=5_000)
print(good.passed, f"{good.seconds:.1f} s")
print(bad.passed, bad.worst.line())

# %% [markdown]
# ## From the shell
#
# The same check runs on a file, with exit status 0 (passed) or 1 (failed), which suits CI:
#
# ```bash
# spechub-theory check my_verifier.py:my_rrs_wo_fixed --law wo --k 3 [--n 20000] [--seed 0] [--batched]
# spechub-theory check my_tree_verifier.py:verify --tree full:2:7 --law wo [--length 2]
# ```

# %% [markdown]
# ## A verifier in torch
#
# The harness hands over NumPy arrays; a torch verifier converts them (here on the CPU) and returns
# a Python int. The cell runs only where torch is installed.

# %%
if importlib.util.find_spec("torch") is not None:
    import torch

    def torch_single(drafts, p, q, rng):
        p_t, q_t = torch.tensor(p), torch.tensor(q)  # copies: the harness's arrays are read-only
        x = int(drafts[0])
        if rng.random() < min(1.0, float(p_t[x] / q_t[x])):
            return x
        rest = torch.clamp(p_t - q_t, min=0.0)
        cdf = torch.cumsum(rest / rest.sum(), 0)
        return min(int(torch.searchsorted(cdf, torch.tensor(rng.random(), dtype=cdf.dtype), right=True)),
                   int(torch.nonzero(rest > 0)[-1]))

    print(st.check_verifier(torch_single, law="iid", k=1, n=3_000).summary().splitlines()[0])

    # An engine verifies many positions at once. Recursive rejection sampling over k i.i.d. drafts,
    # vectorised over the n verifications the harness hands over with batched=True (drafts of shape
    # (n, k), one token per row back): try draft j against the current residual p_j, keep it with
    # probability min(1, p_j(x) / q(x)), else move to p_{j+1} = norm((p_j - q)_+); after k rejections
    # sample the last residual.
    def torch_rrs_batched(drafts, p, q, rng):
        n, k = drafts.shape
        P = torch.tensor(p).expand(n, -1).clone()
        Q = torch.tensor(q)
        rows = torch.arange(n)
        u = torch.tensor(rng.random((n, k)))
        out = torch.full((n,), -1, dtype=torch.long)
        active = torch.ones(n, dtype=torch.bool)
        for j in range(k):
            x = torch.tensor(drafts[:, j], dtype=torch.long)  # a copy: the harness hands read-only arrays
            keep = active & (u[:, j] * Q[x] < P[rows, x])
            out[keep] = x[keep]
            active &= ~keep
            residual = torch.clamp(P - Q, min=0.0)
            residual = residual / residual.sum(1, keepdim=True).clamp_min(1e-300)
            P = torch.where(active[:, None], residual, P)
        cdf = torch.cumsum(P, 1)
        v = torch.tensor(rng.random(n), dtype=cdf.dtype)[:, None]
        y = torch.searchsorted(cdf, v, right=True).squeeze(1).clamp(max=P.shape[1] - 1)
        out[active] = y[active]
        return out.numpy()

    check = st.check_verifier(torch_rrs_batched, law="iid", k=2, n=5_000, batched=True, reference="rrs")
    print(check.summary().splitlines()[0])
    assert check.passed
else:
    print("torch is not installed: skipped")

# %% [markdown]
# ## In your own property tests
#
# `spechub_theory.testing` also has the hypothesis strategies the project's tests use
# (`distributions`, `draft_pairs`, `trees`, `context_models`; `pip install "spechub-theory[testing]"`).
# A property test can hand each generated pair to `check_verifier` as a single case.

# %%
if importlib.util.find_spec("hypothesis") is not None:
    from hypothesis import given, settings

    @settings(max_examples=15, deadline=None, derandomize=True)
    @given(st.testing.draft_pairs(max_v=5, min_support=3))
    def test_my_verifier_emits_p(pair):
        assert st.check_verifier(my_rrs_wo_fixed, "wo", 3, n=2_000, cases=[pair]).passed

    test_my_verifier_emits_p()
    print("property held on 15 generated (p, q) pairs")
else:
    print("hypothesis is not installed: skipped")
