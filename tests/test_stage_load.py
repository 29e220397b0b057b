"""Stages 01_load and 03_encode on a small FASTA and table: files written by the contract,
parameters recorded as given, a stale ground truth removed, a leaky split refused before
anything is written."""

import json

import numpy as np
import pandas as pd
import pytest

from seqexpr import runfolder as rf
from seqexpr.splits import LeakySplitError
from seqexpr.stages import encode, load, params


def _inputs(tmp_path, toy, copies=1):
    ids = [f"{i}_{c}" for i in toy["ids"] for c in range(copies)]
    seqs = [s for s in toy["seqs"] for _ in range(copies)]
    y = np.repeat(toy["y"], copies)
    fa = tmp_path / "in.fa"
    fa.write_text("".join(f">{i}\n{s}\n" for i, s in zip(ids, seqs)))
    tab = tmp_path / "in.csv"
    pd.DataFrame({"id": ids, "expression": y}).to_csv(tab, index=False)
    return fa, tab


def _load(run, fa, tab, **given):
    return load.run(**params.defaults("01_load", run_dir=str(run), fasta=str(fa),
                                      expression=str(tab), ground_truth=None,
                                      demo_if_missing=False, **given))


def test_load_then_encode_write_and_check_the_contract(tmp_path, toy):
    run = tmp_path / "run"
    run.mkdir()
    (run / "ground_truth.json").write_text("{}")  # left by an earlier demo run here
    out = _load(run, *_inputs(tmp_path, toy))
    assert out["result"].info["counts"]["kept"] == len(toy["ids"])
    assert not (run / "ground_truth.json").exists()  # it does not describe these data
    load.check(run)
    given = params.defaults("03_encode", run_dir=str(run))
    enc = encode.run(**given)
    assert enc["shape"] == (len(toy["ids"]), 100, 4)
    encoding = json.loads((run / "encoding.json").read_text())
    assert list(encoding) == ["length", "pad", "trim", "unknown", "flank_left", "flank_right",
                              "alphabet", "rna", "targets", "target_transform"]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["stages"]["03_encode"]["parameters"] == given
    assert manifest["stages"]["01_load"]["parameters"]["ground_truth"] is None
    encode.check(run)


def test_a_leaky_split_is_refused_before_anything_is_written(tmp_path, toy):
    run = tmp_path / "run"
    _load(run, *_inputs(tmp_path, toy, copies=3))  # every sequence three times
    with pytest.raises(LeakySplitError, match="relative in train"):
        encode.run(**params.defaults("03_encode", run_dir=str(run), split_method="random"))
    assert not any((run / name).exists() for name in rf.STAGE_FILES["03_encode"])
