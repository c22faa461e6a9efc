"""Check any verifier implementation: a losslessness harness, example verifiers and hypothesis strategies.

* :func:`check_verifier` runs a user's ``verify(drafts, p, q, rng) -> token`` on drafts drawn from a
  named draft law, over random and corner cases, and tests that the emitted token has law ``p``
  (chi-square, Holm's correction over every test); optionally that its acceptance rate and its
  law given each draft tuple match a method of the library. The result is a :class:`VerifierCheck`.
* :func:`check_tree_verifier` runs a user's tree verifier ``verify(tree, tokens, p, q, rng) -> tokens``
  on trees drafted from small context-dependent models and tests the law of the first two emitted
  tokens (extended by the target) against the target's (chi-square, Holm's correction over the
  models). The result is a :class:`TreeVerifierCheck`.
* :mod:`spechub_theory.testing.examples` -- correct and lossy example verifiers.
* :mod:`spechub_theory.testing.stats` -- the pooled chi-square test and Holm's correction.
* Hypothesis strategies for the domain objects, shared with the project's own tests:
  :func:`distributions`, :func:`draft_pairs`, :func:`trees`, :func:`context_models` (they need
  ``hypothesis``, ``pip install "spechub-theory[testing]"``, and are imported only when used), and
  :class:`ContextModel`, a small model giving ``(p, q)`` for every prefix.
* :func:`add_check_parser` and :func:`run_check`: the ``spechub-theory check FILE.py:FUNCTION`` command.
"""

from . import examples
from .command import add_check_parser, load_function, run_check
from .harness import Case, CaseResult, VerifierCheck, check_verifier, default_cases
from .models import ContextModel, random_context_model
from .stats import grouped_chisquare, holm, pooled_chisquare
from .tree_harness import (FixedLaws, TreeCase, TreeCaseResult, TreeVerifierCheck, check_tree_verifier,
                           default_tree_cases)

_STRATEGIES = ("distributions", "draft_pairs", "trees", "context_models")

__all__ = [
    "Case",
    "CaseResult",
    "ContextModel",
    "FixedLaws",
    "TreeCase",
    "TreeCaseResult",
    "TreeVerifierCheck",
    "VerifierCheck",
    "add_check_parser",
    "examples",
    "check_tree_verifier",
    "check_verifier",
    "default_cases",
    "default_tree_cases",
    "grouped_chisquare",
    "holm",
    "load_function",
    "pooled_chisquare",
    "random_context_model",
    "run_check",
    *_STRATEGIES,
]


def __getattr__(name):
    """The hypothesis strategies, imported on first use so that the library never needs hypothesis."""
    if name in _STRATEGIES:
        from . import strategies

        return getattr(strategies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
