"""Stage 03_encode on a small run folder: onehot.npy and mask.npy written a block of rows at a
time equal the one-shot encoding, and a bad window is refused before the split is made."""

import numpy as np
import pandas as pd
import pytest

from seqexpr import encode as encode_module
from seqexpr import runfolder as rf
from seqexpr.stages import encode, params


@pytest.fixture()
def loaded(tmp_path, toy):
    """A run folder with 01_load's files for toy sequences of varied lengths with some N."""
    run = tmp_path / "run"
    run.mkdir()
    rng = np.random.default_rng(0)
    seqs = [s[: rng.integers(60, 101)] for s in toy["seqs"]]
    seqs[3] = "NN" + seqs[3][2:]
    pd.DataFrame({"id": toy["ids"], "sequence": seqs, "length": [len(s) for s in seqs],
                  "expression": toy["y"]}).to_parquet(rf.run_path(run, rf.SEQUENCES))
    rf.write_json(rf.run_path(run, rf.LOAD_INFO), {"targets": ["expression"]})
    return run, seqs


def test_blocks_written_to_disk_equal_the_one_shot_encoding(loaded, monkeypatch):
    run, seqs = loaded
    monkeypatch.setattr(encode_module, "CHUNK_BYTES", 15 * 90 * 7)  # 7 rows a block
    out = encode.run(**params.defaults("03_encode", run_dir=str(run), length=90, pad="center",
                                       flank_left="ACGTAC", split_method="random"))
    x, m = encode_module.encode(seqs, length=90, pad="center", flank_left="ACGTAC")
    np.testing.assert_array_equal(np.load(run / rf.ONEHOT), x)
    np.testing.assert_array_equal(np.load(run / rf.MASK), m)
    assert out["shape"] == x.shape
    assert out["summary"] == encode_module.encoding_summary(
        [len(s) for s in seqs], length=90, mask=m, onehot=x)
    assert out["summary"]["unknown_bases"] == 2
    encode.check(run)


def test_a_bad_window_is_refused_before_the_split(loaded, monkeypatch):
    run, _ = loaded

    def no_split(*args, **kwargs):
        raise AssertionError("the split was made")

    monkeypatch.setattr(encode.splits, "make_splits", no_split)
    with pytest.raises(ValueError, match="pad='middle'"):
        encode.run(**params.defaults("03_encode", run_dir=str(run), pad="middle"))
    with pytest.raises(ValueError, match="length=0"):
        encode.run(**params.defaults("03_encode", run_dir=str(run), length=0))


def test_04_records_the_training_lengths_of_a_mixed_length_library(loaded):
    """04 takes lengths from 01's column and frees the strings: the models' recorded
    training-length range must still be that of their own training rows."""
    from seqexpr import bundle
    from seqexpr.stages import model

    run, seqs = loaded
    encode.run(**params.defaults("03_encode", run_dir=str(run), length=100, split_method="random"))
    data = model.load_inputs(run)
    assert data["lengths"].tolist() == [len(s) for s in seqs]
    train = data["idx"]["train"]
    want = bundle.training_lengths([len(seqs[i]) for i in train])
    other = np.r_[data["idx"]["valid"], data["idx"]["test"]]
    assert want != bundle.training_lengths([len(seqs[i]) for i in other])  # rows matter here
    model.train_baselines(data, ("ridge_kmer",), run_dir=run, ks=(2,))
    model.train_deep(data, "cnn", 0, run_dir=run, epochs=1, batch_size=64, min_steps=0,
                     params=dict(filters=4, kernel_size=5, n_conv=1, dense=4), verbose=0)
    for name in ("ridge_kmer", "cnn@0"):
        saved = rf.read_json(run / rf.MODELS_DIR / name / "preprocessing.json")
        assert saved["train_lengths"] == want, name
