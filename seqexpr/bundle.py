"""Saved models that carry their preprocessing: save, load, predict raw sequences or a FASTA.

A model folder holds the model (``model.keras`` for deep models, ``model.joblib`` for k-mer
baselines) and ``preprocessing.json``: everything needed to turn raw sequences into model
input exactly as in training (length, padding, trimming, flanks, unknown-base value,
alphabet, RNA), the targets with their transform, whether to average both strands, and the
model's name, seed and training-data fingerprint, the range of training lengths and the
file's ``format``. ``predict_fasta`` therefore scores a FASTA with no setting repeated, and
flags each sequence that lies outside what the model was trained on (:func:`flag_sequences`).
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
from seqexpr.encode import MAX_UNKNOWN, decode, encode, length_summary, to_float
from seqexpr.io import read_fasta
from seqexpr.jsonio import atomic, write_csv, write_json

PREPROCESSING = "preprocessing.json"
ENCODING_KEYS = ("length", "pad", "trim", "unknown", "flank_left", "flank_right", "alphabet",
                 "rna", "targets", "target_transform")
_INVALID = re.compile(f"[^{IUPAC_DNA}]")  # U is read as T first when rna
# preprocessing.json layout; 1 (no "format" key) lacks train_lengths, 2 adds both. Bump it
# when a key that predict needs is added or changes meaning.
FORMAT = 2
# how each note of predict's flag column starts (the 2nd and 4th: deep folders without
# train_lengths, such as format 1, checked against the input length)
FLAG_KINDS = ("shorter than training", "shorter than the model input", "longer than training",
              "longer than the model input", "N-rich")


def fingerprint(onehot, targets, idx=None):
    """SHA-256 (first 16 hex digits) of the training rows of ``onehot`` and ``targets``."""
    h = hashlib.sha256()
    rows = np.arange(len(onehot)) if idx is None else np.sort(np.asarray(idx))
    for start in range(0, len(rows), 4096):  # chunked: works on memory-mapped arrays
        r = rows[start:start + 4096]
        h.update(np.ascontiguousarray(onehot[r]).tobytes())
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
    rec.update(format=FORMAT, kind=kind, model=model, seed=seed, rc_average=bool(rc_average),
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


def flag_sequences(seqs, preprocessing, *, max_unknown=MAX_UNKNOWN):
    """One note per sequence saying how it lies outside the training data ('' when it does not).

    A sequence is flagged when its length is outside the recorded training range
    (``train_lengths``; a deep model folder without it, format 1, is checked against its input
    ``length`` instead, a k-mer one not at all), saying what encoding does to it (padded, or
    trimmed at the recorded end), and when more than ``max_unknown`` of its bases are N or
    another non-ACGT code. Flagged sequences are still scored: the model's output for them
    is an extrapolation, which the note tells.

    Parameters
    ----------
    seqs : sequence of str
        Checked, upper-case DNA (:func:`check_sequences`).
    preprocessing : dict
        The model folder's ``preprocessing.json``.
    max_unknown : float
        Largest fraction of N / non-ACGT bases not flagged.

    Returns
    -------
    list of str
        Notes joined by ``"; "``, each starting with one of :data:`FLAG_KINDS`.
    """
    p, deep = preprocessing, preprocessing.get("kind", "deep") == "deep"
    rng = p.get("train_lengths")
    if rng:
        lo, hi, short, long = rng["min"], rng["max"], FLAG_KINDS[0], FLAG_KINDS[2]
        span = f"{lo} nt" if lo == hi else f"{lo}-{hi} nt"
    elif deep:  # no training lengths recorded (format 1): only the input length is known
        lo = hi = p["length"]
        short, long, span = FLAG_KINDS[1], FLAG_KINDS[3], f"{lo} nt"
    else:
        lo, hi = 0, np.inf
    flags = []
    for s in seqs:
        n, notes = len(s), []
        if n < lo or n > hi:
            fate = _fate(n, p) if deep else "k-mer counts outside the training range"
            notes.append(f"{short if n < lo else long} ({n} nt vs {span}): {fate}")
        unknown = 1 - sum(map(s.count, "ACGT")) / max(n, 1)
        if unknown > max_unknown:
            notes.append(f"{FLAG_KINDS[4]} ({unknown:.0%} N or other non-ACGT)")
        flags.append("; ".join(notes))
    return flags


_PAD_SIDE = {"right": "on the right", "left": "on the left", "center": "on both sides"}
_TRIM_END = {"right": "right end cut", "left": "left end cut", "center": "both ends cut"}


def _fate(n, p):
    """What encoding does to a sequence of ``n`` nt, in words."""
    if n < p["length"]:
        return f"padded to {p['length']} nt {_PAD_SIDE[p['pad']]}"
    if n > p["length"]:
        return f"trimmed to {p['length']} nt ({_TRIM_END[p['trim']]})"
    return "scored as is"


def flag_summary(flags, where=None):
    """One line for the terminal: how many sequences were flagged, per kind, and ``where``
    (the output file) to read the notes."""
    n_flagged = sum(bool(f) for f in flags)
    if not n_flagged:
        return f"none of the {len(flags)} sequences flagged"
    notes = [note for f in flags if f for note in f.split("; ")]
    counts = [f"{sum(x.startswith(k) for x in notes)} {k}" for k in FLAG_KINDS
              if any(x.startswith(k) for x in notes)]
    line = f"{n_flagged} of {len(flags)} sequences flagged ({', '.join(counts)})"
    return line if where is None else f"{line}; see the flag column of {where}"


def _read_preprocessing(d):
    """``d/preprocessing.json`` as a dict; raise saying what ``d`` is when it is no model
    folder, or when its file is damaged, too new or too old to score with."""
    example = "such as reports/demo/models/se_cnn@0"
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
        if prep.get("kind", "deep") == "deep" else ())
    missing = [k for k in needed if k not in prep]
    if missing:
        raise ValueError(f"{path} lacks {missing}: written by an older seqexpr or edited by "
                         "hand; retrain the model (rerun 04_model) to score with it")
    return prep


def load_bundle(model_dir):
    """Load a model folder written by 04_model (deep or baseline); returns a ``Bundle``.

    Folders of every format up to :data:`FORMAT` load; a newer one is refused.
    """
    d = Path(model_dir)
    prep = _read_preprocessing(d)
    if (d / "model.keras").exists():
        import seqexpr.models  # noqa: F401  registers the custom layers
        from seqexpr._backend import keras

        model = keras.saving.load_model(d / "model.keras", compile=False, safe_mode=True)
    elif (d / "model.joblib").exists():
        model, _ = baselines.load(d)
    else:
        raise FileNotFoundError(f"{d.resolve()} holds neither model.keras nor model.joblib")
    return Bundle(model, prep, d)


def _check_output(out_csv):
    """Refuse an output path that is a folder or lies in a folder that does not exist."""
    out = Path(out_csv)
    if out.is_dir():
        raise ValueError(f"output {out.resolve()} is a folder; give a .csv file path, e.g. "
                         f"{out / 'predictions.csv'}")
    if not out.resolve().parent.is_dir():
        raise ValueError(f"output {out}: folder {out.resolve().parent} does not exist; create "
                         "it or give a .csv file path in an existing folder")
    return out


def predict_fasta(model_dir, fasta, out_csv, *, batch_size=256, strict=False,
                  max_unknown=MAX_UNKNOWN):
    """Score every record of ``fasta`` with the model in ``model_dir``; write a CSV.

    The CSV has ``id``, then per target ``{target}`` (original scale, inverse transform
    applied; only if the transform has an inverse) and ``{target}_modelled`` (the scale the
    model was trained on), then ``flag``: empty, or why the sequence lies outside the training
    data (:func:`flag_sequences`: length outside the training range, with what padding or
    trimming did; more than ``max_unknown`` N). Flagged sequences are scored, so every record
    gets a row; with ``strict`` any flag refuses the whole file instead, naming the records.
    An empty record or a character that is not IUPAC DNA always refuses it. Returns the table.
    """
    out_csv = _check_output(out_csv)
    b = load_bundle(model_dir)
    p = b.preprocessing
    recs = read_fasta(fasta, rna=bool(p.get("rna")))
    print(f"read {len(recs)} sequences from {fasta}; model {p.get('model')} "
          f"(seed {p.get('seed')}) from {b.path}")
    if b.is_deep:
        print(f"encoding to {p['length']} nt (pad {p['pad']}, trim {p['trim']}, "
              f"unknown {p['unknown']}); {'averaging both strands' if p.get('rc_average') else 'forward strand only'}")
    elif not p.get("train_lengths"):
        print(f"{b.path} records no training lengths (saved before format 2): lengths are not "
              "checked; refit the model (rerun 04_model) to record them")
    labels = [f"{Path(fasta).name} line {ln}, record {i!r}"
              for i, ln in zip(recs["id"], recs["line"])]
    seqs = check_sequences(list(recs["sequence"]), p, ids=labels)
    flags = flag_sequences(seqs, p, max_unknown=max_unknown)
    if strict and any(flags):
        shown = [f"{lab}: {f}" for lab, f in zip(labels, flags) if f]
        raise ValueError(f"{flag_summary(flags)} and strict mode refuses them: "
                         f"{'; '.join(shown[:3])}{' ...' if len(shown) > 3 else ''}. "
                         "Drop them, or leave out --strict "
                         "(strict=False) to score them with a flag column.")
    y = b.predict_sequences(seqs, ids=labels, batch_size=batch_size)
    out = pd.DataFrame({"id": recs["id"].to_numpy()})
    original = b.inverse(y) if p.get("target_inverse", True) else None
    for j, t in enumerate(b.targets):
        if original is not None:
            out[t] = original[:, j]
        out[f"{t}_modelled"] = y[:, j]
    out["flag"] = flags
    write_csv(out_csv, out, index=False)
    print(f"wrote {len(out)} predictions for {', '.join(b.targets)} to {out_csv}")
    print(flag_summary(flags, out_csv))
    return out
