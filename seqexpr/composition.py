"""Base composition of sequences: GC and N content, and the bases at each position.

The one home of these counts: ``explore`` reports them, the demo's truth takes the GC
fraction as an input of its signal, and ``evaluate`` splits test error by GC. GC is counted
among a sequence's A/C/G/T bases (N and other codes are left out; NaN when there are none).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqexpr.kmers import flat_codes, padded_codes


def gc_content(seqs) -> np.ndarray:
    """GC fraction of each sequence among its A/C/G/T bases: (n,) float64 (NaN if none)."""
    codes, starts = flat_codes(seqs)
    cs = np.concatenate([[0], np.cumsum((codes == 1) | (codes == 2))])
    acgt = np.concatenate([[0], np.cumsum(codes < 4)])
    gc = cs[starts[1:]] - cs[starts[:-1]]
    tot = acgt[starts[1:]] - acgt[starts[:-1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, gc / np.maximum(tot, 1), np.nan)


def n_content(seqs) -> np.ndarray:
    """Fraction of each sequence's positions that are N or another non-ACGT code: (n,) float64."""
    codes, starts = flat_codes(seqs)
    bad = np.concatenate([[0], np.cumsum(codes == 4)])  # separators count, removed below
    lengths = np.diff(starts) - 1
    n_bad = bad[starts[1:]] - bad[starts[:-1]] - 1
    return np.where(lengths > 0, n_bad / np.maximum(lengths, 1), 0.0)


def base_composition(seqs, *, max_length: int | None = None) -> pd.DataFrame:
    """Fraction of A, C, G, T and N (other) at each position, sequences aligned on the left.

    Returns
    -------
    DataFrame, one row per position (0-based, nt)
        Columns ``A, C, G, T, N`` (fractions among sequences long enough to reach that
        position) and ``n`` (how many sequences reach it).
    """
    codes = padded_codes(seqs, max_length)
    counts = np.stack([(codes == c).sum(axis=0) for c in range(5)], axis=1).astype(float)
    n = counts.sum(axis=1)
    frac = counts / np.maximum(n, 1)[:, None]
    out = pd.DataFrame(frac, columns=list("ACGTN"))
    out["n"] = n.astype(int)
    out.index.name = "position"
    return out


__all__ = ["gc_content", "n_content", "base_composition"]
