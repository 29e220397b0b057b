"""homology.py: k-mers are matched on either strand, flanks and repeats link nothing."""

import numpy as np
import pytest

from seqexpr.encode import reverse_complement_str
from seqexpr.homology import MIN_KMER_LIMIT, clusters_from_index, kmer_index


def _random(n, length, seed=0):
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]


def test_a_shared_k_mer_on_either_strand_makes_relatives():
    seqs = _random(6, 60)
    seqs[1] = seqs[0][10:40] + seqs[1][30:]  # 30 nt of seq 0, same strand
    seqs[2] = reverse_complement_str(seqs[0][20:50]) + seqs[2][30:]  # other strand
    index = kmer_index(seqs, k=20)
    assert index["n"] == 6 and index["n_groups"] > 0
    labels = clusters_from_index(index)
    assert labels.dtype == np.int64 and labels.shape == (6,)
    assert labels[0] == labels[1] == labels[2] == 0  # the largest cluster is numbered 0
    assert len(set(labels[3:])) == 3 and not set(labels[3:]) & {0}


def test_no_shared_k_mers_leaves_every_sequence_alone():
    index = kmer_index(_random(20, 50, seed=1), k=20)
    assert index["n_groups"] == 0 and len(index["group"]) == 0
    assert clusters_from_index(index).tolist() == list(range(20))


def test_common_k_mers_and_their_neighbours_are_ignored():
    flank = "GACTAGCTAGGCTTAACGTTGGATCC"
    seqs = [flank + s for s in _random(200, 60, seed=2)]
    index = kmer_index(seqs, k=20, max_kmer_fraction=0.01)
    assert index["limit"] == max(MIN_KMER_LIMIT, 2)
    assert index["n_ignored"] > 0 and index["seqs_with_ignored"] == 200
    assert index["kmers_overlapping_ignored"] > 0
    assert clusters_from_index(index).tolist() == list(range(200))  # the flank links nothing


def test_poly_a_runs_and_ns_link_nothing():
    seqs = [s[:20] + "A" * 25 + s[45:] for s in _random(50, 90, seed=3)]
    assert kmer_index(seqs, k=20)["n_groups"] == 0
    kept = kmer_index(seqs, k=20, repeat_fraction=None, max_kmer_fraction=1.0)
    assert kept["n_groups"] > 0  # without the low-complexity filter the run is shared
    s = _random(1, 40, seed=4)[0]
    assert kmer_index([s, s[:19] + "NN" + s[21:]], k=20)["n_groups"] == 0  # all touch N
    assert kmer_index([s, s[:19] + "N" + s[20:]], k=20)["n_groups"] == 1  # 20..39 does not


def test_k_must_fit_in_64_bits():
    with pytest.raises(ValueError, match="1..31"):
        kmer_index(["ACGT" * 10], k=32)
