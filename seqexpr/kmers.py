"""Count k-mers (contiguous, gapped, strand-merged) in a batch of DNA sequences.

Used by the explore stage (k-mer associations with expression) and by the k-mer baselines.
Every function works on the whole batch at once: sequences are joined into one uint8 array,
separated by an invalid code, and 2-bit codes of every window are built with a few vector
operations per k-mer position (never a Python loop per base), so sequences of any and mixed
lengths are handled alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from seqexpr.encode import BASE_CODE

__all__ = ["kmer_counts", "kmer_features", "kmer_feature_chunks", "kmer_feature_names",
           "kmer_names", "window_codes", "flat_codes", "padded_codes", "sample_rows", "MAX_K"]

MAX_K = 12  # 4**12 = 16.8 M columns; beyond that a dense column space stops making sense
_INVALID = np.uint8(4)  # encode.BASE_CODE's code for anything that is not A/C/G/T(U)


def _offsets(k: int, gap: int) -> np.ndarray:
    """Positions, relative to the window start, of the k read bases of a (gapped) k-mer."""
    h = k // 2 if gap else k
    return np.concatenate([np.arange(h), np.arange(h + gap, k + gap)]).astype(np.int64)


def _check(k: int, gap: int, max_k: int = MAX_K) -> None:
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= max_k:
        raise ValueError(f"k={k!r}: k must be an integer from 1 to {max_k}.")
    if not isinstance(gap, (int, np.integer)) or gap < 0:
        raise ValueError(f"gap={gap!r}: gap must be a non-negative integer.")
    if gap and k < 2:
        raise ValueError(f"k={k}, gap={gap}: a gapped k-mer needs k >= 2 (bases on both sides).")


def flat_codes(seqs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Join ``seqs`` with one invalid separator each: codes (M,) uint8 and starts (n + 1,)."""
    if isinstance(seqs, str):
        raise TypeError("seqs must be a list of sequences, not one string; wrap it: [seq].")
    seqs = list(seqs)
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    starts = np.zeros(len(seqs) + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=starts[1:])
    raw = np.frombuffer(("\0".join(seqs) + "\0").encode("ascii", "replace"), dtype=np.uint8)
    return BASE_CODE[raw], starts


def padded_codes(seqs, max_length=None) -> np.ndarray:
    """(n, L) uint8 codes 0-3 = ACGT, 4 = N/other, 5 = past the sequence's end (left-aligned)."""
    codes, starts = flat_codes(seqs)
    lengths = np.diff(starts) - 1
    width = int(lengths.max()) if len(lengths) else 0
    width = min(width, max_length) if max_length else width
    out = np.full((len(lengths), width), 5, dtype=np.uint8)
    not_sep = np.ones(codes.size, dtype=bool)
    not_sep[starts[1:] - 1] = False
    flat = codes[not_sep]
    row = np.repeat(np.arange(len(lengths)), lengths)
    pos = np.arange(flat.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    inside = pos < width
    out[row[inside], pos[inside]] = flat[inside]
    return out


def window_codes(seqs: Sequence[str], k: int, *, gap: int = 0, canonical: bool = False):
    """Integer codes of every valid k-mer window in ``seqs``.

    Parameters
    ----------
    seqs : sequence of str
        DNA (or RNA, ``U`` read as ``T``) sequences of any lengths.
    k : int
        Read bases, 1 to 31 (codes are int64; long k serve as hashes, e.g. for duplicates).
    gap, canonical
        As in :func:`kmer_counts`.

    Returns
    -------
    row : (m,) int64
        Index of the sequence each window belongs to (non-decreasing).
    code : (m,) int64
        2-bit code of the window's k read bases (first base most significant), or of its
        reverse complement when that is smaller and ``canonical`` is true.
    pos : (m,) int64
        Start of the window within its sequence (0-based, nt).
    """
    _check(k, gap, max_k=31)
    codes, starts = flat_codes(seqs)
    offs = _offsets(k, gap)
    span = int(offs[-1]) + 1
    n_win = codes.size - span + 1
    if n_win <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    code = np.zeros(n_win, dtype=np.int64)
    valid = np.ones(n_win, dtype=bool)
    for off in offs:  # one vector step per k-mer position; separators make windows invalid
        c = codes[off : off + n_win]
        valid &= c != _INVALID
        code = (code << 2) | (c & 3)
    start_idx = np.flatnonzero(valid)
    row_of = np.repeat(np.arange(starts.size - 1, dtype=np.int64), np.diff(starts))
    row = row_of[start_idx]
    if gap:  # the gap may hide a separator: start and end must lie in the same sequence
        keep = row == row_of[start_idx + span - 1]
        start_idx, row = start_idx[keep], row[keep]
    code = code[start_idx]
    if canonical:
        code = np.minimum(code, _revcomp_codes(code, k))
    return row, code, start_idx - starts[row]


def _revcomp_codes(code: np.ndarray, k: int) -> np.ndarray:
    """Codes of the reverse complements of k-mer ``code`` (complement of base b is 3 - b)."""
    comp = (np.int64(4) ** k - 1) - code
    out = np.zeros_like(comp)
    for _ in range(k):
        out = (out << 2) | (comp & 3)
        comp = comp >> 2
    return out


def kmer_names(k: int, *, gap: int = 0, codes: np.ndarray | None = None) -> list[str]:
    """Names of k-mer ``codes`` (all 4**k in code order when omitted), dots for gap positions."""
    _check(k, gap)
    if codes is None:
        codes = np.arange(4**k, dtype=np.int64)
    codes = np.asarray(codes, dtype=np.int64)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    shifts = 2 * np.arange(k - 1, -1, -1, dtype=np.int64)
    chars = letters[(codes[:, None] >> shifts) & 3]  # (F, k) uint8
    if gap:
        h = k // 2
        dots = np.full((codes.size, gap), ord("."), dtype=np.uint8)
        chars = np.concatenate([chars[:, :h], dots, chars[:, h:]], axis=1)
    width = chars.shape[1]
    return np.ascontiguousarray(chars).view(f"S{width}").ravel().astype(str).tolist()


@lru_cache(maxsize=16)
def _canonical_columns(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Canonical codes (sorted; code <= its reverse complement) and, for every one of the
    4**k codes, the column of its canonical form: ((F,) int64, (4**k,) int32)."""
    allc = np.arange(4**k, dtype=np.int64)
    rc = _revcomp_codes(allc, k)
    keep = allc[allc <= rc]
    return keep, np.searchsorted(keep, np.minimum(allc, rc)).astype(np.int32)


def kmer_counts(seqs: Sequence[str], k: int, *, gap: int = 0, canonical: bool = False):
    """Count every k-mer in every sequence.

    Parameters
    ----------
    seqs : sequence of str
        DNA sequences, any and mixed lengths; upper or lower case; ``U`` is read as ``T``.
        Windows that touch ``N`` or any other non-ACGT character are skipped.
    k : int
        Number of read bases, 1 to 12.
    gap : int, default 0
        Gapped k-mers when > 0: ``k // 2`` bases, ``gap`` wildcard positions (any character,
        N included), then ``k - k // 2`` bases; named like ``ACG..TTA``.
    canonical : bool, default False
        Merge each k-mer with its reverse complement (counted under the lexicographically
        smaller of the two). Gapped k-mers can be merged only when ``k`` is even (an odd
        split is not symmetric under reverse complement).

    Returns
    -------
    counts : scipy.sparse.csr_matrix, (n, F) float32
        ``counts[i, j]`` = occurrences of k-mer ``names[j]`` in ``seqs[i]`` (one strand read).
        F = 4**k, or the number of canonical k-mers ((4**k + 4**(k//2)) / 2 for even k,
        4**k / 2 for odd k) when ``canonical``.
    names : list of str
        Column names, in code order (A < C < G < T, first base most significant).
    """
    _check(k, gap)
    if canonical and gap and k % 2:
        raise ValueError(
            f"canonical gapped k-mers need an even k (got k={k}, gap={gap}): the reverse "
            "complement of an odd split lands on a different pattern; use an even k or "
            "canonical=False."
        )
    n = len(seqs)
    row, code, _ = window_codes(seqs, k, gap=gap)
    if canonical:
        cols_all, column_of = _canonical_columns(k)
        col = column_of[code]
    else:
        cols_all = None
        col = code
    n_feat = 4**k if cols_all is None else cols_all.size
    if n * n_feat <= 2**24:  # small k: a dense tally is faster than sorting duplicates
        dense = np.bincount(row * n_feat + col, minlength=n * n_feat).reshape(n, n_feat)
        return sp.csr_matrix(dense.astype(np.float32)), kmer_names(k, gap=gap, codes=cols_all)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=n), out=indptr[1:])
    idx_dtype = np.int32 if n_feat < 2**31 and col.size < 2**31 else np.int64
    mat = sp.csr_matrix(
        (np.ones(col.size, dtype=np.float32), col.astype(idx_dtype), indptr.astype(idx_dtype)),
        shape=(n, n_feat),
    )
    mat.sum_duplicates()  # sorts each row's columns and adds repeated k-mers
    names = kmer_names(k, gap=gap, codes=cols_all)
    return mat, names


def kmer_features(
    seqs: Sequence[str],
    ks: Sequence[int] = (2, 3, 4, 5, 6),
    *,
    gapped: Sequence[tuple[int, int]] = (),
    canonical: bool = True,
):
    """Stack k-mer counts for several k and gapped specs into one feature matrix.

    Parameters
    ----------
    seqs : sequence of str
        DNA sequences, any lengths.
    ks : sequence of int, default (2, 3, 4, 5, 6)
        Contiguous k-mer sizes.
    gapped : sequence of (k, gap), default ()
        Gapped k-mer specs, e.g. ``((6, 2),)`` for ``ACG..TTA``-like features.
    canonical : bool, default True
        Merge reverse complements (see :func:`kmer_counts`).

    Returns
    -------
    counts : scipy.sparse.csr_matrix, (n, F) float32
        Columns of each spec in turn, in the order given.
    names : list of str
        Column names; unique across specs (gapped names carry dots).
    """
    specs = [(int(k), 0) for k in ks] + [(int(k), int(g)) for k, g in gapped]
    if not specs:
        raise ValueError("kmer_features needs at least one k in ks or one (k, gap) in gapped.")
    if len(set(specs)) != len(specs):
        raise ValueError(f"repeated k-mer specs {specs}: each (k, gap) may appear once.")
    mats, names = [], []
    for k, g in specs:
        m, nm = kmer_counts(seqs, k, gap=g, canonical=canonical)
        mats.append(m)
        names.extend(nm)
    return sp.hstack(mats, format="csr", dtype=np.float32), names


def kmer_feature_names(
    ks: Sequence[int] = (2, 3, 4, 5, 6),
    *,
    gapped: Sequence[tuple[int, int]] = (),
    canonical: bool = True,
) -> list[str]:
    """Column names of :func:`kmer_features` for these settings, without counting anything."""
    names = []
    for k, g in [(int(k), 0) for k in ks] + [(int(k), int(g)) for k, g in gapped]:
        _check(k, g)
        names.extend(kmer_names(k, gap=g, codes=_canonical_columns(k)[0] if canonical else None))
    return names


def kmer_feature_chunks(
    seqs: Sequence[str],
    ks: Sequence[int] = (2, 3, 4, 5, 6),
    *,
    gapped: Sequence[tuple[int, int]] = (),
    canonical: bool = True,
    chunk_size: int = 4096,
):
    """Yield :func:`kmer_features` of consecutive blocks of rows, for memory bounded by the block.

    Stacking the blocks (``scipy.sparse.vstack``) gives exactly the one-shot matrix.

    Yields
    ------
    start : int
        Index in ``seqs`` of the block's first row.
    counts : scipy.sparse.csr_matrix, (m, F) float32
        Rows ``start:start + m`` of the feature matrix, ``m <= chunk_size``.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size!r}: need at least one row per chunk.")
    for start in range(0, len(seqs), chunk_size):
        block = seqs[start:start + chunk_size]
        yield start, kmer_features(block, ks, gapped=gapped, canonical=canonical)[0]


def sample_rows(n, max_rows=None, seed=0):
    """Rows to count k-mers on: all ``n`` in order when ``max_rows`` is None or
    ``n <= max_rows``, else a seeded random ``max_rows`` of them, sorted; ``(m,) int64``.
    The one sampler of 02's k-mer tests and 04's k-mer baselines."""
    if max_rows is None or n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=int(max_rows), replace=False))
