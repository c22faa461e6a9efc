"""`spechub-theory reproduce --quick`: every figure, its numbers and provenance, and the claims table."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import spechub_theory as st  # noqa: E402
from spechub_theory import cli  # noqa: E402
from spechub_theory.reproduce import FIGURES, claims, real_trees  # noqa: E402
from spechub_theory.reproduce.common import QUICK_POSITIONS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    assert cli.main(["reproduce", "--quick", "--out", str(out)]) == 0
    return out


def _rows(out, name, source="reproduced"):
    return [r for r in csv.DictReader(open(out / f"{name}.csv")) if r["source"] == source]


def test_every_figure_is_written_with_its_numbers_and_provenance(quick):
    for name in FIGURES:
        for suffix in ("png", "pdf", "csv", "json"):
            assert (quick / f"{name}.{suffix}").stat().st_size > 1000 or suffix == "csv"
        assert _rows(quick, name), name
        meta = json.loads((quick / f"{name}.json").read_text())["provenance"]
        assert meta["command"].startswith("spechub-theory reproduce --quick")
        assert set(meta["versions"]) >= {"spechub-theory", "numpy", "numba", "cvxpy", "matplotlib"}
    for name in ("claims.csv", "claims.json", "claims.tex", "numbers.tex"):
        assert (quick / name).stat().st_size > 0


def test_the_exact_claims_hold_and_every_claim_has_a_verdict(quick):
    table = json.loads((quick / "claims.json").read_text())["claims"]
    assert [c["id"] for c in table] == [f"C{i}" for i in range(1, 15)]
    assert all(c["verdict"] in ("holds", "fails", "undecided") for c in table)
    exact = [c for c in table if c["exact"]]
    assert len(exact) == 4 and all(c["holds"] for c in exact), exact
    assert (quick / "claims.tex").read_text().count(r"\\") == len(table)


def test_figure_one_plots_the_library_value_beside_the_reported_one(quick):
    row = next(r for r in _rows(quick, "fig1_tokens_per_step") if r["model"] == "i.i.d. nodes"
               and r["method"] == "spechub" and r["nodes"] == "15" and r["temperature"] == "0.6")
    data = st.load_logged(temperature=0.6)
    pool = st.NodePool(data.p, data.q, positions=QUICK_POSITIONS)
    assert float(row["tokens_per_step"]) == pytest.approx(st.tokens_per_step(st.Tree.full(2, 15), "spechub", pool), abs=1e-12)
    # Read from the authors' logs: binary-31, T = 0.6, CNN/DM, llama-68m drafting for Llama-2-7B.
    assert any(r["method"] == "spechub" and r["nodes"] == "31" and r["temperature"] == "0.6"
               and float(r["tokens_per_step"]) == 2.4031 for r in _rows(quick, "fig1_tokens_per_step", "reported"))


def test_per_draft_acceptance_sums_to_the_acceptance_rate(quick):
    rows = _rows(quick, "fig3_per_draft_acceptance")
    value = {(r["temperature"], r["method"], r["metric"]): float(r["value"]) for r in rows}
    for t in ("0.6", "1.0"):
        data = st.load_logged(temperature=float(t))
        p, q = data.p[:QUICK_POSITIONS], data.q[:QUICK_POSITIONS]
        for m in ("rrs", "rrs_wo", "spechub"):
            # the figure's total is the sum of its per-draft columns; the oracle is the total
            # acceptance rate, computed by acceptance_rate's own closed form (not by positions)
            assert value[(t, m, "accept_two_drafts")] == pytest.approx(st.acceptance_rate(p, q, m, 2).mean(), abs=1e-12)
    data = st.load_logged(temperature=1.0)
    p, q = data.p[:QUICK_POSITIONS], data.q[:QUICK_POSITIONS]
    assert value[("1.0", "rrs", "accept_draft2")] == pytest.approx(st.acceptance_by_position(p, q, "rrs", 2)[:, 1].mean(), abs=1e-12)


def test_gap_rows_pair_each_method_with_its_own_draft_law(quick):
    data = st.load_logged(temperature=0.6)
    p, q = data.p[:QUICK_POSITIONS], data.q[:QUICK_POSITIONS]
    rows = _rows(quick, "fig4_gap_to_optimum")
    for r in rows:
        assert r["drafts"] == st.VERIFIERS[r["method"]].law
        # the OTM optimum of a draft law bounds every lossless verifier of that law
        assert float(r["optimum"]) >= float(r["acceptance"]) - 1e-12
    shipped = {r["method"]: r for r in rows if r["data"] == "SmolLM2, T = 0.6"}
    assert set(shipped) == {"rrs", "kseq", "nss", "rrs_wo", "spechub", "greedy"}
    for method, r in shipped.items():
        law = st.VERIFIERS[method].law
        assert float(r["acceptance"]) == pytest.approx(st.acceptance_rate(p, q, method, 2).mean(), abs=1e-12)
        assert float(r["optimum"]) == pytest.approx(st.optimal_acceptance_rate(p, q, law, 2).mean(), abs=1e-12)


def test_above_the_hub_condition_spechub_never_loses(quick):
    # The theorem the figure illustrates (the hub condition q(a) >= (1 - a1)/(2 - a1) implies SpecHub
    # >= RRS at k = 2), checked on the figure's rows: their gap column is computed from the two
    # acceptance rates, not from the condition. And the condition is not vacuous: some rows meet it
    # and some rows below it have RRS ahead.
    rows = _rows(quick, "fig6_where_spechub_loses")
    met = [r for r in rows if r["condition"] == "True"]
    assert met and all(float(r["spechub_minus_rrs"]) >= -1e-12 for r in met)
    assert any(float(r["spechub_minus_rrs"]) < 0 for r in rows if r["condition"] == "False")


def test_a_figure_script_runs_on_its_own(tmp_path):
    script = ROOT / "figures" / "fig6_where_spechub_loses.py"
    subprocess.run([sys.executable, str(script), "--quick", "--out", str(tmp_path)], check=True, capture_output=True)
    meta = json.loads((tmp_path / "fig6_where_spechub_loses.json").read_text())
    assert meta["provenance"]["command"].startswith("python figures/fig6_where_spechub_loses.py --quick")
    assert (tmp_path / "fig6_where_spechub_loses.pdf").stat().st_size > 1000


def test_claims_can_fail():
    # A made-up tree table where RRS beats SpecHub at 15 vs 31 nodes: 1.9 < 2.0.
    rows = [{"temperature": 1.0, "nodes": 15, "method": "spechub", "tokens_per_step": 1.9},
            {"temperature": 1.0, "nodes": 31, "method": "rrs", "tokens_per_step": 2.0},
            {"temperature": 1.0, "nodes": 15, "method": "rrs", "tokens_per_step": 1.8}]
    assert claims._half_tree(rows) == (False, "T=1.0: 1.900 vs 2.000")
    assert claims._tree_gaps(rows, "spechub", "rrs") == [pytest.approx(0.1)]
    assert claims._half_tree(rows[:1]) == (False, "")


def test_estimated_claims_hold_fail_or_stay_undecided_at_two_standard_errors():
    def verdict(*gaps):
        return claims._estimated_claim("C", "claim", "reported", [("T=1", m, se) for m, se in gaps]).verdict

    assert verdict((0.05, 0.02)) == "holds"  # 2.5 SE above 0
    assert verdict((0.05, 0.02), (0.03, 0.02)) == "undecided"  # the second is 1.5 SE above 0
    assert verdict((0.05, 0.02), (-0.05, 0.02)) == "fails"  # one gap 2.5 SE below 0
    assert verdict((0.0, 0.0)) == "undecided"  # an exact tie is not a gain


def test_unknown_figure_is_refused(tmp_path):
    from spechub_theory.reproduce import run_figure

    with pytest.raises(ValueError, match="figure: unknown figure 'fig9'"):
        run_figure("fig9", tmp_path, True, "")


def test_figure_one_plots_the_real_trees_shipped_summary(quick):
    shipped = real_trees.load()
    roots = {r["root"] for r in shipped if r["temperature"] == 0.6 and r["method"] == "rrs" and r["nodes"] == 31}
    rows = [r for r in _rows(quick, "fig1_tokens_per_step") if r["model"] == "real trees"]
    assert len(rows) == 2 * 3 * 4  # temperatures x methods x sizes
    for r in rows:
        by_root = {}
        for s in shipped:
            if s["temperature"] == float(r["temperature"]) and s["method"] == r["method"] and s["nodes"] == int(r["nodes"]):
                by_root.setdefault(s["root"], []).append(s["tokens_per_step"])
        assert len(by_root) == len(roots) == int(r["roots"])
        assert sum(map(len, by_root.values())) == int(r["trees"])
        root_means = [sum(v) / len(v) for v in by_root.values()]  # every root weighs the same
        assert float(r["tokens_per_step"]) == pytest.approx(sum(root_means) / len(root_means), abs=1e-12)
    numbers = (quick / "numbers.tex").read_text()
    assert f"\\newcommand{{\\RealTreeRoots}}{{{len(roots)}}}" in numbers


def test_optimal_trees_are_the_best_of_every_shape(quick):
    from spechub_theory.reproduce import fig7_optimal_trees as fig7

    rows = _rows(quick, "fig7_optimal_trees")
    value = {(float(r["temperature"]), r["method"], r["shape"], r["max_depth"], int(r["nodes"])): float(r["tokens_per_step"])
             for r in rows}
    data = st.load_logged(temperature=0.6)
    pool = st.NodePool(data.p, data.q, positions=QUICK_POSITIONS)

    from shapes import ordered_trees

    shapes = ordered_trees(7, 2)
    assert len(shapes) == 51  # the Motzkin number M(6)
    for method in ("rrs", "rrs_wo", "spechub"):
        best = max(st.tokens_per_step(t, method, pool) for t in shapes)
        assert value[(0.6, method, "optimal binary", "none", 7)] == pytest.approx(best, abs=1e-12)
        for n in fig7.BINARY_SIZES:  # the full binary tree is one binary tree of its size
            assert value[(0.6, method, "optimal binary", "none", n)] >= value[(0.6, method, "full binary", "none", n)] - 1e-12
    for (t, method, shape, depth, n), v in value.items():
        if shape == "optimal" and depth == "8":  # a depth bound can only lower the best value
            assert v <= value[(t, method, shape, "none", n)] + 1e-12


def test_figure_nine_is_the_best_speedup_of_every_shape_and_no_tree_pays_on_this_cpu(quick):
    from spechub_theory.tree.choose import CostModel

    rows = _rows(quick, "fig9_speedup")
    data = st.load_logged(temperature=1.0)
    pool = st.NodePool(data.p, data.q, positions=QUICK_POSITIONS)
    gpu = CostModel.memory_bound()
    # Every ordered tree of 3 and 4 nodes with at most two children, listed by hand: a chain of 2 and
    # the root with two leaves (3 nodes); a chain of 3, the root with two children and a grandchild
    # under either, the root with one child that has two leaves (4 nodes).
    shapes = {3: [st.Tree([(1,), (2,), ()]), st.Tree([(1, 2), (), ()])],
              4: [st.Tree([(1,), (2,), (3,), ()]), st.Tree([(1, 2), (3,), (), ()]), st.Tree([(1, 2), (), (3,), ()]),
                  st.Tree([(1,), (2, 3), (), ()])]}
    for n, trees in shapes.items():
        best = max(st.tokens_per_step(t, "spechub", pool) / gpu.step_time(n, t.depth) for t in trees)
        row = next(r for r in rows if r["profile"] == "gpu-like" and r["method"] == "spechub"
                   and r["temperature"] == "1.0" and r["nodes"] == str(n))
        assert float(row["speedup"]) == pytest.approx(best, abs=1e-12)
    # On this CPU a draft pass costs 0.65 of a one-token target pass and the target pass grows with the
    # tree, so every tree that drafts is slower than plain decoding (one node, speedup 1).
    cpu = [r for r in rows if r["profile"] == "cpu"]
    assert all(float(r["speedup"]) < 1 for r in cpu if r["nodes"] != "1")
    assert {r["nodes"] for r in cpu if r["fastest"] == "True"} == {"1"}


def test_figure_ten_pairs_each_sequence_verifier_with_its_token_level_counterpart(quick):
    rows = _rows(quick, "fig10_tree_verifiers")

    def row(shape, depth, method, t="1.0", model="i.i.d. nodes"):
        return next(r for r in rows if r["shape"] == shape and r["depth"] == str(depth) and r["method"] == method
                    and r["temperature"] == t and r["model"] == model)

    # Reductions (issue 14): Traversal on one level is RRS without replacement, and Block
    # Verification with one draft is single-draft verification, so on the same drafts each paired
    # gap is zero, tree by tree: a wrong pairing (different drafts for the two) would leave noise.
    for t in ("0.6", "1.0"):
        assert abs(float(row("full binary", 1, "traversal_wo", t)["gap"])) < 1e-12
        assert float(row("full binary", 1, "traversal_wo", t)["standard_error"]) < 1e-12
        assert abs(float(row("chain", 1, "block", t)["gap"])) < 1e-12
    # Deterministic top-2 on one level: 1 + E[p(c1) + p(c2)] over the pool, c1, c2 the two most
    # likely tokens of q, by hand from the rows.
    data = st.load_logged(temperature=1.0)
    p, q = data.p[:QUICK_POSITIONS], data.q[:QUICK_POSITIONS]
    top = np.argsort(-q, axis=1, kind="stable")[:, :2]
    expected = 1 + np.take_along_axis(p, top, axis=1).sum(1).mean()
    assert float(row("full binary", 1, "topk")["tokens_per_step"]) == pytest.approx(expected, abs=1e-12)
    # On the real trees the same reductions hold tree by tree (the same drafts for both verifiers).
    for t in ("0.6", "1.0"):
        assert abs(float(row("full binary", 1, "traversal_wo", t, "real trees")["gap"])) < 1e-12
        assert abs(float(row("chain", 1, "block", t, "real trees")["gap"])) < 1e-12
    # The Traversal paper's Table 3 beside it: chain of depth 5, 1.99 against 2.10.
    reported = _rows(quick, "fig10_tree_verifiers", "reported")
    assert {(r["shape"], r["method"], r["tokens_per_step"]) for r in reported} >= {
        ("chain", "single", "1.99"), ("chain", "block", "2.1"), ("full binary", "traversal_wo", "2.56")}
