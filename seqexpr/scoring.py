"""Score new sequences with a saved model folder: ``python -m seqexpr predict``.

``predict_fasta`` encodes a FASTA exactly as in training (the folder's ``preprocessing.json``)
and writes one row per record; ``flag_sequences`` says, per sequence, how it lies outside the
training data (length, N content), so that an extrapolation is labelled rather than refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seqexpr.bundle import check_sequences, is_deep, load_bundle
from seqexpr.encode import MAX_UNKNOWN
from seqexpr.io import read_fasta
from seqexpr.jsonio import write_csv

# how each note of predict's flag column starts (the 2nd and 4th: deep folders without
# train_lengths, such as format 1, checked against the input length)
FLAG_KINDS = ("shorter than training", "shorter than the model input", "longer than training",
              "longer than the model input", "N-rich")


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
    p, deep = preprocessing, is_deep(preprocessing)
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


def check_output(out_csv):
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
    applied; only if the transform has an inverse), ``{target}_modelled`` (the scale the
    model was trained on) and, for a seed ensemble, ``{target}_sd`` (the members' SD on the
    modelled scale: how far the seeds disagree), then ``flag``: empty, or why the sequence
    lies outside the training data (:func:`flag_sequences`: length outside the training
    range, with what padding or trimming did; more than ``max_unknown`` N). Flagged sequences are scored, so every record
    gets a row; with ``strict`` any flag refuses the whole file instead, naming the records.
    An empty record or a character that is not IUPAC DNA always refuses it. Returns the table.
    """
    out_csv = check_output(out_csv)
    b = load_bundle(model_dir)
    p = b.preprocessing
    recs = read_fasta(fasta, rna=bool(p.get("rna")))
    print(f"read {len(recs)} sequences from {fasta}; {b.describe()}")
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
    ys = b.predict_sequences(seqs, ids=labels, batch_size=batch_size, members=True)
    y = ys.mean(0)
    out = pd.DataFrame({"id": recs["id"].to_numpy()})
    original = b.inverse(y) if p.get("target_inverse", True) else None
    for j, t in enumerate(b.targets):
        if original is not None:
            out[t] = original[:, j]
        out[f"{t}_modelled"] = y[:, j]
        if len(ys) > 1:
            out[f"{t}_sd"] = ys[:, :, j].std(0, ddof=1)
    out["flag"] = flags
    write_csv(out_csv, out, index=False)
    print(f"wrote {len(out)} predictions for {', '.join(b.targets)} to {out_csv}")
    print(flag_summary(flags, out_csv))
    return out
