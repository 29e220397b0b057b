"""encode.py: one-hot layout, padding and trimming rules, flanks, masks, casting, RC."""

import numpy as np
import pytest

from seqexpr import encode as encode_module
from seqexpr.encode import (decode, encode, encode_chunks, encoding_summary, reverse_complement,
                            reverse_complement_str, to_float, unknown_bases)

A, C, G, T, N = [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]


def test_bases_in_acgt_order_and_unknown_codes_are_zero_rows():
    x, m = encode(["ACGTNRY"])
    assert x.dtype == np.uint8 and m.dtype == np.uint8
    assert x[0].tolist() == [A, C, G, T, N, N, N]
    assert m.tolist() == [[1] * 7]  # an N is a real (unknown) base, not padding


def test_lower_case_and_rna_read_like_dna():
    x, _ = encode(["acgu"])
    assert x[0].tolist() == [A, C, G, T]


def test_round_trip_on_random_variable_length_batch():
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGTN"), rng.integers(1, 40))) for _ in range(300)]
    x, m = encode(seqs)
    assert x.shape == (300, max(map(len, seqs)), 4)
    assert decode(x, m) == seqs
    assert (m.sum(1) == [len(s) for s in seqs]).all()


@pytest.mark.parametrize("pad, codes, mask", [
    ("right", [A, C, N, N, N], [1, 1, 0, 0, 0]),
    ("left", [N, N, N, A, C], [0, 0, 0, 1, 1]),
    ("center", [N, A, C, N, N], [0, 1, 1, 0, 0]),  # odd extra base of padding goes right
])
def test_padding_modes(pad, codes, mask):
    x, m = encode(["AC", "GGGGG"], length=5, pad=pad)
    assert x[0].tolist() == codes
    assert m[0].tolist() == mask
    assert m[1].tolist() == [1] * 5


@pytest.mark.parametrize("trim, kept", [("right", "ACGTA"), ("left", "TACCG"),
                                        ("center", "CGTAC")])
def test_trimming_modes(trim, kept):
    x, m = encode(["ACGTACCG"], length=5, trim=trim)
    assert decode(x, m) == [kept]
    assert m.all()


def test_flanks_fill_padding_with_the_bases_next_to_the_insert():
    # vector ...TTGCA[insert]GATCC... ; sequence "AC" in a 7-nt window, centred
    x, m = encode(["AC"], length=7, pad="center", flank_left="TTGCA", flank_right="GATCC")
    assert decode(x) == ["CAACGAT"]  # 2 left pads take "CA", 3 right pads take "GAT"
    assert m.tolist() == [[0, 0, 1, 1, 0, 0, 0]]
    assert decode(x, m) == ["AC"]


def test_padding_beyond_a_short_flank_stays_zero():
    x, m = encode(["AC"], length=6, pad="left", flank_left="G")
    assert x[0].tolist() == [N, N, N, G, A, C]
    assert m[0].tolist() == [0, 0, 0, 0, 1, 1]


def test_to_float_fills_unknown_only_at_real_positions():
    x, m = encode(["AN", "A"], length=3)
    f0 = to_float(x, m)
    assert f0.dtype == np.float32 and f0.sum() == 2
    f = to_float(x, m, unknown=0.25)
    assert f[0, 1].tolist() == [0.25] * 4  # the N
    assert f[0, 2].tolist() == [0.0] * 4 and f[1, 1].tolist() == [0.0] * 4  # padding
    assert f[0, 0].tolist() == [1, 0, 0, 0]


def test_reverse_complement_arrays_and_strings():
    seqs = ["AACGTN", "GGGCAT"]
    x, _ = encode(seqs)
    rc = reverse_complement(x)
    assert decode(rc) == [reverse_complement_str(s) for s in seqs] == ["NACGTT", "ATGCCC"]
    assert np.array_equal(reverse_complement(rc), x)
    attr = np.random.default_rng(0).normal(size=(2, 3, 6, 4)).astype(np.float32)
    assert np.array_equal(reverse_complement(reverse_complement(attr)), attr)
    assert reverse_complement_str("ACGTRYKMBDHVNacgt") == "acgtNBDHVKMRYACGT"
    assert reverse_complement_str(reverse_complement_str("ARYSWKMBDHVN")) == "ARYSWKMBDHVN"


def test_encode_rejects_bad_options_and_a_bare_string():
    with pytest.raises(ValueError, match="pad"):
        encode(["AC"], pad="middle")
    with pytest.raises(TypeError, match="list"):
        encode("ACGT")


def test_encoding_summary_counts_padding_trimming_and_unknowns():
    seqs = ["ACGTN", "AC", "ACGTACGT"]
    x, m = encode(seqs, length=5)
    s = encoding_summary([len(q) for q in seqs], length=5, mask=m, onehot=x)
    assert (s["n_padded"], s["n_trimmed"], s["nt_trimmed"]) == (1, 1, 3)
    assert s["unknown_bases"] == 1 and s["sequences_with_unknown"] == 1


@pytest.mark.parametrize("placement", [
    dict(), dict(length=25, pad="center", trim="left"),
    dict(length=30, pad="left", flank_left="GGATCC", flank_right="TTAA"),
])
def test_blocks_of_rows_stack_to_the_one_shot_encoding(placement, monkeypatch):
    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACGTN"), rng.integers(1, 40))) for _ in range(50)]
    x, m = encode(seqs, **placement)
    for chunk in (1, 7, 50, 64):
        blocks = list(encode_chunks(seqs, chunk=chunk, **placement))
        assert [start for start, _, _ in blocks] == list(range(0, 50, chunk))
        np.testing.assert_array_equal(np.concatenate([b[1] for b in blocks]), x)
        np.testing.assert_array_equal(np.concatenate([b[2] for b in blocks]), m)
    monkeypatch.setattr(encode_module, "CHUNK_BYTES", 15 * x.shape[1] * 4)  # 4 rows a block
    blocks = list(encode_chunks(seqs, **placement))
    assert len(blocks) == 13
    np.testing.assert_array_equal(np.concatenate([b[1] for b in blocks]), x)


def test_encoding_summary_takes_unknown_counts_per_sequence():
    seqs = ["ACGTN", "NNAC", "ACGTACGT"]
    x, m = encode(seqs, length=5)
    assert unknown_bases(x, m).tolist() == [1, 2, 0]
    whole = encoding_summary([len(q) for q in seqs], length=5, mask=m, onehot=x)
    assert encoding_summary([len(q) for q in seqs], length=5,
                            unknown=unknown_bases(x, m)) == whole
