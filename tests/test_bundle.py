"""Saved bundles predict the same after reload and from a FASTA."""

import numpy as np
import pandas as pd
import pytest

from seqexpr import bundle, models
from seqexpr.encode import encode, to_float
from seqexpr.predict import predict_float

ENC = {"length": 100, "pad": "right", "trim": "right", "unknown": 0.0, "flank_left": "",
       "flank_right": "", "alphabet": "ACGT", "rna": False, "targets": ["expression"],
       "target_transform": {"name": "log", "offset": 0.0}}


@pytest.fixture()
def saved(tmp_path, toy):
    m = models.cnn(100, filters=8, kernel_size=7, n_conv=1, dense=8)
    prep = bundle.preprocessing_record(ENC, model="cnn", seed=3, fingerprint="abc")
    bundle.save_bundle(m, tmp_path / "cnn@3", prep)
    return tmp_path / "cnn@3", m


def test_bundle_reload_predicts_same_values(saved, toy):
    path, m = saved
    b = bundle.load_bundle(path)
    x = to_float(toy["onehot"][:20])
    expected = predict_float(m, x)
    np.testing.assert_allclose(b.predict(x), expected, rtol=1e-6)
    np.testing.assert_allclose(b.predict_sequences(toy["seqs"][:20]), expected, rtol=1e-6)
    # RC averaging is the recorded default: the reverse strand scores the same
    np.testing.assert_allclose(b.predict(x[:, ::-1, ::-1]), expected, rtol=1e-5, atol=1e-6)
    assert b.preprocessing["seed"] == 3 and b.preprocessing["target_inverse"] is True


def test_attributions_see_the_model_as_predict_does(saved, toy):
    # 06 explains bundle.keras_model() on bundle.input(): the same numbers as predict, so a
    # model trained on both strands is explained with both strands averaged (ISM symmetric)
    from seqexpr.patterns.ism import ism

    path, m = saved
    b = bundle.load_bundle(path)
    onehot, mask = toy["onehot"][:6].copy(), toy["mask"][:6]
    onehot[:, 10] = 0  # an unknown base: filled with the recorded value (0.25 here)
    b.preprocessing["unknown"] = 0.25
    x = b.input(onehot, mask)
    assert np.allclose(x[:, 10], 0.25) and x.dtype == np.float32
    net = b.keras_model()
    np.testing.assert_allclose(net.predict(x, verbose=0), b.predict(x), rtol=1e-5, atol=1e-6)
    fwd = ism(net, x, mask=mask, progress=False)
    rev = ism(net, x[:, ::-1, ::-1], mask=mask[:, ::-1], progress=False)
    np.testing.assert_allclose(fwd, rev[:, ::-1, ::-1], atol=1e-5)
    b.preprocessing["rc_average"] = False  # a one-strand model is explained on one strand
    assert b.keras_model() is b.model


def test_predict_fasta_writes_both_scales(saved, toy, tmp_path):
    path, m = saved
    fa = tmp_path / "in.fa"
    # lower case and a shorter record: encoded exactly as recorded (right padding)
    seqs = [toy["seqs"][0].lower(), toy["seqs"][1][:60], toy["seqs"][2]]
    fa.write_text("".join(f">r{i} note\n{s}\n" for i, s in enumerate(seqs)))
    out = bundle.predict_fasta(path, fa, tmp_path / "pred.csv")
    got = pd.read_csv(tmp_path / "pred.csv")
    assert list(got.columns) == ["id", "expression", "expression_modelled"]
    assert list(got["id"]) == ["r0", "r1", "r2"]
    onehot, mask = encode([s.upper() for s in seqs], length=100)
    expected = predict_float(m, to_float(onehot, mask))[:, 0]
    np.testing.assert_allclose(got["expression_modelled"], expected, rtol=1e-5)
    np.testing.assert_allclose(got["expression"], np.exp(expected), rtol=1e-5)
    assert len(out) == 3


def test_predict_fasta_names_the_bad_record(saved, tmp_path):
    path, _ = saved
    fa = tmp_path / "bad.fa"
    fa.write_text(">ok\nACGTACGT\n>bad\nACGTXACG\n")
    with pytest.raises(ValueError, match=r"bad.fa line 3, record 'bad'.*'X' at position 5"):
        bundle.predict_fasta(path, fa, tmp_path / "never.csv")
    assert not (tmp_path / "never.csv").exists()


def test_predict_command_line_matches_the_bundle(saved, toy, tmp_path):
    # `python -m seqexpr predict` is what a user runs on new sequences: same values as the
    # bundle, no setting repeated.
    import subprocess
    import sys

    path, m = saved
    fa = tmp_path / "new.fa"
    fa.write_text("".join(f">n{i}\n{s}\n" for i, s in enumerate(toy["seqs"][:5])))
    out = tmp_path / "preds.csv"
    res = subprocess.run([sys.executable, "-m", "seqexpr", "predict", "--model", str(path),
                          "--fasta", str(fa), "--out", str(out)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    got = pd.read_csv(out)
    expected = bundle.load_bundle(path).predict_sequences(toy["seqs"][:5])[:, 0]
    np.testing.assert_allclose(got["expression_modelled"], expected, rtol=1e-5)
