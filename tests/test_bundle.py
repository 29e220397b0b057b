"""Saved bundles predict the same after reload and from a FASTA, flag sequences unlike the
training data, and refuse what they cannot score with a message naming it."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from seqexpr import baselines, bundle, models, scoring
from seqexpr.__main__ import main
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
    out = scoring.predict_fasta(path, fa, tmp_path / "pred.csv")
    got = pd.read_csv(tmp_path / "pred.csv", keep_default_na=False)
    assert list(got.columns) == ["id", "expression", "expression_modelled", "flag"]
    assert list(got["id"]) == ["r0", "r1", "r2"]
    # no training lengths recorded: the short record is flagged against the input length
    assert list(got["flag"]) == [
        "", "shorter than the model input (60 nt vs 100 nt): padded to 100 nt on the right", ""]
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
        scoring.predict_fasta(path, fa, tmp_path / "never.csv")
    assert not (tmp_path / "never.csv").exists()


def test_predict_command_line_matches_the_bundle(saved, toy, tmp_path):
    # `python -m seqexpr predict` is what a user runs on new sequences: same values as the
    # bundle, no setting repeated.
    path, m = saved
    fa = tmp_path / "new.fa"
    fa.write_text("".join(f">n{i}\n{s}\n" for i, s in enumerate(toy["seqs"][:5])))
    out = tmp_path / "preds.csv"
    assert main(["predict", "--model", str(path), "--fasta", str(fa), "--out", str(out)]) == 0
    got = pd.read_csv(out)
    expected = bundle.load_bundle(path).predict_sequences(toy["seqs"][:5])[:, 0]
    np.testing.assert_allclose(got["expression_modelled"], expected, rtol=1e-5)


def test_preprocessing_records_format_and_training_lengths():
    prep = bundle.preprocessing_record(ENC, model="cnn", train_lengths=[80, 90, 100, 100])
    assert prep["format"] == bundle.MODEL_FORMAT
    assert prep["train_lengths"] == {"min": 80, "median": 95.0, "max": 100}


def test_flags_follow_the_recorded_lengths_and_padding():
    # a deep model trained on 80-100 nt, padded on the left and trimmed in the centre
    prep = bundle.preprocessing_record(dict(ENC, pad="left", trim="center"), model="cnn",
                                       train_lengths=[80, 100])
    seqs = ["A" * 90, "A" * 5, "A" * 150, "ACGT" * 10 + "N" * 60, "A" * 100]
    assert scoring.flag_sequences(seqs, prep) == [
        "",  # within the training range: padded as in training, not flagged
        "shorter than training (5 nt vs 80-100 nt): padded to 100 nt on the left",
        "longer than training (150 nt vs 80-100 nt): trimmed to 100 nt (both ends cut)",
        "N-rich (60% N or other non-ACGT)", ""]
    # exactly at the threshold is not flagged, just above is; several notes share a row
    assert scoring.flag_sequences(["A" * 90 + "N" * 10, "A" * 89 + "N" * 11], prep) == [
        "", "N-rich (11% N or other non-ACGT)"]
    assert scoring.flag_sequences(["N"], prep) == [
        "shorter than training (1 nt vs 80-100 nt): padded to 100 nt on the left; "
        "N-rich (100% N or other non-ACGT)"]
    assert scoring.flag_summary(scoring.flag_sequences(seqs + ["N"], prep), "p.csv") == (
        "4 of 6 sequences flagged (2 shorter than training, 1 longer than training, 2 N-rich); "
        "see the flag column of p.csv")


# -- k-mer baseline bundles: the same checks, through the command line -------------------
@pytest.fixture(scope="module")
def kmer_dir(tmp_path_factory, toy):
    model = baselines.fit_ridge(toy["seqs"][:150], toy["y"][:150], ks=(1, 2))
    extra = {k: ENC[k] for k in ("targets", "target_transform", "rna")}
    extra.update(format=bundle.MODEL_FORMAT, target_inverse=True,
                 train_lengths=bundle.training_lengths([len(s) for s in toy["seqs"][:150]]))
    return baselines.save(model, tmp_path_factory.mktemp("models") / "ridge_kmer", extra=extra)


def _fasta(path, records):
    path.write_text("".join(f">{k}\n{v}\n" for k, v in records.items()))
    return path


def test_predict_flags_short_long_and_n_rich_sequences(kmer_dir, toy, tmp_path, capsys):
    fa = _fasta(tmp_path / "new.fa", {"ok": toy["seqs"][200], "short": "ACGTA",
                                      "long": "".join(toy["seqs"][201:211]),
                                      "nrich": toy["seqs"][211][:38] + "N" * 62})
    out = tmp_path / "preds.csv"
    assert main(["predict", "--model", str(kmer_dir), "--fasta", str(fa), "--out", str(out)]) == 0
    got = pd.read_csv(out, keep_default_na=False)
    assert list(got["id"]) == ["ok", "short", "long", "nrich"]  # every record scored
    assert np.isfinite(got["expression_modelled"]).all()
    span, fate = "100 nt", "k-mer counts outside the training range"
    assert list(got["flag"]) == ["", f"shorter than training (5 nt vs {span}): {fate}",
                                 f"longer than training (1000 nt vs {span}): {fate}",
                                 "N-rich (62% N or other non-ACGT)"]
    assert (f"3 of 4 sequences flagged (1 shorter than training, 1 longer than training, "
            f"1 N-rich); see the flag column of {out}") in capsys.readouterr().out


def test_predict_strict_refuses_flagged_sequences(kmer_dir, toy, tmp_path, capsys):
    fa = _fasta(tmp_path / "new.fa", {"ok": toy["seqs"][0], "tiny": "A"})
    out = tmp_path / "preds.csv"
    args = ["predict", "--model", str(kmer_dir), "--fasta", str(fa), "--out", str(out)]
    assert main(args + ["--strict"]) == 1
    err = capsys.readouterr().err
    assert "1 of 2 sequences flagged (1 shorter than training) and strict mode refuses them: " \
           "new.fa line 3, record 'tiny': shorter than training (1 nt vs 100 nt)" in err
    assert not out.exists()


@pytest.mark.parametrize("where, message", [
    ("folder", "is a folder; give a .csv file path, e.g. "),
    ("no_parent", "does not exist; create it or give a .csv file path in an existing folder"),
])
def test_predict_refuses_an_output_it_cannot_write(kmer_dir, toy, tmp_path, capsys, where,
                                                  message):
    fa = _fasta(tmp_path / "new.fa", {"ok": toy["seqs"][0]})
    out = tmp_path / "preds"
    if where == "folder":
        out.mkdir()
    else:
        out = out / "sub" / "preds.csv"
    assert main(["predict", "--model", str(kmer_dir), "--fasta", str(fa), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("seqexpr predict: output ") and message in err
    assert err.count("\n") == 1 and (str(out) in err or str(out.resolve()) in err)
    assert not (tmp_path / "preds" / "sub").exists()


@pytest.mark.parametrize("case, message", [
    ("missing", "model folder not found: "),
    ("run_folder", "is a run folder, not a model folder; pass one of its models: "),
    ("file", "is a file, not a model folder; pass the folder that holds it: "),
    ("newer", "is format 99, written by a newer seqexpr; this one reads formats 1 to "
              f"{bundle.FORMAT}: upgrade seqexpr"),
    ("older", "lacks ['targets']: written by an older seqexpr or edited by hand; retrain"),
    ("damaged", "line 1: not valid JSON"),
])
def test_predict_names_a_model_folder_it_cannot_use(kmer_dir, toy, tmp_path, capsys, case,
                                                    message):
    run = tmp_path / "run"
    model = run / "models" / "ridge_kmer"
    shutil.copytree(kmer_dir, model)
    prep_path = model / bundle.PREPROCESSING
    prep = json.loads(prep_path.read_text())
    given = {"missing": tmp_path / "nowhere", "run_folder": run,
             "file": model / "model.joblib"}.get(case, model)
    if case in ("newer", "older"):
        prep.update(format=99) if case == "newer" else prep.pop("targets")
        prep_path.write_text(json.dumps(prep))
    elif case == "damaged":
        prep_path.write_text("{not json")
    fa = _fasta(tmp_path / "new.fa", {"ok": toy["seqs"][0]})
    out = tmp_path / "preds.csv"
    assert main(["predict", "--model", str(given), "--fasta", str(fa), "--out", str(out)]) == 1
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_predict_reads_model_folders_of_the_first_format(kmer_dir, toy, tmp_path, capsys):
    # a k-mer folder saved before format 2 has no training lengths: scored, lengths unchecked
    old = shutil.copytree(kmer_dir, tmp_path / "old")
    prep = json.loads((old / bundle.PREPROCESSING).read_text())
    del prep["format"], prep["train_lengths"]
    (old / bundle.PREPROCESSING).write_text(json.dumps(prep))
    fa = _fasta(tmp_path / "new.fa", {"tiny": "ACG"})
    got = scoring.predict_fasta(old, fa, tmp_path / "p.csv")
    assert list(got["flag"]) == [""]
    assert "records no training lengths (saved before format 2): lengths are not checked" \
        in capsys.readouterr().out


def test_predict_names_a_missing_fasta(kmer_dir, tmp_path, capsys):
    assert main(["predict", "--model", str(kmer_dir), "--fasta", str(tmp_path / "no.fa"),
                 "--out", str(tmp_path / "p.csv")]) == 1
    assert f"FASTA file not found: {tmp_path / 'no.fa'}" in capsys.readouterr().err


# -- seed ensembles: one folder, the members' mean, their spread ---------------------------
def test_ensemble_folder_scores_the_mean_of_its_seeds(ensemble, toy, tmp_path):
    folder, nets = ensemble
    b = bundle.load_bundle(folder)
    x = to_float(toy["onehot"][:12])
    each = np.stack([predict_float(m, x) for m in nets])
    assert not np.allclose(each[0], each[1])
    np.testing.assert_allclose(b.predict(x, members=True), each, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.predict(x), each.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.predict_sequences(toy["seqs"][:12]), each.mean(0), rtol=1e-5,
                               atol=1e-6)
    # attributions see the same mean (both strands, both seeds)
    np.testing.assert_allclose(b.keras_model().predict(x, verbose=0), each.mean(0), rtol=1e-5,
                               atol=1e-6)
    assert b.preprocessing["kind"] == "ensemble" and b.preprocessing["seed"] == [0, 1]
    assert "(seed ensemble of 2: seeds 0, 1)" in b.describe()
    with pytest.raises(TypeError, match="ensemble of 2 models"):
        b.model
    fa = tmp_path / "in.fa"
    fa.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(toy["seqs"][:4])))
    got = scoring.predict_fasta(folder, fa, tmp_path / "p.csv")
    np.testing.assert_allclose(got["expression_sd"], each[:, :4, 0].std(0, ddof=1), rtol=1e-4)


def test_ensemble_refuses_members_of_different_models(tmp_path):
    for seed, fp in ((0, "abc"), (1, "other data")):
        prep = bundle.preprocessing_record(ENC, model="cnn", seed=seed, fingerprint=fp)
        bundle.save_bundle(models.cnn(100, filters=4, kernel_size=5, n_conv=1, dense=4),
                           tmp_path / f"cnn@{seed}", prep)
    with pytest.raises(ValueError, match=r"cnn@1 differs from .*cnn@0 in 'training_fingerprint'"):
        bundle.save_ensemble([tmp_path / "cnn@0", tmp_path / "cnn@1"], tmp_path / "cnn")
    with pytest.raises(ValueError, match="share a seed"):
        bundle.save_ensemble([tmp_path / "cnn@0", tmp_path / "cnn@0"], tmp_path / "cnn")
    # never over a folder of other files
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a seed ensemble"):
        bundle.save_ensemble([tmp_path / "cnn@0"], tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").exists()


def test_ensemble_without_its_members_is_refused(ensemble):
    folder, _ = ensemble
    shutil.rmtree(folder / "members" / "seed1")
    with pytest.raises(FileNotFoundError, match=r"lacks its member folder\(s\) \['members/seed1'\]"):
        bundle.load_bundle(folder)
