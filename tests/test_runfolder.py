"""The run folder stays consistent and never eats the user's files: a rerun stage removes what
depended on it, a run refuses a folder holding files that are not a run's (a manifest.json
included), and a stage refuses a run_dir that is not a run folder before creating anything."""

import json

import numpy as np
import pandas as pd
import pytest

from seqexpr import pipeline
from seqexpr import runfolder as rf
from seqexpr.__main__ import main
from seqexpr.stages import encode, explore, load, model, params


def _inputs(tmp_path, toy, n):
    fa, tab = tmp_path / f"in{n}.fa", tmp_path / f"in{n}.csv"
    fa.write_text("".join(f">{i}\n{s}\n" for i, s in zip(toy["ids"][:n], toy["seqs"][:n])))
    pd.DataFrame({"id": toy["ids"][:n], "expression": toy["y"][:n]}).to_csv(tab, index=False)
    return dict(fasta=str(fa), expression=str(tab))


def test_rerunning_a_stage_removes_what_depended_on_it(tmp_path, toy):
    run = tmp_path / "run"
    first = dict(run_dir=str(run), ground_truth=None, demo_if_missing=False)
    load.run(**params.defaults("01_load", **first, **_inputs(tmp_path, toy, 600)))
    explore.run(**params.defaults("02_explore", run_dir=str(run), kmer_sizes=[4]))
    encode.run(**params.defaults("03_encode", run_dir=str(run)))
    (run / "03_encode.html").write_text("an old report")
    assert rf.downstream("04_model") == ["05_evaluate", "06_patterns", "07_variants"]
    # 01 again on fewer records: 02's and 03's files would describe the old data
    load.run(**params.defaults("01_load", **first, **_inputs(tmp_path, toy, 580)))
    assert len(pd.read_parquet(run / "sequences.parquet")) == 580
    for name in (*rf.STAGE_FILES["02_explore"], *rf.STAGE_FILES["03_encode"], "03_encode.html"):
        assert not (run / name).exists(), name
    manifest = json.loads((run / "manifest.json").read_text())
    assert set(manifest["stages"]) == {"01_load"}
    with pytest.raises(FileNotFoundError, match="03_encode"):
        model.load_inputs(run)  # not a mix of 580 sequences and 600 encoded rows
    encode.run(**params.defaults("03_encode", run_dir=str(run)))
    assert np.load(run / "onehot.npy").shape[0] == 580


def test_a_run_refuses_a_folder_holding_the_users_files(tmp_path):
    theirs = tmp_path / "project"
    theirs.mkdir()
    table = theirs / "sequences.parquet"  # a one-table input named like a run-folder file
    pd.DataFrame({"id": ["a"], "sequence": ["ACGT"], "y": [1.0]}).to_parquet(table)
    before = table.read_bytes()
    code = main(["run", "--table", str(table), "--target", "y", "--out", str(theirs)])
    assert code == 1 and table.read_bytes() == before
    with pytest.raises(ValueError, match="not a seqexpr run"):
        pipeline.check_out(theirs, {"table": str(table)})
    with pytest.raises(ValueError, match="is a file"):
        pipeline.check_out(table, {})
    # an earlier run folder is fine, unless an input sits where the run writes
    run = tmp_path / "run"
    rf.update_manifest(run, pipeline={"status": "ok"})
    pipeline.check_out(run, {"table": str(table)})
    inside = run / "sequences.parquet"
    inside.write_bytes(before)
    with pytest.raises(ValueError, match="would be overwritten"):
        pipeline.check_out(run, {"table": str(inside)})


@pytest.mark.parametrize("text", ['{"name": "my project", "version": 2}', "not json at all",
                                  "[1, 2]"])
def test_a_manifest_seqexpr_did_not_write_is_refused_and_left_alone(tmp_path, text, capsys):
    theirs = tmp_path / "project"
    theirs.mkdir()
    (theirs / "manifest.json").write_text(text)
    with pytest.raises(ValueError, match="not a manifest seqexpr wrote"):
        pipeline.check_out(theirs, {})
    with pytest.raises(ValueError, match="not a run folder"):
        rf.record_stage(theirs, "01_load", {})
    table = tmp_path / "t.csv"
    table.write_text("id,sequence,y\na,ACGT,1\n")
    code = main(["run", "--table", str(table), "--target", "y", "--out", str(theirs)])
    assert code == 1 and "not a manifest seqexpr wrote" in capsys.readouterr().err
    assert [p.name for p in theirs.iterdir()] == ["manifest.json"]
    assert (theirs / "manifest.json").read_text() == text


def test_a_later_stage_refuses_a_run_dir_that_01_load_did_not_fill_creating_nothing(tmp_path):
    typo = tmp_path / "reprots" / "demo"
    with pytest.raises(FileNotFoundError, match="does not exist.*typo"):
        explore.run(**params.defaults("02_explore", run_dir=str(typo)))
    assert not (tmp_path / "reprots").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="lacks sequences.parquet, load.json: run 01_load"):
        rf.record_stage(empty, "04_model", {})
    assert list(empty.iterdir()) == []
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        rf.record_stage(a_file, "01_load", {})
    rf.record_stage(typo, "01_load", {"seed": 0})  # 01 may create its folder
    assert rf.read_manifest(typo)["stages"]["01_load"]["parameters"] == {"seed": 0}
