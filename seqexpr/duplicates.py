"""Duplicates and relatives: identical copies, near duplicates (few mismatches), and sequences
that share a long exact k-mer, found by hashing rather than all-pairs alignment.

Used by the explore stage to say how redundant a library is, and what a leak-aware split has
to keep apart.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from seqexpr.encode import reverse_complement_str
from seqexpr.kmers import padded_codes, window_codes

__all__ = ["exact_duplicates", "near_duplicates", "relatives", "common_flanks"]


def common_flanks(seqs, *, min_length: int = 6) -> dict:
    """Longest prefix and suffix shared by every sequence (constant primers/adapters)."""
    seqs = [s.upper() for s in seqs]
    pre = os.path.commonprefix(seqs) if seqs else ""
    suf = os.path.commonprefix([s[::-1] for s in seqs])[::-1] if seqs else ""
    return {"prefix": pre if len(pre) >= min_length else "",
            "suffix": suf if len(suf) >= min_length else ""}


def exact_duplicates(seqs) -> pd.DataFrame:
    """Groups of identical sequences (same strand) and of reverse-complement copies.

    Returns
    -------
    DataFrame, one row per sequence
        ``exact_group`` and ``rc_group`` (int, -1 when the sequence has no copy), and
        ``exact_size`` (copies including itself).
    """
    s = pd.Series([x.upper() for x in seqs])
    codes, _ = pd.factorize(s)
    size = np.bincount(codes)[codes]
    canon = pd.Series([min(x, reverse_complement_str(x)) for x in s])
    ccodes, _ = pd.factorize(canon)
    csize = np.bincount(ccodes)[ccodes]
    rc_only = csize > size  # has a copy on the other strand
    return pd.DataFrame({"exact_group": np.where(size > 1, codes, -1), "exact_size": size,
                         "rc_group": np.where(rc_only, ccodes, -1)})


def relatives(seqs, *, k: int = 20, max_fraction: float = 0.05) -> tuple[np.ndarray, dict]:
    """Group sequences that share an exact k-mer (either strand) with another sequence.

    This is the relation a leak-aware split cares about: it hashes every k-mer (2-bit
    codes), links sequences holding the same one and takes connected components. K-mers
    held by more than ``max_fraction`` of all sequences (constant primers, poly-A) are
    ignored and counted, or they would link everything. In combinatorial libraries most
    sequences end up in one component: that is the finding, not a bug.

    Returns
    -------
    groups : (n,) int64
        Component label per sequence; -1 for sequences without a relative.
    info : dict
        ``with_relative``, ``groups``, ``largest_group``, ``ignored_common_kmers``,
        ``definition``.
    """
    n = len(seqs)
    row, code, _ = window_codes(seqs, k, canonical=True)
    order = np.argsort(code, kind="stable")  # rows stay sorted within each k-mer
    code, row = code[order], row[order]
    new = np.ones(code.size, dtype=bool)
    new[1:] = (code[1:] != code[:-1]) | (row[1:] != row[:-1])
    code, row = code[new], row[new]  # one (k-mer, sequence) pair each
    start = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    size = np.diff(np.r_[start, code.size])
    cap = max(2, int(max_fraction * n))
    grp_size = np.repeat(size, size)
    link = (grp_size >= 2) & (grp_size <= cap)
    a = np.flatnonzero(link & np.r_[code[1:] == code[:-1], False])  # chain to the next holder
    groups, n_groups, largest = _components(n, row[a], row[a + 1])
    return groups, {"with_relative": int((groups >= 0).sum()), "groups": n_groups,
                    "largest_group": largest, "ignored_common_kmers": int((size > cap).sum()),
                    "definition": f"shares an exact {k}-mer (either strand) with another "
                                  f"sequence; {k}-mers in more than {max_fraction:.0%} of "
                                  "sequences ignored"}


def _components(n: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Connected components of the graph with edges a-b: labels (-1 = alone), count, largest."""
    graph = sp.coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels, minlength=1)
    groups = np.where(sizes[labels] > 1, labels, -1).astype(np.int64)
    return groups, int((sizes > 1).sum()), int(sizes.max()) if (sizes > 1).any() else 0


def near_duplicates(seqs, *, max_mismatches: int | None = None, max_bucket: int = 1000
                    ) -> tuple[np.ndarray, dict]:
    """Group sequences of equal length that differ at few positions (Hamming distance).

    Pigeonhole hashing instead of all-pairs alignment: cut each sequence into
    ``max_mismatches + 1`` blocks; two sequences within that many mismatches share at least
    one block exactly, so only sequences sharing a block are compared base by base. Common
    flanks are cut off first; blocks shared by more than ``max_bucket`` sequences (repeats)
    are not used as seeds, so pairs seen only through them are missed (counted in the info).
    Exact copies are included. Insertions and deletions are not: see :func:`relatives`.

    Parameters
    ----------
    seqs : sequence of str
        DNA sequences; only equal-length ones are compared.
    max_mismatches : int, optional
        Most differing positions for a near duplicate; 2 % of the length (at least 1) if None.

    Returns
    -------
    groups : (n,) int64
        Component label per sequence (linked by near-duplicate pairs); -1 if none.
    info : dict
        ``with_near_duplicate``, ``pairs``, ``groups``, ``largest_group``,
        ``compared_pairs``, ``skipped_buckets``, ``definition``.
    """
    n = len(seqs)
    flank = common_flanks(seqs, min_length=1)
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
        codes = padded_codes([seqs[i][lo : int(length) - hi] for i in idx])
        edges = np.linspace(0, core, min(m + 1, core) + 1).astype(int)
        cand = []
        for b0, b1 in zip(edges[:-1], edges[1:]):
            block = np.ascontiguousarray(codes[:, b0:b1]).view(f"V{b1 - b0}").ravel()
            _, inv, cnt = np.unique(block, return_inverse=True, return_counts=True)
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
        for c in np.array_split(cand, max(1, cand.size * core // 50_000_000)):
            d = (codes[c[:, 0]] != codes[c[:, 1]]).sum(axis=1)
            pairs.append(idx[c[d <= m]])
    pairs = np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)
    groups, n_groups, largest = _components(n, pairs[:, 0], pairs[:, 1])
    mm = "/".join(str(x) for x in sorted(mm_used)) or "-"
    return groups, {"with_near_duplicate": int((groups >= 0).sum()), "pairs": int(len(pairs)),
                    "groups": n_groups, "largest_group": largest, "compared_pairs": n_cand, "skipped_buckets": skipped,
                    "definition": f"same length and at most {mm} mismatches outside the "
                                  "common flanks (exact copies included)"}
