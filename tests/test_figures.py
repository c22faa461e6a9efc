"""Figure scripts write their figure, the numbers they plotted and how they were made."""

import csv
import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

import spechub_theory as st  # noqa: E402

FIGURES = Path(__file__).resolve().parent.parent / "figures"
sys.path.insert(0, str(FIGURES))  # the scripts import their shared _common module as a sibling


def _script(name):
    spec = importlib.util.spec_from_file_location(name, FIGURES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_figure_one_plots_the_library_values_beside_the_reported_ones(tmp_path):
    fig = _script("fig1_tokens_per_step")
    assert fig.main(["--out", str(tmp_path), "--positions", "40"]) == 0
    for suffix in ("png", "pdf", "csv", "json"):
        assert (tmp_path / f"fig1_tokens_per_step.{suffix}").stat().st_size > 0
    rows = list(csv.DictReader(open(tmp_path / "fig1_tokens_per_step.csv")))
    ours = [r for r in rows if r["source"] == "reproduced"]
    theirs = [r for r in rows if r["source"] == "reported"]
    assert len(ours) == len(theirs) == 2 * 3 * 4
    row = next(r for r in ours if r["method"] == "spechub" and r["nodes"] == "15" and r["temperature"] == "0.6")
    data = st.load_logged(temperature=0.6)
    expected = st.tokens_per_step(st.Tree.full(2, 15), "spechub", st.NodePool(data.p, data.q, positions=40))
    assert float(row["tokens_per_step"]) == pytest.approx(expected, abs=1e-12)
    # A value read from the authors' logs (binary-31, T = 0.6, CNN/DM, llama-68m -> Llama-2-7B).
    assert any(r["method"] == "spechub" and r["nodes"] == "31" and r["temperature"] == "0.6"
               and float(r["tokens_per_step"]) == 2.4031 for r in theirs)
    meta = json.loads((tmp_path / "fig1_tokens_per_step.json").read_text())
    assert "--positions 40" in meta["provenance"]["command"]
    assert set(meta["provenance"]["versions"]) >= {"spechub-theory", "numpy", "matplotlib"}


def test_temperature_sweep_covers_every_temperature(tmp_path):
    fig = _script("fig2_temperature_sweep")
    assert fig.main(["--out", str(tmp_path), "--positions", "30"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "fig2_temperature_sweep.csv")))
    ours = [r for r in rows if r["source"] == "reproduced"]
    assert sorted({float(r["temperature"]) for r in ours}) == [round(0.1 * i, 1) for i in range(1, 11)]
    data = st.load_logged(temperature=0.3)
    expected = st.tokens_per_step(st.Tree.full(2, 31), "rrs", st.NodePool(data.p, data.q, positions=30))
    row = next(r for r in ours if r["method"] == "rrs" and r["temperature"] == "0.3")
    assert float(row["tokens_per_step"]) == pytest.approx(expected, abs=1e-12)
    assert len([r for r in rows if r["source"] == "reported"]) == 30
