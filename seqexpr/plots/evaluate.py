"""Figures of the evaluate stage (05_evaluate): model performance on held-out sequences.

Every function returns a matplotlib Figure.

Inputs are the ``frame`` and ``table`` that :func:`seqexpr.stages.evaluate.run` returns:
test rows of predictions.csv (``observed``, one column per model, ``gc``,
``has_relative_in_train``) and evaluation.csv.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from seqexpr.plots._common import subsample

__all__ = ["plot_predicted_vs_observed", "plot_residuals", "plot_relative_error", "plot_forest"]

DENSE = 2000  # above this many points, predicted-vs-observed plots use hexbins


def _one_target(frame: pd.DataFrame, target: str | None) -> tuple[pd.DataFrame, str]:
    targets = list(dict.fromkeys(frame["target"])) if "target" in frame else [""]
    target = targets[0] if target is None else target
    if "target" in frame and target not in targets:
        raise ValueError(f"target {target!r} is not in the predictions (targets: {targets}).")
    return (frame[frame["target"] == target] if "target" in frame else frame), target


def plot_predicted_vs_observed(frame: pd.DataFrame, models: list[str], *,
                               target: str | None = None, max_points: int = 20000,
                               seed: int = 0) -> Figure:
    """Predicted against observed, one panel per model (hexbin density for large sets).

    Parameters
    ----------
    frame : DataFrame
        Rows of one split with ``observed`` and a column per model (and ``target``).
    models : list of str
        Model columns to draw.
    max_points : int
        At most this many sequences are drawn (a seeded random subset).
    """
    sub, target = _one_target(frame, target)
    sub = sub.iloc[subsample(len(sub), max_points, seed)]
    y = sub["observed"].to_numpy(float)
    ncol = min(3, len(models))
    nrow = int(np.ceil(len(models) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 4 * nrow), squeeze=False)
    lo, hi = np.nanmin(y), np.nanmax(y)
    for ax, m in zip(axes.flat, models):
        p = sub[m].to_numpy(float)
        if len(y) > DENSE:
            hb = ax.hexbin(y, p, gridsize=50, mincnt=1, bins="log", cmap="viridis")
            fig.colorbar(hb, ax=ax, label="sequences (log)")
        else:
            ax.scatter(y, p, s=8, alpha=0.5, lw=0)
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls="--")
        r = np.corrcoef(y, p)[0, 1] if len(y) > 2 else np.nan
        ax.set_title(f"{m}: Pearson {r:.3f}")
        ax.set_xlabel(f"observed {target} (modelled scale)")
        ax.set_ylabel(f"predicted {target}")
    for ax in list(axes.flat)[len(models):]:
        ax.axis("off")
    fig.suptitle(f"Predicted against observed on {len(y):,} test sequences")
    fig.tight_layout()
    return fig


def plot_residuals(frame: pd.DataFrame, model: str, *, target: str | None = None,
                   max_points: int = 20000, seed: int = 0) -> Figure:
    """Residuals (predicted − observed) against observed value and against GC content.

    A slope against observed is the usual shrinkage towards the mean; a slope against GC says
    the model misses (or overuses) base composition.
    """
    sub, target = _one_target(frame, target)
    sub = sub.iloc[subsample(len(sub), max_points, seed)]
    y = sub["observed"].to_numpy(float)
    res = sub[model].to_numpy(float) - y
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    panels = [(y, f"observed {target}")]
    panels.append((sub["gc"].to_numpy(float) if "gc" in sub else np.full(len(y), np.nan),
                   "GC fraction"))
    for ax, (x, label) in zip(axes, panels):
        ok = np.isfinite(x) & np.isfinite(res)
        if not ok.any():
            ax.text(0.5, 0.5, f"no {label} available", ha="center", va="center",
                    transform=ax.transAxes)
        elif ok.sum() > DENSE:
            ax.hexbin(x[ok], res[ok], gridsize=50, mincnt=1, bins="log", cmap="viridis")
        else:
            ax.scatter(x[ok], res[ok], s=8, alpha=0.5, lw=0)
        if ok.sum() > 2 and np.ptp(x[ok]) > 0:
            slope, icept = np.polyfit(x[ok], res[ok], 1)
            xs = np.linspace(x[ok].min(), x[ok].max(), 2)
            ax.plot(xs, icept + slope * xs, color="C3", label=f"trend, slope {slope:.2f}")
            ax.legend(loc="upper right")
        ax.axhline(0, color="grey", lw=1, ls="--")
        ax.set_xlabel(label)
    axes[0].set_ylabel(f"residual of {model} (predicted − observed)")
    fig.suptitle(f"Residuals of {model} on {len(y):,} test sequences")
    fig.tight_layout()
    return fig


def plot_relative_error(frame: pd.DataFrame, model: str, *, target: str | None = None) -> Figure:
    """Absolute error on test sequences with a close relative in train against those without.

    Similar errors mean the split is honest or that homology does not help; a much smaller error
    with relatives means the headline score is partly memory.
    """
    sub, target = _one_target(frame, target)
    err = (sub[model] - sub["observed"]).abs().to_numpy(float)
    rel = sub["has_relative_in_train"].fillna(False).astype(bool).to_numpy()
    fig, ax = plt.subplots(figsize=(6, 4))
    data, labels = [], []
    for flag, name in ((True, "with a relative in train"), (False, "without")):
        e = err[rel == flag]
        labels.append(f"{name}\n(n = {len(e):,})")
        data.append(e if len(e) else np.array([np.nan]))
    ax.boxplot(data, showfliers=False)
    ax.set_xticks([1, 2], labels)
    for i, e in enumerate(data, start=1):
        if np.isnan(e).all():
            ax.text(i, 0.5, "none in this group", ha="center", va="center",
                    transform=ax.get_xaxis_transform(), color="C3")
        else:
            ax.plot(i, np.nanmean(e), "D", color="C1", label="mean" if i == 1 else None)
    if not rel.any() or rel.all():
        which = "with" if not rel.any() else "without"
        ax.set_title(f"{model}: no test sequence {which} a close relative in train")
    else:
        ax.set_title(f"{model}: error by relatedness to the training set")
        ax.legend(loc="upper right")
    ax.set_ylabel(f"|predicted − observed| {target}")
    fig.tight_layout()
    return fig


def plot_forest(table: pd.DataFrame, *, target: str | None = None, grouping: str = "all",
                ceiling: float | None = None, metric: str = "pearson",
                kinds: dict | None = None) -> Figure:
    """Forest plot: each model's correlation with its bootstrap interval, best at the top.

    ``table`` is evaluation.csv; with ``grouping`` other than ``"all"`` (e.g. ``"species"``),
    one row per (model, group). A dashed line marks the noise ceiling when given. ``kinds``
    maps model to ``"baseline"``/``"deep"`` (colours); by default names ending in ``_kmer``
    are baselines.
    """
    sub, target = _one_target(table, target)
    sub = sub[sub["grouping"] == grouping].sort_values(metric, na_position="first")
    if sub.empty:
        raise ValueError(f"no rows with grouping {grouping!r} in the table "
                         f"(groupings: {sorted(table['grouping'].unique())}).")
    label = sub["model"] if grouping == "all" else sub["model"] + " · " + sub["group"]
    ypos = np.arange(len(sub))
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(sub) + 1.6))
    v = sub[metric].to_numpy(float)
    err = np.vstack([v - sub[f"{metric}_lo"].to_numpy(float),
                     sub[f"{metric}_hi"].to_numpy(float) - v])
    kinds = kinds or {}
    baseline = np.array([kinds.get(m, "baseline" if m.endswith("_kmer") else "deep")
                         == "baseline" for m in sub["model"]])
    for mask, color, name in ((~baseline, "C0", "deep"), (baseline, "C2", "baseline")):
        if mask.any():
            ax.errorbar(v[mask], ypos[mask], xerr=err[:, mask], fmt="o", color=color,
                        capsize=3, label=name)
    if ceiling is not None and np.isfinite(ceiling):
        ax.axvline(ceiling, color="grey", ls="--", label=f"noise ceiling {ceiling:.3f}")
    ax.set_yticks(ypos, label)
    ax.set_xlabel(f"test {metric.capitalize()} ({target}) with bootstrap interval")
    ax.set_title(f"Models ranked by test {metric.capitalize()}" +
                 ("" if grouping == "all" else f", per {grouping}"))
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig
