"""Evaluate trained models on held-out sequences, with intervals and paired tests.

Reads ``predictions.csv`` (04_model) and scores every model column on the test split:
Pearson and Spearman with bootstrap confidence intervals, R² and RMSE, overall and per group
(the ``load.json`` group column, and whether a test sequence has a close relative in train).
All models are bootstrapped over the *same* resampled test sequences, so the difference in
Pearson between any two models is a paired comparison with its own interval and p-value.
``evaluate_models`` returns what ``seqexpr.stages.evaluate`` writes: ``evaluation.csv`` and an
``evaluation`` key in ``metrics.json``.
Plots live in :mod:`seqexpr.plots.evaluate`.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from tqdm import tqdm

from seqexpr import composition
from seqexpr.bootstrap import (
    bootstrap_correlations,
    paired_difference,
    percentile_interval,
    regression_metrics,
    rowwise_pearson,
)

ID_COLUMNS = ("id", "split", "target", "observed")
ANNOTATIONS = ("gc", "has_relative_in_train", "cluster")  # joined for plots; never models
EVAL_COLUMNS = ["target", "model", "grouping", "group", "pearson", "pearson_lo", "pearson_hi",
                "spearman", "spearman_lo", "spearman_hi", "r2", "rmse", "n"]
MIN_N = 3  # fewer sequences than this: correlations are undefined, reported as NaN


# -- tables over models and groups ----------------------------------------------------------
def model_columns(predictions: pd.DataFrame) -> list[str]:
    """The model columns of a predictions frame: numeric columns other than id, split, target,
    observed and the annotations :func:`seqexpr.stages.evaluate.run` joins (gc, has_relative_in_train)."""
    return [c for c in predictions.columns if c not in ID_COLUMNS and c not in ANNOTATIONS
            and pd.api.types.is_numeric_dtype(predictions[c])
            and not pd.api.types.is_bool_dtype(predictions[c])]


def model_kind(column: str, models_info: dict | None = None) -> str:
    """``"baseline"`` or ``"deep"``: from metrics.json ``models`` when known, else the name."""
    info = (models_info or {}).get(column) or {}
    if info.get("kind") in ("baseline", "deep"):
        return info["kind"]
    return "baseline" if column.endswith("_kmer") or column in ("ridge", "gbm") else "deep"


def score_models(frame: pd.DataFrame, models: list[str], *, n_bootstrap: int = 1000,
                 ci: float = 0.95, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Score several models on the rows of ``frame`` (one target), on shared resamples.

    Returns the table (one row per model: pearson, intervals, spearman, r2, rmse, n) and the
    bootstrap Pearson matrix ``(n_bootstrap, len(models))`` for paired comparisons.
    """
    y = frame["observed"].to_numpy(np.float64)
    p = frame[models].to_numpy(np.float64).T  # (m, n)
    n = len(y)
    rows = [{"model": m, "n": n} for m in models]
    if n < MIN_N:
        nan = float("nan")
        for row in rows:
            row.update(dict.fromkeys(EVAL_COLUMNS[4:12], nan))
        return pd.DataFrame(rows), np.full((n_bootstrap, len(models)), np.nan)
    boot = bootstrap_correlations(y, p, n_bootstrap=n_bootstrap, seed=seed)
    point = {"pearson": rowwise_pearson(p, y),
             "spearman": rowwise_pearson(rankdata(p, axis=-1), rankdata(y))}
    for k in ("pearson", "spearman"):
        lo, hi = percentile_interval(boot[k], ci)
        for j, row in enumerate(rows):
            row.update({k: float(point[k][j]), f"{k}_lo": float(lo[j]), f"{k}_hi": float(hi[j])})
    for j, row in enumerate(rows):
        m = regression_metrics(y, p[j])  # its pearson/spearman/n would overwrite the above
        row.update(r2=m["r2"], rmse=m["rmse"])
    return pd.DataFrame(rows), boot["pearson"]


def evaluate_predictions(predictions: pd.DataFrame, *, groups: pd.DataFrame | None = None,
                         models: list[str] | None = None, split: str = "test",
                         n_bootstrap: int = 1000, ci: float = 0.95, seed: int = 0,
                         progress: bool = True) -> tuple[pd.DataFrame, dict]:
    """Score every model on one split, overall and within each group.

    Parameters
    ----------
    predictions : DataFrame
        ``predictions.csv``: id, split, target, observed, one column per model.
    groups : DataFrame, optional
        Indexed by id, one column per grouping (e.g. ``species``, ``has_relative_in_train``);
        each distinct value becomes a group.
    models : list of str, optional
        Model columns to score; all of :func:`model_columns` when omitted.
    split, n_bootstrap, ci, seed
        Rows to score, and the bootstrap settings.

    Returns
    -------
    table : DataFrame in ``evaluation.csv`` form, one row per (target, model, grouping, group);
        the overall rows have grouping ``"all"`` and group ``"all"``.
    boots : dict ``{target: (models, (n_bootstrap, m) Pearson)}`` for the overall rows.
    """
    models = list(models) if models is not None else model_columns(predictions)
    test = predictions[predictions["split"] == split]
    if test.empty:
        raise ValueError(f"predictions have no rows with split == {split!r} (splits present: "
                         f"{sorted(predictions['split'].unique())}); check splits.csv/04_model.")
    tables, boots = [], {}
    targets = list(dict.fromkeys(test["target"]))
    for target in tqdm(targets, desc="evaluate", disable=not progress or len(targets) < 2):
        sub = test[(test["target"] == target) & test["observed"].notna()]
        tab, boot = score_models(sub, models, n_bootstrap=n_bootstrap, ci=ci, seed=seed)
        boots[target] = (models, boot)
        tables.append(tab.assign(target=target, grouping="all", group="all"))
        if groups is None:
            continue
        g = groups.reindex(sub["id"].to_numpy())
        for col in g.columns:
            for value in pd.unique(g[col].dropna()):
                keep = (g[col] == value).to_numpy()
                tab, _ = score_models(sub[keep], models, n_bootstrap=n_bootstrap, ci=ci,
                                      seed=seed)
                tables.append(tab.assign(target=target, grouping=col, group=str(value)))
    return pd.concat(tables, ignore_index=True)[EVAL_COLUMNS], boots


def compare_models(models: list[str], boot_pearson: np.ndarray, point_pearson, *,
                   pairs: list[tuple[str, str]] | None = None, ci: float = 0.95) -> pd.DataFrame:
    """Paired comparisons from a shared bootstrap: one row per (a, b) with ΔPearson = a − b.

    ``pairs`` defaults to every pair of models. Columns: ``a, b, delta, lo, hi, p``.
    """
    pos = {m: j for j, m in enumerate(models)}
    point = np.asarray(point_pearson, np.float64)
    pairs = pairs if pairs is not None else list(combinations(models, 2))
    rows = []
    for a, b in pairs:
        i, j = pos[a], pos[b]
        res = paired_difference(point[i] - point[j], boot_pearson[:, i] - boot_pearson[:, j], ci)
        rows.append({"a": a, "b": b, **res})
    return pd.DataFrame(rows, columns=["a", "b", "delta", "lo", "hi", "p"])


def choose_pairs(table: pd.DataFrame, *, best_deep: str | None,
                 best_baseline: str | None) -> list[tuple[str, str]]:
    """Best deep vs best baseline, then the best model (test Pearson) against every other."""
    order = table.sort_values("pearson", ascending=False)["model"].tolist()
    pairs = []
    if best_deep and best_baseline and best_deep in order and best_baseline in order:
        pairs.append((best_deep, best_baseline))
    best = order[0]
    pairs += [(best, m) for m in order[1:] if (best, m) not in pairs]
    return pairs


def seed_spread(table: pd.DataFrame) -> pd.DataFrame:
    """Spread of test Pearson over seeds for deep models saved as ``NAME@SEED``.

    ``table`` is the overall part of :func:`evaluate_predictions`. Returns one row per
    (target, name): ``n_seeds, mean, sd, min, max, seeds``, and ``ensemble`` (the Pearson of
    the seed-mean column ``NAME`` when present).
    """
    t = table[(table["grouping"] == "all") & table["model"].str.contains("@", regex=False)]
    rows = []
    for (target, name), g in t.groupby([t["target"], t["model"].str.split("@").str[0]],
                                       sort=False):
        r = g["pearson"].to_numpy()
        ens = table[(table["grouping"] == "all") & (table["target"] == target)
                    & (table["model"] == name)]["pearson"]
        rows.append({"target": target, "name": name, "n_seeds": len(r), "mean": r.mean(),
                     "sd": r.std(ddof=1) if len(r) > 1 else float("nan"), "min": r.min(),
                     "max": r.max(), "seeds": g["model"].str.split("@").str[1].tolist(),
                     "ensemble": float(ens.iloc[0]) if len(ens) else float("nan")})
    return pd.DataFrame(rows, columns=["target", "name", "n_seeds", "mean", "sd", "min", "max",
                                       "seeds", "ensemble"])


def replicate_ceiling(replicates: pd.DataFrame) -> dict | None:
    """Noise ceiling on Pearson from replicate columns (rows = sequences).

    The mean pairwise Pearson ``r`` between replicates estimates one replicate's reliability;
    the mean of ``k`` replicates has reliability ``k r / (1 + (k − 1) r)`` (Spearman–Brown),
    and no model can correlate with that mean better than its square root. Assumes the target
    is the replicate mean. Returns None with fewer than two replicates.
    """
    if replicates is None or replicates.shape[1] < 2:
        return None
    x = replicates.to_numpy(np.float64)
    x = x[np.isfinite(x).all(1)]
    k = x.shape[1]
    rs = [float(rowwise_pearson(x[:, i], x[:, j])) for i, j in combinations(range(k), 2)]
    r = float(np.mean(rs))
    rel = k * r / (1 + (k - 1) * r) if r > 0 else float("nan")
    return {"replicate_pearson": r, "n_replicates": k, "n": int(len(x)),
            "ceiling": float(np.sqrt(rel)) if rel > 0 else float("nan")}


# -- plain-language verdict -------------------------------------------------------------------
def _fmt_p(p: float, n_bootstrap: int) -> str:
    """``p = 0.03``, or ``p < 1/B`` when no resample reached the observed difference."""
    if not np.isfinite(p):
        return "p = n/a"
    floor = 1.0 / (n_bootstrap + 1)
    return f"p < {1.0 / n_bootstrap:.2g}" if p <= floor * 1.0001 else f"p = {p:.2g}"


def verdict(evaluation: dict, target: str, *, alpha: float = 0.05) -> str:
    """One or two plain sentences: which model wins on ``target``, by how much, how sure.

    ``evaluation`` is the dict :func:`evaluate_models` returns (or ``metrics.json["evaluation"]``).
    """
    ev = evaluation["targets"][target]
    nb = evaluation["n_bootstrap"]
    comps = ev["comparisons"]
    head = next((c for c in comps if c.get("role") == "deep_vs_baseline"), None) or (
        comps[0] if comps else None)
    ranking = ev["ranking"]
    if head is None:
        return f"Only one model ({ranking[0]['model']}) was scored on {target}; nothing to compare."
    a, b, d, lo, hi = (head[k] for k in ("a", "b", "delta", "lo", "hi"))
    if np.isfinite(d) and d < 0:  # state the difference as winner minus loser
        a, b, d, lo, hi = b, a, -d, -hi, -lo
    interval = f"ΔPearson = {d:+.3f} [{lo:+.3f}, {hi:+.3f}], {_fmt_p(head['p'], nb)}"
    if head["p"] < alpha and np.isfinite(d):
        text = f"{a} beats {b} on {target} ({ev['n']} test sequences): {interval}."
    else:
        text = (f"{a} and {b} are not distinguishable on {target} ({ev['n']} test sequences): "
                f"{interval} ({a} − {b}).")
    best = ranking[0]
    ceiling = ev.get("ceiling")
    if ceiling and np.isfinite(ceiling) and ceiling > 0:
        text += (f" The best model, {best['model']} (Pearson {best['pearson']:.3f}), reaches "
                 f"{100 * best['pearson'] / ceiling:.0f}% of the noise ceiling ({ceiling:.3f}).")
    else:
        text += " No noise ceiling is known for this target (no replicates, no ground truth)."
    for s in ev.get("seed_spread", []):
        if s["n_seeds"] > 1:
            text += (f" Over {s['n_seeds']} seeds, {s['name']} scores {s['mean']:.3f} ± "
                     f"{s['sd']:.3f} (range {s['min']:.3f}–{s['max']:.3f}).")
    for name, rows in (evaluation.get("sampled") or {}).items():
        if name in (a, b):
            text += (f" {name} was fitted on a random sample of {rows['used']:,} of "
                     f"{rows['of']:,} training sequences (04's baseline_max_train), the deep "
                     "models on all of them.")
    rel = ev.get("relatives") or {}
    if rel.get("with"):
        without = [g for g in ev.get("groups", []) if g["grouping"] == "has_relative_in_train"
                   and g["group"] == "False" and g["model"] == best["model"]]
        text += (f" {rel['with']} of {ev['n']} test sequences have a close relative in train"
                 + (f"; on the {rel['without']} without, {best['model']} scores "
                    f"{without[0]['pearson']:.3f}." if without else "; none without."))
    return text


def _sampled(models_info: dict, models: list[str]) -> dict:
    """``{model: {used, of, seed}}`` for the models 04 fitted on a sample of the training
    rows (``params["rows"]`` of a baseline fitted beyond ``baseline_max_train``)."""
    out = {}
    for m in models:
        rows = ((models_info.get(m) or {}).get("params") or {}).get("rows") or {}
        if rows.get("seed") is not None:
            out[m] = {k: rows[k] for k in ("used", "of", "seed")}
    return out


# -- the run folder ----------------------------------------------------------------------------
def headline_models(evaluation: dict, target: str) -> list[str]:
    """The models worth plotting: the best on test, the best deep model, the best baseline."""
    ev = evaluation["targets"][target]
    names = [ev["ranking"][0]["model"], evaluation.get("deep_ensemble"),
             evaluation.get("best_deep_model"), evaluation.get("best_baseline")]
    known = {r["model"] for r in ev["ranking"]}
    return [m for m in dict.fromkeys(names) if m in known]


def _best_on_split(pred: pd.DataFrame, columns: list[str], split: str) -> str | None:
    """The column with the highest mean (over targets) Pearson on ``split``, if any rows."""
    sub = pred[pred["split"] == split]
    if sub.empty or not columns:
        return None
    score = {c: np.nanmean([rowwise_pearson(g[c].to_numpy(), g["observed"].to_numpy())
                            for _, g in sub.groupby("target")]) for c in columns}
    return max(score, key=lambda c: -np.inf if np.isnan(score[c]) else score[c])


def _ceiling_for(ceilings: dict, target: str, targets: list[str]) -> tuple[float | None, str]:
    """The ceiling that applies to ``target`` and where it comes from."""
    gt, rep, met = ceilings["ground_truth"], ceilings["replicates"], ceilings["metrics"]
    if gt is not None and (target == "expression" or len(targets) == 1):
        return float(gt), "ground truth"
    if rep is not None and len(targets) == 1 and np.isfinite(rep["ceiling"]):
        return rep["ceiling"], "replicates"
    if isinstance(met, dict):
        met = met.get(target)
    return (float(met), "04_model") if met is not None else (None, "none")


def evaluate_models(pred: pd.DataFrame, *, groups: pd.DataFrame, metrics: dict,
                    ceilings: dict, group_column: str | None = None, seed: int = 0,
                    n_bootstrap: int = 1000, ci: float = 0.95,
                    progress: bool = True) -> tuple[dict, pd.DataFrame]:
    """Score every model of ``pred`` (predictions.csv) on its test rows, compare them in
    pairs and judge them against the noise ceiling.

    ``groups`` is indexed by id (``has_relative_in_train`` and the group column);
    ``metrics`` is 04_model's metrics.json (models, best_deep_model, deep_ensemble,
    best_baseline); ``ceilings`` holds every ceiling on offer (``ground_truth``,
    ``replicates``, ``metrics``, ``explore_replicate_agreement``). Returns the
    ``evaluation`` dict (metrics.json's ``evaluation``) and the table (evaluation.csv).
    """
    models_info = metrics.get("models", {})
    table, boots = evaluate_predictions(pred, groups=groups, n_bootstrap=n_bootstrap, ci=ci,
                                        seed=seed, progress=progress)
    models = model_columns(pred)
    deep = [m for m in models if model_kind(m, models_info) == "deep"]
    single = [m for m in deep if "@" in m] or deep
    base = [m for m in models if model_kind(m, models_info) == "baseline"]
    best_deep = metrics.get("best_deep_model") or _best_on_split(pred, single, "valid")
    best_base = metrics.get("best_baseline") or _best_on_split(pred, base, "valid")
    # the headline deep prediction: the seed ensemble where 04_model wrote one
    head_deep = metrics.get("deep_ensemble") or best_deep
    head_deep = head_deep if head_deep in models else best_deep
    test = pred[pred["split"] == "test"]
    targets = list(dict.fromkeys(test["target"]))
    spread = seed_spread(table)

    per_target = {}
    for t in targets:
        overall = table[(table["target"] == t) & (table["grouping"] == "all")]
        ranking = overall.sort_values("pearson", ascending=False, na_position="last")
        ranking = ranking.assign(kind=[model_kind(m, models_info) for m in ranking["model"]])
        names, boot = boots[t]
        pairs = choose_pairs(overall, best_deep=head_deep, best_baseline=best_base)
        comps = compare_models(names, boot, overall.set_index("model").loc[names, "pearson"],
                               pairs=pairs, ci=ci)
        comps["role"] = ["deep_vs_baseline" if (a, b) == (head_deep, best_base) else "vs_best"
                         for a, b in zip(comps["a"], comps["b"])]
        ceiling, source = _ceiling_for(ceilings, t, targets)
        sub = table[(table["target"] == t) & (table["grouping"] != "all")]
        rel = test[test["target"] == t]["id"].map(groups["has_relative_in_train"])
        per_target[t] = {
            "n": int(overall["n"].iloc[0]),
            "ranking": ranking.drop(columns=["target", "grouping", "group"]).to_dict("records"),
            "comparisons": comps.to_dict("records"),
            "seed_spread": spread[spread["target"] == t].drop(columns="target").to_dict("records"),
            "groups": sub.drop(columns="target").to_dict("records"),
            "relatives": {"with": int(rel.sum()), "without": int((~rel.astype(bool)).sum())},
            "ceiling": ceiling, "ceiling_source": source}
    evaluation = {"split": "test", "seed": seed, "n_bootstrap": n_bootstrap, "ci": ci,
                  "group_column": group_column, "best_deep_model": best_deep,
                  "deep_ensemble": head_deep, "best_baseline": best_base,
                  "kinds": {m: model_kind(m, models_info) for m in models},
                  "sampled": _sampled(models_info, models),
                  "ceilings": ceilings, "targets": per_target}
    evaluation["verdict"] = {t: verdict(evaluation, t) for t in targets}
    return evaluation, table


def gc_content(seqs, *, chunk_bases: int = 1 << 21) -> pd.Series:
    """GC fraction of each sequence over its A/C/G/T bases: ``(n,) float64`` (NaN if none),
    counted by ``composition.gc_content`` about ``chunk_bases`` bases at a time."""
    return pd.Series(composition.gc_content(list(seqs), max_bases=chunk_bases),
                     dtype=np.float64)
