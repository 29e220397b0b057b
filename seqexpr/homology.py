"""Homology by shared k-mers: which sequences are relatives, found without an all-pairs loop.

Two sequences are *relatives* when they share an informative exact k-mer (k=20 by default)
on either strand. A k-mer is informative unless it occurs in more than ``max_kmer_fraction``
of the sequences (at least ``MIN_KMER_LIMIT``), overlaps such a common k-mer, or is low
complexity (poly-A, short tandem repeats): constant primer/adaptor flanks and repeats are
everywhere and would otherwise join every sequence into one cluster.

``kmer_index`` hashes every canonical k-mer (2 bits a base, the smaller of the two strands)
a chunk of sequences at a time, counts the sequences holding each k-mer in hash parts spilled
to temporary files (:mod:`seqexpr._spill`), so that memory stays O(chunk) plus the shared
pairs, and sorts (k-mer hash, sequence) pairs into groups of sequences sharing a k-mer;
``clusters_from_index`` joins relatives into clusters (connected components of the "shares
a k-mer" graph). ``seqexpr.splits`` assigns whole clusters to splits and audits for leakage.
"""

from __future__ import annotations

import tempfile
from typing import Sequence

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from tqdm import tqdm

from seqexpr._spill import PART_SIZE, Spill, check_room, chunk_rows, n_parts_for
from seqexpr.encode import encode_codes

MIN_KMER_LIMIT = 5  # a k-mer shared by this many sequences is always informative


def kmer_index(seqs: Sequence[str], *, k: int = 20, max_kmer_fraction: float = 0.01,
               repeat_fraction: float | None = 0.7, chunk: int = 4096,
               part_size: int = PART_SIZE) -> dict:
    """Group sequences by the canonical exact k-mers they share.

    A k-mer found in more than ``limit = max(MIN_KMER_LIMIT, max_kmer_fraction * n)``
    sequences is *common* (a constant flank, a poly-A run). Common k-mers are ignored, and
    so is every k-mer that overlaps one: otherwise the k-mers straddling a constant flank
    and the first few bases of the insert (say 16 flank + 4 insert bases) would be shared by
    n / 4**4 unrelated sequences and chain the whole library into one cluster.

    Two passes over chunks of rows keep memory at O(chunk x L + part_size) plus the shared
    pairs: the first spills each sequence's distinct k-mers into hash parts (temporary
    files) and counts them part by part, keeping each chunk's hashes in a temporary file;
    the second reads them back a chunk at a time, drops common k-mers and
    their neighbours, and keeps pairs of k-mers held by 2 to ``limit`` sequences.

    Parameters
    ----------
    seqs : sequence of str
        DNA; k-mers touching N or other IUPAC codes are skipped.
    k : int
        k-mer length, 1..31.
    max_kmer_fraction : float
        Share of sequences above which a k-mer is common.
    repeat_fraction : float or None
        Low-complexity k-mers (poly-A, short tandem repeats: at least this fraction of
        bases equal to the base 1, 2, 3 or 4 nt before), and k-mers half made of their
        bases, are skipped; None keeps them.
    chunk : int
        Most sequences hashed at a time (fewer when long: about 1 M nt a chunk).
    part_size : int
        (k-mer, sequence) pairs counted at a time; more go to temporary files.

    Returns
    -------
    dict
        ``n``, ``k``, ``limit``, ``max_kmer_fraction``; ``group`` and ``seq`` ((m,) int64,
        sorted by group, then sequence): pairs (informative k-mer, sequence holding it);
        ``n_groups`` (groups numbered in k-mer hash order); ``n_ignored`` (distinct common
        k-mers); ``seqs_with_ignored`` (sequences holding one); ``kmers_overlapping_ignored``
        (k-mer occurrences dropped next to them); ``median_common_fraction`` (median share
        of a sequence's k-mers that were dropped).
    """
    if not 1 <= k <= 31:
        raise ValueError(f"k={k}: k-mers are hashed into 64 bits, so k must be 1..31")
    seqs = list(seqs)
    n = len(seqs)
    limit = max(MIN_KMER_LIMIT, int(np.floor(max_kmer_fraction * n)))
    lengths = np.fromiter((len(s) for s in seqs), np.int64, count=n)
    rows = chunk_rows(chunk, lengths)
    n_usable, n_dropped = np.zeros(n, np.int64), np.zeros(n, np.int64)
    kept_values, kept_rows, with_common, n_common = [], [], 0, 0
    n_parts = n_parts_for(lengths.sum(), part_size)
    if n_parts > 1:  # the spill (at most one key a k-mer) and the cached hashes
        check_room(Spill.file_bytes(lengths.sum()) + _cache_bytes(lengths, rows, k),
                   "the homology split's k-mer index")
    with tempfile.TemporaryFile() as cache:  # the hashes, not to hash twice
        common, candidates = _kmer_counts(seqs, k, repeat_fraction, rows, limit, n_parts,
                                          cache)
        cache.seek(0)
        # pass 2: drop common k-mers and their neighbours, keep pairs of the candidates
        for lo in range(0, n, rows):
            grid = np.load(cache)
            is_common = _isin(grid, common)
            dropped = _near(is_common, k) & (grid != _EMPTY)
            n_usable[lo : lo + len(grid)] = (grid != _EMPTY).sum(axis=1)
            n_dropped[lo : lo + len(grid)] = dropped.sum(axis=1)
            with_common += int(is_common.any(axis=1).sum())
            n_common += int(is_common.sum())
            grid[dropped] = _EMPTY
            del is_common, dropped
            values, at = _distinct_per_row(grid)
            hit = _isin(values, candidates)
            kept_values.append(values[hit])
            kept_rows.append(at[hit] + lo)
    values = np.concatenate(kept_values) if kept_values else np.zeros(0, np.uint64)
    seq = np.concatenate(kept_rows) if kept_rows else np.zeros(0, np.int64)
    del kept_values, kept_rows
    group, n_groups = _groups(values, seq)
    keep = group >= 0
    # share of each sequence's k-mers lost as common: high in combinatorial libraries
    shared_fraction = n_dropped / np.maximum(n_usable, 1)
    return {
        "n": n, "k": k, "limit": limit, "max_kmer_fraction": float(max_kmer_fraction),
        "repeat_fraction": repeat_fraction,
        "group": group[keep], "seq": seq[keep],
        "n_groups": n_groups, "n_ignored": int(len(common)),
        "seqs_with_ignored": with_common,
        "kmers_overlapping_ignored": int(n_dropped.sum() - n_common),
        "median_common_fraction": float(np.median(shared_fraction[n_usable > 0]))
        if (n_usable > 0).any() else 0.0,
    }


def _cache_bytes(lengths: np.ndarray, rows: int, k: int) -> int:
    """Bytes of the hash cache: each chunk of ``rows`` sequences is saved as a grid as wide as
    its longest sequence's k-mers (8 bytes each), so one long sequence widens its chunk."""
    if not len(lengths):
        return 0
    starts = np.arange(0, len(lengths), rows)
    widths = np.maximum(np.maximum.reduceat(lengths, starts) - k + 1, 0)
    return 8 * int(np.sum(np.diff(np.r_[starts, len(lengths)]) * widths))


def _kmer_counts(seqs: list[str], k: int, repeat_fraction: float | None, rows: int,
                 limit: int, n_parts: int, cache) -> tuple[np.ndarray, np.ndarray]:
    """Pass 1: sorted hashes of the common k-mers (in more than ``limit`` sequences) and of
    the candidates (in 2 to ``limit``), counting each sequence once; each chunk's hashes
    ((m, L-k+1) uint64) are saved to the open file ``cache`` in turn."""
    common, candidates, n = [], [], len(seqs)
    with Spill(n_parts) as spill:
        for lo in tqdm(range(0, n, rows), desc="hashing k-mers", disable=n <= 25 * rows):
            codes, mask = encode_codes(seqs[lo : lo + rows])
            grid = _canonical_kmers(codes, k, repeat_fraction, mask)
            np.save(cache, grid)
            spill.add(_distinct_per_row(grid)[0])
        for p in range(n_parts):
            values = spill.read(p)[0]
            values.sort()  # in place: np.unique would copy the part twice more
            starts = np.flatnonzero(np.r_[len(values) > 0, values[1:] != values[:-1]])
            counts = np.diff(np.r_[starts, len(values)])
            uniq = values[starts]
            del values, starts
            common.append(uniq[counts > limit])
            candidates.append(uniq[(counts >= 2) & (counts <= limit)])
    return np.sort(np.concatenate(common)), np.sort(np.concatenate(candidates))


def _isin(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Boolean mask of ``values`` found in the sorted uint64 array ``sorted_set``."""
    if not len(sorted_set):
        return np.zeros(values.shape, bool)
    at = np.searchsorted(sorted_set, values).clip(max=len(sorted_set) - 1)
    return sorted_set[at] == values


def _near(is_common: np.ndarray, k: int) -> np.ndarray:
    """(m, w) bool: k-mers within k-1 positions of a common one (they share bases with it)."""
    width = is_common.shape[1]
    c = np.pad(np.cumsum(is_common, axis=1, dtype=np.int32), ((0, 0), (1, 0)))
    i = np.arange(width)
    return (c[:, np.minimum(i + k, width)] - c[:, np.maximum(i - k + 1, 0)]) > 0


def _groups(values: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, int]:
    """Group ids of (k-mer, row) pairs in row order: pairs are sorted by (k-mer, row) in place
    of ``rows``; ids number the k-mers held by 2+ rows in hash order, -1 for the others."""
    order = np.argsort(values, kind="stable")
    values = values[order]
    rows[:] = rows[order]
    del order
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]]) if len(values) else \
        np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, len(values)])
    del values
    remap = np.where(sizes >= 2, np.cumsum(sizes >= 2) - 1, -1)
    return np.repeat(remap, sizes).astype(np.int64), int((sizes >= 2).sum())


_EMPTY = np.uint64(2**64 - 1)  # never a canonical hash: min(h, rc(h)) < 2**63 for k <= 31


def _distinct_per_row(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's distinct hashes (empty slots skipped): flat (values, row index)."""
    s = np.sort(grid, axis=1)
    keep = s != _EMPTY
    keep[:, 1:] &= s[:, 1:] != s[:, :-1]
    rows = np.broadcast_to(np.arange(len(grid), dtype=np.int64)[:, None], grid.shape)
    return s[keep], rows[keep]


def _window_hash(base: np.ndarray, k: int) -> np.ndarray:
    """2-bit hashes of every k-window of a (m, L) uint64 code block by doubling: hashes of
    2p-windows are built from two p-windows, so k=20 takes 7 array passes instead of 20."""
    w = base.shape[1] - k + 1
    powers, h, p = {1: base}, base, 1
    while 2 * p <= k:
        width = h.shape[1] - p
        h = (h[:, :width] << np.uint64(2 * p)) | h[:, p : p + width]
        p *= 2
        powers[p] = h
    out, r = None, 0
    for p in sorted(powers, reverse=True):
        if k - r >= p:
            out = powers[p][:, :w].copy() if out is None else \
                (out << np.uint64(2 * p)) | powers[p][:, r : r + w]
            r += p
    return out


def _low_complexity(codes: np.ndarray, k: int, repeat_fraction: float) -> np.ndarray:
    """(m, L-k+1) bool: k-mers that mostly repeat themselves with a period of 1-4 nt
    (poly-A, AT or CAG repeats): for some period p, at least ``repeat_fraction`` of the
    k - p base pairs (i, i + p) inside the k-mer are equal."""
    m, length = codes.shape
    w = length - k + 1
    low = np.zeros((m, w), bool)
    for p in range(1, min(4, k - 1) + 1):
        same = np.pad(np.cumsum(codes[:, p:] == codes[:, :-p], axis=1, dtype=np.int32),
                      ((0, 0), (1, 0)))
        low |= (same[:, k - p : k - p + w] - same[:, :w]) >= repeat_fraction * (k - p)
    return low


def _canonical_kmers(codes: np.ndarray, k: int, repeat_fraction: float | None = 0.7,
                     mask: np.ndarray | None = None) -> np.ndarray:
    """Canonical 2-bit k-mer hashes of a (m, L) code block: (m, L-k+1) uint64, _EMPTY where
    the k-mer touches an N or padding, or has half its bases or more inside low-complexity
    k-mers (see :func:`_low_complexity`). Windows reaching into the padding (``mask`` 0, as
    :func:`seqexpr.encode.encode_codes` returns it) are never low complexity, so a sequence's
    hashes do not depend on the lengths of the others in its block."""
    m, length = codes.shape
    w = max(length - k + 1, 0)
    if w == 0:
        return np.zeros((m, 0), np.uint64)
    base = (codes & 3).astype(np.uint64)
    fwd = _window_hash(base, k)
    rev = _window_hash(np.uint64(3) - base[:, ::-1], k)[:, ::-1]  # hashes of the other strand
    np.minimum(fwd, rev, out=fwd)
    bad = np.pad(np.cumsum(codes > 3, axis=1, dtype=np.int32), ((0, 0), (1, 0)))
    fwd[(bad[:, k:] - bad[:, :w]) > 0] = _EMPTY
    if repeat_fraction is not None:
        # bases inside a low-complexity k-mer are repeat bases; a k-mer that is half repeat
        # (say 12 As and 8 other bases) is skipped too, or the 8 bases alone would link
        # unrelated sequences that share a poly-A run
        low = _low_complexity(codes, k, repeat_fraction)
        if mask is not None:
            pad = np.pad(np.cumsum(mask == 0, axis=1, dtype=np.int32), ((0, 0), (1, 0)))
            low &= pad[:, k:] == pad[:, :w]
            del pad
        low = np.pad(np.cumsum(low, axis=1, dtype=np.int32), ((0, 0), (1, 0)))
        j = np.arange(length)
        rep = (low[:, np.minimum(j + 1, w)] - low[:, np.clip(j - k + 1, 0, w)]) > 0
        rep = np.pad(np.cumsum(rep, axis=1, dtype=np.int32), ((0, 0), (1, 0)))
        fwd[2 * (rep[:, k:] - rep[:, :w]) >= k] = _EMPTY
    return fwd


def clusters_from_index(index: dict) -> np.ndarray:
    """Connected components of the "shares an informative k-mer" graph: (n,) int64 labels."""
    n, g, s = index["n"], index["group"], index["seq"]
    if len(g) == 0:
        return np.arange(n, dtype=np.int64)
    # pairs are sorted by group: link every member to its group's first sequence
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    first = np.repeat(s[starts], np.diff(np.r_[starts, len(g)]))
    graph = sparse.coo_matrix((np.ones(len(s), np.int8), (first, s)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    # number clusters by size (largest = 0) so that labels are stable and readable
    sizes = np.bincount(labels)
    rank = np.empty_like(sizes)
    rank[np.lexsort((np.arange(len(sizes)), -sizes))] = np.arange(len(sizes))
    return rank[labels].astype(np.int64)


__all__ = ["kmer_index", "clusters_from_index", "MIN_KMER_LIMIT"]
