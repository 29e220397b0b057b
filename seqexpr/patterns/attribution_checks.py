"""Checks of attribution maps themselves: do they agree, are they strand-consistent, stable?

ISM against gradients (:func:`agreement`), forward against reverse-complement attributions
(:func:`rc_consistency`), and the top positions across models or seeds
(:func:`top_position_stability`); each returns per-sequence values with a quartile summary.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from seqexpr.patterns.inputs import check_onehot, real_positions

__all__ = ["agreement", "rc_consistency", "top_position_stability"]


def _summary(values):
    v = values[np.isfinite(values)]
    if v.size == 0:
        return dict(median=float("nan"), q25=float("nan"), q75=float("nan"),
                    iqr=float("nan"), n=0)
    q25, med, q75 = np.percentile(v, [25, 50, 75])
    return dict(median=float(med), q25=float(q25), q75=float(q75), iqr=float(q75 - q25),
                n=int(v.size))


def _rowwise_pearson(a, b, w):
    """Pearson correlation of each row of a and b (m, k) over entries where w (m, k) is 1."""
    w = w.astype(np.float64)
    cnt = np.maximum(w.sum(1, keepdims=True), 1)
    a = a - (a * w).sum(1, keepdims=True) / cnt
    b = b - (b * w).sum(1, keepdims=True) / cnt
    num = (a * b * w).sum(1)
    den = np.sqrt((a * a * w).sum(1) * (b * b * w).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def agreement(a, b, *, mask=None):
    """Per-sequence Pearson correlation of two attribution maps on the observed bases.

    Each map is projected to one score per position by summing over bases, which gives the
    observed base's score for gradient x input and for centered ISM
    (:func:`seqexpr.patterns.ism.center_ism`); center raw ISM first.

    Parameters
    ----------
    a, b : (n, L, 4) float32
    mask : (n, L), optional
        Positions compared; when omitted, those where either map is non-zero.

    Returns
    -------
    dict
        ``pearson`` (n,) float64 (NaN for a constant map), ``median``, ``q25``, ``q75``,
        ``iqr``, ``n`` (sequences with a finite correlation).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"attribution maps differ in shape: {a.shape} vs {b.shape}")
    pa, pb = a.sum(-1), b.sum(-1)
    w = (pa != 0) | (pb != 0) if mask is None else np.asarray(mask).astype(bool)
    r = _rowwise_pearson(pa, pb, w)
    return dict(pearson=r, **_summary(r))


def rc_consistency(attr_fn: Callable, x, *, mask=None):
    """How well attributions of a sequence match those of its reverse complement.

    ``attr_fn(x)`` (called with ``mask=`` when a mask is given) is compared, per sequence, with
    the reverse complement of ``attr_fn(RC(x))`` over all bases of the real positions. A model
    that reads both strands alike scores ~1.

    Parameters
    ----------
    attr_fn : callable
        ``(n, L, 4) float32 -> (n, L, 4)``, e.g. ``lambda x, **kw: ism(model, x, **kw)``.
    x : (n, L, 4) float32 or uint8
    mask : (n, L), optional

    Returns
    -------
    dict
        ``pearson`` (n,), ``median``, ``q25``, ``q75``, ``iqr``, ``n``.
    """
    x = check_onehot(x)
    x_rc = np.ascontiguousarray(x[:, ::-1, ::-1])
    if mask is None:
        fwd, rev = attr_fn(x), attr_fn(x_rc)
        real = real_positions(x, None)
    else:
        mask = np.asarray(mask)
        fwd = attr_fn(x, mask=mask)
        rev = attr_fn(x_rc, mask=np.ascontiguousarray(mask[:, ::-1]))
        real = mask.astype(bool)
    back = np.asarray(rev, np.float64)[:, ::-1, ::-1]
    n = len(x)
    w = np.repeat(real, 4, axis=1)
    r = _rowwise_pearson(np.asarray(fwd, np.float64).reshape(n, -1), back.reshape(n, -1), w)
    return dict(pearson=r, **_summary(r))


def top_position_stability(a, b, *, k=10, mask=None):
    """Overlap of the ``k`` most important positions of two attribution maps.

    Use it on maps of the same sequences from two models or seeds. Importance is the absolute
    per-position score (sum over bases, as in :func:`agreement`).

    Parameters
    ----------
    a, b : (n, L, 4) float32
    k : int
        Top positions compared per sequence.
    mask : (n, L), optional

    Returns
    -------
    dict
        ``jaccard`` (n,) float64 (Jaccard index of the two top-k sets), ``median``, ``q25``,
        ``q75``, ``iqr``, ``n``, ``mean``, ``k``, and ``chance`` (the expected Jaccard of two
        random k-sets, at the median number of real positions).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"attribution maps differ in shape: {a.shape} vs {b.shape}")
    n, length = a.shape[:2]
    real = np.ones((n, length), bool) if mask is None else np.asarray(mask).astype(bool)
    k = int(min(k, length))
    sa = np.where(real, np.abs(a.sum(-1)), -np.inf)
    sb = np.where(real, np.abs(b.sum(-1)), -np.inf)
    top_a = np.zeros((n, length), bool)
    top_b = np.zeros((n, length), bool)
    rows = np.arange(n)[:, None]
    top_a[rows, np.argsort(-sa, axis=1, kind="stable")[:, :k]] = True
    top_b[rows, np.argsort(-sb, axis=1, kind="stable")[:, :k]] = True
    top_a &= real
    top_b &= real
    inter = (top_a & top_b).sum(1)
    union = (top_a | top_b).sum(1)
    jac = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
    m = float(np.median(real.sum(1))) if n else float("nan")
    kk = min(k, m) if m == m else float("nan")
    # E|A & B| = k^2 / m for two random k-sets of m positions
    chance = (kk * kk / m) / (2 * kk - kk * kk / m) if m and kk else float("nan")
    out = dict(jaccard=jac, **_summary(jac))
    out.update(mean=float(np.nanmean(jac)) if np.isfinite(jac).any() else float("nan"),
               k=k, chance=float(chance))
    return out
