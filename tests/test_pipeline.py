"""The papermill driver: parameters reach the notebooks that declare them, a failing notebook
stops the run naming its cell and error, Ctrl-C ends it with one line, the terminal shows the
notebooks' stderr without kernel noise, and reports and the manifest are written."""

import json
import sys
from pathlib import Path

import nbformat
import pytest

from seqexpr import pipeline
from seqexpr.__main__ import build_parser, main, run_parameters


def _notebook(path, parameters_src, *cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    p = nbformat.v4.new_code_cell(parameters_src)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p] + [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, str(path))


@pytest.fixture()
def nbdir(tmp_path):
    d = tmp_path / "nb"
    d.mkdir()
    _notebook(d / "01_a.ipynb", 'run_dir = "x"\nalpha = 1',
              "import pathlib\npathlib.Path(run_dir, 'a.txt').write_text(str(alpha))")
    _notebook(d / "02_b.ipynb", 'run_dir = "x"\nbeta = 2',
              "print('before the failure')",
              "raise ValueError(f'beta was {beta}')",
              "print('after the failure')")
    nb = nbformat.read(str(d / "02_b.ipynb"), as_version=4)  # as saved from JupyterLab
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="STALE")]
    nbformat.write(nb, str(d / "02_b.ipynb"))
    _notebook(d / "03_c.ipynb", 'run_dir = "x"', "open(run_dir + '/c.txt', 'w').write('c')")
    _notebook(d / "00_talk.ipynb", 'run_dir = "x"',
              "import sys\nprint('se_cnn@0 epoch 1/2: loss 0.5', file=sys.stderr)\n"
              "open(run_dir + '/python.txt', 'w').write(sys.executable)")
    return d


def test_parameters_reach_only_the_notebooks_that_declare_them(nbdir, tmp_path):
    out = tmp_path / "run"
    res = pipeline.run({"alpha": 41, "beta": 5, "gamma": 3}, out, notebooks=["01_a"],
                       source_dir=nbdir, progress=False)
    assert (out / "a.txt").read_text() == "41"
    assert res[0].status == "ok" and (out / "01_a.html").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stages"]["01_a"]["parameters"] == {"alpha": 41, "run_dir": str(out)}
    assert manifest["pipeline"]["status"] == "ok"
    assert manifest["packages"]["numpy"]
    assert manifest["stages"]["01_a"]["duration_s"] >= 0


def test_failing_notebook_stops_the_run_and_names_cell_and_error(nbdir, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(pipeline.PipelineError) as err:
        pipeline.run({"beta": 7}, out, notebooks=["01_a", "02_b", "03_c"], source_dir=nbdir,
                     progress=False)
    msg = str(err.value)
    assert "02_b" in msg and "cell 4" in msg  # the injected parameters cell counts
    assert "ValueError" in msg and "beta was 7" in msg
    html = (out / "02_b.html").read_text()
    assert "before the failure" in html  # the partial report keeps what ran
    assert "STALE" not in html  # outputs saved in the source notebook are not shown
    assert not (out / "c.txt").exists() and not (out / "03_c.html").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stages"]["02_b"]["status"] == "failed"
    assert manifest["pipeline"]["status"] == "failed in 02_b"


def test_unknown_preset_and_missing_notebook_are_refused(nbdir, tmp_path):
    with pytest.raises(ValueError, match="unknown preset"):
        pipeline.run({}, tmp_path / "r", source_dir=nbdir, preset="huge")
    with pytest.raises(FileNotFoundError, match="09_x"):
        pipeline.run({}, tmp_path / "r", source_dir=nbdir, notebooks=["09_x"])


def test_cli_maps_both_input_forms_onto_parameters(tmp_path):
    args = build_parser().parse_args(
        ["run", "--fasta", "a.fa", "--expression", "t.csv", "--target", "y1", "y2",
         "--out", str(tmp_path), "-p", "epochs", "5", "-p", "deep_models", '["cnn"]'])
    p = run_parameters(args)
    assert p["fasta"].endswith("a.fa") and p["table"] is None
    assert p["target"] == ["y1", "y2"] and p["epochs"] == 5 and p["deep_models"] == ["cnn"]
    args = build_parser().parse_args(
        ["run", "--table", "t.csv", "--sequence-column", "seq", "--target", "y",
         "--split-column", "split", "--out", str(tmp_path)])
    p = run_parameters(args)
    assert p["table"].endswith("t.csv") and p["sequence_column"] == "seq"
    assert p["target"] == "y" and p["split_column"] == "split"
    with pytest.raises(SystemExit):
        run_parameters(build_parser().parse_args(
            ["run", "--fasta", "a.fa", "--target", "y", "--out", str(tmp_path)]))
    # notebooks run in notebooks/: a file named by -p is made absolute here, "auto" kept
    args = build_parser().parse_args(
        ["run", "--table", "t.csv", "--target", "y", "--out", str(tmp_path), "--with",
         "07_variants", "-p", "variants_file", "v.csv"])
    p = run_parameters(args)
    assert p["variants_file"] == str((Path.cwd() / "v.csv").resolve()) and "model" not in p
    assert args.also == ["07_variants"]


def test_reports_keep_only_the_last_state_of_progress_bars(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("pass")
    # as the kernel sends them: every redraw is an output of its own
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=t) for t in
                    ["\rISM:   0%|  | 0/9", "\rISM:  50%|# | 4/9", "\rISM: 100%|##| 9/9", "\nok\n"]]
    nb.cells = [cell]
    nbformat.write(nb, str(tmp_path / "x.ipynb"))
    html = pipeline.write_html(tmp_path / "x.ipynb", tmp_path / "x.html").read_text()
    assert "ISM: 100%" in html and "ISM:  50%" not in html and "ok" in html
    assert pipeline.collapse_carriage_returns("a\rb\nc") == "b\nc"


def test_cli_refuses_an_unknown_parameter_and_never_passes_the_demo_inputs(tmp_path):
    base = ["run", "--table", "t.csv", "--target", "y", "--out", str(tmp_path)]
    with pytest.raises(SystemExit, match="epochz"):
        run_parameters(build_parser().parse_args(base + ["-p", "epochz", "5"]))
    p = run_parameters(build_parser().parse_args(base))
    # 01's defaults name the demo files: a real run must say None, not inherit them
    assert p["fasta"] is None and p["expression"] is None and p["ground_truth"] is None
    assert "id_column" not in p and "seed" not in p  # not given: the notebooks' own defaults


def test_parameters_are_read_from_the_cell_and_typos_are_refused():
    from seqexpr.stages import params

    d = params.declared("04_model")
    assert d["seed"] == 0 and d["deep_models"] == ["se_cnn"] and d["resume"] is True
    assert params.defaults("04_model", epochs=3)["epochs"] == 3
    with pytest.raises(TypeError, match="epoch"):
        params.defaults("04_model", epoch=3)
    ns = {**d, "epochs": 7, "unrelated": 1}
    assert params.from_namespace(ns, "04_model") == {**d, "epochs": 7}


def test_a_parameter_shadowed_by_an_import_is_named():
    from seqexpr import baselines
    from seqexpr.stages import params

    ns = {**params.declared("04_model"), "baselines": baselines}
    with pytest.raises(TypeError, match="baselines"):
        params.from_namespace(ns, "04_model")


def test_ctrl_c_ends_the_run_with_one_line_and_records_the_stage_as_interrupted(
        tmp_path, monkeypatch, capsys):
    import papermill

    def execute_notebook(src, dst, **kwargs):  # 01 finishes, Ctrl-C arrives during 02
        if "02_explore" in str(src):
            raise KeyboardInterrupt

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)
    fasta, table, out = tmp_path / "a.fa", tmp_path / "a.csv", tmp_path / "run"
    fasta.write_text(">a\nACGT\n")
    table.write_text("id,y\na,1\n")
    code = main(["run", "--fasta", str(fasta), "--expression", str(table), "--target", "y",
                 "--out", str(out), "--only", "01_load", "02_explore"])
    assert code == 130
    assert capsys.readouterr().err.splitlines() == [
        "seqexpr run: interrupted during 02_explore; the run folder keeps what finished; "
        "rerun the command to continue"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stages"]["01_load"]["status"] == "ok"
    assert manifest["stages"]["02_explore"]["status"] == "interrupted"
    assert manifest["stages"]["02_explore"]["finished"]
    assert manifest["pipeline"]["status"] == "interrupted in 02_explore"


def test_the_terminal_gets_the_notebooks_stderr_and_no_kernel_noise(nbdir, tmp_path, capfd):
    out = tmp_path / "run"
    pipeline.run({}, out, notebooks=["00_talk"], source_dir=nbdir)
    seen = capfd.readouterr()
    assert "\n      se_cnn@0 epoch 1/2: loss 0.5\n" in "\n" + seen.err  # indented under its stage
    assert "[1/1] 00_talk: done" in seen.out
    noise = ("without encryption", "KeyboardInterrupt", "Executing", "Traceback")
    assert not [n for n in noise if n in seen.out + seen.err]
    # the kernel is this Python, whatever a "python3" kernelspec elsewhere points at
    assert (out / "python.txt").read_text() == sys.executable


def test_load_summary_counts_kept_and_dropped_records(tmp_path):
    counts = {"fasta": 2000, "table": 1900, "kept": 1800, "dropped": {
        "missing_in_table": 50, "empty": 150, "length_outlier": 50}}
    (tmp_path / "load.json").write_text(json.dumps({"counts": counts}))
    assert pipeline.load_summary(tmp_path) == (
        "kept 1,800 of 2,050 records; dropped 150 empty, 50 length_outlier, "
        "50 missing_in_table (see dropped.csv)")
    counts.update(kept=7, dropped={})
    (tmp_path / "load.json").write_text(json.dumps({"counts": counts}))
    assert pipeline.load_summary(tmp_path) == "kept 7 of 7 records; nothing dropped"
    assert pipeline.load_summary(tmp_path / "none") is None


def test_reports_for_sharing_leave_the_code_out(tmp_path):
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("secret_code = 41 + 1\nprint(secret_code)")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="answer 42\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("# Heading for readers"), code]
    nbformat.write(nb, str(tmp_path / "x.ipynb"))
    full = pipeline.write_html(tmp_path / "x.ipynb", tmp_path / "full.html").read_text()
    shared = pipeline.write_html(tmp_path / "x.ipynb", tmp_path / "shared.html",
                                 no_input=True).read_text()
    assert "secret_code" in full and "secret_code" not in shared
    assert "answer 42" in shared and "Heading for readers" in shared
    assert build_parser().parse_args(["run", "--table", "t.csv", "--target", "y", "--out", "o",
                                      "--no-input"]).no_input


def test_a_refused_input_reads_as_the_refusal_and_a_bug_names_its_cell(tmp_path):
    from types import SimpleNamespace

    from seqexpr.pipeline import _describe_failure

    refusal = SimpleNamespace(cell_index=3, ename="InputError", source="out = load.run(...)",
                              evalue="x.fa is empty (0 bytes); ...")
    text = _describe_failure("01_load", refusal, tmp_path / "01.ipynb", tmp_path / "01.html")
    assert text.splitlines()[0] == "01_load refused the input: x.fa is empty (0 bytes); ..."
    bug = SimpleNamespace(cell_index=3, ename="KeyError", source="x = d['y']", evalue="'y'")
    text = _describe_failure("04_model", bug, tmp_path / "04.ipynb", tmp_path / "04.html")
    assert text.startswith("notebook 04_model failed in cell 4 `x = d['y']`: KeyError: 'y'")


def test_notebook_warnings_reach_the_terminal_as_one_short_line():
    import io as _io

    from seqexpr.pipeline import _Indented

    out = _io.StringIO()
    stream = _Indented(out, indent="  ")
    stream.write("/work/seqexpr/io.py:131: UserWarning: x.csv: read it as tab-separated.\n"
                 "  tab = read_table(tab_path, id_column=id_column)\n")
    stream.write("/x/sklearn/base.py:9: FutureWarning: will change\n  warnings.warn(msg)\n")
    stream.write("se_cnn@0 epoch 1/2: loss 1.0\n")
    assert out.getvalue() == ("  warning: x.csv: read it as tab-separated.\n"
                              "  FutureWarning: will change\n"
                              "  se_cnn@0 epoch 1/2: loss 1.0\n")
