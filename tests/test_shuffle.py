"""Dinucleotide shuffles keep dinucleotide counts, ends and padding, and follow the seed."""

import numpy as np

from attribution_models import random_onehot
from seqexpr.patterns.shuffle import dinuc_shuffle


def dinuc_counts(codes):
    return np.bincount(codes[:-1] * 4 + codes[1:], minlength=16)


def test_dinuc_shuffle_keeps_dinucleotide_counts_and_padding():
    x = random_onehot(20, 60, seed=7)
    mask = np.ones((20, 60), np.uint8)
    lengths = np.random.default_rng(7).integers(10, 61, 20)
    mask[np.arange(60)[None] >= lengths[:, None]] = 0
    x[mask == 0] = 0
    shuf = dinuc_shuffle(x, n=5, seed=1, mask=mask)
    assert shuf.shape == (20, 5, 60, 4)
    for i in range(20):
        real = x[i, : lengths[i]].argmax(-1)
        for j in range(5):
            s = shuf[i, j, : lengths[i]].argmax(-1)
            np.testing.assert_array_equal(dinuc_counts(s), dinuc_counts(real))
            assert s[0] == real[0] and s[-1] == real[-1]
        assert np.all(shuf[i, :, lengths[i]:] == 0)
    # the shuffles actually shuffle, and the seed fixes them
    long = lengths >= 40
    assert (shuf[long, 0] != x[long]).any(axis=(1, 2)).all()
    np.testing.assert_array_equal(shuf, dinuc_shuffle(x, n=5, seed=1, mask=mask))
    assert (dinuc_shuffle(x[0], n=3, seed=2) != dinuc_shuffle(x[0], n=3, seed=3)).any()
