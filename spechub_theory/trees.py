"""Token trees and tokens per step: the names of :mod:`spechub_theory.tree`, under their former module path.

The tree model lives in the :mod:`spechub_theory.tree` package (shape, sources, tree verifiers,
recursion, views); this module re-exports it for code that imports ``spechub_theory.trees``.
"""

from .tree import (DraftedTree, LoggedTrees, NodePool, Tree, TreeEstimate, TreeSimulation, emitted_law,  # noqa: F401
                   estimate_tokens_per_step, node_method, node_verifier, sibling_law, simulate_tree, step_value,
                   tokens_per_step, verify_tree)
