"""spechub_theory: exact acceptance, output laws and optima of multi-draft speculative decoding.

The public API, re-exported from the modules that define it.
"""

from . import synthetic, testing
from .acceptance import acceptance_by_position, acceptance_rate
from .drafts import DRAFT_LAWS, DraftLaw, register_draft_law
from .logged import LoggedData, load_logged
from .exact import enumerated_acceptance_by_position, enumerated_acceptance_rate, output_distribution
from .optimal import OptimalCut, OTMResult, iid_perfect_acceptance, optimal_acceptance_rate, optimal_cut, otm
from .simulate import Simulation, simulate
from .testing import VerifierCheck, check_verifier
from .tree import (DraftedTree, LoggedTrees, NodePool, Tree, TreeEstimate, TreeSimulation, emitted_law,
                   estimate_tokens_per_step, simulate_tree, tokens_per_step, verify_tree)
from .tree.ceiling import CeilingPlan, TreeOptimum, tree_optimum
from .tree.choose import CostModel, OptimalTree, fastest_tree, kept_of, optimal_tree, optimal_tree_for, speedup, speedups
from .verifiers import VERIFIERS, Verifier, method_names, register_verifier

#: The method names accepted by :func:`acceptance_rate`, :func:`output_distribution` and :func:`simulate`:
#: a live view of :data:`VERIFIERS`, which includes every method :func:`register_verifier` added.
METHODS = method_names()

__all__ = [
    "speedup",
    "speedups",
    "kept_of",
    "optimal_tree_for",
    "optimal_tree",
    "fastest_tree",
    "OptimalTree",
    "CostModel",
    "tree_optimum",
    "TreeOptimum",
    "CeilingPlan",
    "DRAFT_LAWS",
    "DraftLaw",
    "DraftedTree",
    "LoggedData",
    "LoggedTrees",
    "METHODS",
    "NodePool",
    "OTMResult",
    "OptimalCut",
    "Simulation",
    "Tree",
    "TreeEstimate",
    "TreeSimulation",
    "VerifierCheck",
    "VERIFIERS",
    "Verifier",
    "acceptance_by_position",
    "acceptance_rate",
    "check_verifier",
    "emitted_law",
    "enumerated_acceptance_by_position",
    "enumerated_acceptance_rate",
    "estimate_tokens_per_step",
    "iid_perfect_acceptance",
    "load_logged",
    "optimal_acceptance_rate",
    "optimal_cut",
    "register_draft_law",
    "register_verifier",
    "otm",
    "output_distribution",
    "simulate",
    "simulate_tree",
    "synthetic",
    "testing",
    "tokens_per_step",
    "verify_tree",
]
