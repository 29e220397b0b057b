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


def test_a_refused_input_leaves_the_full_problem_list_and_no_stale_outputs(tmp_path, toy):
    run = tmp_path / "run"
    fa, tab = _inputs(tmp_path, toy)
    _load(run, fa, tab)  # a good first run
    bad_fa = tmp_path / "bad.fa"
    ids = toy["ids"][:10]
    bad_fa.write_text("".join(f">{i}\n{s[:50]}X{s[51:]}\n" for i, s in zip(ids, toy["seqs"])))
    bad_tab = tmp_path / "bad.csv"
    values = ["high" if k % 2 else "" if k == 4 else "1" for k in range(10)]  # "" is missing
    bad_tab.write_text("id,expression\n" + "".join(f"{i},{v}\n" for i, v in zip(ids, values)))
    with pytest.raises(load.io.InputError) as e:
        _load(run, bad_fa, bad_tab)
    msg = str(e.value)
    assert "15 records fail the input checks (invalid_char: 10, nonnumeric_target: 5)" in msg
    assert "the policy drops 1 record(s) (missing_target: 1)" in msg
    assert msg.endswith(f"is in {run.resolve() / rf.PROBLEMS}.")
    listed = pd.read_csv(run / rf.PROBLEMS)
    assert listed[["id", "line"]].values.tolist() == (
        [[i, 1 + 2 * k] for k, i in enumerate(ids)]
        + [[i, 2 + k] for k, i in enumerate(ids) if k % 2]
        + [[ids[4], 6]])  # every bad record, the one the policy drops too
    assert listed["policy"].tolist() == ["fail"] * 15 + ["drop"]
    assert listed["reason"].iloc[-1] == "missing_target"
    assert set(listed["source"]) == {"bad.fa", "bad.csv"}
    assert not any((run / n).exists() for n in (rf.SEQUENCES, rf.LOAD_INFO, rf.DROPPED))
    _load(run, fa, tab)  # fixed: the list of an earlier refusal goes
    assert not (run / rf.PROBLEMS).exists() and (run / rf.SEQUENCES).exists()


def test_encode_refuses_arrays_larger_than_its_share_of_the_free_disk(tmp_path, toy,
                                                                        monkeypatch):
    run = tmp_path / "run"
    _load(run, *_inputs(tmp_path, toy))
    n = len(toy["ids"])
    monkeypatch.setattr(encode, "free_disk",  # fits 30 nt
                        lambda run_dir: 5 * n * 30 / encode.DISK_SHARE + 1)
    with pytest.raises(OSError, match=r"in a 100-nt window.*length=30 \(command line: "
                                          r"-p length 30\)"):
        encode.run(**params.defaults("03_encode", run_dir=str(run)))
    assert not any((run / name).exists() for name in rf.STAGE_FILES["03_encode"])
    encode.run(**params.defaults("03_encode", run_dir=str(run), length=30))  # the advice works
    assert np.load(run / rf.ONEHOT).shape == (n, 30, 4)
