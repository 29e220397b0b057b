"""Duplicates and relatives: identical copies, near duplicates (few mismatches), and sequences
that share a long exact k-mer, found by hashing rather than all-pairs alignment.

Used by the explore stage to say how redundant a library is, and what a leak-aware split has
to keep apart. Every function reads the sequences a chunk at a time, so working memory does
not grow with n x L: k-mers go through hash-partitioned spill files (:mod:`seqexpr._spill`),
block codes are built one block at a time, copies are compared by digest.
"""

from __future__ import annotations

import os
from hashlib import blake2b
from itertools import islice

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from tqdm import tqdm

from seqexpr._spill import PART_SIZE, Spill, chunk_rows, n_parts_for
from seqexpr.encode import reverse_complement_str
from seqexpr.kmers import padded_codes, window_codes

__all__ = ["exact_duplicates", "near_duplicates", "relatives", "common_flanks"]


def common_flanks(seqs, *, min_length: int = 6, chunk: int = 4096) -> dict:
    """Longest prefix and suffix shared by every sequence (constant primers/adapters).

    Sequences are upper-cased ``chunk`` at a time, and reading stops once both are empty.
    """
    pre = rsuf = None  # rsuf: the suffix read backwards
    it = iter(seqs)
    while part := [s.upper() for s in islice(it, chunk)]:
        pre = os.path.commonprefix(part + ([] if pre is None else [pre]))
        rsuf = os.path.commonprefix([s[::-1] for s in part] + ([] if rsuf is None else [rsuf]))
        if not pre and not rsuf:
            break
    pre, suf = pre or "", (rsuf or "")[::-1]
    return {"prefix": pre if len(pre) >= min_length else "",
            "suffix": suf if len(suf) >= min_length else ""}


def exact_duplicates(seqs, *, chunk: int = 4096) -> pd.DataFrame:
    """Groups of identical sequences (same strand) and of reverse-complement copies.

    Sequences (upper-cased) are compared by 128-bit BLAKE2 digests, ``chunk`` at a time, so
    no second copy of the library is held (two different sequences share a digest with odds
    of about n**2 / 2**129: 3e-27 at 1 M sequences).

    Returns
    -------
    DataFrame, one row per sequence
        ``exact_group`` and ``rc_group`` (int, -1 when the sequence has no copy; groups
        numbered in order of first appearance), and ``exact_size`` (copies including itself).
    """
    same, canon = _digests(seqs, chunk)
    codes, size = _factorize(same)
    ccodes, csize = _factorize(canon)
    rc_only = csize > size  # has a copy on the other strand
    return pd.DataFrame({"exact_group": np.where(size > 1, codes, -1), "exact_size": size,
                         "rc_group": np.where(rc_only, ccodes, -1)})


def _digests(seqs, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """(n,) 16-byte digests of each upper-cased sequence and of the smaller of it and its
    reverse complement."""
    same, canon, it = [], [], iter(seqs)
    while part := [s.upper() for s in islice(it, chunk)]:
        same.append(b"".join(blake2b(s.encode(), digest_size=16).digest() for s in part))
        canon.append(b"".join(blake2b(min(s, reverse_complement_str(s)).encode(),
                                      digest_size=16).digest() for s in part))
    return (np.frombuffer(b"".join(same), "V16"), np.frombuffer(b"".join(canon), "V16"))


def _factorize(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes numbered in order of first appearance (as :func:`pandas.factorize`) and the
    size of each key's group: two (n,) int64 arrays."""
    if not len(keys):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True,
                                          return_counts=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[inverse], counts[inverse].astype(np.int64)


def relatives(seqs, *, k: int = 20, max_fraction: float = 0.05, chunk: int = 4096,
              part_size: int = PART_SIZE) -> tuple[np.ndarray, dict]:
    """Group sequences that share an exact k-mer (either strand) with another sequence.

    This is the relation a leak-aware split cares about: it hashes every k-mer (2-bit
    codes), links sequences holding the same one and takes connected components. K-mers
    held by more than ``max_fraction`` of all sequences (constant primers, poly-A) are
    ignored and counted, or they would link everything. In combinatorial libraries most
    sequences end up in one component: that is the finding, not a bug.

    K-mers are hashed ``chunk`` sequences at a time and spilled, by hash, into parts of
    about ``part_size`` (k-mer, sequence) pairs (temporary files when more than one), which
    are grouped one at a time: memory stays O(chunk x L + part_size) plus the links.

    Returns
    -------
    groups : (n,) int64
        Component label per sequence; -1 for sequences without a relative.
    info : dict
        ``with_relative``, ``groups``, ``largest_group``, ``ignored_common_kmers``,
        ``definition``.
    """
    n = len(seqs)
    cap = max(2, int(max_fraction * n))
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=n)
    n_parts = n_parts_for(lengths.sum(), part_size)
    rows = chunk_rows(chunk, lengths)
    links, ignored = [], 0
    with Spill(n_parts, [np.int64], pairs=lengths.sum(),
               what="the search for relatives (shared k-mers)") as spill:
        for lo in tqdm(range(0, n, rows), desc="hashing k-mers", disable=n <= 25 * rows):
            row, code, _ = window_codes(seqs[lo : lo + rows], k, canonical=True)
            spill.add(code.view(np.uint64), row + lo)
        for p in range(n_parts):
            code, row = spill.read(p)
            a, b, n_common = _links(code, row, cap)
            links.append(np.unique(a * n + b))  # relatives share many k-mers: one link each
            ignored += n_common
    links = np.unique(np.concatenate(links)) if links else np.zeros(0, np.int64)
    groups, n_groups, largest = _components(n, links // max(n, 1), links % max(n, 1))
    return groups, {"with_relative": int((groups >= 0).sum()), "groups": n_groups,
                    "largest_group": largest, "ignored_common_kmers": ignored,
                    "definition": f"shares an exact {k}-mer (either strand) with another "
                                  f"sequence; {k}-mers in more than {max_fraction:.0%} of "
                                  "sequences ignored"}


def _links(code: np.ndarray, row: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Links (a, b), a < b, between consecutive holders of each k-mer held by 2 to ``cap``
    sequences, from (k-mer, row) pairs in row order; and the number of k-mers held by more."""
    order = np.argsort(code, kind="stable")  # rows stay sorted within each k-mer
    code, row = code[order], row[order]
    del order
    new = np.ones(code.size, dtype=bool)
    new[1:] = (code[1:] != code[:-1]) | (row[1:] != row[:-1])
    code, row = code[new], row[new]  # one (k-mer, sequence) pair each
    start = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    size = np.diff(np.r_[start, code.size])
    grp_size = np.repeat(size, size)
    link = (grp_size >= 2) & (grp_size <= cap)
    a = np.flatnonzero(link & np.r_[code[1:] == code[:-1], False])  # chain to the next holder
    return row[a], row[a + 1], int((size > cap).sum())


def _components(n: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Connected components of the graph with edges a-b: labels (-1 = alone), count, largest."""
    graph = sp.coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels, minlength=1)
    groups = np.where(sizes[labels] > 1, labels, -1).astype(np.int64)
    return groups, int((sizes > 1).sum()), int(sizes.max()) if (sizes > 1).any() else 0


def near_duplicates(seqs, *, max_mismatches: int | None = None, max_bucket: int = 1000,
                    chunk: int = 4096) -> tuple[np.ndarray, dict]:
    """Group sequences of equal length that differ at few positions (Hamming distance).

    Pigeonhole hashing instead of all-pairs alignment: cut each sequence into
    ``max_mismatches + 1`` blocks; two sequences within that many mismatches share at least
    one block exactly, so only sequences sharing a block are compared base by base. Common
    flanks are cut off first; blocks shared by more than ``max_bucket`` sequences (repeats)
    are not used as seeds, so pairs seen only through them are missed (counted in the info).
    Exact copies are included. Insertions and deletions are not: see :func:`relatives`.
    Codes are built one block, or one batch of candidate pairs, at a time (``chunk``
    sequences each), never for the whole library at once.

    Parameters
    ----------
    seqs : sequence of str
        DNA sequences; only equal-length ones are compared.
    max_mismatches : int, optional
        Most differing positions for a near duplicate; 2 % of the length (at least 1) if None.
    max_bucket : int
        Largest set of sequences sharing a block that is still used as a seed.
    chunk : int
        Sequences coded at a time; candidate pairs are compared 8 x ``chunk`` at a time.

    Returns
    -------
    groups : (n,) int64
        Component label per sequence (linked by near-duplicate pairs); -1 if none.
    info : dict
        ``with_near_duplicate``, ``pairs``, ``groups``, ``largest_group``,
        ``compared_pairs``, ``skipped_buckets``, ``definition``.
    """
    n = len(seqs)
    flank = common_flanks(seqs, min_length=1, chunk=chunk)
    lo, hi = len(flank["prefix"]), len(flank["suffix"])
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=n)
    pairs, skipped, mm_used, n_cand = [], 0, set(), 0
    for length in np.unique(lengths):
        idx = np.flatnonzero(lengths == length)
        core = int(length) - lo - hi
        if idx.size < 2 or core <= 0:
            continue
        m = max(1, int(0.02 * length)) if max_mismatches is None else int(max_mismatches)
        mm_used.add(m)
        edges = np.linspace(0, core, min(m + 1, core) + 1).astype(int)
        cand = []
        for b0, b1 in zip(edges[:-1], edges[1:]):
            codes = _codes(seqs, idx, lo + b0, lo + b1, chunk)
            block = codes.view(f"V{b1 - b0}").ravel()
            _, inv, cnt = np.unique(block, return_inverse=True, return_counts=True)
            del codes, block
            skipped += int((cnt > max_bucket).sum())
            order = np.argsort(inv, kind="stable")
            starts = np.r_[0, np.cumsum(cnt)[:-1]]
            for g in np.flatnonzero((cnt >= 2) & (cnt <= max_bucket)):
                members = order[starts[g] : starts[g] + cnt[g]]
                i, j = np.triu_indices(members.size, 1)
                cand.append(np.stack([members[i], members[j]], axis=1))
        if not cand:
            continue
        key = np.sort(np.concatenate(cand) @ np.array([idx.size, 1], dtype=np.int64))
        key = key[np.r_[True, key[1:] != key[:-1]]]  # (np.unique hashes; slower here)
        n_cand += key.size
        cand = np.stack([key // idx.size, key % idx.size], axis=1)
        for c in np.array_split(cand, max(1, cand.size // (16 * chunk))):
            # codes of the sequences in this batch of pairs only
            used, at = np.unique(c, return_inverse=True)
            codes = _codes(seqs, idx[used], lo, int(length) - hi, chunk)
            at = at.reshape(c.shape)
            d = (codes[at[:, 0]] != codes[at[:, 1]]).sum(axis=1)
            pairs.append(idx[c[d <= m]])
    pairs = np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)
    groups, n_groups, largest = _components(n, pairs[:, 0], pairs[:, 1])
    mm = "/".join(str(x) for x in sorted(mm_used)) or "-"
    return groups, {"with_near_duplicate": int((groups >= 0).sum()), "pairs": int(len(pairs)),
                    "groups": n_groups, "largest_group": largest, "compared_pairs": n_cand, "skipped_buckets": skipped,
                    "definition": f"same length and at most {mm} mismatches outside the "
                                  "common flanks (exact copies included)"}


def _codes(seqs, rows: np.ndarray, start: int, stop: int, chunk: int) -> np.ndarray:
    """(len(rows), stop - start) uint8 codes of ``seqs[r][start:stop]`` for equal-length
    sequences, built ``chunk`` rows at a time."""
    out = np.empty((len(rows), stop - start), np.uint8)
    for a in range(0, len(rows), chunk):
        out[a : a + chunk] = padded_codes([seqs[r][start:stop] for r in rows[a : a + chunk]])
    return out
