"""Position-specific effect maps: what each base does at each position of an aligned library.

In libraries whose sequences share one frame (all the same length, or aligned on a landmark such
as a start codon or a transcription start site) the grammar is often positional: a purine three
bases before AUG helps wherever the rest of the sequence varies. Motif discovery cannot see
that; a map of position x base can. From in-silico mutagenesis of a sample of sequences, the
four predictions at a position (one per base) are centred on their mean: that is the effect of
having each base there, in that sequence. Their mean over the sample is the map, their spread
says how much the effect depends on the rest of the sequence, and the share of all effects the
map explains says how positional the grammar is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqexpr.encode import ALPHABET as BASES
POSITION_COLUMNS = ["target", "position", "label", "base", "effect", "sd", "n"]

__all__ = ["BASES", "POSITION_COLUMNS", "find_landmark", "is_aligned", "position_effects",
           "position_labels", "position_table", "positional_share", "top_effects"]


def is_aligned(lengths) -> bool:
    """True when every sequence has the same length (the positions share one frame)."""
    lengths = np.asarray(lengths)
    return lengths.size > 0 and bool((lengths == lengths[0]).all())


def find_landmark(onehot, *, mask=None, min_length: int = 3) -> tuple[int, str] | None:
    """The longest run of positions where every sequence holds the same base, if any.

    In an aligned library such a run is what the sequences were aligned on (the AUG of a
    translation-start library, a fixed core, a constant site); positions are then best read
    relative to it. Runs touching either end are constant flanks (adapters), not landmarks,
    unless the run is all there is.

    Parameters
    ----------
    onehot : (n, L, 4)
    mask : (n, L), optional
        A position counts only where every sequence has a real base.
    min_length : int
        Shortest run that counts (nt).

    Returns
    -------
    (start, bases) or None
        ``start`` is the 1-based position of the run's first base, ``bases`` its sequence.
    """
    x = np.asarray(onehot)
    if x.ndim != 3 or len(x) < 2:
        return None
    real = np.ones(x.shape[:2], bool) if mask is None else np.asarray(mask).astype(bool)
    counts = x.astype(np.int64).sum(0)  # (L, 4)
    constant = (counts.max(1) == len(x)) & real.all(0)
    runs, start = [], None
    for p, c in enumerate([*constant.tolist(), False]):
        if c and start is None:
            start = p
        elif not c and start is not None:
            runs.append((start, p))
            start = None
    length = x.shape[1]
    inner = [r for r in runs if r[0] > 0 and r[1] < length] or runs
    inner = [r for r in inner if r[1] - r[0] >= min_length]
    if not inner:
        return None
    lo, hi = max(inner, key=lambda r: (r[1] - r[0], -r[0]))
    return lo + 1, "".join(BASES[b] for b in counts[lo:hi].argmax(1))


def _centred(scores, mask):
    scores = np.asarray(scores, np.float64)
    if scores.ndim != 3 or scores.shape[-1] != 4:
        raise ValueError(f"ISM scores must be (n, L, 4); got shape {scores.shape}")
    real = (np.ones(scores.shape[:2], bool) if mask is None
            else np.asarray(mask).astype(bool))
    if real.shape != scores.shape[:2]:
        raise ValueError(f"mask shape {real.shape} does not match the scores' {scores.shape[:2]}")
    centred = scores - scores.mean(-1, keepdims=True)
    return np.where(real[:, :, None], centred, 0.0), real


def position_effects(scores, *, mask=None):
    """Mean and spread over sequences of each base's centred effect at each position.

    Parameters
    ----------
    scores : (n, L, 4) float
        In-silico mutagenesis (:func:`seqexpr.patterns.ism.ism`), raw or centred: the change
        of the prediction when base b is put at position p, up to a constant per position
        (raw ISM is 0 for the observed base). Centring the four bases removes that constant,
        so both conventions give the same map.
    mask : (n, L), optional
        1 where the position holds a real base; padding does not count.

    Returns
    -------
    effect : (L, 4) float64
        Mean over sequences of ``prediction(b at p) - mean over the four bases``; each row sums
        to 0. NaN where no sequence has a real base.
    sd : (L, 4) float64
        Standard deviation over sequences (ddof 1; NaN below two sequences).
    n : (L,) int64
        Sequences with a real base at each position.
    """
    centred, real = _centred(scores, mask)
    n = real.sum(0).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        effect = centred.sum(0) / n[:, None]
        sq = np.where(real[:, :, None], (centred - effect) ** 2, 0.0).sum(0)
        sd = np.sqrt(sq / (n[:, None] - 1))
    effect[n == 0] = np.nan
    sd[n < 2] = np.nan
    return effect, sd, n


def positional_share(scores, *, mask=None, effect=None) -> float:
    """Share of the variance of all centred effects that the position map explains (0 to 1).

    Near 1, each base does the same at a position whatever the rest of the sequence holds: a
    positional grammar, which the map describes fully. Near 0, effects depend on context (a
    motif that can sit anywhere), and the map averages them away. ``effect`` is
    :func:`position_effects`' map of the same scores, when already computed.
    """
    centred, real = _centred(scores, mask)
    total = float((centred ** 2).sum())
    if total == 0:
        return 0.0
    if effect is None:
        effect = position_effects(scores, mask=mask)[0]
    explained = float(np.where(real[:, :, None], np.nan_to_num(effect) ** 2, 0.0).sum())
    return explained / total


def position_labels(length: int, landmark: int | None = None) -> list[str]:
    """Labels of positions ``1..length``, relative to a landmark when one is given.

    With ``landmark`` (the 1-based position of the landmark's first base, e.g. the A of AUG),
    positions count from it as +1, with no 0, as in translation-start and promoter
    coordinates: ``landmark=7`` on 11 nt gives ``-6 … -1, +1, +2, +3, +4, +5``. Without, the
    labels are the positions themselves.
    """
    if landmark is None:
        return [str(p) for p in range(1, length + 1)]
    if not 1 <= landmark <= length:
        raise ValueError(f"landmark position {landmark} is outside the sequences (1..{length})")
    return [f"{p - landmark}" if p < landmark else f"+{p - landmark + 1}"
            for p in range(1, length + 1)]


def position_table(effect, sd, n, *, target: str, labels=None, rna: bool = False
                   ) -> pd.DataFrame:
    """One row per position and base: ``target, position (1-based), label, base, effect, sd, n``.

    The format of ``position_effects.csv``; ``labels`` default to the positions; bases are
    ACGT, or ACGU with ``rna``.
    """
    length = effect.shape[0]
    labels = position_labels(length) if labels is None else list(labels)
    if len(labels) != length:
        raise ValueError(f"{len(labels)} labels for {length} positions")
    return pd.DataFrame({
        "target": target,
        "position": np.repeat(np.arange(1, length + 1), 4),
        "label": np.repeat(labels, 4),
        "base": np.tile(list(BASES.replace("T", "U") if rna else BASES), length),
        "effect": effect.ravel(),
        "sd": sd.ravel(),
        "n": np.repeat(n, 4),
    })[POSITION_COLUMNS]


def top_effects(table: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """The ``k`` rows with the largest absolute effect, largest first."""
    order = table["effect"].abs().sort_values(ascending=False, kind="stable").index
    return table.loc[order[:k]].reset_index(drop=True)
