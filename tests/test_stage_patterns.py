"""Stage 06_patterns' reading of the run folder: one model's predictions, the samples recorded."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from seqexpr import runfolder as rf
from seqexpr.stages import params
from seqexpr.stages import patterns as patterns_stage


class _Stop(Exception):
    pass


def _stop(*args, **kwargs):
    raise _Stop


def test_one_model_is_read_in_sequence_order_and_the_samples_are_recorded(
        toy_run, toy, monkeypatch):
    bundle = SimpleNamespace(input=lambda x, mask: x, keras_model=lambda: None, preprocessing={})
    monkeypatch.setattr(patterns_stage, "load_bundle", lambda path: bundle)
    monkeypatch.setattr(patterns_stage, "ism_map", _stop)  # the rest needs a real model
    ids = np.asarray(toy["ids"])
    split = pd.read_csv(toy_run / "splits.csv")["split"].to_numpy()
    back = np.arange(len(ids))[::-1]  # predictions.csv need not follow sequences.parquet
    pd.DataFrame({"id": ids[back], "split": split[back], "target": "expression",
                  "observed": toy["y"][back], "ridge_kmer": 0.0, "cnn@0": toy["y"][back]}
                 ).to_csv(toy_run / "predictions.csv", index=False)
    (toy_run / "metrics.json").write_text(json.dumps({"best_deep_model": "cnn@0", "models": {}}))

    d = patterns_stage.read_inputs(toy_run)
    assert list(d["predictions"].columns) == ["target", "cnn@0"]
    np.testing.assert_array_equal(d["predictions"]["cnn@0"].to_numpy(), toy["y"])
    np.testing.assert_array_equal(d["split"], split)

    with pytest.raises(_Stop):
        patterns_stage.run(**params.defaults("06_patterns", run_dir=str(toy_run),
                                             n_sequences=30, n_background=7, seed=3))
    samples = rf.read_manifest(toy_run)["stages"]["06_patterns"]["samples"]
    assert {k: samples["explained"][k] for k in ("m", "n", "seed")} == dict(
        m=30, n=len(ids), seed=3)
    assert samples["backgrounds"]["m"] == 7
    assert samples["backgrounds"]["n"] == int((split == "test").sum())
