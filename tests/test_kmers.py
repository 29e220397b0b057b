"""k-mer counting against a brute-force count, on small random input."""

from collections import Counter

import numpy as np
import pytest

import scipy.sparse as sp

from seqexpr.kmers import (kmer_counts, kmer_feature_chunks, kmer_feature_names, kmer_features,
                           kmer_names)

_RC = str.maketrans("ACGT", "TGCA")


def _rc(s):
    return s.translate(_RC)[::-1]


def _brute(seqs, k, gap=0, canonical=False):
    """Per-sequence Counter of k-mer names, by sliding a window in plain Python."""
    h = k // 2 if gap else k
    out = []
    for s in seqs:
        s = s.upper().replace("U", "T")
        c = Counter()
        for i in range(len(s) - (k + gap) + 1):
            w = s[i : i + k + gap]
            read = w[:h] + w[h + gap :]
            if set(read) - set("ACGT"):
                continue
            if canonical:
                read = min(read, _rc(read))
            c[read[:h] + "." * gap + read[h:]] += 1
        out.append(c)
    return out


@pytest.fixture(scope="module")
def random_seqs():
    """Variable lengths (0 to 40), about 5 % N, one lower-case RNA sequence."""
    rng = np.random.default_rng(7)
    seqs = ["".join(rng.choice(list("ACGTN"), p=[0.24, 0.24, 0.24, 0.23, 0.05],
                               size=rng.integers(0, 41))) for _ in range(60)]
    return seqs + ["acguuNacgU", "A", ""]


@pytest.mark.parametrize("k,gap,canonical", [
    (1, 0, False), (3, 0, False), (4, 0, True), (5, 0, True), (4, 2, False), (4, 1, True),
    (5, 3, False), (6, 2, True),
])
def test_counts_match_brute_force(random_seqs, k, gap, canonical):
    mat, names = kmer_counts(random_seqs, k, gap=gap, canonical=canonical)
    assert mat.dtype == np.float32 and mat.shape == (len(random_seqs), len(names))
    assert len(set(names)) == len(names)
    dense = mat.toarray()
    for i, expected in enumerate(_brute(random_seqs, k, gap, canonical)):
        got = {names[j]: dense[i, j] for j in np.flatnonzero(dense[i])}
        assert got == dict(expected), f"sequence {i}: {random_seqs[i]!r}"


def test_feature_counts():
    assert kmer_counts(["ACGT"], 3)[0].shape[1] == 64
    assert kmer_counts(["ACGT"], 3, canonical=True)[0].shape[1] == 32
    assert kmer_counts(["ACGT"], 4, canonical=True)[0].shape[1] == (256 + 16) // 2
    assert kmer_names(2)[:5] == ["AA", "AC", "AG", "AT", "CA"]
    assert kmer_names(4, gap=2)[-1] == "TT..TT"


def test_gap_is_a_wildcard_but_never_crosses_sequences():
    mat, names = kmer_counts(["ACNNGT", "AC", "GT"], 4, gap=2)
    assert mat[0, names.index("AC..GT")] == 1  # N inside the gap is fine
    assert mat[1:].sum() == 0  # the two short sequences must not pair up


def test_reverse_complement_merged():
    mat, names = kmer_counts(["TGACTCA", "TGAGTCA"], 7, canonical=True)
    assert mat.nnz == 2 and names[mat[0].indices[0]] == "TGACTCA"
    assert mat[1, names.index("TGACTCA")] == 1  # rc of TGAGTCA


def test_features_stack_specs(random_seqs):
    mat, names = kmer_features(random_seqs, ks=(2, 3), gapped=((4, 1),), canonical=True)
    parts = [kmer_counts(random_seqs, 2, canonical=True), kmer_counts(random_seqs, 3, canonical=True),
             kmer_counts(random_seqs, 4, gap=1, canonical=True)]
    assert names == sum((p[1] for p in parts), [])
    assert np.array_equal(mat.toarray(), np.hstack([p[0].toarray() for p in parts]))


def test_bad_arguments_say_what_to_do():
    with pytest.raises(ValueError, match="even k"):
        kmer_counts(["ACGTACGT"], 5, gap=1, canonical=True)
    with pytest.raises(ValueError, match="from 1 to 12"):
        kmer_counts(["ACGT"], 13)
    with pytest.raises(TypeError, match="list of sequences"):
        kmer_counts("ACGT", 2)


def test_feature_chunks_stack_to_the_one_shot_matrix():
    rng = np.random.default_rng(3)
    seqs = ["".join(rng.choice(list("ACGTN"), rng.integers(0, 40))) for _ in range(23)]
    whole, names = kmer_features(seqs, (1, 3, 4), gapped=((4, 2),))
    chunks = list(kmer_feature_chunks(seqs, (1, 3, 4), gapped=((4, 2),), chunk_size=5))
    assert [start for start, _ in chunks] == [0, 5, 10, 15, 20]
    stacked = sp.vstack([x for _, x in chunks], format="csr")
    assert stacked.dtype == np.float32 and (stacked != whole).nnz == 0
    assert kmer_feature_names((1, 3, 4), gapped=((4, 2),)) == names
