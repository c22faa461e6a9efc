"""Nothing hangs and nothing is hidden: expensive calls estimate their cost and refuse above a
documented limit, results outside [0, 1] beyond rounding are internal errors, and arguments that
can only fail late are refused at the start (issue 13)."""

import dataclasses
import re
import subprocess
import sys
import time

import numpy as np
import pytest

import spechub_theory.acceptance as acceptance
import spechub_theory.optimal as optimal
from spechub_theory import (
    VERIFIERS,
    acceptance_by_position,
    acceptance_rate,
    enumerated_acceptance_rate,
    load_logged,
    optimal_acceptance_rate,
    optimal_cut,
    otm,
    output_distribution,
)
from spechub_theory.synthetic import llm_like_logits, process
from spechub_theory.tree_log import grow_trees

P3 = np.array([0.2, 0.3, 0.5])
Q3 = np.array([0.5, 0.3, 0.2])


def quick(fn, *args, **kwargs):
    """Run ``fn`` and check that it returned (or raised) within 5 s: a guard answers before any work."""
    start = time.perf_counter()
    try:
        return fn(*args, **kwargs)
    finally:
        assert time.perf_counter() - start < 5.0


@pytest.fixture(scope="module")
def llm_pair():
    target, draft = llm_like_logits(1, 32_000, seed=0)
    return process(target)[0], process(draft)[0]


# --- item 5: a law that cannot draft the branching is refused before any model runs -----------

def test_grow_trees_refuses_a_branching_the_law_cannot_draft_before_scoring():
    def score(root, paths):
        raise AssertionError("scored before the arguments were checked")

    with pytest.raises(ValueError, match=r"^branching: the 'hub' draft law cannot draft 3 children"):
        grow_trees(score, 2, ["iid", "hub"], [1.0], 3, 2, seed=0, max_tail_mass=1e-3)
    with pytest.raises(ValueError, match=r"^branching: the 'wo' draft law needs 17 distinct tokens"):
        grow_trees(score, 2, ["wo"], [1.0], 17, 2, seed=0, max_tail_mass=1e-3)
    for kwargs, match in (({"branching": 2.5}, "^branching"), ({"depth": 0}, "^depth"), ({"roots": 0}, "^roots"),
                          ({"laws": []}, "^laws"), ({"laws": ["nope"]}, "^laws"), ({"temperatures": [1.5]}, "^temperatures"),
                          ({"temperatures": []}, "^temperatures"), ({"max_tail_mass": 1.0}, "^max_tail_mass")):
        args = {"roots": 2, "laws": ["iid"], "temperatures": [1.0], "branching": 2, "depth": 2, "max_tail_mass": 1e-3}
        args.update(kwargs)
        with pytest.raises(ValueError, match=match):
            grow_trees(score, args.pop("roots"), args.pop("laws"), args.pop("temperatures"), args.pop("branching"),
                       args.pop("depth"), seed=0, **args)


# --- item 7: temperature above 1 says why and how --------------------------------------------

def test_temperature_above_one_says_why_and_names_only_flags_collect_has():
    from spechub_theory import cli

    with pytest.raises(ValueError, match=r"^temperature: logged logits support 0 < temperature <= 1, got 1\.5\. "
                                         r"Each position keeps only the tokens holding all but max_tail_mass .* T = 1") as err:
        load_logged(None, 1.5)
    message = str(err.value)
    assert "spechub-theory collect" in message
    flags = set(re.findall(r"--[a-z][a-z-]+", message))
    assert flags == {"--max-tail-mass"}
    commands = next(a for a in cli._parser()._actions if isinstance(a, cli.argparse._SubParsersAction)).choices
    collect_flags = {s for action in commands["collect"]._actions for s in action.option_strings}
    assert flags <= collect_flags
