"""Working in JupyterLab stays safe: outputs and run metadata are stripped (in place, as a git
filter, and from the copies nbval runs), and the committed notebooks name the project's kernel."""

import io
import json

import nbformat
import pytest

from seqexpr import nbclean, nbtest
from seqexpr.stages import params


def _run_in_the_lab(src, dst):
    """``src`` as JupyterLab saves it after running every cell (and papermill metadata)."""
    nb = nbformat.read(str(src), as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.execution_count = i
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="STALE")]
            cell.metadata["execution"] = {"iopub.execute_input": "2026-12-01T10:00:00Z"}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.9"}
    nb.metadata["papermill"] = {"duration": 1.0}
    nbformat.write(nb, str(dst))


def test_clean_strips_what_running_added_and_keeps_sources_and_tags(tmp_path):
    src = params.notebooks_dir() / "04_model.ipynb"
    _run_in_the_lab(src, tmp_path / "04.ipynb")
    assert nbclean.main([str(tmp_path / "04.ipynb")]) == 0
    assert (tmp_path / "04.ipynb").read_text() == src.read_text()  # byte for byte, tags kept


def test_the_git_filter_reads_stdin_and_writes_the_clean_notebook(tmp_path, monkeypatch, capsys):
    src = params.notebooks_dir() / "01_load.ipynb"
    _run_in_the_lab(src, tmp_path / "01.ipynb")
    monkeypatch.setattr("sys.stdin", io.StringIO((tmp_path / "01.ipynb").read_text()))
    assert nbclean.main([]) == 0
    assert capsys.readouterr().out == src.read_text()


@pytest.mark.parametrize("name", params.NOTEBOOKS)
def test_committed_notebooks_are_clean_and_name_the_project_kernel(name):
    text = (params.notebooks_dir() / f"{name}.ipynb").read_text()
    assert json.loads(nbclean.clean_text(text)) == json.loads(text)
    assert json.loads(text)["metadata"]["kernelspec"]["name"] == "seqexpr"  # `make lab`'s


def test_nbval_copies_are_clean_even_when_the_notebooks_carry_outputs(tmp_path, monkeypatch):
    lab = tmp_path / "notebooks"
    lab.mkdir()
    for name in params.NOTEBOOKS:
        _run_in_the_lab(params.notebooks_dir() / f"{name}.ipynb", lab / f"{name}.ipynb")
    monkeypatch.setattr(params, "notebooks_dir", lambda: lab)
    written = nbtest.prepare(tmp_path / "nbval", n=40)
    assert len(written) == len(params.NOTEBOOKS)
    for path in written:
        nb = nbformat.read(str(path), as_version=4)
        assert not any(c.get("outputs") or c.get("execution_count") for c in nb.cells), path
        assert "STALE" not in path.read_text()
        assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
