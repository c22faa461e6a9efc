"""Nothing lost: every writer replaces only its own outputs, atomically, and refuses everything else.

Each case runs in a temporary directory holding files that must survive the refused write.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spechub_theory import cli
from spechub_theory.logged import is_dataset, load_logged, write_logged
from spechub_theory.outputs import MANIFEST, OutputFolder, atomic_path, check_replaceable, write_text
from spechub_theory.reproduce import default_out, real_trees, run_figure

pytest.importorskip("matplotlib")


def _entries(n=3, v=300):
    """A valid little dataset: ``n`` positions of two stored tokens each."""
    return {"offsets": np.arange(0, 2 * n + 1, 2), "tokens": np.tile([0, 1], n), "target_logits": np.zeros(2 * n),
            "draft_logits": np.zeros(2 * n), "prompt_ids": np.zeros(n), "steps": np.arange(n), "context": np.arange(4),
            "context_offsets": np.array([0, 4])}


def _tree(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_overwrite_refuses_a_directory_that_is_not_a_dataset(tmp_path):
    victim = tmp_path / "victimdir"
    victim.mkdir()
    (victim / "thesis.tex").write_text("years of work")
    with pytest.raises(ValueError, match="is not a dataset of this library; it is never replaced"):
        write_logged(victim, {"vocab_size": 300}, _entries(), overwrite=True)
    assert (victim / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victimdir"]  # no temporary left beside it


def test_overwrite_refuses_a_dataset_holding_a_file_of_its_own(tmp_path):
    path = write_logged(tmp_path / "data", {"vocab_size": 300}, _entries())
    (path / "notes.txt").write_text("mine")
    assert not is_dataset(path)
    with pytest.raises(ValueError, match="not a dataset of this library"):
        write_logged(path, {"vocab_size": 300}, _entries(4), overwrite=True)
    assert (path / "notes.txt").read_text() == "mine" and len(load_logged(path)) == 3


@pytest.mark.parametrize("where", [".", "..", "/"])
def test_overwrite_never_touches_the_current_directory_or_its_parents(where, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "prompts.jsonl").write_text('{"prompt": "hi"}\n')
    monkeypatch.chdir(work)
    before = _tree(tmp_path)
    with pytest.raises(ValueError, match="current directory or one of its parents"):
        write_logged(where, {"vocab_size": 300}, _entries(), overwrite=True)
    assert _tree(tmp_path) == before


def test_overwrite_never_touches_a_directory_holding_an_input(tmp_path):
    inputs = tmp_path / "inputs"
    (inputs / "deep").mkdir(parents=True)
    (inputs / "deep" / "prompts.jsonl").write_text('{"prompt": "hi"}\n')
    with pytest.raises(ValueError, match="holds .*prompts.jsonl, an input of this run"):
        check_replaceable(inputs, "out", True, lambda _: True, "x", inputs=[inputs / "deep" / "prompts.jsonl"])


def test_a_dataset_is_replaced_whole_and_nothing_is_left_beside_it(tmp_path):
    path = write_logged(tmp_path / "data", {"vocab_size": 300}, _entries(3))
    with pytest.raises(ValueError, match=r"exists; pass overwrite=True \(--overwrite at the command line\)"):
        write_logged(path, {"vocab_size": 300}, _entries(5))
    write_logged(path, {"vocab_size": 300}, _entries(5), overwrite=True)
    assert len(load_logged(path)) == 5
    assert [p.name for p in tmp_path.iterdir()] == ["data"]


def test_a_failed_write_keeps_the_old_dataset(tmp_path):
    path = write_logged(tmp_path / "data", {"vocab_size": 300}, _entries(3))
    bad = dict(_entries(5), steps=np.arange(2))  # wrong shape: refused after the arrays are written
    with pytest.raises(ValueError, match="steps"):
        write_logged(path, {"vocab_size": 300}, bad, overwrite=True)
    assert len(load_logged(path)) == 3 and [p.name for p in tmp_path.iterdir()] == ["data"]


def test_a_quick_run_defaults_elsewhere_and_never_replaces_a_full_run(tmp_path):
    assert default_out(True, tmp_path) == tmp_path / "quick" and default_out(False, tmp_path) == tmp_path
    full = OutputFolder(tmp_path, quick=False, writer="spechub-theory reproduce")
    full.write_text("claims.tex", "full run")
    with pytest.raises(ValueError, match="holds a full run; a quick run never replaces it"):
        run_figure("fig3_per_draft_acceptance", tmp_path, True, "test")
    assert (tmp_path / "claims.tex").read_text() == "full run"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([MANIFEST, "claims.tex"])


def test_the_committed_figures_are_a_full_run_that_a_quick_run_refuses():
    figures = Path(__file__).resolve().parents[1] / "figures"
    manifest = json.loads((figures / MANIFEST).read_text())
    assert manifest["quick"] is False and "numbers.tex" in manifest["files"]
    assert all((figures / name).is_file() for name in manifest["files"])
    with pytest.raises(ValueError, match="holds a full run"):
        OutputFolder(figures, quick=True, writer="spechub-theory reproduce")


def test_reproduce_refuses_a_folder_with_a_file_it_did_not_write(tmp_path, capsys):
    (tmp_path / "claims.csv").write_text("my own table")
    assert cli.main(["reproduce", "--quick", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "claims.csv exists and was not written by spechub-theory reproduce" in err and "\n" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["claims.csv"]
    assert (tmp_path / "claims.csv").read_text() == "my own table"


def test_a_figure_script_with_quick_writes_its_quick_folder(tmp_path):
    script = Path(__file__).resolve().parents[1] / "figures" / "fig6_where_spechub_loses.py"
    figures = tmp_path / "figures"
    figures.mkdir()
    copy = figures / script.name
    copy.write_text(script.read_text())
    done = subprocess.run([sys.executable, str(copy), "--quick"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (figures / "quick" / "fig6_where_spechub_loses.json").is_file()
    assert "wrote " in done.stdout and str(figures / "quick") in done.stdout
    assert sorted(p.name for p in figures.iterdir()) == ["fig6_where_spechub_loses.py", "quick"]


def test_the_real_tree_summary_refuses_a_file_it_did_not_write(tmp_path):
    other = tmp_path / "summary.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="is not a real-tree summary of this library"):
        real_trees.summarize(tmp_path / "no-log", other, overwrite=True)
    assert other.read_text() == "a,b\n1,2\n"


def test_atomic_writes_leave_no_temporary_on_failure(tmp_path):
    target = tmp_path / "x.txt"
    write_text(target, "old")
    with pytest.raises(RuntimeError, match="midway"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("midway")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_a_resumable_folder_refuses_other_settings_naming_each(tmp_path):
    from spechub_theory.outputs import resume_folder

    folder = tmp_path / "run.partial"
    settings = {"k": [2, 3], "temperature": 1.5, "models": {"target": "a"}}
    assert resume_folder(folder, settings, "out", "a run", "choose another --out") is True
    (folder / "chunk_0.npz").write_bytes(b"work")
    assert resume_folder(folder, dict(settings, k=(2, 3)), "out", "a run", "x") is False  # a tuple is its list
    with pytest.raises(ValueError, match=r"out: .* holds a run with other settings \(k: interrupted run \[2, 3\], "
                                         r"now \[2\]; temperature: interrupted run 1.5, now 1.2\); rerun"):
        resume_folder(folder, dict(settings, k=[2], temperature=1.2), "out", "a run", "x")
    (folder / "settings.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"out: .* exists but is not a run \(no readable settings.json\)"):
        resume_folder(folder, settings, "out", "a run", "x")
    assert (folder / "chunk_0.npz").read_bytes() == b"work"  # nothing of the interrupted run is touched
