"""Seqlets: planted high-attribution segments are found with their sign, never in padding."""

import numpy as np
import pandas as pd
import pytest

from seqexpr.patterns.seqlets import extract_seqlets, project, seqlet_windows, smooth


def _maps(n=200, length=150, seed=0):
    rng = np.random.default_rng(seed)
    x = np.eye(4, dtype=np.uint8)[rng.integers(0, 4, (n, length))]
    attr = rng.normal(0, 0.05, (n, length, 4)).astype(np.float32)
    planted = []
    for i in range(n):
        p = int(rng.integers(10, length - 60))
        sign = 1.0 if i % 2 == 0 else -1.0
        attr[i, p:p + 8] += sign * 0.8 * x[i, p:p + 8]  # on the observed bases only
        planted.append((i, p, "+" if sign > 0 else "-"))
    return x, attr, planted


def test_planted_segments_are_found_with_their_sign():
    x, attr, planted = _maps()
    sl = extract_seqlets(attr, x, window=9, flank=5, threshold=4.0)
    width = 9 + 2 * 5
    assert (sl["end"] - sl["start"] == width).all()
    hits = 0
    for i, p, sign in planted:
        mine = sl[(sl["seq_index"] == i) & (sl["sign"] == sign)]
        hits += bool(((mine["start"] <= p) & (mine["end"] >= p + 8)).any())
    assert hits >= 0.95 * len(planted)
    # Background noise alone (sd 0.05 per base) seldom crosses z = 4.
    assert len(sl) < 1.2 * len(planted)
    assert (sl["score"][sl["sign"] == "+"] > 0).all() and (sl["score"][sl["sign"] == "-"] < 0).all()


def test_padding_never_yields_seqlets_nor_counts_in_the_null():
    x, attr, _ = _maps(n=60, length=120)
    mask = np.ones(x.shape[:2], np.uint8)
    mask[:, 90:] = 0
    attr[:, 95:110] += 5.0  # a loud signal inside the padding
    sl = extract_seqlets(attr, x, mask=mask, window=9, flank=5, threshold=4.0)
    assert len(sl) > 0
    assert (sl["end"] <= 90).all()
    # The same sequences with much more padding give the same seqlets: padding is not null.
    x2 = np.concatenate([x[:, :90], np.zeros((60, 200, 4), np.uint8)], 1)
    a2 = np.concatenate([attr[:, :90], np.zeros((60, 200, 4), np.float32)], 1)
    m2 = np.concatenate([mask[:, :90], np.zeros((60, 200), np.uint8)], 1)
    sl2 = extract_seqlets(a2, x2, mask=m2, window=9, flank=5, threshold=4.0)
    assert sl[["seq_index", "start", "sign"]].equals(sl2[["seq_index", "start", "sign"]])


def test_close_peaks_are_suppressed_and_capped_per_sequence():
    x = np.eye(4, dtype=np.uint8)[np.zeros((3, 100), int)]
    attr = np.zeros((3, 100, 4), np.float32)
    attr[:, :, 0] = np.random.default_rng(1).normal(0, 0.01, (3, 100))
    attr[:, 40, 0] += 1.0
    attr[:, 43, 0] += 0.9  # within one window of the first peak
    for p in (10, 70, 85):
        attr[0, p, 0] += 0.7
    sl = extract_seqlets(attr, x, window=7, flank=3, threshold=4.0, max_per_seq=2)
    assert sl.groupby("seq_index").size().max() <= 2
    assert (sl[sl["seq_index"] == 1]["center"].between(40, 43)).sum() == 1


def test_project_and_smooth_shapes_and_windows():
    x = np.eye(4, dtype=np.uint8)[np.array([[0, 1, 2, 3, 0]])]
    attr = np.ones((1, 5, 4), np.float32)
    mask = np.array([[1, 1, 1, 1, 0]])
    proj = project(attr, x, mask)
    np.testing.assert_array_equal(proj, [[1, 1, 1, 1, 0]])
    np.testing.assert_array_equal(smooth(proj, 3, mask), [[2, 3, 3, 2, 0]])
    one = pd.DataFrame({"seq_index": [0], "start": [1], "end": [4]})
    sl_x, sl_a = seqlet_windows(one, x, attr, pad=2)
    assert sl_x.shape == (1, 7, 4) and sl_x[0, -1].sum() == 0  # past the end: zeros


def test_shape_mismatch_is_explained():
    with pytest.raises(ValueError, match="one-hot shape"):
        extract_seqlets(np.zeros((2, 10, 4)), np.zeros((2, 11, 4)))


def test_choose_sequences_takes_both_ends_and_a_random_middle():
    from seqexpr.patterns.seqlets import choose_sequences

    values = np.arange(1000.0)
    rows = choose_sequences(values, 90, seed=0)
    assert len(rows) == 90 and len(set(rows)) == 90 and (np.diff(rows) > 0).all()
    assert set(range(970, 1000)) <= set(rows) and set(range(30)) <= set(rows)
    middle = rows[(rows >= 30) & (rows < 970)]
    assert len(middle) == 30 and middle.std() > 100  # spread, not a block
    assert (choose_sequences(values[:50], 90) == np.arange(50)).all()
