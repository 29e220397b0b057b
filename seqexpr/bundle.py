"""Saved models that carry their preprocessing: save, load, predict raw sequences.

A model folder holds the model (``model.keras`` for deep models, ``model.joblib`` for k-mer
baselines) and ``preprocessing.json``: everything needed to turn raw sequences into model
input exactly as in training (length, padding, trimming, flanks, unknown-base value,
alphabet, RNA), the targets with their transform, whether to average both strands, and the
model's name, seed and training-data fingerprint, the range of training lengths and the
file's ``format``. A seed ensemble (:func:`save_ensemble`) gathers the folders of one model's
seeds in one folder that predicts their mean. :mod:`seqexpr.scoring` scores a FASTA with no
setting repeated.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from seqexpr import baselines, transforms
from seqexpr._checks import IUPAC_DNA
from seqexpr._mapped import take
from seqexpr.encode import decode, encode, length_summary, to_float
from seqexpr.jsonio import atomic, write_json

PREPROCESSING = "preprocessing.json"
ENCODING_KEYS = ("length", "pad", "trim", "unknown", "flank_left", "flank_right", "alphabet",
                 "rna", "targets", "target_transform")
_INVALID = re.compile(f"[^{IUPAC_DNA}]")  # U is read as T first when rna
# preprocessing.json layout; 1 (no "format" key) lacks train_lengths, 2 adds both, 3 is a
# seed ensemble (save_ensemble; single models stay 2, which older versions read). Bump it
# when a key that predict needs is added or changes meaning.
FORMAT = 3
MODEL_FORMAT, ENSEMBLE_FORMAT = 2, 3  # what save_bundle and save_ensemble write
DEEP_KINDS = ("deep", "ensemble")  # the kinds scored through Keras


def fingerprint(onehot, targets, idx=None):
    """SHA-256 (first 16 hex digits) of the training rows of ``onehot`` and ``targets``."""
    h = hashlib.sha256()
    rows = np.arange(len(onehot)) if idx is None else np.sort(np.asarray(idx))
    for start in range(0, len(rows), 4096):  # chunked: works on memory-mapped arrays
        r = rows[start:start + 4096]
        h.update(take(onehot, r).tobytes())  # a mapped file's pages are let go
        h.update(np.ascontiguousarray(np.asarray(targets)[r], dtype=np.float32).tobytes())
    return h.hexdigest()[:16]


def training_lengths(lengths):
    """``{"min", "median", "max"}`` of the training sequences' lengths (nt, before padding or
    trimming), as recorded in ``preprocessing.json`` under ``train_lengths``."""
    if not len(lengths):
        raise ValueError("training_lengths needs the lengths of the training sequences")
    return length_summary(lengths)


def preprocessing_record(encoding, *, model, seed=None, rc_average=True, fingerprint=None,
                         params=None, kind="deep", train_lengths=None):
    """The ``preprocessing.json`` dict for a model trained on data encoded as ``encoding``.

    ``train_lengths`` ((n,) int, the training sequences' lengths in nt) is recorded as its
    range, against which ``predict_fasta`` checks new sequences.
    """
    missing = [k for k in ENCODING_KEYS if k not in encoding]
    if missing:
        raise ValueError(f"encoding lacks {missing}; pass the run folder's encoding.json")
    rec = {k: encoding[k] for k in ENCODING_KEYS}
    rec.update(format=MODEL_FORMAT, kind=kind, model=model, seed=seed,
               rc_average=bool(rc_average),
               target_inverse=transforms.has_inverse(encoding["target_transform"]),
               training_fingerprint=fingerprint, params=params or {},
               train_lengths=None if train_lengths is None else training_lengths(train_lengths))
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


def save_ensemble(member_dirs, out_dir):
    """Gather seed models of one deep model into one folder that scores with their mean.

    Each member folder is copied whole into ``out_dir/members/seed{seed}/``, so the ensemble
    folder can be moved or shared alone (it is built beside ``out_dir`` and then put in its
    place, replacing an earlier one whole); ``preprocessing.json`` records ``kind: "ensemble"``,
    the members and the shared encoding. Members must share the model, its settings, the
    encoding and the training data (their fingerprint): they differ only in their seed.
    """
    dirs = [Path(d) for d in member_dirs]
    if not dirs:
        raise ValueError("save_ensemble needs at least one member model folder")
    preps = [_read_preprocessing(d) for d in dirs]
    for d, p in zip(dirs, preps):
        if p.get("kind", "deep") != "deep":
            raise ValueError(f"{d} holds a {p.get('kind')} model; an ensemble gathers seeds of "
                             "one deep model")
        for key in (*ENCODING_KEYS, "model", "params", "rc_average", "training_fingerprint"):
            if p.get(key) != preps[0].get(key):
                raise ValueError(f"{d} differs from {dirs[0]} in {key!r}: an ensemble gathers "
                                 "seeds of one model trained on the same data")
    seeds = [p.get("seed") for p in preps]
    if len(set(map(str, seeds))) < len(seeds):
        raise ValueError(f"two members share a seed ({seeds}); pass each seed's folder once")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not (
            (out / PREPROCESSING).exists() and _read_preprocessing(out).get("kind") == "ensemble"):
        raise ValueError(f"{out.resolve()} holds files that are not a seed ensemble; give a new "
                         "or empty folder (an earlier ensemble there is replaced)")
    tmp = out.with_name(f".{out.name}.partial")  # built aside, then put in place
    shutil.rmtree(tmp, ignore_errors=True)
    members = []
    for d, seed in zip(dirs, seeds):
        folder = f"members/seed{seed}"
        shutil.copytree(d, tmp / folder, ignore=shutil.ignore_patterns("checkpoint", ".*"))
        members.append(dict(folder=folder, seed=seed))
    lengths = [p["train_lengths"] for p in preps if p.get("train_lengths")]
    rec = {k: v for k, v in preps[0].items() if k not in ("train_seconds", "best_epoch")}
    rec.update(format=ENSEMBLE_FORMAT, kind="ensemble", seed=seeds, members=members,
               train_lengths=lengths[0] if len(lengths) == len(preps) else None)
    write_json(tmp / PREPROCESSING, rec)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


class Bundle:
    """A loaded model, or a seed ensemble of models, with its preprocessing.

    Attributes
    ----------
    models : list of keras.Model, or [seqexpr.baselines.KmerModel]
        One model, or the members of an ensemble (``kind: "ensemble"``), whose mean is the
        prediction.
    preprocessing : dict
        The folder's ``preprocessing.json``.
    path : pathlib.Path
    """

    def __init__(self, models, preprocessing, path):
        self.models, self.preprocessing, self.path = list(models), preprocessing, Path(path)
        self._averaged = None  # keras_model()'s averaging wrapper, built once

    @property
    def model(self):
        """The one model of a single-model folder (an ensemble has ``models``)."""
        if len(self.models) != 1:
            raise TypeError(f"{self.path} holds an ensemble of {len(self.models)} models; use "
                            ".models, or predict(), which averages them")
        return self.models[0]

    def describe(self):
        """One line naming the model and its seeds, e.g. for the terminal."""
        p = self.preprocessing
        if p.get("kind") == "ensemble":
            what = f" (seed ensemble of {len(self.models)}: seeds {', '.join(map(str, p['seed']))})"
        else:
            what = "" if p.get("seed") is None else f" (seed {p['seed']})"
        return f"model {p.get('model')}{what} from {self.path}"

    @property
    def targets(self):
        return list(self.preprocessing["targets"])

    @property
    def is_deep(self):
        return is_deep(self.preprocessing)

    def predict(self, x, *, rc_average=None, batch_size=256, members=False):
        """Predict ``(n, T) float32`` (modelled scale) from one-hot ``(n, L, 4) float32``: the
        mean over an ensemble's members, or with ``members`` each one's, ``(S, n, T)``.

        ``rc_average`` defaults to the recorded setting (mean over both strands).
        """
        x = np.asarray(x, dtype=np.float32)
        if not self.is_deep:
            y = self.model.predict([s.replace("N", "") for s in decode(x > 0)])
            return y[None] if members else y
        length = self.preprocessing["length"]
        if x.ndim != 3 or x.shape[1:] != (length, 4):
            raise ValueError(f"{self.path}: input must be (n, {length}, 4) float32, got "
                             f"{x.shape}; use predict_sequences for raw sequences")
        from seqexpr.predict import predict_float

        rc = self.preprocessing.get("rc_average", True) if rc_average is None else rc_average
        y = np.stack([predict_float(m, x, rc_average=rc, batch_size=batch_size)
                      for m in self.models])
        return y if members else y.mean(0)

    def input(self, onehot, mask=None):
        """The model's input for encoded sequences: ``(n, L, 4) float32`` from 03_encode's
        uint8 one-hot and mask, with unknown bases filled as in training (added flanks are
        kept: the model saw them)."""
        return to_float(onehot, mask, unknown=self.preprocessing.get("unknown", 0.0))

    def keras_model(self):
        """The network with this folder's averaging built in: the mean of an ensemble's
        members, and for models trained on both strands the mean of both
        (``models.with_rc_average``); a single one-strand model is returned as is.
        Attributions and in-silico effects go through this, so that they explain what
        ``predict`` reports."""
        if not self.is_deep:
            raise TypeError(f"{self.path} holds a k-mer baseline, not a Keras model")
        rc = self.preprocessing.get("rc_average", True)
        if len(self.models) == 1 and not rc:
            return self.models[0]
        if self._averaged is None:
            from seqexpr.models import with_member_average, with_rc_average

            net = with_member_average(self.models) if len(self.models) > 1 else self.models[0]
            self._averaged = with_rc_average(net) if rc else net
        return self._averaged

    def encode(self, seqs, ids=None):
        """Encode raw sequences exactly as recorded: ``(n, L, 4) float32``; checks each one."""
        seqs = check_sequences(seqs, self.preprocessing, ids=ids)
        p = self.preprocessing
        onehot, mask = encode(seqs, length=p["length"], pad=p["pad"], trim=p["trim"],
                              flank_left=p["flank_left"], flank_right=p["flank_right"])
        return to_float(onehot, mask, unknown=p["unknown"])

    def predict_sequences(self, seqs, *, ids=None, batch_size=256, members=False):
        """Predict ``(n, T) float32`` on the modelled scale for raw DNA/RNA strings (with
        ``members``, each ensemble member's: ``(S, n, T)``)."""
        if not self.is_deep:
            y = self.model.predict(check_sequences(seqs, self.preprocessing, ids=ids))
            return y[None] if members else y
        out = [self.predict(self.encode(seqs[i:i + 4096], None if ids is None
                                        else ids[i:i + 4096]), batch_size=batch_size,
                            members=True)
               for i in range(0, len(seqs), 4096)]
        y = (np.concatenate(out, axis=1) if out
             else np.zeros((len(self.models), 0, len(self.targets)), np.float32))
        return y if members else y.mean(0)

    def inverse(self, y):
        """Map ``(..., T)`` predictions from the modelled scale back to the measured scale."""
        return transforms.inverse(self.preprocessing["target_transform"], y)


def is_deep(preprocessing):
    """Whether a ``preprocessing.json`` describes a Keras model or a seed ensemble of them."""
    return preprocessing.get("kind", "deep") in DEEP_KINDS


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


def _read_preprocessing(d):
    """``d/preprocessing.json`` as a dict; raise saying what ``d`` is when it is no model
    folder, or when its file is damaged, too new or too old to score with."""
    example = "such as reports/demo/models/se_cnn (the seed ensemble) or models/se_cnn@0"
    if not d.exists():
        raise FileNotFoundError(f"model folder not found: {d.resolve()}; pass a model folder "
                                f"{example}")
    if d.is_file():
        hint = (f"the folder that holds it: {d.resolve().parent}"
                if (d.parent / PREPROCESSING).exists() else f"a model folder {example}")
        raise FileNotFoundError(f"{d.resolve()} is a file, not a model folder; pass {hint}")
    path = d / PREPROCESSING
    if not path.exists():
        models = sorted(str(m) for m in (d / "models").glob(f"*/{PREPROCESSING}"))
        if models:
            raise FileNotFoundError(
                f"{d.resolve()} is a run folder, not a model folder; pass one of its models: "
                + ", ".join(str(Path(m).parent) for m in models))
        raise FileNotFoundError(f"{d.resolve()} holds no {PREPROCESSING}: pass a model folder "
                                f"{example}")
    damaged = "the model folder is damaged: copy it again or retrain (rerun 04_model)"
    try:
        prep = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg}); {damaged}") \
            from None
    if not isinstance(prep, dict):
        raise ValueError(f"{path} holds a JSON {type(prep).__name__}, not an object; {damaged}")
    fmt = prep.get("format", 1)
    if not isinstance(fmt, int) or fmt > FORMAT:
        raise ValueError(f"{path} is format {fmt!r}, written by a newer seqexpr; this one reads "
                         f"formats 1 to {FORMAT}: upgrade seqexpr to score with this model")
    needed = ("targets", "target_transform") + (
        ("length", "pad", "trim", "unknown", "flank_left", "flank_right")
        if is_deep(prep) else ())
    missing = [k for k in needed if k not in prep]
    if missing:
        raise ValueError(f"{path} lacks {missing}: written by an older seqexpr or edited by "
                         "hand; retrain the model (rerun 04_model) to score with it")
    return prep


def load_bundle(model_dir):
    """Load a model folder written by 04_model (deep, seed ensemble or baseline) as a
    ``Bundle``.

    Folders of every format up to :data:`FORMAT` load; a newer one is refused.
    """
    d = Path(model_dir)
    prep = _read_preprocessing(d)
    if prep.get("kind") == "ensemble":
        members = prep.get("members") or []
        lost = [m["folder"] for m in members if not (d / m["folder"] / PREPROCESSING).exists()]
        if not members or lost:
            raise FileNotFoundError(f"{d.resolve()} is a seed ensemble but lacks its member "
                                    f"folder(s) {lost or 'members/'}; copy the whole folder")
        nets = [load_bundle(d / member["folder"]).model for member in members]
        for net, member in zip(nets, members):  # distinct names: keras_model() joins them
            net.name = f"{net.name}_seed{member['seed']}"
        return Bundle(nets, prep, d)
    if (d / "model.keras").exists():
        import seqexpr.models  # noqa: F401  registers the custom layers
        from seqexpr._backend import keras

        model = keras.saving.load_model(d / "model.keras", compile=False, safe_mode=True)
    elif (d / "model.joblib").exists():
        model, _ = baselines.load(d)
    else:
        raise FileNotFoundError(f"{d.resolve()} holds neither model.keras nor model.joblib")
    return Bundle([model], prep, d)
