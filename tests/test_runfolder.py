"""The run folder stays consistent and never eats the user's files: a rerun stage removes what
depended on it, and a run refuses a folder holding files that are not a run's."""

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
    assert rf.downstream("04_model") == ["05_evaluate", "06_patterns"]
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
    run.mkdir()
    (run / "manifest.json").write_text("{}")
    pipeline.check_out(run, {"table": str(table)})
    inside = run / "sequences.parquet"
    inside.write_bytes(before)
    with pytest.raises(ValueError, match="would be overwritten"):
        pipeline.check_out(run, {"table": str(inside)})
