"""Bootstrap statistics for correlations: many resamples at once, paired between models.

A bootstrap resample of ``n`` sequences is a row of ``(n_bootstrap, n)`` drawn indices; it is
turned into a row of counts (how often each sequence was drawn), so that Pearson and Spearman
over all resamples and all models are weighted sums, computed in blocks without copying the
data once per resample. The indices are drawn block by block from one generator, which gives
the very rows :func:`bootstrap_indices` would, in memory proportional to ``n``. Models scored
with the same seed see the same resamples, which is what makes the difference between two
models a paired comparison.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats
from scipy.stats import rankdata


# -- correlations over many resamples at once ------------------------------------------------
def bootstrap_indices(n: int, *, n_bootstrap: int = 1000, seed: int = 0) -> np.ndarray:
    """Resampled row indices, one bootstrap sample per row: ``(n_bootstrap, n) int64``."""
    return np.random.default_rng(seed).integers(0, n, size=(n_bootstrap, n))


def rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation along the last axis of two broadcastable arrays ``(..., n)``.

    Returns ``(...)`` float64; NaN where either side is constant.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xc * yc).sum(-1) / np.sqrt((xc * xc).sum(-1) * (yc * yc).sum(-1))
    return np.clip(r, -1.0, 1.0)


def bootstrap_correlations(observed, predicted, *, n_bootstrap: int = 1000, seed: int = 0,
                           spearman: bool = True, max_elements: int = 100_000) -> dict:
    """Pearson (and Spearman) of each model on the same bootstrap resamples.

    Parameters
    ----------
    observed : (n,) float
        Measured values.
    predicted : (n,) or (m, n) float
        Predictions of ``m`` models for the same ``n`` sequences.
    n_bootstrap, seed
        Number of resamples and the seed that draws them (same seed, same resamples).
    spearman : bool
        Also compute Spearman (ranks recomputed inside every resample, ties averaged).
    max_elements : int
        Resamples are processed in chunks of at most this many values, to bound memory.

    Returns
    -------
    dict with ``pearson`` and ``spearman``: ``(n_bootstrap, m) float64`` (``spearman`` is None
    when not asked for).
    """
    y = np.asarray(observed, np.float64)
    p = np.atleast_2d(np.asarray(predicted, np.float64))
    if p.shape[1] != y.shape[0]:
        raise ValueError(f"predicted has {p.shape[1]} values per model but observed has "
                         f"{y.shape[0]}; pass predictions for the same sequences, in order.")
    n, m = len(y), p.shape[0]
    rng = np.random.default_rng(seed)  # drawn in blocks: the same stream as one draw
    # A resample is a weighting of the original rows by how often each was drawn, so every
    # statistic is a weighted sum: (b, n) counts instead of (m, b, n) gathered copies.
    step = max(1, max_elements // max(1, n * (2 if spearman else 1)))
    plans = [_rank_plan(v) for v in (*p, y)] if spearman else []
    pear = np.empty((n_bootstrap, m))
    spear = np.empty((n_bootstrap, m)) if spearman else None
    for start in range(0, n_bootstrap, step):
        b = min(step, n_bootstrap - start)
        sl = slice(start, start + b)
        w = _counts(rng.integers(0, n, size=(b, n)), n)  # (b, n)
        pear[sl] = _weighted_pearson_fixed(w, p, y)
        if spearman:
            ry = _resample_ranks(w, *plans[-1])
            for j in range(m):
                spear[sl, j] = _weighted_pearson(w, _resample_ranks(w, *plans[j]), ry)
    return {"pearson": pear, "spearman": spear}


def _counts(idx: np.ndarray, n: int) -> np.ndarray:
    """How often each of ``n`` rows was drawn in each resample: ``(b, n) float64``."""
    b = idx.shape[0]
    flat = (idx + n * np.arange(b)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)


def _weighted_pearson_fixed(w: np.ndarray, p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson of each row of ``p (m, n)`` with ``y (n,)`` under weights ``w (b, n)``: (b, m)."""
    p = p - p.mean(axis=1, keepdims=True)  # centring first keeps the sums well conditioned
    y = y - y.mean()
    tot = w.sum(axis=1, keepdims=True)
    sy, syy = w @ y, w @ (y * y)
    sp, spp, spy = w @ p.T, w @ (p * p).T, w @ (p * y).T
    cov = spy - sp * sy[:, None] / tot
    vp = spp - sp * sp / tot
    vy = (syy - sy * sy / tot[:, 0])[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip(cov / np.sqrt(vp * vy), -1.0, 1.0)


def _weighted_pearson(w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson of ``a`` and ``b`` (both (k, n)) under weights ``w (k, n)``, per row: (k,)."""
    tot = w.sum(axis=1)
    ma, mb = (w * a).sum(1) / tot, (w * b).sum(1) / tot
    ac, bc = a - ma[:, None], b - mb[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (w * ac * bc).sum(1) / np.sqrt((w * ac * ac).sum(1) * (w * bc * bc).sum(1))
    return np.clip(r, -1.0, 1.0)


def _rank_plan(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort order of ``v (n,)`` and, in that order, where each new tie group starts (bool)."""
    order = np.argsort(v, kind="stable")
    vs = v[order]
    return order, np.r_[True, vs[1:] != vs[:-1]]


def _resample_ranks(w: np.ndarray, order: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Average rank, within each weighted resample ``w (b, n)``, of every original value.

    Within one resample, all copies of values tied with ``v[i]`` share the mean of the ranks
    they occupy: (copies of smaller values) + (copies in the tie + 1) / 2. ``order, new`` come
    from :func:`_rank_plan`. Returns (b, n) float64.
    """
    tot = w[:, order]
    if not new.all():  # ties: pool the copies of each tie group
        tot = np.add.reduceat(tot, np.flatnonzero(new), axis=1)  # (b, groups)
    rank = np.cumsum(tot, axis=1) - tot + (tot + 1.0) / 2.0
    out = np.empty_like(w)
    out[:, order] = rank if new.all() else rank[:, np.cumsum(new) - 1]
    return out


def percentile_interval(samples: np.ndarray, ci: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over axis 0, ignoring NaN resamples."""
    a = (1.0 - ci) / 2.0
    with warnings.catch_warnings():  # a constant model has NaN in every resample
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanquantile(samples, [a, 1.0 - a], axis=0)
    return lo, hi


def correlation_ci(observed, predicted, *, n_bootstrap: int = 1000, ci: float = 0.95,
                   seed: int = 0) -> dict:
    """Pearson and Spearman of one model with percentile bootstrap intervals.

    Returns a dict: ``pearson, pearson_lo, pearson_hi, spearman, spearman_lo, spearman_hi, n``.
    """
    y = np.asarray(observed, np.float64)
    p = np.asarray(predicted, np.float64)
    boot = bootstrap_correlations(y, p, n_bootstrap=n_bootstrap, seed=seed)
    out = {"pearson": float(rowwise_pearson(p, y)),
           "spearman": float(rowwise_pearson(rankdata(p), rankdata(y)))}
    for k in ("pearson", "spearman"):
        lo, hi = percentile_interval(boot[k][:, 0], ci)
        out[f"{k}_lo"], out[f"{k}_hi"] = float(lo), float(hi)
    out["n"] = int(len(y))
    return out


def paired_difference(delta: float, boot_delta: np.ndarray, ci: float = 0.95) -> dict:
    """Interval and two-sided p-value for a difference from its paired bootstrap samples.

    The p-value centres the bootstrap distribution on zero (the null) and counts resamples at
    least as far from zero as the observed difference: ``(1 + #) / (1 + B)``.
    """
    d = boot_delta[np.isfinite(boot_delta)]
    if not np.isfinite(delta) or d.size == 0:
        return {"delta": float("nan"), "lo": float("nan"), "hi": float("nan"), "p": float("nan")}
    lo, hi = np.quantile(d, [(1 - ci) / 2, 1 - (1 - ci) / 2])
    p = (1 + np.sum(np.abs(d - d.mean()) >= abs(delta))) / (1 + d.size)
    return {"delta": float(delta), "lo": float(lo), "hi": float(hi), "p": float(min(1.0, p))}


def paired_bootstrap(observed, pred_a, pred_b, *, n_bootstrap: int = 1000, ci: float = 0.95,
                     seed: int = 0) -> dict:
    """Test whether model ``a`` predicts ``observed`` better than model ``b`` (Pearson).

    Both models are scored on the same resampled sequences, so what the two share (hard and
    easy sequences) cancels in the difference.

    Returns a dict: ``delta`` (Pearson a − Pearson b), ``lo``, ``hi`` (its interval), ``p``
    (two-sided; the smallest reachable value is ``1 / (n_bootstrap + 1)``), ``n``.
    """
    y = np.asarray(observed, np.float64)
    preds = np.vstack([np.asarray(pred_a, np.float64), np.asarray(pred_b, np.float64)])
    boot = bootstrap_correlations(y, preds, n_bootstrap=n_bootstrap, seed=seed, spearman=False)
    r = rowwise_pearson(preds, y)
    out = paired_difference(r[0] - r[1], boot["pearson"][:, 0] - boot["pearson"][:, 1], ci)
    out["n"] = int(len(y))
    return out


def regression_metrics(y, yhat):
    """Pearson, Spearman, R² (1 − SSres/SStot, can be negative) and RMSE of predictions ``yhat``
    against ``y`` (both ``(n,)``, on the modelled scale): the one definition behind
    metrics.json (04) and evaluation.csv (05).

    Pairs with a NaN on either side are left out; ``n`` counts the pairs used. Correlations
    are NaN when fewer than 3 pairs remain or either side is constant.
    """
    y, yhat = np.asarray(y, dtype=np.float64).ravel(), np.asarray(yhat, dtype=np.float64).ravel()
    ok = np.isfinite(y) & np.isfinite(yhat)
    y, yhat = y[ok], yhat[ok]
    n = int(len(y))
    out = dict(pearson=np.nan, spearman=np.nan, r2=np.nan, rmse=np.nan, n=n)
    if n == 0:
        return out
    out["rmse"] = float(np.sqrt(np.mean((y - yhat) ** 2)))
    ss = float(np.sum((y - y.mean()) ** 2))
    if ss > 0:
        out["r2"] = float(1 - np.sum((y - yhat) ** 2) / ss)
    if n >= 3 and np.ptp(y) > 0 and np.ptp(yhat) > 0:
        out["pearson"] = float(stats.pearsonr(y, yhat)[0])
        out["spearman"] = float(stats.spearmanr(y, yhat)[0])
    return out
