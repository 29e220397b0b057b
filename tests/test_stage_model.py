"""Stage 04_model: the run-folder contract (predictions.csv, metrics.json, history.csv, one
folder per model), resume, and the strand policy of the saved models."""

import json

import numpy as np
import pandas as pd

from seqexpr import bundle
from seqexpr.encode import to_float
from seqexpr.predict import predict_float
from seqexpr.stages import model


def test_model_stage_writes_the_contract(toy_run):
    data = model.load_inputs(toy_run)
    deep = [model.train_deep(data, "cnn", s, run_dir=toy_run, epochs=2, batch_size=64, min_steps=0,
                             params=dict(filters=8, kernel_size=7, n_conv=1, dense=8),
                             verbose=0) for s in (0, 1)]
    base = model.train_baselines(data, ("ridge_kmer",), run_dir=toy_run, ks=(3, 4))
    metrics = model.write_outputs(toy_run, data, deep, base)
    pred = pd.read_csv(toy_run / "predictions.csv")
    assert list(pred.columns) == ["id", "split", "target", "observed", "ridge_kmer", "cnn@0",
                                  "cnn@1", "cnn"]
    assert len(pred) == 600 and set(pred["split"]) == {"train", "valid", "test"}
    assert not pred[["ridge_kmer", "cnn@0", "cnn"]].isna().any().any()
    np.testing.assert_allclose(pred["cnn"], (pred["cnn@0"] + pred["cnn@1"]) / 2, atol=1e-5)
    m = json.loads((toy_run / "metrics.json").read_text())
    assert set(m["test"]["expression"]) == {"ridge_kmer", "cnn@0", "cnn@1", "cnn"}
    assert m["test"]["expression"]["ridge_kmer"]["n"] == int((pred["split"] == "test").sum())
    assert m["models"]["cnn@1"]["kind"] == "deep" and m["models"]["ridge_kmer"]["kind"] == "baseline"
    assert m["best_deep_model"] in ("cnn@0", "cnn@1") and m["best_baseline"] == "ridge_kmer"
    assert m["noise_ceiling"] is None and metrics["models"]["cnn"]["seed"] == [0, 1]
    hist = pd.read_csv(toy_run / "history.csv")
    assert list(hist.columns) == ["model", "seed", "epoch", "loss", "val_loss", "lr"]
    assert len(hist) == 4
    for name in ("cnn@0", "cnn@1", "ridge_kmer"):
        assert (toy_run / "models" / name / "preprocessing.json").exists()
    assert not (toy_run / "models" / "cnn@0" / "checkpoint").exists()
    assert data["lengths"].tolist() == [len(s) for s in data["seqs"]]
    prep = json.loads((toy_run / "models" / "cnn@0" / "preprocessing.json").read_text())
    assert prep["train_lengths"] == bundle.training_lengths(data["lengths"][data["idx"]["train"]])
    # a saved baseline folder is a bundle too
    b = bundle.load_bundle(toy_run / "models" / "ridge_kmer")
    np.testing.assert_allclose(b.predict_sequences(data["seqs"][:5])[:, 0],
                               pred["ridge_kmer"][:5], rtol=1e-5)
    # resume: finished models are loaded, not retrained (training is deterministic, so the
    # file's modification time, not the predictions, tells); other settings retrain
    saved = toy_run / "models" / "cnn@0" / "model.keras"
    before = saved.stat().st_mtime_ns
    again = model.train_deep(data, "cnn", 0, run_dir=toy_run, epochs=2, batch_size=64, min_steps=0,
                             params=dict(filters=8, kernel_size=7, n_conv=1, dense=8), verbose=0)
    np.testing.assert_allclose(again["pred"], deep[0]["pred"], rtol=1e-6)
    assert saved.stat().st_mtime_ns == before
    ridge = toy_run / "models" / "ridge_kmer" / "model.joblib"
    before_ridge = ridge.stat().st_mtime_ns
    model.train_baselines(data, ("ridge_kmer",), run_dir=toy_run, ks=(3, 4))
    assert ridge.stat().st_mtime_ns == before_ridge
    model.train_baselines(data, ("ridge_kmer",), run_dir=toy_run, ks=(3,))
    assert ridge.stat().st_mtime_ns != before_ridge
    model.check(toy_run)


def test_one_strand_model_is_saved_and_scored_on_one_strand(toy_run):
    # Oriented constructs (native genes) train without RC augmentation; the bundle must then
    # not average strands at prediction, or a promoter is averaged with a reversed terminator.
    data = model.load_inputs(toy_run)
    res = model.train_deep(data, "cnn", 0, run_dir=toy_run, epochs=1, batch_size=64, min_steps=0,
                           params=dict(filters=8, n_conv=1, dense=8), rc_augment=False,
                           verbose=0)
    b = bundle.load_bundle(res["path"])
    assert b.preprocessing["rc_average"] is False
    x = to_float(data["onehot"][:10])
    np.testing.assert_allclose(res["pred"][:10], predict_float(b.model, x, rc_average=False),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.predict(x), res["pred"][:10], rtol=1e-5, atol=1e-6)
