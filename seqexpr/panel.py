"""The accuracy panel: deep models against the k-mer baselines on many datasets at once.

A default chosen on one dataset is not a default. The panel holds the three real datasets of
``../shared/datasets`` and synthetic sets from :func:`seqexpr.demo.make_demo` made unlike the
demo on purpose (other motifs and counts, 100 to 1,000 nt, 3k to 50k sequences, several noise
levels, position and spacing rules, a repressor-heavy grammar). Each dataset goes through the
same steps as a run (load checks, the suggested target transform, one-hot, a leak-aware
split); then the k-mer baselines and a seed ensemble of a deep model are fitted on train,
stopped on valid and scored once on test, with a paired bootstrap of the ensemble against the
best baseline. Two datasets are marked ``held_out``: they are kept out of any tuning of the
defaults and reported apart, as a check on the tuning itself.

``benchmarks/bench_accuracy.py`` is the command-line front end (``make bench-accuracy``).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# -- the datasets ------------------------------------------------------------------------------
_M = {  # JASPAR 2026 matrices for the synthetic grammars (none of them is in the demo)
    "CTCF": "MA0139.2", "SP1": "MA0079.5", "CREB1": "MA0018.5", "YY1": "MA0095.4",
    "NRF1": "MA0506.3", "TP53": "MA0106.3", "HNF4A": "MA0114.5", "FOXA1": "MA0148.5",
    "CEBPB": "MA0466.4", "NFYA": "MA0060.4", "IRF1": "MA0050.4", "TEAD1": "MA0090.4",
    "SOX2": "MA0143.5", "E2F1": "MA0024.3", "SRF": "MA0083.3", "NFKB1": "MA0105.4",
    "MEF2A": "MA0052.5",
}


def _motif(name, effect, *, presence=0.3, window=None, thr=0.75, plant=0.85):
    return dict(name=name, jaspar_id=_M[name], effect=effect,
                role="activator" if effect > 0 else "repressor", window=window,
                presence=presence, thr=thr, plant=plant)


SYNTHETIC = {
    # eight motifs of small effect in 300 nt: many weak signals, moderate noise
    "syn_many_weak": dict(n=12000, length=300, noise_ceiling=0.85, seed=101, motifs=[
        _motif("CTCF", 0.5), _motif("SP1", 0.4), _motif("CREB1", 0.35), _motif("NRF1", 0.45),
        _motif("FOXA1", 0.3), _motif("CEBPB", 0.4), _motif("YY1", -0.4), _motif("IRF1", 0.3)],
        pairs=[], gc_effect=1.0),
    # few data, short sequences: where boosted trees are at home
    "syn_small_short": dict(n=3000, length=100, noise_ceiling=0.90, seed=102, motifs=[
        _motif("NFYA", 1.0), _motif("TEAD1", 0.8), _motif("SOX2", -0.7), _motif("E2F1", 0.6)],
        pairs=[dict(a="NFYA", b="TEAD1", interaction=0.6)], gc_effect=2.0),
    # position and spacing: two windowed motifs and a pair that works only when close
    "syn_position_spacing": dict(n=10000, length=200, noise_ceiling=0.90, seed=103, motifs=[
        _motif("SRF", 1.2, window=(0.10, 0.30), thr=0.8, plant=0.85),
        _motif("MEF2A", 0.9, window=(0.60, 0.85)), _motif("CREB1", 0.5),
        _motif("FOXA1", 0.4), _motif("HNF4A", 0.5)],
        pairs=[dict(a="FOXA1", b="HNF4A", interaction=1.0, max_spacing=25)], gc_effect=0.5),
    # long sequences, few of them, diminishing returns per extra site
    "syn_long": dict(n=4000, length=1000, noise_ceiling=0.85, seed=104, motifs=[
        _motif("CTCF", 0.8, presence=0.4), _motif("NFKB1", 0.9, presence=0.4),
        _motif("TP53", 1.0, presence=0.3), _motif("YY1", -0.6, presence=0.4)],
        pairs=[dict(a="NFKB1", b="TP53", interaction=0.7)], copy_decay=0.6, gc_effect=1.5),
    # many sequences, short, noisy (replicates agree poorly)
    "syn_large_noisy": dict(n=50000, length=100, noise_ceiling=0.60, seed=105, motifs=[
        _motif("IRF1", 0.9), _motif("CEBPB", 0.7), _motif("SP1", 0.6), _motif("E2F1", -0.5),
        _motif("SOX2", 0.5), _motif("NRF1", 0.6)],
        pairs=[dict(a="IRF1", b="CEBPB", interaction=0.5)], gc_effect=1.0),
    # repressors dominate: expression is set by what is absent
    "syn_repressor_heavy": dict(n=8000, length=250, noise_ceiling=0.88, seed=106, motifs=[
        _motif("YY1", -0.8, presence=0.35), _motif("SOX2", -0.6, presence=0.35),
        _motif("TP53", -1.0, presence=0.3), _motif("E2F1", -0.5, presence=0.35),
        _motif("TEAD1", 0.7)],
        pairs=[dict(a="YY1", b="TP53", interaction=-0.6)], gc_effect=0.5),
}

REAL = {
    # whole promoter backgrounds held out (the id's `_bg<start>:<end>` part is the group)
    "urtecho_ecoli": dict(folder="urtecho2019_ecoli_sigma70", fasta="promoters.fa",
                          expression="expression.csv", target="RNA_exp_average",
                          group_regex=r"_(bg[^_]+)$"),
    # native genes: oriented (promoter, UTRs, terminator), so one strand
    "zrimec_yeast": dict(folder="zrimec2022_yeast_1000bp", table="yeast_regulatory.csv",
                         target="expression", rc_augment=False),
    # translation-start contexts: RNA, aligned on the AUG, one strand
    "noderer_tis": dict(folder="noderer2014_translation_start", table="tis_contexts.tsv",
                        target="efficiency", rna=True, rc_augment=False),
}

# kept out of every tuning of the defaults; reported apart
HELD_OUT = ("syn_repressor_heavy", "urtecho_ecoli")
PANEL = tuple(SYNTHETIC) + tuple(REAL)


@dataclass
class Dataset:
    """One panel dataset, encoded and split, ready for every model."""

    name: str
    kind: str  # "synthetic" or "real"
    seqs: list
    onehot: np.ndarray  # (n, L, 4) uint8
    mask: np.ndarray  # (n, L) uint8
    y: np.ndarray  # (n,) float32 on the modelled scale
    split: np.ndarray  # (n,) str
    rc_augment: bool = True
    ceiling: float | None = None  # noise ceiling (Pearson), synthetic only
    held_out: bool = False
    info: dict = field(default_factory=dict)

    @property
    def idx(self):
        return {s: np.flatnonzero(self.split == s) for s in ("train", "valid", "test")}

    def fingerprint(self):
        h = hashlib.sha1()
        h.update(np.ascontiguousarray(self.onehot).tobytes())
        h.update(self.y.tobytes())
        h.update("".join(self.split).encode())
        return h.hexdigest()[:16]


def _subsample(frame, scale, seed):
    if scale >= 1:
        return frame
    keep = np.random.default_rng(seed).random(len(frame)) < scale
    return frame[keep].reset_index(drop=True)


def _from_frame(name, kind, frame, target, *, rc_augment=True, groups=None, ceiling=None,
                seed=0, homology_k=24, info=None):
    """Transform, encode and split a loaded frame the way 03_encode does."""
    from seqexpr import encode, splits, transforms

    seqs = frame["sequence"].tolist()
    y = frame[[target]].to_numpy(np.float64)
    names, reasons = transforms.choose("auto", [target], y)
    spec = transforms.fit(names, y)
    yt = transforms.apply(spec, y)[:, 0].astype(np.float32)
    onehot, mask = encode.encode(seqs)
    method = "column" if groups is not None else "homology"
    split_df, report = splits.make_splits(frame["id"].astype(str).tolist(), seqs, method=method,
                                          groups=groups, seed=seed, k=homology_k)
    splits.check_leakage(report)
    info = dict(info or {}, n=len(seqs), length=int(onehot.shape[1]), transform=names[0],
                transform_reason=reasons[0], split=method,
                test_with_relative=report["test_with_relative_in_train"]["n"])
    return Dataset(name, kind, seqs, onehot, mask, yt, split_df["split"].to_numpy(str),
                   rc_augment=rc_augment, ceiling=ceiling, held_out=name in HELD_OUT, info=info)


def prepare(name, *, datasets_dir=None, scale=1.0, seed=0):
    """Build panel dataset ``name``; ``scale`` < 1 keeps that share of sequences (quick runs).

    Real datasets are read from ``datasets_dir`` (``../shared/datasets`` beside the checkout
    when None) through :func:`seqexpr.io.load`, so they get the same checks as a user's file.
    """
    if name in SYNTHETIC:
        from seqexpr.demo import make_demo

        cfg = dict(SYNTHETIC[name])
        cfg["n"] = max(200, int(round(cfg["n"] * min(scale, 1.0))))
        frame, _, truth = make_demo(**cfg)
        return _from_frame(name, "synthetic", frame, "expression", seed=seed,
                           ceiling=truth["noise_ceiling_pearson"],
                           info=dict(motifs=len(cfg["motifs"]), pairs=len(cfg["pairs"])))
    if name not in REAL:
        raise ValueError(f"unknown panel dataset {name!r}; choose from {list(PANEL)}")
    from seqexpr import io

    cfg = REAL[name]
    root = Path(datasets_dir) if datasets_dir else Path(__file__).resolve().parents[2] / \
        "shared" / "datasets"
    folder = root / cfg["folder"]
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found: pass datasets_dir= (the folder holding "
                                f"{cfg['folder']}/), or leave {name} out of the panel")
    if "fasta" in cfg:
        res = io.load(fasta=folder / cfg["fasta"], expression=folder / cfg["expression"],
                      id_column="id", targets=[cfg["target"]], replicate_columns=[])
    else:
        res = io.load(table=folder / cfg["table"], id_column="id", targets=[cfg["target"]],
                      replicate_columns=[], rna=cfg.get("rna", False))
    frame = _subsample(res.frame, scale, seed)
    groups = None
    if cfg.get("group_regex"):
        # ids without a background (negative controls) are groups of their own
        ids = frame["id"].astype(str)
        groups = ids.str.extract(cfg["group_regex"])[0].fillna(ids).tolist()
    return _from_frame(name, "real", frame, cfg["target"], groups=groups, seed=seed,
                       rc_augment=cfg.get("rc_augment", True),
                       info=dict(dropped=len(res.dropped), rna=cfg.get("rna", False)))


# -- the models --------------------------------------------------------------------------------
def fit_baselines(ds, *, cache_dir=None, seed=0):
    """Ridge and boosted trees on k-mer counts; returns ``{name: {pred, seconds}}``.

    ``pred`` holds the predictions for every row. As in 04_model, k-mers are pooled with
    their reverse complements only for data read on both strands (``ds.rc_augment``).
    Baselines do not change while the deep recipe is tuned, so with ``cache_dir`` they are
    fitted once per dataset fingerprint and strand policy.
    """
    from seqexpr import baselines

    canonical = bool(ds.rc_augment)
    path = (Path(cache_dir) / f"{ds.name}-{ds.fingerprint()}-{'both' if canonical else 'one'}"
            "-strand-baselines.npz" if cache_dir else None)
    if path is not None and path.exists():
        z = np.load(path, allow_pickle=False)
        meta = json.loads(str(z["meta"]))
        return {k: dict(pred=z[k], seconds=meta[k]) for k in meta}
    tr, va = ds.idx["train"], ds.idx["valid"]
    out = {}
    for name in baselines.BASELINES:
        t0 = time.perf_counter()
        model = baselines.fit_baselines([ds.seqs[i] for i in tr], ds.y[tr],
                                        [ds.seqs[i] for i in va], ds.y[va], names=(name,),
                                        canonical=canonical, seed=seed)[name]
        pred = model.predict(ds.seqs)[:, 0]
        out[name] = dict(pred=pred, seconds=round(time.perf_counter() - t0, 1))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, meta=json.dumps({k: v["seconds"] for k, v in out.items()}),
                 **{k: v["pred"] for k, v in out.items()})
    return out


def fit_deep(ds, *, model=None, params=None, recipe=None, seeds=(0, 1), verbose=0):
    """Train one deep model per seed with the 04_model recipe; returns ``{pred, per_seed,
    seconds, epochs}`` where ``pred`` (n,) is the seed ensemble (mean) over every row.
    ``model`` defaults to ``models.DEFAULT`` and ``seeds`` to 04_model's two."""
    from seqexpr import models, predict, train
    from seqexpr._backend import set_seed

    model = model or models.DEFAULT

    recipe = dict(recipe or {})
    recipe.setdefault("rc_augment", ds.rc_augment)
    recipe.setdefault("min_steps", train.RECIPE["min_steps"])
    per_seed, epochs, t0 = [], [], time.perf_counter()
    for s in seeds:
        set_seed(s)  # before building: the initial weights are drawn then
        m = models.build(model, ds.onehot.shape[1], 1, **(params or {}))
        hist = train.fit(m, ds.onehot, ds.y, ds.idx["train"], ds.idx["valid"], seed=s,
                         mask=ds.mask, verbose=verbose, **recipe)
        per_seed.append(predict.predict(m, ds.onehot, mask=ds.mask,
                                      rc_average=recipe["rc_augment"])[:, 0])
        epochs.append(len(hist))
    return dict(pred=np.mean(per_seed, axis=0), per_seed=per_seed, epochs=epochs,
                seconds=round(time.perf_counter() - t0, 1))


def score(ds, deep, base, *, n_bootstrap=1000, seed=0):
    """One panel row: test Pearson/Spearman of each model and the paired bootstrap of the
    deep ensemble against the best baseline (best on test: the stricter comparison)."""
    from scipy import stats

    from seqexpr.bootstrap import paired_bootstrap

    te = ds.idx["test"]
    y = ds.y[te]

    def corr(p):
        return float(stats.pearsonr(y, p[te])[0]), float(stats.spearmanr(y, p[te])[0])

    row = dict(dataset=ds.name, kind=ds.kind, held_out=ds.held_out, n_train=len(ds.idx["train"]),
               n_test=len(te), length=int(ds.onehot.shape[1]), ceiling=ds.ceiling)
    row["deep_pearson"], row["deep_spearman"] = corr(deep["pred"])
    row["deep_seed_pearson"] = [round(corr(p)[0], 4) for p in deep["per_seed"]]
    for name, b in base.items():
        row[f"{name}_pearson"], row[f"{name}_spearman"] = corr(b["pred"])
    best = max(base, key=lambda k: row[f"{k}_pearson"])
    cmp = paired_bootstrap(y, deep["pred"][te], base[best]["pred"][te],
                           n_bootstrap=n_bootstrap, seed=seed)
    row.update(best_baseline=best, delta=cmp["delta"], delta_lo=cmp["lo"], delta_hi=cmp["hi"],
               p=cmp["p"], deep_seconds=deep["seconds"], deep_epochs=deep["epochs"],
               baseline_seconds={k: b["seconds"] for k, b in base.items()},
               of_ceiling=(row["deep_pearson"] / ds.ceiling) if ds.ceiling else None)
    return row


def table(rows):
    """The printed panel table: one line per dataset, held-out sets last."""
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    out = pd.DataFrame({
        "dataset": df["dataset"] + np.where(df["held_out"], " (held out)", ""),
        "share": [f"{100 * s:.0f}%" for s in df["scale"]] if "scale" in df else "100%",
        "n_train": df["n_train"], "L": df["length"],
        "deep r": df["deep_pearson"].round(3),
        "deep rho": df["deep_spearman"].round(3),
        "gbm r": df.get("gbm_kmer_pearson", np.nan).round(3),
        "ridge r": df.get("ridge_kmer_pearson", np.nan).round(3),
        "delta vs best [95% CI]": _deltas(df),
        "wins": np.where(df["delta_lo"] > 0, "yes", np.where(df["delta_hi"] < 0, "no", "tie")),
        "% ceiling": [f"{100 * v:.0f}" if v == v and v is not None else "" for v in
                      df["of_ceiling"]],
        "deep s": df["deep_seconds"].round(0).astype(int),
    })
    return out.iloc[np.argsort(df["held_out"].to_numpy(), kind="stable")].reset_index(drop=True)


def learning_curve(rows):
    """Deep ensemble against the best baseline as each dataset grows: one line per dataset
    and share (rows from runs at several ``scale``), smallest share first. Where the deep model
    loses on a small set, this shows whether the gap closes with data."""
    df = pd.DataFrame(rows)
    if df.empty or "scale" not in df:
        return pd.DataFrame()
    df = df.sort_values(["dataset", "scale"], kind="stable")
    best = [r[r["best_baseline"] + "_pearson"] for _, r in df.iterrows()]
    return pd.DataFrame({
        "dataset": df["dataset"], "share": [f"{100 * s:.0f}%" for s in df["scale"]],
        "n_train": df["n_train"], "deep r": df["deep_pearson"].round(3),
        "best baseline": df["best_baseline"], "baseline r": np.round(best, 3),
        "delta [95% CI]": _deltas(df),
    }).reset_index(drop=True)


def _deltas(df):
    """``+0.014 [-0.005, +0.033]``: deep - best baseline with its interval, per row."""
    return [f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for d, lo, hi in
            zip(df["delta"], df["delta_lo"], df["delta_hi"])]
