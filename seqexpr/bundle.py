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

PREPROCESSING = "preprocessing.json"
ENCODING_KEYS = ("length", "pad", "trim", "unknown", "flank_left", "flank_right", "alphabet",
                 "rna", "targets", "target_transform")
_VALID = re.compile(r"[^ACGTNRYSWKMBDHV]")  # IUPAC DNA; U is read as T first when rna


def fingerprint(onehot, targets, idx=None):
    """SHA-256 (first 16 hex digits) of the training rows of ``onehot`` and ``targets``."""
    h = hashlib.sha256()
    rows = np.arange(len(onehot)) if idx is None else np.sort(np.asarray(idx))
    for start in range(0, len(rows), 4096):  # chunked: works on memory-mapped arrays
        r = rows[start:start + 4096]
        h.update(np.ascontiguousarray(onehot[r]).tobytes())
        h.update(np.ascontiguousarray(np.asarray(targets)[r], dtype=np.float32).tobytes())
    return h.hexdigest()[:16]


def _has_inverse(spec):
    from seqexpr import transforms

    try:
        out = transforms.inverse(spec, np.zeros((1, len(spec.get("columns", [0])))))
        return bool(np.isfinite(out).all())
    except (ValueError, KeyError, TypeError):
        return False


def preprocessing_record(encoding, *, model, seed=None, rc_average=True, fingerprint=None,
                         params=None, kind="deep"):
    """The ``preprocessing.json`` dict for a model trained on data encoded as ``encoding``."""
    missing = [k for k in ENCODING_KEYS if k not in encoding]
    if missing:
        raise ValueError(f"encoding lacks {missing}; pass the run folder's encoding.json")
    rec = {k: encoding[k] for k in ENCODING_KEYS}
    rec.update(kind=kind, model=model, seed=seed, rc_average=bool(rc_average),
               target_inverse=_has_inverse(encoding["target_transform"]),
               training_fingerprint=fingerprint, params=params or {})
    return rec


def save_bundle(model, out_dir, preprocessing):
    """Write a deep ``model`` as ``model.keras`` and ``preprocessing`` as JSON in ``out_dir``."""
    from seqexpr.runfolder import write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
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
            from seqexpr.encode import decode

            return self.model.predict([s.replace("N", "") for s in decode(x > 0)])
        length = self.preprocessing["length"]
        if x.ndim != 3 or x.shape[1:] != (length, 4):
            raise ValueError(f"{self.path}: input must be (n, {length}, 4) float32, got "
                             f"{x.shape}; use predict_sequences for raw sequences")
        from seqexpr.train import predict_float

        rc = self.preprocessing.get("rc_average", True) if rc_average is None else rc_average
        return predict_float(self.model, x, rc_average=rc, batch_size=batch_size)

    def encode(self, seqs, ids=None):
        """Encode raw sequences exactly as recorded: ``(n, L, 4) float32``; checks each one."""
        seqs = check_sequences(seqs, self.preprocessing, ids=ids)
        from seqexpr.encode import encode, to_float

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
        from seqexpr import transforms

        return transforms.inverse(self.preprocessing["target_transform"], y)


def check_sequences(seqs, preprocessing, *, ids=None):
    """Upper-case (and U->T for RNA) sequences; raise naming the first that cannot be encoded.

    ``ids`` (optional, one label per sequence) names the offending record in the error.
    """
    seqs = [str(s).upper() for s in seqs]
    if preprocessing.get("rna"):
        seqs = [s.replace("U", "T") for s in seqs]
    for i, s in enumerate(seqs):
        bad = _VALID.search(s)
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
        from seqexpr import baselines

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
    from seqexpr.io import read_fasta

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


# -- 04_model outputs: predictions.csv, metrics.json, history.csv -------------------------
def write_model_outputs(run_dir, data, deep, baselines):
    """Write predictions.csv, metrics.json and history.csv for 04_model; returns metrics.

    Parameters
    ----------
    run_dir : path
    data : dict from ``seqexpr.train.load_run``
    deep : list of dict from ``seqexpr.train.train_deep`` (any models and seeds)
    baselines : list of dict from ``seqexpr.baselines.train_baselines``

    Deep models get one column per seed (``cnn@0``) and one for the mean over seeds
    (``cnn``). ``best_deep_model`` (one seed, the model attributions explain) and
    ``best_baseline`` are chosen on validation Pearson (mean over targets), never on test;
    ``deep_ensemble`` is the seed mean of the best deep model's builder, the deep model's
    headline prediction (averaging seeds beat single seeds on the accuracy panel).
    """
    from seqexpr import runfolder as rf
    from seqexpr.bootstrap import regression_metrics

    cols, info = {}, {}
    for r in baselines:
        cols[r["column"]] = r["pred"]
        info[r["column"]] = dict(kind="baseline", path=_rel(r["path"], run_dir),
                                 params=r["params"], seed=r["seed"],
                                 train_seconds=r["seconds"])
    by_name = {}
    for r in deep:
        cols[r["column"]] = r["pred"]
        info[r["column"]] = dict(kind="deep", path=_rel(r["path"], run_dir), params=r["params"],
                                 seed=r["seed"], train_seconds=r["seconds"])
        by_name.setdefault(r["name"], []).append(r)
    for name, rs in by_name.items():
        cols[name] = np.mean([r["pred"] for r in rs], axis=0)
        info[name] = dict(kind="deep", path=[_rel(r["path"], run_dir) for r in rs],
                          params=rs[0]["params"], seed=[r["seed"] for r in rs],
                          train_seconds=float(np.sum([r["seconds"] or 0 for r in rs])),
                          seed_mean_of=[r["column"] for r in rs])
    y, names, split = data["targets"], data["target_names"], data["split"]
    frames = []
    for j, t in enumerate(names):
        f = pd.DataFrame({"id": data["ids"], "split": split, "target": t, "observed": y[:, j]})
        for c, p in cols.items():
            f[c] = p[:, j]
        frames.append(f)
    pred = pd.concat(frames, ignore_index=True)
    test, valid = {}, {}
    for t, g in pred.groupby("target", sort=False):
        for part, store in (("test", test), ("valid", valid)):
            gs = g[g["split"] == part]
            store[t] = {c: regression_metrics(gs["observed"], gs[c]) for c in cols}

    def best(kind, single):
        cands = [c for c, m in info.items() if m["kind"] == kind
                 and (not single or not isinstance(m["seed"], list))]
        score = {c: np.nanmean([valid[t][c]["pearson"] for t in names]) for c in cands}
        score = {c: v for c, v in score.items() if np.isfinite(v)}
        return max(score, key=score.get) if score else None

    # written afresh: a rerun of 04 makes any earlier 05_evaluate section stale
    best_deep = best("deep", True)
    ensemble = best_deep.split("@")[0] if best_deep else None
    metrics = dict(test=test, valid=valid, models=info, best_deep_model=best_deep,
                   deep_ensemble=ensemble if ensemble in cols else best_deep,
                   best_baseline=best("baseline", True), noise_ceiling=data["noise_ceiling"],
                   targets=names)
    pred.to_csv(rf.run_path(run_dir, rf.PREDICTIONS), index=False, float_format="%.6g")
    rf.write_json(rf.run_path(run_dir, rf.METRICS), metrics)
    hist = [r["history"] for r in deep]
    hist = (pd.concat(hist, ignore_index=True) if hist else pd.DataFrame())
    hist.reindex(columns=["model", "seed", "epoch", "loss", "val_loss", "lr"]).to_csv(
        rf.run_path(run_dir, rf.HISTORY), index=False)
    return metrics


def _rel(path, run_dir):
    try:
        return str(Path(path).resolve().relative_to(Path(run_dir).resolve()))
    except ValueError:
        return str(path)


def metrics_table(metrics, *, split="test"):
    """Long table of ``metrics[split]``: one row per (target, model) with its metrics."""
    rows = [dict(target=t, model=c, kind=metrics["models"].get(c, {}).get("kind"), **m)
            for t, per in metrics[split].items() for c, m in per.items()]
    return pd.DataFrame(rows)


def seed_summary(metrics, *, split="test"):
    """Deep models over seeds: mean and SD of each test metric of the single-seed columns."""
    tab = metrics_table(metrics, split=split)
    one = tab[tab["model"].str.contains("@")].copy()
    if one.empty:
        return pd.DataFrame()
    one["model"] = one["model"].str.split("@").str[0]
    agg = one.groupby(["target", "model"])[["pearson", "spearman", "r2", "rmse"]].agg(
        ["mean", "std", "count"])
    agg.columns = [f"{a}_{b}" for a, b in agg.columns]
    return agg.reset_index()


def comparison(metrics):
    """Per target: the deep ensemble vs the best baseline on test Pearson, the best single
    seed, and the noise ceiling."""
    rows = []
    deep = metrics.get("deep_ensemble") or metrics.get("best_deep_model")
    base = metrics.get("best_baseline")
    ceiling = metrics.get("noise_ceiling")
    for t, per in metrics["test"].items():
        single = metrics.get("best_deep_model")
        row = dict(target=t, deep_model=deep,
                   deep_pearson=per[deep]["pearson"] if deep else np.nan,
                   best_single_seed=single,
                   single_seed_pearson=per[single]["pearson"] if single in per else np.nan,
                   best_baseline=base, baseline_pearson=per[base]["pearson"] if base else np.nan,
                   noise_ceiling=ceiling)
        row["deep_minus_baseline"] = row["deep_pearson"] - row["baseline_pearson"]
        row["fraction_of_ceiling"] = (row["deep_pearson"] / ceiling) if ceiling else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
