"""Homology by shared k-mers: which sequences are relatives, found without an all-pairs loop.

Two sequences are *relatives* when they share an informative exact k-mer (k=20 by default)
on either strand. A k-mer is informative unless it occurs in more than ``max_kmer_fraction``
of the sequences (at least ``MIN_KMER_LIMIT``), overlaps such a common k-mer, or is low
complexity (poly-A, short tandem repeats): constant primer/adaptor flanks and repeats are
everywhere and would otherwise join every sequence into one cluster.

``kmer_index`` hashes every canonical k-mer (2 bits a base, the smaller of the two strands)
and sorts (k-mer hash, sequence) pairs into groups of sequences sharing a k-mer;
``clusters_from_index`` joins relatives into clusters (connected components of the "shares
a k-mer" graph). ``seqexpr.splits`` assigns whole clusters to splits and audits for leakage.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from tqdm import tqdm

from seqexpr.encode import encode_codes

MIN_KMER_LIMIT = 5  # a k-mer shared by this many sequences is always informative


def kmer_index(seqs: Sequence[str], *, k: int = 20, max_kmer_fraction: float = 0.01,
               repeat_fraction: float | None = 0.7, chunk: int = 4096) -> dict:
    """Group sequences by the canonical exact k-mers they share.

    A k-mer found in more than ``limit = max(MIN_KMER_LIMIT, max_kmer_fraction * n)``
    sequences is *common* (a constant flank, a poly-A run). Common k-mers are ignored, and
    so is every k-mer that overlaps one: otherwise the k-mers straddling a constant flank
    and the first few bases of the insert (say 16 flank + 4 insert bases) would be shared by
    n / 4**4 unrelated sequences and chain the whole library into one cluster.

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
        Sequences hashed at a time.

    Returns
    -------
    dict
        ``n``, ``k``, ``limit``, ``max_kmer_fraction``; ``group`` and ``seq`` ((m,) int64,
        sorted by group): pairs (informative k-mer, sequence holding it); ``n_groups``;
        ``n_ignored`` (distinct common k-mers); ``seqs_with_ignored`` (sequences holding
        one); ``kmers_overlapping_ignored`` (k-mer occurrences dropped next to them);
        ``median_common_fraction`` (median share of a sequence's k-mers that were dropped).
    """
    if not 1 <= k <= 31:
        raise ValueError(f"k={k}: k-mers are hashed into 64 bits, so k must be 1..31")
    seqs = list(seqs)
    n = len(seqs)
    limit = max(MIN_KMER_LIMIT, int(np.floor(max_kmer_fraction * n)))
    grids = []
    for lo in tqdm(range(0, n, chunk), desc="hashing k-mers", disable=n <= 25 * chunk):
        codes, _ = encode_codes(seqs[lo : lo + chunk])
        grids.append(_canonical_kmers(codes, k, repeat_fraction))
    width = max((g.shape[1] for g in grids), default=0)
    grid = np.full((n, width), _EMPTY, np.uint64)
    row = 0
    for g in grids:
        grid[row : row + len(g), : g.shape[1]] = g
        row += len(g)
    # pass 1: which k-mers are common (counted once per sequence)
    values, rows = _distinct_per_row(grid)
    uniq, counts = np.unique(values, return_counts=True)
    common = uniq[counts > limit]
    candidates = uniq[(counts >= 2) & (counts <= limit)]  # the only k-mers that can link
    at = np.searchsorted(common, grid).clip(max=max(len(common) - 1, 0))
    is_common = (common[at] == grid) if len(common) else np.zeros(grid.shape, bool)
    # drop every k-mer within k-1 positions of a common one (it shares bases with it)
    c = np.pad(np.cumsum(is_common, axis=1, dtype=np.int32), ((0, 0), (1, 0)))
    i = np.arange(width)
    near = c[:, np.minimum(i + k, width)] - c[:, np.maximum(i - k + 1, 0)]
    usable = grid != _EMPTY
    dropped = (near > 0) & usable
    # share of each sequence's k-mers lost as common: high in combinatorial libraries
    n_usable = usable.sum(axis=1)
    shared_fraction = dropped.sum(axis=1) / np.maximum(n_usable, 1)
    grid[dropped] = _EMPTY
    # pass 2: group the remaining k-mers shared by two or more sequences
    values, rows = _distinct_per_row(grid)
    if len(candidates):
        at = np.searchsorted(candidates, values).clip(max=len(candidates) - 1)
        hit = candidates[at] == values
        values, rows = values[hit], rows[hit]
    else:
        values, rows = values[:0], rows[:0]
    order = np.argsort(values, kind="stable")
    values, rows = values[order], rows[order]
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]]) if len(values) else \
        np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, len(values)])
    gid = np.repeat(np.arange(len(starts)), sizes)
    shared = sizes[gid] >= 2
    remap = np.cumsum(sizes >= 2) - 1
    return {
        "n": n, "k": k, "limit": limit, "max_kmer_fraction": float(max_kmer_fraction),
        "repeat_fraction": repeat_fraction,
        "group": remap[gid[shared]].astype(np.int64), "seq": rows[shared],
        "n_groups": int((sizes >= 2).sum()), "n_ignored": int(len(common)),
        "seqs_with_ignored": int(is_common.any(axis=1).sum()),
        "kmers_overlapping_ignored": int(dropped.sum() - is_common.sum()),
        "median_common_fraction": float(np.median(shared_fraction[n_usable > 0]))
        if (n_usable > 0).any() else 0.0,
    }


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


def _canonical_kmers(codes: np.ndarray, k: int, repeat_fraction: float | None = 0.7
                     ) -> np.ndarray:
    """Canonical 2-bit k-mer hashes of a (m, L) code block: (m, L-k+1) uint64, _EMPTY where
    the k-mer touches an N or padding, or has half its bases or more inside low-complexity
    k-mers (see :func:`_low_complexity`)."""
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
        low = np.pad(np.cumsum(_low_complexity(codes, k, repeat_fraction), axis=1,
                               dtype=np.int32), ((0, 0), (1, 0)))
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
