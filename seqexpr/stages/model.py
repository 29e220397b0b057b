"""Stage 04_model: deep models (several seeds) and k-mer baselines, saved with their
preprocessing in ``models/``; writes ``predictions.csv``, ``metrics.json`` and ``history.csv``.

The algorithms live below this layer (``train``, ``models``, ``baselines``, ``bundle``); this
module reads 03's files, decides what to reuse (``resume``), and writes 04's files.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from seqexpr import baselines as kmer_baselines
from seqexpr import bundle, transforms
from seqexpr import runfolder as rf
from seqexpr.bootstrap import regression_metrics
from seqexpr.encode import resolve_rc_augment

NAME = "04_model"
RUN_HISTORY_COLUMNS = ["model", "seed", "epoch", "loss", "val_loss", "lr"]  # history.csv


def run(run_dir, *, seed, n_seeds, deep_models, epochs, min_steps, batch_size, learning_rate,
        weight_decay, ema, shift, patience, rc_augment, filters, baselines, kmer_ks,
        gbm_features, baseline_max_train, resume, verbose, strategy, cpu_devices) -> dict:
    """Train, save and score every model on 03's arrays; the parameters are 04_model's
    parameters cell.

    The strand policy (``rc_augment``) holds for the baselines too: their k-mer counts pool a
    k-mer with its reverse complement only when the deep models read both strands.

    Returns ``data`` (``load_inputs``, less ``seqs``, freed once the baselines are fitted),
    ``strands`` (the resolved reverse-complement policy),
    ``params`` (builder keywords per deep model), ``deep`` and ``base`` (one dict per trained
    model), ``history`` (training curves) and ``metrics`` (metrics.json).

    ``strategy`` and ``cpu_devices`` choose the devices (:func:`seqexpr.distribute.make_strategy`);
    the manifest records the strategy, the replicas, the global batch and the scaled rate.
    """
    rf.record_stage(run_dir, NAME, parameters=dict(locals()))
    from seqexpr import distribute

    if strategy not in distribute.STRATEGIES:  # before minutes of baselines, not after
        distribute.make_strategy(strategy)  # raises, naming the choices
    data = load_inputs(run_dir)
    strands = resolve_rc_augment(rc_augment, data["encoding"])
    # baselines first, before TensorFlow is imported: their feature matrices are freed before
    # TensorFlow and its training state (graphs, batches) exist, so the peaks do not add up
    base = train_baselines(data, baselines, run_dir=run_dir, ks=kmer_ks, canonical=strands,
                           n_features=gbm_features, seed=seed, resume=resume,
                           max_train=baseline_max_train)
    # only the baselines read the strings (250 MB a million): the deep models read 03's arrays
    del data["seqs"]
    from seqexpr import train  # TensorFlow: only when this stage runs

    strat = distribute.make_strategy(strategy, cpu_devices=cpu_devices)
    n = distribute.replicas(strat)
    per_replica = (train.auto_batch_size(len(data["idx"]["train"])) if batch_size == "auto"
                   else batch_size)
    global_batch, lr_scaled = distribute.scale(per_replica, learning_rate, n)
    rf.update_manifest(run_dir, stages={NAME: {"distribute": dict(
        strategy=strategy, replicas=n, global_batch_size=global_batch, lr_scaled=lr_scaled)}})
    seeds = list(range(seed, seed + n_seeds))
    params = {name: dict(filters=filters) if filters and name != "deepstarr" else {}
              for name in deep_models}
    deep = [train_deep(data, name, s, run_dir=run_dir, params=params[name], epochs=epochs,
                       batch_size=batch_size, lr=learning_rate, weight_decay=weight_decay,
                       ema=ema, shift=shift, patience=patience, rc_augment=strands,
                       min_steps=min_steps, resume=resume, verbose=verbose, strategy=strat)
            for name in deep_models for s in seeds]
    metrics = write_outputs(run_dir, data, deep, base)
    history = (pd.concat([r["history"] for r in deep], ignore_index=True) if deep
               else pd.DataFrame(columns=RUN_HISTORY_COLUMNS))
    return dict(data=data, strands=strands, params=params, deep=deep, base=base,
                history=history, metrics=metrics)


def load_inputs(run_dir):
    """What 04_model needs from a run folder, arrays memory-mapped.

    Returns
    -------
    dict
        ``onehot (n, L, 4) uint8``, ``mask (n, L) uint8``, ``targets (n, T) float32``,
        ``target_names``, ``encoding``, ``ids``, ``seqs`` (list of str), ``lengths (n,) int64``
        (nt), ``split (n,) str``,
        ``idx`` (``{"train", "valid", "test"}`` -> int arrays), ``noise_ceiling`` (float or None).
    """
    rf.require(run_dir, rf.ONEHOT, rf.MASK, rf.TARGETS, rf.ENCODING, rf.SPLITS, rf.SEQUENCES,
               stage="03_encode")
    d = Path(run_dir)
    table, seqs = rf.read_sequences(d, columns=["id", "length"])
    ids, lengths = table["id"].to_numpy(object), table["length"].to_numpy(np.int64)
    del table
    splits = pd.read_csv(d / rf.SPLITS, dtype={"id": str})
    if not np.array_equal(splits["id"].to_numpy(object), ids):
        splits = splits.set_index("id").reindex(ids).reset_index()
        if splits["split"].isna().any():
            raise ValueError(f"{d / rf.SPLITS} lacks some ids of {rf.SEQUENCES}; rerun 03_encode")
    split = splits["split"].to_numpy(str)
    idx = {s: np.flatnonzero(split == s) for s in ("train", "valid", "test")}
    for s, ix in idx.items():
        if len(ix) == 0:
            raise ValueError(f"{d / rf.SPLITS} has no {s!r} rows; 04_model needs train, valid "
                             "and test sequences (rerun 03_encode with other fractions)")
    encoding = rf.read_json(d / rf.ENCODING)
    truth = d / rf.GROUND_TRUTH
    ceiling = rf.read_json(truth).get("noise_ceiling_pearson") if truth.exists() else None
    return dict(onehot=np.load(d / rf.ONEHOT, mmap_mode="r"),
                mask=np.load(d / rf.MASK, mmap_mode="r"),
                targets=np.load(d / rf.TARGETS).astype(np.float32), encoding=encoding,
                target_names=list(encoding["targets"]), ids=ids, seqs=seqs,
                lengths=lengths, split=split,
                idx=idx, noise_ceiling=ceiling)


def reusable(folder: Path, model_file: str, key: str, settings: dict, fp: str) -> dict | None:
    """The saved ``preprocessing.json`` of ``folder`` when its model was trained with the same
    ``settings`` (under ``key``) on the same data (fingerprint ``fp``); None otherwise."""
    prep_path = folder / bundle.PREPROCESSING
    if not (prep_path.exists() and (folder / model_file).exists()):
        return None
    prep = json.loads(prep_path.read_text())
    same = prep.get(key) == settings and prep.get("training_fingerprint") == fp
    return prep if same else None


def train_deep(data, name, seed, *, run_dir, params=None, resume=True, verbose="auto",
               strategy=None, **recipe):
    """Build, train, save and predict one deep model with one seed.

    The model is saved as ``run_dir/models/{name}@{seed}/`` (``model.keras``,
    ``preprocessing.json``, ``history.csv``). With ``resume``, a finished folder trained on
    the same data with the same settings is loaded instead of retrained, and an interrupted
    one continues from its last epoch checkpoint. ``recipe`` holds the training settings of
    :func:`seqexpr.train.fit` (``train.RECIPE`` for those not given). ``strategy``
    (:func:`seqexpr.distribute.make_strategy`) trains on several devices: the model is built
    in its scope, and a model trained with another number of replicas is not reused.

    Returns
    -------
    dict
        ``column``, ``model``, ``history`` (DataFrame), ``pred`` ``(n, T) float32`` for every
        row (RC-averaged, modelled scale), ``seconds``, ``path``, ``params``, ``seed``.
    """
    from seqexpr import distribute, models, predict, train
    from seqexpr._backend import set_seed

    params = dict(params or {})
    column = f"{name}@{seed}"
    out = Path(run_dir) / rf.MODELS_DIR / column
    y, idx, enc = data["targets"], data["idx"], data["encoding"]
    unknown = sorted(set(recipe) - set(train.RECIPE))
    if unknown:
        raise TypeError(f"train_deep: unknown training settings {unknown}; "
                        f"known: {sorted(train.RECIPE)}")
    recipe = {k: recipe.get(k, v) for k, v in train.RECIPE.items()}
    recipe["shift"] = train.resolve_shift(recipe["shift"], data["onehot"].shape[1])  # in nt
    settings = dict(params, **recipe)
    if distribute.replicas(strategy) > 1:  # another global batch and rate: another model
        settings["replicas"] = distribute.replicas(strategy)
    fp = bundle.fingerprint(data["onehot"], y, idx["train"])
    prep = reusable(out, "model.keras", "params", settings, fp) if resume else None
    if prep is not None and (out / "history.csv").exists():
        model = bundle.load_bundle(out).model
        history, seconds = pd.read_csv(out / "history.csv"), prep.get("train_seconds")
        print(f"{column}: loaded the finished model from {out} (resume=True)")
    else:
        set_seed(seed)  # before building: the initial weights are drawn then
        with distribute.scope(strategy):  # every replica holds the weights
            model = models.build(name, data["onehot"].shape[1], y.shape[1], **params)
        t0 = time.perf_counter()
        history = train.fit(model, data["onehot"], y, idx["train"], idx["valid"], seed=seed,
                            unknown=enc.get("unknown", 0.0), mask=data["mask"],
                            checkpoint_dir=out / "checkpoint", resume=resume, verbose=verbose,
                            strategy=strategy, **recipe)
        seconds = round(time.perf_counter() - t0, 1)
        history.insert(0, "model", name)
        prep = bundle.preprocessing_record(enc, model=name, seed=seed, fingerprint=fp,
                                           params=settings, rc_average=recipe["rc_augment"],
                                           train_lengths=data["lengths"][idx["train"]])
        prep.update(train_seconds=seconds, best_epoch=history.attrs.get("best_epoch"))
        bundle.save_bundle(model, out, prep)
        rf.write_csv(out / "history.csv", history, index=False)
        train.clear_checkpoint(out / "checkpoint")
    # a model trained on one strand is scored on that strand only
    pred = predict.predict(model, data["onehot"], mask=data["mask"],
                         unknown=enc.get("unknown", 0.0), rc_average=recipe["rc_augment"])
    return dict(column=column, name=name, model=model, history=history, pred=pred,
                seconds=seconds, path=str(out), params=settings, seed=int(seed))


def train_baselines(data, names=kmer_baselines.BASELINES, *, run_dir,
                    ks=kmer_baselines.DEFAULT_KS, canonical=True, n_features=1000, seed=0,
                    resume=True, max_train=None):
    """Fit, save (``run_dir/models/NAME/``) and predict the k-mer baselines.

    ``data`` is :func:`load_inputs`'s. With ``resume``, a saved baseline fitted with the same
    settings is loaded instead of refitted. Each baseline fits on at most ``max_train``
    training sequences (a random sample seeded by ``seed`` above that, said in the log and
    recorded in ``params["rows"]``, hence in metrics.json). Returns one dict per baseline:
    ``column``, ``model``, ``pred (n, T) float32``, ``seconds``, ``path``, ``params``.
    """
    seqs, y, idx = data["seqs"], data["targets"], data["idx"]
    tr, va = idx["train"], idx["valid"]
    seqs_tr = [seqs[i] for i in tr]
    fp = kmer_baselines.training_fingerprint(seqs_tr, y[tr])
    settings = dict(ks=[int(k) for k in ks], canonical=bool(canonical), n_features=n_features,
                    seed=int(seed), max_train=max_train)
    results = []
    for name in names:
        out = Path(run_dir) / rf.MODELS_DIR / name
        prep = reusable(out, "model.joblib", "settings", settings, fp) if resume else None
        if prep is not None:
            model, seconds = kmer_baselines.load(out)[0], prep.get("train_seconds")
            print(f"{name}: loaded the fitted model from {out} (resume=True)")
        else:
            t0 = time.perf_counter()  # stderr: the terminal shows it while the fit runs
            print(f"{name}: fitting on {len(tr):,} sequences …", file=sys.stderr, flush=True)
            model = kmer_baselines.fit_baselines(
                seqs_tr, y[tr], [seqs[i] for i in va], y[va], names=(name,), ks=ks,
                canonical=canonical, n_features=n_features, seed=seed, max_train=max_train)[name]
            seconds = round(time.perf_counter() - t0, 1)
            extra = {k: data["encoding"][k] for k in ("targets", "target_transform", "rna")}
            extra.update(format=bundle.MODEL_FORMAT,
                         train_lengths=bundle.training_lengths(data["lengths"][tr]),
                         settings=settings, training_fingerprint=fp, train_seconds=seconds,
                         seed=int(seed), target_inverse=transforms.has_inverse(
                             data["encoding"]["target_transform"]))
            kmer_baselines.save(model, out, extra=extra)
            print(f"{name}: fitted in {seconds} s, {model.params}")
        rows = model.params.get("rows", {})
        if rows.get("seed") is not None:
            print(f"{name}: fitted on a random sample of {rows['used']:,} of {rows['of']:,} "
                  f"training sequences (seed {rows['seed']}; baseline_max_train)")
        results.append(dict(column=name, name=name, model=model, pred=model.predict(seqs),
                            seconds=seconds, path=str(out), params=model.params, seed=int(seed)))
    return results


def write_outputs(run_dir, data, deep, baselines):
    """Write predictions.csv, metrics.json and history.csv for 04_model; returns metrics.

    Parameters
    ----------
    run_dir : path
    data : dict from :func:`load_inputs`
    deep : list of dict from :func:`train_deep` (any models and seeds)
    baselines : list of dict from :func:`train_baselines`

    Deep models get one column per seed (``cnn@0``) and one for the mean over seeds
    (``cnn``), whose model folder ``models/cnn/`` gathers the seeds (``bundle.save_ensemble``:
    the folder to score new sequences with). ``best_deep_model`` (one seed, the model
    attributions explain) and ``best_baseline`` are chosen on validation Pearson (mean over targets), never on test;
    ``deep_ensemble`` is the seed mean of the best deep model's builder, the deep model's
    headline prediction (averaging seeds beat single seeds on the accuracy panel).
    """
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
        folder = bundle.save_ensemble([r["path"] for r in rs], rf.run_path(run_dir, rf.MODELS_DIR)
                                      / name)
        info[name] = dict(kind="deep", path=[_rel(r["path"], run_dir) for r in rs],
                          folder=_rel(folder, run_dir), params=rs[0]["params"],
                          seed=[r["seed"] for r in rs],
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
    rf.write_csv(rf.run_path(run_dir, rf.PREDICTIONS), pred, index=False, float_format="%.6g")
    rf.write_json(rf.run_path(run_dir, rf.METRICS), metrics)
    hist = [r["history"] for r in deep]
    hist = (pd.concat(hist, ignore_index=True) if hist else pd.DataFrame())
    rf.write_csv(rf.run_path(run_dir, rf.HISTORY), hist.reindex(columns=RUN_HISTORY_COLUMNS),
                 index=False)
    return metrics


def _rel(path, run_dir):
    try:
        return str(Path(path).resolve().relative_to(Path(run_dir).resolve()))
    except ValueError:
        return str(path)


def check(run_dir) -> None:
    """Validate 04's files; raises AssertionError."""
    pred = pd.read_csv(rf.run_path(run_dir, rf.PREDICTIONS))
    metrics = rf.read_json(rf.run_path(run_dir, rf.METRICS))
    model_cols = [c for c in pred.columns if c not in ("id", "split", "target", "observed")]
    assert not pred[model_cols].isna().any().any(), "NaN predictions"
    assert set(pred["split"]) == {"train", "valid", "test"}, "a split has no predictions"
    for column, info in metrics["models"].items():
        paths = [info["path"]] if isinstance(info["path"], str) else info["path"]
        for path in paths + ([info["folder"]] if "folder" in info else []):
            assert (rf.run_path(run_dir, path) / bundle.PREPROCESSING).exists(), \
                f"{column}: no {bundle.PREPROCESSING} in {path}"
    assert rf.run_path(run_dir, rf.HISTORY).exists(), rf.HISTORY
    deep = [c for c, i in metrics["models"].items() if i["kind"] == "deep"]
    assert metrics["best_deep_model"] or not deep, "no best deep model chosen"
