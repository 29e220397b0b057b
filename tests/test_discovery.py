"""Motif discovery recovers the motifs of a model whose weights were set by hand."""

import numpy as np
import pytest

from seqexpr._backend import keras
from seqexpr.patterns.discovery import (Motif, consensus, discover_motifs, information_content,
                                        pwm_similarity, reverse_complement_pwm)

ACT, REP = "TGACTCA", "CCGGAAGT"


def _onehot(s):
    return np.eye(4, dtype=np.float32)[["ACGT".index(c) for c in s]]


def _log_odds_kernel(site, width):
    k = np.zeros((width, 4), np.float32)
    k[:len(site)] = -2.0
    k[np.arange(len(site)), ["ACGT".index(c) for c in site]] = 1.0
    return k


def _hand_set_model(length):
    """Conv1D with each motif's log-odds (both strands) -> ReLU above 5 matches -> max pool;
    the activator's filters add +1, the repressor's -1."""
    w = 8
    kernels = [_log_odds_kernel(ACT, w), _log_odds_kernel(_rc_str(ACT), w),
               _log_odds_kernel(REP, w), _log_odds_kernel(_rc_str(REP), w)]
    inp = keras.Input((length, 4))
    conv = keras.layers.Conv1D(4, w, activation="relu")
    dense = keras.layers.Dense(1)
    out = dense(keras.layers.GlobalMaxPooling1D()(conv(inp)))
    model = keras.Model(inp, out)
    conv.set_weights([np.stack(kernels, -1), np.array([-5.5, -5.5, -6.5, -6.5], np.float32)])
    dense.set_weights([np.array([[1.0], [1.0], [-1.0], [-1.0]], np.float32),
                       np.zeros(1, np.float32)])
    return model


def _planted(n=240, length=80, seed=0):
    rng = np.random.default_rng(seed)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))]
    for i in range(n):
        for site, frac in ((ACT, 0.5), (REP, 0.4)):
            if rng.random() < frac:
                p = int(rng.integers(0, length - 8))
                m = _onehot(site)
                x[i, p:p + len(site)] = m if rng.random() < 0.5 else m[::-1, ::-1]
    return x


def _rc_str(s):
    return s[::-1].translate(str.maketrans("ACGT", "TGCA"))


@pytest.fixture(scope="module")
def found():
    from seqexpr.patterns.ism import ism

    x = _planted()
    model = _hand_set_model(x.shape[1])
    attr = ism(model, x, center=True, batch_size=4096, progress=False)
    return discover_motifs(attr, x.astype(np.uint8), min_seqlets=10)


def test_both_motifs_come_back_with_their_sign(found):
    pos = [m for m in found if m.sign == "+"]
    neg = [m for m in found if m.sign == "-"]
    assert pos and neg
    assert ACT in pos[0].consensus or _rc_str(ACT) in pos[0].consensus
    assert REP in neg[0].consensus or _rc_str(REP) in neg[0].consensus
    assert pos[0].n_seqlets >= 80 and neg[0].n_seqlets >= 60
    # Contribution matrices carry the sign; the PWMs are probabilities.
    assert pos[0].cwm.sum() > 0 and neg[0].cwm.sum() < 0
    np.testing.assert_allclose(pos[0].pwm.sum(1), 1.0)
    # One motif per site: the two strands were merged, not reported twice.
    assert sum(pwm_similarity(m.pwm, _onehot(ACT) * 0.9 + 0.025)[0] > 0.8 for m in pos) == 1


def test_seqlet_positions_point_at_the_sites(found):
    x = _planted()
    top = [m for m in found if m.sign == "+"][0]
    assert set(top.seqlets["strand"]) == {"+", "-"}
    for r in top.seqlets.itertuples():
        site = "".join("ACGT"[i] for i in x[r.seq_index, r.start:r.end].argmax(1))
        site = _rc_str(site) if r.strand == "-" else site
        assert sum(a == b for a, b in zip(site, top.consensus)) >= top.width - 1


def test_pwm_helpers():
    p = _onehot("AAGCTG") * 0.97 + 0.0075
    assert consensus(p) == "AAGCTG"
    assert information_content(np.full((3, 4), 0.25)).max() < 1e-9
    sim, off, strand = pwm_similarity(p, reverse_complement_pwm(p[1:]))
    assert sim > 0.99 and strand == "-" and off == 1


def test_low_information_smear_is_flagged():
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.uint8)[rng.integers(0, 4, (150, 60))]
    x[:, 20:30] = np.eye(4, dtype=np.uint8)[0]  # poly-A everywhere
    attr = rng.normal(0, 0.02, x.shape).astype(np.float32)
    attr[:, 20:30] += 0.5 * x[:, 20:30]
    found = discover_motifs(attr, x, min_seqlets=10)
    assert found and all(m.low_complexity for m in found if "AAAA" in m.consensus)
    assert isinstance(found[0], Motif)


def test_one_strand_keeps_a_motif_apart_from_its_reverse_complement():
    from seqexpr.patterns.discovery import _kmer_codes, pwm_similarity, reverse_complement_pwm

    pwm = np.full((6, 4), 0.02)
    pwm[np.arange(6), [2, 0, 3, 0, 0, 2]] = 0.94  # GATAAG
    rc = reverse_complement_pwm(pwm)
    assert pwm_similarity(pwm, rc)[0] > 0.99  # as DNA, one site
    assert pwm_similarity(pwm, rc, both_strands=False)[0] < 0.5  # as RNA, two
    codes = np.array([[2, 0, 3, 0, 0, 2], [1, 3, 3, 0, 3, 1]])  # GATAAG and its RC CTTATC
    both, one = _kmer_codes(codes, 6), _kmer_codes(codes, 6, both_strands=False)
    assert both[0, 0] == both[1, 0] and one[0, 0] != one[1, 0]


def test_widths_scale_down_for_short_sequences_and_stay_for_long_ones():
    from seqexpr.patterns.discovery import scaled_to_length

    assert scaled_to_length(200) == dict(window=9, flank=5, k=6, min_width=5, max_width=20)
    assert scaled_to_length(29) == scaled_to_length(200)
    short = scaled_to_length(11)
    assert short["window"] + 2 * short["flank"] <= 11 and short["min_width"] == 4
    assert short["k"] <= short["window"] and short["max_width"] <= 11
