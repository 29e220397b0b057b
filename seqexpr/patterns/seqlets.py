"""Seqlets: short, high-attribution segments of sequences, with their sign kept apart.

A per-nucleotide attribution map ``(n, L, 4)`` is projected on the observed base, smoothed
with a short window (MPRA-length sequences are 100-300 nt, so the window is a motif's width,
not a kilobase), compared with a robust null, and its local maxima are cut out as fixed-width
seqlets: a core of ``window`` nt plus ``flank`` nt on each side. Positive seqlets are where
the model's prediction rises with the observed bases (activators), negative ones where it
falls (repressors). Padded positions (``mask == 0``) neither produce seqlets nor count in the
null.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.ndimage import maximum_filter1d

SEQLET_COLUMNS = ["seq_index", "start", "end", "center", "sign", "score", "z"]


def _check(attr, onehot, mask):
    attr = np.asarray(attr, dtype=np.float32)
    onehot = np.asarray(onehot)
    if attr.ndim != 3 or attr.shape[-1] != 4:
        raise ValueError(f"attributions must be (n, L, 4); got shape {attr.shape}.")
    if onehot.shape != attr.shape:
        raise ValueError(
            f"one-hot shape {onehot.shape} differs from attribution shape {attr.shape}: "
            "pass the one-hot rows the attributions were computed on."
        )
    if mask is None:
        mask = onehot.sum(-1) > 0
    mask = np.asarray(mask).astype(bool)
    if mask.shape != attr.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} does not match (n, L) = {attr.shape[:2]}.")
    return attr, onehot.astype(np.float32), mask


def project(attr, onehot, mask=None):
    """Attribution of the observed base at each position.

    Parameters
    ----------
    attr : (n, L, 4) float array
        Per-nucleotide attributions (ISM deltas or gradient x input), bases in ACGT order.
    onehot : (n, L, 4) uint8 or float array
        The sequences the attributions were computed on.
    mask : (n, L) array, optional
        1 for real bases, 0 for padding; padding scores 0. Defaults to "any base set".

    Returns
    -------
    (n, L) float32
    """
    attr, x, mask = _check(attr, onehot, mask)
    return np.where(mask, (attr * x).sum(-1), 0.0).astype(np.float32)


def smooth(score, window, mask=None):
    """Centred moving sum of ``score`` over ``window`` nt, padding counted as 0.

    Parameters
    ----------
    score : (n, L) float array
    window : int
        Odd widths centre exactly; even widths lean one position to the right.
    mask : (n, L) array, optional
        Smoothed values at padded positions are set to 0.

    Returns
    -------
    (n, L) float32
    """
    score = np.asarray(score, dtype=np.float64)
    if mask is not None:
        score = np.where(np.asarray(mask, bool), score, 0.0)
    n, length = score.shape
    half = window // 2
    c = np.zeros((n, length + 1))
    np.cumsum(score, axis=1, out=c[:, 1:])
    idx = np.arange(length)
    lo = np.clip(idx - half, 0, length)
    hi = np.clip(idx - half + window, 0, length)
    out = c[:, hi] - c[:, lo]
    if mask is not None:
        out = np.where(np.asarray(mask, bool), out, 0.0)
    return out.astype(np.float32)


def robust_z(values, mask=None):
    """Robust z-scores: (value - median) / (1.4826 * MAD) over the unmasked entries.

    Returns the z array (same shape, 0 where masked), the median and the scale.
    """
    values = np.asarray(values, dtype=np.float64)
    keep = np.ones(values.shape, bool) if mask is None else np.asarray(mask, bool)
    v = values[keep]
    if v.size == 0:
        raise ValueError("no unmasked positions: every position is padding.")
    med = float(np.median(v))
    scale = 1.4826 * float(np.median(np.abs(v - med)))
    if scale <= 0:
        # Sparse maps (most positions exactly 0) have MAD 0; fall back to the SD.
        scale = float(np.std(v)) or 1.0
    z = np.where(keep, (values - med) / scale, 0.0)
    return z, med, scale


def extract_seqlets(attr, onehot, *, mask=None, window=9, flank=5, threshold=2.0,
                    max_per_seq=5, min_separation=None):
    """Cut high-attribution segments out of attribution maps, positive and negative apart.

    Parameters
    ----------
    attr : (n, L, 4) float array
        Per-nucleotide attributions, bases in ACGT order.
    onehot : (n, L, 4) uint8 or float array
        The sequences.
    mask : (n, L) array, optional
        1 for real bases, 0 for padding (never yields a seqlet, never counts in the null).
    window : int
        Smoothing window and seqlet core width, nt (7-11 suits transcription-factor sites).
    flank : int
        Extra nt kept on each side of the core; seqlets are ``window + 2 * flank`` wide.
    threshold : float
        Minimum |robust z| of the smoothed score, z computed over all real positions of all
        sequences (median and MAD), so most background positions fall well below it.
    max_per_seq : int
        Keep at most this many seqlets per sequence and sign, strongest first.
    min_separation : int, optional
        Peaks of one sign closer than this are suppressed but for the strongest
        (non-maximum suppression); defaults to ``window``.

    Returns
    -------
    pandas.DataFrame
        One row per seqlet: ``seq_index`` (row of ``attr``), ``start``, ``end`` (half-open,
        sequence coordinates, ``end - start == window + 2 * flank``), ``center`` (the peak),
        ``sign`` (``"+"`` or ``"-"``), ``score`` (smoothed attribution at the peak, signed),
        ``z`` (its robust z-score). Sorted by ``|score|``, largest first. Every position of
        every seqlet is a real base.
    """
    if window < 1 or flank < 0:
        raise ValueError(f"window must be >= 1 and flank >= 0; got {window}, {flank}.")
    attr, x, mask = _check(attr, onehot, mask)
    proj = project(attr, x, mask)
    sm = smooth(proj, window, mask)
    z, _, _ = robust_z(sm, mask)
    width = window + 2 * flank
    sep = int(min_separation or window)
    half = window // 2

    # Valid span of each sequence: seqlets must fit inside its real bases.
    n, length = proj.shape
    has = mask.any(1)
    first = np.where(has, mask.argmax(1), 0)
    last = np.where(has, length - 1 - mask[:, ::-1].argmax(1), -1)

    rows = []
    for sign, s in (("+", z), ("-", -z)):
        s = np.where(mask, s, -np.inf)
        peak = (s >= threshold) & (s == maximum_filter1d(s, size=2 * sep + 1, axis=1,
                                                         mode="constant", cval=-np.inf))
        seq, pos = np.nonzero(peak)
        if seq.size == 0:
            continue
        strength = s[seq, pos]
        # Plateaus give several equal maxima: keep the first of each run.
        order = np.lexsort((pos, seq))
        seq, pos, strength = seq[order], pos[order], strength[order]
        dup = np.r_[False, (seq[1:] == seq[:-1]) & (pos[1:] - pos[:-1] <= sep)
                    & (strength[1:] == strength[:-1])]
        seq, pos, strength = seq[~dup], pos[~dup], strength[~dup]
        start = pos - half - flank
        start = np.clip(start, first[seq], last[seq] + 1 - width)
        fits = (last[seq] + 1 - first[seq]) >= width
        seq, pos, start, strength = seq[fits], pos[fits], start[fits], strength[fits]
        # Inside the valid span, a seqlet may still cross an internal gap of padding.
        cols = start[:, None] + np.arange(width)
        ok = mask[seq[:, None], cols].all(1)
        seq, pos, start, strength = seq[ok], pos[ok], start[ok], strength[ok]
        rows.append(pd.DataFrame({
            "seq_index": seq, "start": start, "end": start + width, "center": pos,
            "sign": sign, "score": sm[seq, pos], "z": z[seq, pos],
        }))
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            SEQLET_COLUMNS, ["int64", "int64", "int64", "int64", "object", "float32",
                             "float64"])})
    out = pd.concat(rows, ignore_index=True)
    out["_abs"] = out["score"].abs()
    out = out.sort_values("_abs", ascending=False, kind="stable")
    out = out.groupby(["seq_index", "sign"], sort=False).head(max_per_seq)
    return out.drop(columns="_abs").reset_index(drop=True)[SEQLET_COLUMNS]


def seqlet_windows(seqlets, onehot, attr=None, *, pad=0):
    """Gather the one-hot (and attribution) windows of seqlets as stacked arrays.

    Parameters
    ----------
    seqlets : DataFrame
        Rows from :func:`extract_seqlets` (``seq_index``, ``start``, ``end``; one width).
    onehot : (n, L, 4) array
    attr : (n, L, 4) float array, optional
    pad : int
        Widen each window by this many nt on both sides; positions outside the sequence
        come back as zeros.

    Returns
    -------
    x : (m, width + 2 * pad, 4) float32
    a : (m, width + 2 * pad, 4) float32, only when ``attr`` is given
    """
    widths = (seqlets["end"] - seqlets["start"]).unique()
    if len(widths) > 1:
        raise ValueError(f"seqlets have several widths {sorted(widths)}; gather them apart.")
    width = int(widths[0]) if len(widths) else 0
    seq = seqlets["seq_index"].to_numpy()[:, None]
    cols = seqlets["start"].to_numpy()[:, None] - pad + np.arange(width + 2 * pad)
    length = np.asarray(onehot).shape[1]
    inside = (cols >= 0) & (cols < length)
    colc = np.clip(cols, 0, length - 1)
    x = np.where(inside[..., None], np.asarray(onehot)[seq, colc], 0).astype(np.float32)
    if attr is None:
        return x
    a = np.where(inside[..., None], np.asarray(attr)[seq, colc], 0).astype(np.float32)
    return x, a


def choose_sequences(values, n, *, seed=0, extremes=1 / 3):
    """Rows to analyse: the highest and lowest ``values`` and a random draw of the rest.

    High and low sequences carry the strongest activating and repressing signals; the random
    third keeps ordinary sequences (and the background the motifs sit in) in the analysis.

    Parameters
    ----------
    values : (m,) float array
        E.g. the model's predictions.
    n : int
        How many rows to return (all rows when ``n >= m``).
    seed : int
    extremes : float
        Fraction of ``n`` taken from each end (``1/3``: a third high, a third low).

    Returns
    -------
    (min(n, m),) int64, sorted row indices
    """
    values = np.asarray(values, dtype=np.float64)
    m = len(values)
    if n >= m:
        return np.arange(m)
    order = np.argsort(values, kind="stable")
    k = int(n * extremes)
    ends = np.r_[order[:k], order[m - k:]] if k else np.array([], int)
    rest = np.setdiff1d(np.arange(m), ends)
    draw = np.random.default_rng(seed).choice(rest, n - len(ends), replace=False)
    return np.sort(np.r_[ends, draw]).astype(np.int64)
