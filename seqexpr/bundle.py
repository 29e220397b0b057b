"""Saved models that carry their preprocessing: save, load, predict raw sequences or a FASTA.

A model folder holds the model (``model.keras`` for deep models, ``model.joblib`` for k-mer
baselines) and ``preprocessing.json``: everything needed to turn raw sequences into model
input exactly as in training (length, padding, trimming, flanks, unknown-base value,
alphabet, RNA), the targets with their transform, whether to average both strands, and the
model's name, seed and training-data fingerprint. ``predict_fasta`` therefore scores a FASTA
with no setting repeated.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from seqexpr import baselines, transforms
from seqexpr._checks import IUPAC_DNA
from seqexpr.encode import decode, encode, to_float
from seqexpr.io import read_fasta
from seqexpr.jsonio import atomic, write_json

PREPROCESSING = "preprocessing.json"
ENCODING_KEYS = ("length", "pad", "trim", "unknown", "flank_left", "flank_right", "alphabet",
                 "rna", "targets", "target_transform")
_INVALID = re.compile(f"[^{IUPAC_DNA}]")  # U is read as T first when rna


def fingerprint(onehot, targets, idx=None):
    """SHA-256 (first 16 hex digits) of the training rows of ``onehot`` and ``targets``."""
    h = hashlib.sha256()
    rows = np.arange(len(onehot)) if idx is None else np.sort(np.asarray(idx))
    for start in range(0, len(rows), 4096):  # chunked: works on memory-mapped arrays
        r = rows[start:start + 4096]
        h.update(np.ascontiguousarray(onehot[r]).tobytes())
        h.update(np.ascontiguousarray(np.asarray(targets)[r], dtype=np.float32).tobytes())
    return h.hexdigest()[:16]


def preprocessing_record(encoding, *, model, seed=None, rc_average=True, fingerprint=None,
                         params=None, kind="deep"):
    """The ``preprocessing.json`` dict for a model trained on data encoded as ``encoding``."""
    missing = [k for k in ENCODING_KEYS if k not in encoding]
    if missing:
        raise ValueError(f"encoding lacks {missing}; pass the run folder's encoding.json")
    rec = {k: encoding[k] for k in ENCODING_KEYS}
    rec.update(kind=kind, model=model, seed=seed, rc_average=bool(rc_average),
               target_inverse=transforms.has_inverse(encoding["target_transform"]),
               training_fingerprint=fingerprint, params=params or {})
    return rec


def save_bundle(model, out_dir, preprocessing):
    """Write a deep ``model`` as ``model.keras`` and ``preprocessing`` as JSON in ``out_dir``.

    The description goes first and comes back last, each file atomically, so an interrupted
    save never leaves a new model beside an old description (which resuming would trust)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / PREPROCESSING).unlink(missing_ok=True)
    with atomic(out / "model.keras") as tmp:
        model.save(tmp)
    write_json(out / PREPROCESSING, preprocessing)
    return out


class Bundle:
    """A loaded model with its preprocessing.

    Attributes
    ----------
    model : keras.Model or seqexpr.baselines.KmerModel
    preprocessing : dict
        The folder's ``preprocessing.json``.
    path : pathlib.Path
    """

    def __init__(self, model, preprocessing, path):
        self.model, self.preprocessing, self.path = model, preprocessing, Path(path)
        self._averaged = None  # keras_model()'s strand-averaging wrapper, built once

    @property
    def targets(self):
        return list(self.preprocessing["targets"])

    @property
    def is_deep(self):
        return self.preprocessing.get("kind", "deep") == "deep"

    def predict(self, x, *, rc_average=None, batch_size=256):
        """Predict ``(n, T) float32`` (modelled scale) from one-hot ``(n, L, 4) float32``.

        ``rc_average`` defaults to the recorded setting (mean over both strands).
        """
        x = np.asarray(x, dtype=np.float32)
        if not self.is_deep:
            return self.model.predict([s.replace("N", "") for s in decode(x > 0)])
        length = self.preprocessing["length"]
        if x.ndim != 3 or x.shape[1:] != (length, 4):
            raise ValueError(f"{self.path}: input must be (n, {length}, 4) float32, got "
                             f"{x.shape}; use predict_sequences for raw sequences")
        from seqexpr.predict import predict_float

        rc = self.preprocessing.get("rc_average", True) if rc_average is None else rc_average
        return predict_float(self.model, x, rc_average=rc, batch_size=batch_size)

    def input(self, onehot, mask=None):
        """The model's input for encoded sequences: ``(n, L, 4) float32`` from 03_encode's
        uint8 one-hot and mask, with unknown bases filled as in training (added flanks are
        kept: the model saw them)."""
        return to_float(onehot, mask, unknown=self.preprocessing.get("unknown", 0.0))

    def keras_model(self):
        """The network with this model's strand policy built in: for a model trained on both
        strands, a model returning the mean of both (``models.with_rc_average``); else the
        network itself. Attributions and in-silico effects go through this, so that they
        explain what ``predict`` reports."""
        if not self.is_deep:
            raise TypeError(f"{self.path} holds a k-mer baseline, not a Keras model")
        if not self.preprocessing.get("rc_average", True):
            return self.model
        if self._averaged is None:
            from seqexpr.models import with_rc_average

            self._averaged = with_rc_average(self.model)
        return self._averaged

    def encode(self, seqs, ids=None):
        """Encode raw sequences exactly as recorded: ``(n, L, 4) float32``; checks each one."""
        seqs = check_sequences(seqs, self.preprocessing, ids=ids)
        p = self.preprocessing
        onehot, mask = encode(seqs, length=p["length"], pad=p["pad"], trim=p["trim"],
                              flank_left=p["flank_left"], flank_right=p["flank_right"])
        return to_float(onehot, mask, unknown=p["unknown"])

    def predict_sequences(self, seqs, *, ids=None, batch_size=256):
        """Predict ``(n, T) float32`` on the modelled scale for raw DNA/RNA strings."""
        if not self.is_deep:
            return self.model.predict(check_sequences(seqs, self.preprocessing, ids=ids))
        out = [self.predict(self.encode(seqs[i:i + 4096], None if ids is None
                                        else ids[i:i + 4096]), batch_size=batch_size)
               for i in range(0, len(seqs), 4096)]
        return np.concatenate(out) if out else np.zeros((0, len(self.targets)), np.float32)

    def inverse(self, y):
        """Map ``(n, T)`` predictions from the modelled scale back to the measured scale."""
        return transforms.inverse(self.preprocessing["target_transform"], y)


def check_sequences(seqs, preprocessing, *, ids=None):
    """Upper-case (and U->T for RNA) sequences; raise naming the first that cannot be encoded.

    ``ids`` (optional, one label per sequence) names the offending record in the error.
    """
    seqs = [str(s).upper() for s in seqs]
    if preprocessing.get("rna"):
        seqs = [s.replace("U", "T") for s in seqs]
    for i, s in enumerate(seqs):
        bad = _INVALID.search(s)
        name = str(ids[i]) if ids is not None else f"sequence {i} (0-based)"
        if bad:
            hint = " (RNA? this model was trained on DNA)" if bad.group() == "U" else ""
            raise ValueError(f"{name}: character {bad.group()!r} at position {bad.start() + 1} "
                             f"is not IUPAC DNA{hint}; fix the sequence or drop the record.")
        if not s:
            raise ValueError(f"{name} is empty; drop it before predicting.")
    return seqs


def load_bundle(model_dir):
    """Load a model folder written by 04_model (deep or baseline); returns a ``Bundle``."""
    d = Path(model_dir)
    if not (d / PREPROCESSING).exists():
        raise FileNotFoundError(f"{d.resolve()} holds no {PREPROCESSING}: pass a model folder "
                                "such as reports/demo/models/se_cnn@0")
    prep = json.loads((d / PREPROCESSING).read_text())
    if (d / "model.keras").exists():
        import seqexpr.models  # noqa: F401  registers the custom layers
        from seqexpr._backend import keras

        model = keras.saving.load_model(d / "model.keras", compile=False, safe_mode=True)
    elif (d / "model.joblib").exists():
        model, _ = baselines.load(d)
    else:
        raise FileNotFoundError(f"{d.resolve()} holds neither model.keras nor model.joblib")
    return Bundle(model, prep, d)


def predict_fasta(model_dir, fasta, out_csv, *, batch_size=256):
    """Score every record of ``fasta`` with the model in ``model_dir``; write a CSV.

    The CSV has ``id``, then per target ``{target}`` (original scale, inverse transform
    applied; only if the transform has an inverse) and ``{target}_modelled`` (the scale the
    model was trained on). Returns the table.
    """

    b = load_bundle(model_dir)
    p = b.preprocessing
    recs = read_fasta(fasta, rna=bool(p.get("rna")))
    print(f"read {len(recs)} sequences from {fasta}; model {p.get('model')} "
          f"(seed {p.get('seed')}) from {b.path}")
    if b.is_deep:
        print(f"encoding to {p['length']} nt (pad {p['pad']}, trim {p['trim']}, "
              f"unknown {p['unknown']}); {'averaging both strands' if p.get('rc_average') else 'forward strand only'}")
    long = int((recs["sequence"].str.len() > p.get("length", np.inf)).sum()) if b.is_deep else 0
    if long:
        print(f"{long} sequences are longer than {p['length']} nt: trimmed at the "
              f"{p['trim']} end, as in training")
    labels = [f"{Path(fasta).name} line {ln}, record {i!r}"
              for i, ln in zip(recs["id"], recs["line"])]
    y = b.predict_sequences(list(recs["sequence"]), ids=labels, batch_size=batch_size)
    out = pd.DataFrame({"id": recs["id"].to_numpy()})
    original = b.inverse(y) if p.get("target_inverse", True) else None
    for j, t in enumerate(b.targets):
        if original is not None:
            out[t] = original[:, j]
        out[f"{t}_modelled"] = y[:, j]
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(out_csv, index=False)
    print(f"wrote {len(out)} predictions for {', '.join(b.targets)} to {out_csv}")
    return out
