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
# # Your own target and draft
#
# Everything in the toolkit runs on logged distributions: the target's and the draft's next-token
# laws at positions of text the target generates. To analyse your own pair:
#
# 1. Install the `llm` extra (`pip install -e ".[llm]"`; torch, transformers).
# 2. Log both models along generated text. Any local Hugging Face directory or GGUF file can be the
#    target or the draft, as long as they share a tokenizer (checked; a mismatch is an error):
#
#    ```bash
#    spechub-theory collect --target /models/Llama-2-7b-chat-hf --draft /models/llama-68m \
#        --prompts my_prompts.jsonl --out my_data --device cuda --every 4
#    ```
#
#    `--prompts` is JSON lines with a `prompt` field (the shipped set is used by default). The run
#    shows progress, resumes after an interruption without redoing finished batches, and only
#    renames the dataset into place when it is complete. `--max-tail-mass` (default 1e-3) sets how
#    much of each law may be dropped to keep files small.
# 3. Open it with `load_logged("my_data", temperature=...)` and use it wherever the shipped data
#    is used below.
#
# Set `SPECHUB_DATA` to your dataset's folder to run this notebook on it; without it, the
# notebook uses the shipped SmolLM2 dataset.

# %%
import os

import numpy as np

import spechub_theory as st

path = os.environ.get("SPECHUB_DATA")  # None: the shipped default
data = st.load_logged(path, temperature=1.0)
print(f"{len(data)} positions, vocabulary {data.vocab_size}")
for key in ("models", "temperature", "max_tail_mass", "every", "format_version"):
    print(f"  {key}: {data.meta.get(key)}")

# %% [markdown]
# ## Per-node acceptance at several temperatures
#
# The logits are stored, so any temperature up to the logged one is exact.

# %%
n = min(len(data), 300)
print(f"{'T':>4} {'single':>7} {'rrs':>7} {'rrs_wo':>7} {'spechub':>7} {'opt wo':>7}")
for t in (0.3, 0.6, 1.0):
    d = st.load_logged(path, temperature=t)
    p, q = d.p[:n], d.q[:n]
    cells = [np.mean(st.acceptance_rate(p, q, "single", 1))]
    cells += [np.mean(st.acceptance_rate(p, q, m, 2)) for m in ("rrs", "rrs_wo", "spechub")]
    cells.append(np.mean(st.optimal_acceptance_rate(p, q, "wo", 2)))
    print(f"{t:>4} " + " ".join(f"{c:7.3f}" for c in cells))

# %% [markdown]
# ## Tokens per step of the trees an engine would use
#
# Exact for the i.i.d.-node model of the log (each node's laws drawn independently from the
# logged positions), and checked against an end-to-end simulation of the same model.

# %%
pool = st.NodePool(data.p, data.q, positions=n)
tree = st.Tree.full(2, 15)
for m in ("rrs", "rrs_wo", "spechub"):
    exact = st.tokens_per_step(tree, m, pool)
    sim = st.simulate_tree(tree, m, pool, n=3000, seed=0)
    se = sim.se
    print(f"{m:<8} exact {exact:.3f}   simulated {sim.estimate:.3f} +/- {se:.3f}")
    assert abs(exact - sim.estimate) < 5 * se

# %% [markdown]
# The same numbers come from the command line: `spechub-theory tree --data my_data`.
