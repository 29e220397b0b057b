"""homology.kmer_index by chunks and hash parts gives the one-shot index, pair for pair."""

import numpy as np
import pytest

from seqexpr.encode import encode_codes, reverse_complement_str
from seqexpr.homology import (
    _EMPTY, MIN_KMER_LIMIT, _canonical_kmers, _distinct_per_row, clusters_from_index,
    kmer_index,
)


def _library(n=80, seed=0):
    """Random inserts of mixed lengths behind a constant flank, with shared segments on
    either strand, a k-mer in exactly 4 and one in 9 sequences, poly-A runs and an N."""
    rng = np.random.default_rng(seed)
    rand = lambda m: "".join(rng.choice(list("ACGT"), m))  # noqa: E731
    flank, few, many = rand(26), rand(24), rand(24)
    seqs = [rand(int(rng.integers(40, 90))) for _ in range(n)]
    for i in range(0, n, 7):  # relatives: a 30-nt segment of the previous sequence
        seg = seqs[i - 1][:30]
        seqs[i] = seqs[i][:10] + (reverse_complement_str(seg) if i % 2 else seg) + seqs[i][10:]
    for i in range(4):
        seqs[3 + 10 * i] += few
    for i in range(9):
        seqs[5 + 8 * i] = many + seqs[5 + 8 * i]
    for i in range(2, n, 5):
        seqs[i] = seqs[i][:15] + "A" * 22 + seqs[i][15:]
    seqs[11] = seqs[11][:20] + "N" + seqs[11][21:]
    return [flank + s for s in seqs]


def _one_shot(seqs, k, max_kmer_fraction, repeat_fraction=0.7):
    """The index as it was built before chunking: one (n, L-k+1) grid of hashes."""
    n = len(seqs)
    limit = max(MIN_KMER_LIMIT, int(np.floor(max_kmer_fraction * n)))
    codes, mask = encode_codes(seqs)
    grid = _canonical_kmers(codes, k, repeat_fraction, mask)
    width = grid.shape[1]
    values, rows = _distinct_per_row(grid)
    uniq, counts = np.unique(values, return_counts=True)
    common = uniq[counts > limit]
    candidates = uniq[(counts >= 2) & (counts <= limit)]
    is_common = np.isin(grid, common)
    c = np.pad(np.cumsum(is_common, axis=1), ((0, 0), (1, 0)))
    i = np.arange(width)
    near = c[:, np.minimum(i + k, width)] - c[:, np.maximum(i - k + 1, 0)]
    usable = grid != _EMPTY
    dropped = (near > 0) & usable
    shared_fraction = dropped.sum(axis=1) / np.maximum(usable.sum(axis=1), 1)
    grid[dropped] = _EMPTY
    values, rows = _distinct_per_row(grid)
    hit = np.isin(values, candidates)
    values, rows = values[hit], rows[hit]
    order = np.lexsort((rows, values))
    values, rows = values[order], rows[order]
    held = {v: int((values == v).sum()) for v in np.unique(values)}
    shared = np.array([held[v] >= 2 for v in values], bool)
    ids = {v: g for g, v in enumerate(v for v in sorted(held) if held[v] >= 2)}
    return {"group": np.array([ids[v] for v in values[shared]], np.int64),
            "seq": rows[shared], "n_groups": len(ids), "n_ignored": len(common),
            "seqs_with_ignored": int(is_common.any(axis=1).sum()),
            "kmers_overlapping_ignored": int(dropped.sum() - is_common.sum()),
            "median_common_fraction": float(np.median(shared_fraction[usable.any(axis=1)]))}


@pytest.mark.parametrize("chunk, part_size", [(4, 700), (9, 2000), (1000, 10**9)])
@pytest.mark.parametrize("k, fraction", [(20, 0.05), (12, 0.01), (24, 0.2)])
def test_chunks_and_parts_give_the_one_shot_index(chunk, part_size, k, fraction):
    seqs = _library()
    got = kmer_index(seqs, k=k, max_kmer_fraction=fraction, chunk=chunk, part_size=part_size)
    want = _one_shot(seqs, k, fraction)
    for key, value in want.items():
        assert np.array_equal(got[key], value), key
    assert got["group"].dtype == got["seq"].dtype == np.int64
    assert want["n_ignored"] > 0 and want["n_groups"] > 0  # the library plants both


def test_cluster_labels_do_not_depend_on_chunks_or_parts():
    seqs = _library(seed=1)
    one = clusters_from_index(kmer_index(seqs, k=20, chunk=10**6, part_size=10**9))
    many = clusters_from_index(kmer_index(seqs, k=20, chunk=3, part_size=600))
    assert np.array_equal(one, many) and one.max() < len(seqs) - 1  # some relatives joined


def test_an_empty_library_has_an_empty_index():
    index = kmer_index([], k=20, part_size=10)
    assert index["n"] == 0 and len(index["group"]) == 0 and index["n_groups"] == 0


def test_padding_does_not_make_the_end_of_a_short_sequence_a_repeat():
    # the last bases of a short sequence, padded next to a long one, were once read as part
    # of a poly-N run, so its k-mers depended on which sequences shared its chunk
    short = _library(seed=2)[1][:60] + "A" * 10
    alone = kmer_index([short, short], k=20, chunk=1, max_kmer_fraction=1.0)
    padded = kmer_index([short, short, "ACGT" * 60], k=20, chunk=3, max_kmer_fraction=1.0)
    assert alone["n_groups"] == padded["n_groups"] > 0
