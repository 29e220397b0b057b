"""Shared fixtures: small synthetic data made here, independent of the modules under test.

``toy`` is a dataset with two planted motifs of known effect; ``toy_run`` is a run folder
holding what 01_load and 03_encode write for it (see docs/run_folder.md), built with plain
numpy/pandas so that later stages can be tested without running the earlier ones.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pandas as pd
import pytest

ACTIVATOR = "TGACTCA"  # AP-1 site: +1.0
REPRESSOR = "CCGGAAGT"  # ETS-like site: -0.8


def _toy(n=600, length=100, seed=0):
    rng = np.random.default_rng(seed)
    bases = np.array(list("ACGT"))
    seqs, y = [], []
    for i in range(n):
        s = bases[rng.integers(0, 4, length)]
        effect = 0.0
        if rng.random() < 0.4:
            p = rng.integers(5, length - 5 - len(ACTIVATOR))
            s[p : p + len(ACTIVATOR)] = list(ACTIVATOR)
            effect += 1.0
        if rng.random() < 0.3:
            p = rng.integers(5, length - 5 - len(REPRESSOR))
            s[p : p + len(REPRESSOR)] = list(REPRESSOR)
            effect -= 0.8
        seqs.append("".join(s))
        y.append(effect + rng.normal(0, 0.2))
    ids = [f"seq{i:04d}" for i in range(n)]
    return ids, seqs, np.asarray(y, dtype=np.float64)


def _one_hot(seqs):
    lut = np.zeros((256, 4), np.uint8)
    for i, b in enumerate(b"ACGT"):
        lut[b, i] = 1
    arr = np.frombuffer("".join(seqs).encode(), np.uint8).reshape(len(seqs), -1)
    return lut[arr]


@pytest.fixture(scope="session")
def toy():
    """dict: ids, seqs, y (n,) float64, onehot (n, L, 4) uint8, mask (n, L) uint8, motifs."""
    ids, seqs, y = _toy()
    x = _one_hot(seqs)
    return dict(ids=ids, seqs=seqs, y=y, onehot=x, mask=np.ones(x.shape[:2], np.uint8),
                motifs={"activator": ACTIVATOR, "repressor": REPRESSOR})


@pytest.fixture()
def toy_run(tmp_path, toy):
    """A run folder with 01_load's and 03_encode's files for ``toy`` (random 80/10/10 split)."""
    run = tmp_path / "run"
    run.mkdir()
    n = len(toy["ids"])
    pd.DataFrame({"id": toy["ids"], "sequence": toy["seqs"],
                  "length": [len(s) for s in toy["seqs"]], "expression": toy["y"]}
                 ).to_parquet(run / "sequences.parquet", index=False)
    (run / "load.json").write_text(json.dumps({
        "targets": ["expression"], "replicates": [], "group_column": None, "split_column": None,
        "id_column": "id", "sequence_column": None, "inputs": {},
        "counts": {"fasta": n, "table": n, "kept": n, "dropped": {}},
        "lengths": {"min": 100, "median": 100, "max": 100}, "length_policy": "pad",
        "ground_truth": False}))
    pd.DataFrame(columns=["id", "source", "line", "reason", "detail"]).to_csv(
        run / "dropped.csv", index=False)
    np.save(run / "onehot.npy", toy["onehot"])
    np.save(run / "mask.npy", toy["mask"])
    np.save(run / "targets.npy", toy["y"].astype(np.float32)[:, None])
    (run / "encoding.json").write_text(json.dumps({
        "length": 100, "pad": "right", "trim": "right", "unknown": 0.0, "flank_left": "",
        "flank_right": "", "alphabet": "ACGT", "rna": False, "targets": ["expression"],
        "target_transform": {"name": "none"}}))
    split = np.random.default_rng(1).choice(["train", "valid", "test"], n, p=[0.8, 0.1, 0.1])
    pd.DataFrame({"id": toy["ids"], "split": split, "cluster": np.arange(n),
                  "has_relative_in_train": False}).to_csv(run / "splits.csv", index=False)
    return run


@pytest.fixture()
def ensemble(tmp_path):
    """A seed-ensemble model folder of two small, different CNNs (100 nt, log target) whose
    member folders were removed after gathering: ``(folder, [member keras models])``."""
    import shutil

    from seqexpr import bundle, models

    enc = {"length": 100, "pad": "right", "trim": "right", "unknown": 0.0, "flank_left": "",
           "flank_right": "", "alphabet": "ACGT", "rna": False, "targets": ["expression"],
           "target_transform": {"name": "log", "offset": 0.0}}
    nets = []
    for seed in (0, 1):
        m = models.cnn(100, filters=8, kernel_size=7, n_conv=1, dense=8)
        m.set_weights([w + 0.05 * seed for w in m.get_weights()])  # members that differ
        prep = bundle.preprocessing_record(enc, model="cnn", seed=seed, fingerprint="abc",
                                           train_lengths=[100])
        bundle.save_bundle(m, tmp_path / f"cnn@{seed}", prep)
        nets.append(m)
    folder = bundle.save_ensemble([tmp_path / "cnn@0", tmp_path / "cnn@1"], tmp_path / "cnn")
    for seed in (0, 1):
        shutil.rmtree(tmp_path / f"cnn@{seed}")  # the ensemble folder stands alone
    return folder, nets
