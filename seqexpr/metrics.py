"""Report tables over ``metrics.json`` (written by 04_model): every model's test metrics, the
spread over training seeds, and the deep ensemble against the best baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
