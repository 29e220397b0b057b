"""The committed notebooks: in pipeline order, thin, parameterized, and without outputs."""

import ast
import importlib
import inspect
import json
import re

import pytest

from seqexpr.stages import params

NB = params.notebooks_dir()
RUN_FOLDER_IO = re.compile(r"read_csv|read_parquet|read_json|write_json|np\.load|np\.save|"
                           r"to_csv|to_parquet|savez|runfolder|run_path|open\(")


def _stage_alias(body, stage):
    """The name a notebook's code binds to ``seqexpr.stages.<stage>`` (None if not imported)."""
    for node in ast.walk(ast.parse(body)):
        if isinstance(node, ast.ImportFrom) and node.module == "seqexpr.stages":
            for a in node.names:
                if a.name == stage:
                    return a.asname or a.name
    return None


def _code(name):
    nb = json.loads((NB / f"{name}.ipynb").read_text())
    return nb, [c for c in nb["cells"] if c["cell_type"] == "code"]


def test_every_pipeline_notebook_exists_and_nothing_else_is_numbered():
    on_disk = sorted(p.stem for p in NB.glob("[0-9][0-9]_*.ipynb"))
    assert on_disk == sorted(params.NOTEBOOKS)


@pytest.mark.parametrize("name", params.NOTEBOOKS)
def test_notebook_is_committed_clean_and_thin(name):
    nb, code = _code(name)
    for c in code:
        assert not c.get("outputs"), f"{name}: a code cell carries outputs; strip them"
        assert c.get("execution_count") is None, f"{name}: execution counts left in"
        assert "papermill" not in c.get("metadata", {}), f"{name}: papermill cell metadata"
    assert "papermill" not in nb.get("metadata", {}), f"{name}: papermill notebook metadata"
    assert "parameters" in code[0].get("metadata", {}).get("tags", []), \
        f"{name}: the first code cell must be tagged 'parameters'"
    src = "".join(code[0]["source"])
    assert "run_dir" in src and "def " not in src
    body = "".join("".join(c["source"]) + "\n" for c in code[1:])
    assert "\ndef " not in "\n" + body, f"{name}: define functions in seqexpr, not in notebooks"
    stage = name.split("_", 1)[1]
    alias = _stage_alias(body, stage)
    assert alias, f"{name}: import seqexpr.stages.{stage}"
    assert len(re.findall(rf"\b{alias}\.run\(", body)) == 1, f"{name}: one call to {stage}.run"
    assert body.rstrip().endswith(f"{alias}.check(run_dir)"), f"{name}: end with {stage}.check"
    assert f'params.from_namespace(globals(), "{name}")' in body, \
        f"{name}: pass the parameters cell to run() without listing it again"
    io = [line for line in body.splitlines() if RUN_FOLDER_IO.search(line)]
    assert not io, f"{name}: run-folder I/O belongs in seqexpr.stages.{stage}: {io}"


@pytest.mark.parametrize("name", params.NOTEBOOKS)
def test_stage_run_takes_exactly_the_declared_parameters(name):
    stage = importlib.import_module(f"seqexpr.stages.{name.split('_', 1)[1]}")
    sig = inspect.signature(stage.run).parameters
    assert list(sig) == list(params.declared(name)), \
        f"{name}: run()'s keywords must be the parameters cell's names, in its order"
    assert all(p.default is inspect.Parameter.empty for p in sig.values()), \
        f"{name}: defaults live in the parameters cell only"


@pytest.mark.parametrize("name", params.NOTEBOOKS)
def test_notebook_defaults_point_at_the_demo_run(name):
    assert params.declared(name)["run_dir"] == "../reports/demo"


@pytest.mark.parametrize("name", params.NOTEBOOKS)
def test_papermill_reads_every_parameter(name):
    # papermill silently skips a parameter line it cannot parse (an "=" in the comment, say),
    # and the pipeline would then never pass that parameter.
    import papermill

    seen = papermill.inspect_notebook(str(NB / f"{name}.ipynb"))
    assert list(seen) == list(params.declared(name))


def test_every_preset_value_is_a_declared_parameter():
    for preset, values in params.PRESETS.items():
        assert not params.undeclared(values), preset
