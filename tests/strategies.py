"""Hypothesis strategies for the domain objects, shared by every property test.

They live in the library (:mod:`spechub_theory.testing.strategies`) so that users' tests can draw
the same objects; this module re-exports them for the project's own tests.
"""

from spechub_theory.testing.strategies import context_models, distributions, draft_pairs, trees

__all__ = ["context_models", "distributions", "draft_pairs", "trees"]
