"""The notebooks (jupytext py:percent files in notebooks/) execute end to end under nbmake."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9]*.py"))


def test_the_five_notebooks_exist():
    assert [n.stem for n in NOTEBOOKS] == ["01_quickstart", "02_vocab_and_drafts", "03_temperature_and_trees",
                                           "04_your_own_model", "05_check_your_verifier"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda n: n.stem)
def test_notebook_imports_only_the_public_api(notebook):
    for node in ast.walk(ast.parse(notebook.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("spechub_theory"):
            assert node.module == "spechub_theory" and all(a.name in ("synthetic",) or not a.name.startswith("_")
                                                             for a in node.names), ast.unparse(node)
        if isinstance(node, ast.Import):
            assert all(a.name == "spechub_theory" or not a.name.startswith("spechub_theory.") for a in node.names)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda n: n.stem)
def test_notebook_executes(notebook, tmp_path):
    jupytext = pytest.importorskip("jupytext")
    pytest.importorskip("nbmake")
    ipynb = tmp_path / f"{notebook.stem}.ipynb"
    jupytext.write(jupytext.read(notebook), ipynb)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbmake",
                          "--nbmake-timeout=300", str(ipynb)], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
