"""Base composition of sequences: GC and N content, and the bases at each position.

The one home of these counts: ``explore`` reports them, the demo's truth takes the GC
fraction as an input of its signal, and ``evaluate`` splits test error by GC. GC is counted
among a sequence's A/C/G/T bases (N and other codes are left out; NaN when there are none).
Every count is taken over consecutive chunks of rows (``row_chunks``), so memory stays that
of one chunk however many sequences there are; the counts are integers, so chunking changes
no result.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pandas as pd
from tqdm import tqdm

from seqexpr.kmers import flat_codes, padded_codes

CHUNK_BASES = 500_000  # nt per chunk (2,500 200-nt sequences): ~100 MB while counting k-mers


def row_chunks(lengths, *, max_bases: int = CHUNK_BASES,
               desc: str | None = None) -> Iterator[tuple[int, int]]:
    """Consecutive row ranges ``(lo, hi)`` of about ``max_bases`` nt each, with a progress bar.

    Parameters
    ----------
    lengths : (n,) int
        Sequence lengths (nt), in row order.
    max_bases : int
        A chunk ends at the first sequence whose end passes the next multiple of this many
        nt, so it holds at most ``max_bases`` plus one sequence's length.
    desc : str, optional
        Label of the progress bar (shown only when there are 20 chunks or more).
    """
    ends = np.cumsum(np.asarray(lengths, dtype=np.int64))
    if ends.size == 0:
        return
    cuts = np.flatnonzero(np.diff(np.maximum(ends - 1, 0) // max(int(max_bases), 1))) + 1
    bounds = np.concatenate([[0], cuts, [ends.size]])
    with tqdm(total=int(ends.size), desc=desc, unit="seq", disable=bounds.size <= 20) as bar:
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            yield lo, hi
            bar.update(hi - lo)


def _as_list(seqs) -> list:
    if isinstance(seqs, str):
        raise TypeError("seqs must be a list of sequences, not one string; wrap it: [seq].")
    return seqs if isinstance(seqs, list) else list(seqs)


def _lengths(seqs: list) -> np.ndarray:
    return np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))


def gc_content(seqs, *, max_bases: int = CHUNK_BASES) -> np.ndarray:
    """GC fraction of each sequence among its A/C/G/T bases: (n,) float64 (NaN if none).

    ``max_bases`` (nt) sets the size of the chunks counted at a time.
    """
    seqs = _as_list(seqs)
    gc, tot = np.zeros(len(seqs), dtype=np.int64), np.zeros(len(seqs), dtype=np.int64)
    for lo, hi in row_chunks(_lengths(seqs), max_bases=max_bases, desc="GC content"):
        codes, starts = flat_codes(seqs[lo:hi])
        cs = np.concatenate([[0], np.cumsum((codes == 1) | (codes == 2))])
        acgt = np.concatenate([[0], np.cumsum(codes < 4)])
        gc[lo:hi] = cs[starts[1:]] - cs[starts[:-1]]
        tot[lo:hi] = acgt[starts[1:]] - acgt[starts[:-1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, gc / np.maximum(tot, 1), np.nan)


def n_content(seqs, *, max_bases: int = CHUNK_BASES) -> np.ndarray:
    """Fraction of each sequence's positions that are N or another non-ACGT code: (n,) float64.

    ``max_bases`` (nt) sets the size of the chunks counted at a time.
    """
    seqs = _as_list(seqs)
    lengths = _lengths(seqs)
    n_bad = np.zeros(len(seqs), dtype=np.int64)
    for lo, hi in row_chunks(lengths, max_bases=max_bases, desc="N content"):
        codes, starts = flat_codes(seqs[lo:hi])
        bad = np.concatenate([[0], np.cumsum(codes == 4)])  # separators count, removed below
        n_bad[lo:hi] = bad[starts[1:]] - bad[starts[:-1]] - 1
    return np.where(lengths > 0, n_bad / np.maximum(lengths, 1), 0.0)


def base_composition(seqs, *, max_length: int | None = None,
                     max_bases: int = CHUNK_BASES) -> pd.DataFrame:
    """Fraction of A, C, G, T and N (other) at each position, sequences aligned on the left.

    Parameters
    ----------
    seqs : sequence of str
        DNA sequences, any lengths.
    max_length : int, optional
        Count only the first this many positions (nt); all when omitted.
    max_bases : int
        Size (nt) of the chunks of rows counted at a time.

    Returns
    -------
    DataFrame, one row per position (0-based, nt)
        Columns ``A, C, G, T, N`` (fractions among sequences long enough to reach that
        position) and ``n`` (how many sequences reach it).
    """
    seqs = _as_list(seqs)
    lengths = _lengths(seqs)
    width = int(lengths.max()) if lengths.size else 0
    width = min(width, max_length) if max_length else width
    counts = np.zeros((width, 5), dtype=np.int64)
    for lo, hi in row_chunks(lengths, max_bases=max_bases, desc="base composition"):
        codes = padded_codes(seqs[lo:hi], width)
        for c in range(5):
            counts[: codes.shape[1], c] += (codes == c).sum(axis=0)
    counts = counts.astype(float)
    n = counts.sum(axis=1)
    frac = counts / np.maximum(n, 1)[:, None]
    out = pd.DataFrame(frac, columns=list("ACGTN"))
    out["n"] = n.astype(int)
    out.index.name = "position"
    return out


__all__ = ["CHUNK_BASES", "row_chunks", "gc_content", "n_content", "base_composition"]
