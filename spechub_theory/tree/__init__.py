"""Token trees: shapes, sources of drafted trees, tree verifiers and their views.

* :mod:`.shape` -- :class:`Tree`, which node is whose child;
* :mod:`.drafted` -- :class:`DraftedTree`, one drafted tree (tokens, ``p`` and ``q`` at every node);
* :mod:`.pool` -- :class:`NodePool`, the i.i.d.-node model of a pool of positions;
* :mod:`.logged_trees` -- :class:`LoggedTrees`, draft trees logged along real text;
* :mod:`.source` -- the protocol the three sources share;
* :mod:`.verifiers` -- every tree verifier, node-wise (RRS, SpecHub, ..., ``topk``) and sequence-level
  (``block``, ``traversal``, ``traversal_wo``), defined once as the procedure an engine runs;
* :mod:`.recursion` -- the node-wise recursion ``T(v) = 1 + sum_j a_j(v) T(child_j)``;
* :mod:`.views` -- exact tokens per step, the per-tree estimate, simulation, the emitted law.
"""

from .drafted import DraftedTree
from .logged_trees import LoggedTrees
from .pool import NodePool
from .recursion import step_value
from .shape import Tree
from .verifiers import NODE_METHODS, SEQUENCE_METHODS, TREE_METHODS, node_method, node_verifier, sibling_law
from .views import (TreeEstimate, TreeSimulation, emitted_law, estimate_tokens_per_step, simulate_tree,
                    tokens_per_step, verify_tree)

__all__ = ["DraftedTree", "LoggedTrees", "NODE_METHODS", "NodePool", "SEQUENCE_METHODS", "TREE_METHODS", "Tree",
           "TreeEstimate", "TreeSimulation", "emitted_law", "estimate_tokens_per_step", "node_method",
           "node_verifier", "sibling_law", "simulate_tree", "step_value", "tokens_per_step", "verify_tree"]
