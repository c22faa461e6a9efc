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
    DRAFT_LAWS,
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


# --- item 1: the rrs_wo search and the OTM LP refuse above their limit, naming max_cost ----------

def test_rrs_wo_beyond_two_drafts_at_a_large_vocabulary_is_refused_before_it_starts(llm_pair):
    p, q = llm_pair
    for fn in (acceptance_rate, acceptance_by_position):
        with pytest.raises(ValueError, match=r"^k: rrs_wo at k = 4 .* searches up to [0-9.e+]+ rejected prefixes"
                                             r".*max_cost=1e\+09; pass max_cost=None.*simulate\(p, q, 'rrs_wo', 4"):
            quick(fn, p, q, "rrs_wo", 4)


def test_the_search_size_is_the_count_of_the_rejected_prefixes():
    # q > p at tokens 0 and 1 (r = 2); every token has mass (m = 4): r (m - 1) = 6 at k = 3, r (m - 1)(m - 2) = 12 at k = 4.
    p = np.array([[0.1, 0.2, 0.3, 0.4]])
    q = np.array([[0.4, 0.3, 0.2, 0.1]])
    assert acceptance.rrs_wo_search_size(p, q, 3) == 6.0
    assert acceptance.rrs_wo_search_size(p, q, 4) == 12.0
    # rows add; p = q rejects nothing, so it costs nothing
    assert acceptance.rrs_wo_search_size(np.vstack([p, q]), np.vstack([q, q]), 3) == 6.0
    # tokens without mass in p or q are not searched
    assert acceptance.rrs_wo_search_size(np.pad(p, ((0, 0), (0, 5))), np.pad(q, ((0, 0), (0, 5))), 3) == 6.0


def test_max_cost_lifts_or_lowers_the_limit():
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(30)), rng.dirichlet(np.ones(30))
    size = acceptance.rrs_wo_search_size(p[None], q[None], 3)
    assert 0 < size < acceptance.MAX_COST
    exact = acceptance_rate(p, q, "rrs_wo", 3)
    assert acceptance_rate(p, q, "rrs_wo", 3, max_cost=None) == exact
    assert acceptance_rate(p, q, "rrs_wo", 3, max_cost=size) == exact
    with pytest.raises(ValueError, match=r"^k: rrs_wo at k = 3 .*exceeds max_cost="):
        acceptance_rate(p, q, "rrs_wo", 3, max_cost=size - 1)
    # k <= 2 and the other methods are O(V log V) at most: no estimate, no limit
    assert acceptance_rate(p, q, "rrs_wo", 2, max_cost=1) == acceptance_rate(p, q, "rrs_wo", 2)
    assert acceptance_rate(p, q, "rrs", 8, max_cost=1) == acceptance_rate(p, q, "rrs", 8)


@pytest.mark.parametrize("bad", [0, -1.0, True, "1e9", float("nan")])
def test_max_cost_itself_is_checked(bad):
    for call in (lambda: acceptance_rate(P3, Q3, "rrs", 2, max_cost=bad),
                 lambda: output_distribution(P3, Q3, "rrs", 2, max_cost=bad),
                 lambda: otm(P3, Q3, "hub", 2, max_cost=bad)):
        with pytest.raises(ValueError, match=r"^max_cost: expected a positive number or None"):
            call()


def test_otm_refuses_an_lp_it_cannot_solve_before_enumerating_it():
    # 3^12 = 531,441 i.i.d. tuples of at most 3 distinct tokens: the compact LP would have ~1.6M variables.
    with pytest.raises(ValueError, match=r"^k: the compact OTM LP of the 'iid' law at k = 12 \(3\^12 draft tuples; "
                                         r"1,594,323 variables.*max_cost=5e\+05.*optimal_acceptance_rate\(p, q, 'iid', 12\)"):
        quick(otm, P3, Q3, "iid", 12)
    # the dense LP counts tuples times V
    v = 100
    flat = np.full(v, 1 / v)
    with pytest.raises(ValueError, match=r"^k: the dense OTM LP .*1,000,000 variables.*or form='compact'"):
        quick(otm, flat, flat, "iid", 2, form="dense")
    # the solver="lp" route counts every row
    with pytest.raises(ValueError, match=r"^k: the compact OTM LP .* over 2 row\(s\)"):
        quick(optimal_acceptance_rate, np.tile(flat, (2, 1)), flat, "iid", 3, solver="lp", max_cost=1e6)


def test_otm_under_the_limit_or_with_it_lifted_solves():
    assert otm(P3, Q3, "hub", 2, max_cost=None).value == pytest.approx(0.9, abs=1e-9)
    assert optimal_acceptance_rate(P3, Q3, "iid", 3, solver="lp") == pytest.approx(optimal_acceptance_rate(P3, Q3, "iid", 3), abs=1e-7)
    with pytest.raises(ValueError, match=r"^k: the compact OTM LP of the 'hub' law at k = 2 \(2 x \(3 - 1\) draft tuples; 8 variables"):
        otm(P3, Q3, "hub", 2, max_cost=7)


# --- item 3: the enumeration asks the draft law for its support size --------------------------

def test_spechub_output_law_is_enumerated_at_a_thousand_tokens():
    # The hub law has 2 (V - 1) tuples, not V^2: V = 1,001 is 2,000 chain walks.
    rng = np.random.default_rng(3)
    p, q = rng.dirichlet(np.ones(1001)), rng.dirichlet(np.ones(1001))
    np.testing.assert_allclose(output_distribution(p, q, "spechub", 2), p, rtol=0, atol=1e-12)
    assert enumerated_acceptance_rate(p, q, "spechub", 2) == pytest.approx(acceptance_rate(p, q, "spechub", 2), abs=1e-12)


def test_the_enumeration_names_its_size_and_how_to_lift_the_limit():
    rng = np.random.default_rng(4)
    p, q = rng.dirichlet(np.ones(20)), rng.dirichlet(np.ones(20))
    # 20^3 = 8,000 tuples, each a walk of at least 1,000 token steps
    with pytest.raises(ValueError, match=r"^q: enumerating 20\^3 draft tuples of the 'iid' law per row \(8,000 over 1 row"
                                         r".*8e\+06 token steps\) exceeds max_cost=1e\+06; pass max_cost=None"
                                         r".*acceptance_rate\(p, q, 'rrs', 3\)"):
        output_distribution(p, q, "rrs", 3, max_cost=1e6)
    with pytest.raises(ValueError, match=r"^q: enumerating 20!/17! draft tuples of the 'wo' law"):
        output_distribution(p, q, "rrs_wo", 3, max_cost=1e6)
    with pytest.raises(ValueError, match=r"^q: enumerating 20 - 2 draft tuples of the 'greedy' law per row \(18 over"):
        output_distribution(p, q, "greedy", 3, max_cost=1e4)
    # rows add up: 400 tuples in each of two rows
    with pytest.raises(ValueError, match=r"\(800 over 2 row\(s\) of V = 20: about 8e\+05 token steps\)"):
        output_distribution(np.tile(p, (2, 1)), q, "rrs", 2, max_cost=5e5)


# --- item 4: results outside [0, 1] beyond rounding are internal errors, not clipped away ------

def _broken(monkeypatch, value):
    """Make the ``rrs`` kernel return ``value`` for every position."""
    broken = dataclasses.replace(VERIFIERS["rrs"], positions=lambda p, q, k: np.full((p.shape[0], k), value))
    monkeypatch.setitem(VERIFIERS, "rrs", broken)


def test_a_kernel_result_beyond_rounding_is_an_internal_error(monkeypatch):
    _broken(monkeypatch, 0.75)  # each position a probability, their sum 1.5 is not
    with pytest.raises(RuntimeError, match=r"^internal error: acceptance_rate\('rrs', k=2\) computed 1\.5"):
        acceptance_rate(P3, Q3, "rrs", 2)
    for value in (-1e-6, 1 + 1e-6, np.nan):
        _broken(monkeypatch, value)
        with pytest.raises(RuntimeError, match=r"^internal error: acceptance_by_position\('rrs', k=2\) computed .* index"):
            acceptance_by_position(P3, Q3, "rrs", 2)


def test_rounding_is_still_clipped(monkeypatch):
    _broken(monkeypatch, 0.5 + 1e-13)
    assert acceptance_rate(P3, Q3, "rrs", 2) == 1.0
    _broken(monkeypatch, -1e-13)
    np.testing.assert_array_equal(acceptance_by_position(P3, Q3, "rrs", 2), [0.0, 0.0])


def test_an_optimum_beyond_rounding_is_an_internal_error(monkeypatch):
    monkeypatch.setattr(type(DRAFT_LAWS["iid"]), "optimum", lambda self, p, q, k, max_cost=None: (1.25, np.zeros(p.size, dtype=bool)))
    with pytest.raises(RuntimeError, match=r"^internal error: optimal_cut\(law='iid', k=2\) computed 1\.25"):
        optimal_cut(P3, Q3, "iid", 2)
    with pytest.raises(RuntimeError, match=r"^internal error"):
        optimal_acceptance_rate(P3, Q3, "iid", 2)


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


# --- item 6: no HiGHS banner --------------------------------------------------------------------

def test_the_lp_solvers_print_nothing():
    # HiGHS prints its banner from C++ once per process, so a fresh one is needed to see it.
    code = (
        "import numpy as np\n"
        "from spechub_theory import otm\n"
        "from spechub_theory.bench import dense_lp_limit\n"
        "print('start')\n"
        "otm([0.2, 0.3, 0.5], [0.5, 0.3, 0.2], 'iid', 2)\n"
        "otm([0.2, 0.3, 0.5], [0.5, 0.3, 0.2], 'hub', 2, form='dense')\n"
        "dense_lp_limit(2, budget=0.0)\n"
        "print('end')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["start", "end"], out.stdout
    assert "HiGHS" not in out.stderr


# --- item 7: temperature above 1 says why and how --------------------------------------------

def test_temperature_above_the_collection_says_why_and_names_only_flags_collect_has():
    from spechub_theory import cli

    with pytest.raises(ValueError, match=r"^temperature: this dataset supports 0 < temperature <= 1, got 1\.5\. "
                                         r"Each position keeps only the tokens holding all but max_tail_mass .* T_c = 1") as err:
        load_logged(None, 1.5)
    message = str(err.value)
    assert "spechub-theory collect --temperature T" in message
    flags = set(re.findall(r"--[a-z][a-z-]+", message))
    assert flags == {"--temperature", "--top-p", "--top-k", "--max-tail-mass"}
    commands = next(a for a in cli._parser()._actions if isinstance(a, cli.argparse._SubParsersAction)).choices
    collect_flags = {s for action in commands["collect"]._actions for s in action.option_strings}
    assert flags <= collect_flags
