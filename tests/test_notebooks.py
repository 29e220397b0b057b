"""The committed notebooks: in pipeline order, thin, parameterized, and without outputs."""

import json

import pytest

from seqexpr import pipeline

NB = pipeline.notebooks_dir()


def test_every_pipeline_notebook_exists_and_nothing_else_is_numbered():
    on_disk = sorted(p.stem for p in NB.glob("[0-9][0-9]_*.ipynb"))
    assert on_disk == sorted(pipeline.NOTEBOOKS)


@pytest.mark.parametrize("name", pipeline.NOTEBOOKS)
def test_notebook_is_committed_clean_and_parameterized(name):
    nb = json.loads((NB / f"{name}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for c in code:
        assert not c.get("outputs"), f"{name}: a code cell carries outputs; strip them"
        assert c.get("execution_count") is None, f"{name}: execution counts left in"
        assert "papermill" not in c.get("metadata", {}), f"{name}: papermill cell metadata"
    assert "papermill" not in nb.get("metadata", {}), f"{name}: papermill notebook metadata"
    assert "parameters" in code[0].get("metadata", {}).get("tags", []), \
        f"{name}: the first code cell must be tagged 'parameters'"
    src = "".join(code[0]["source"])
    assert "run_dir" in src and "def " not in src
    body = "".join("".join(c["source"]) for c in code[1:])
    assert "\ndef " not in "\n" + body, f"{name}: define functions in seqexpr, not in notebooks"
    assert "record_stage" in body, f"{name}: record its parameters in the manifest"


@pytest.mark.parametrize("name", pipeline.NOTEBOOKS)
def test_notebook_defaults_point_at_the_demo_run(name):
    params = pipeline.declared_parameters(NB / f"{name}.ipynb")
    assert params["run_dir"].strip("'\"") == "../reports/demo"


@pytest.mark.parametrize("name", pipeline.NOTEBOOKS)
def test_papermill_reads_every_parameter(name):
    # papermill silently skips a parameter line it cannot parse (an "=" in the comment, say),
    # and the pipeline would then never pass that parameter.
    import re

    nb = json.loads((NB / f"{name}.ipynb").read_text())
    src = "".join([c for c in nb["cells"] if c["cell_type"] == "code"][0]["source"])
    assigned = {m.group(1) for m in re.finditer(r"^(\w+)\s*=", src, re.M)}
    assert assigned == set(pipeline.declared_parameters(NB / f"{name}.ipynb"))
