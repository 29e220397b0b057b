"""Attribution maps: ISM against brute force, gradients against known answers, the checks."""

import numpy as np
import pytest

from seqexpr._backend import keras
from seqexpr.patterns.attribution import (agreement, center_ism, dinuc_shuffle,
                                          gradient_x_input, ism, ism_centered, rc_consistency,
                                          top_position_stability)

EYE = np.eye(4, dtype=np.float32)


def random_onehot(n, length, seed=0):
    return EYE[np.random.default_rng(seed).integers(0, 4, (n, length))]


def conv_fn(seed=0, length=12, k=3, filters=3):
    """A small nonlinear numpy model: conv -> tanh -> position-weighted sum, two outputs."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(k, 4, filters))
    v = rng.normal(size=(length - k + 1, filters, 2))

    def f(x):
        win = np.lib.stride_tricks.sliding_window_view(x, k, axis=1)  # (m, L-k+1, 4, k)
        h = np.tanh(np.einsum("mpbj,jbf->mpf", win, w))
        return np.einsum("mpf,pft->mt", h, v)

    return f


def tiny_keras(length=12, seed=0):
    """Conv1D(relu) -> Flatten -> Dense(2) with weights set from a fixed generator."""
    inp = keras.Input((length, 4))
    h = keras.layers.Conv1D(3, 3, padding="same", activation="relu")(inp)
    out = keras.layers.Dense(2)(keras.layers.Flatten()(h))
    model = keras.Model(inp, out)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32)
                       for w in model.get_weights()])
    return model


def brute_force_ism(f, x, target):
    out = np.zeros(x.shape)
    for i in range(len(x)):
        ref = f(x[i:i + 1])[0, target]
        for p in range(x.shape[1]):
            for b in range(4):
                if x[i, p, b] == 1:
                    continue
                mut = x[i:i + 1].copy()
                mut[0, p] = EYE[b]
                out[i, p, b] = f(mut)[0, target] - ref
    return out


@pytest.mark.parametrize("batch_size", [5, 64, 4096])
def test_ism_equals_brute_force_on_numpy_model(batch_size):
    f = conv_fn()
    x = random_onehot(6, 12)
    got = ism(f, x, target=1, batch_size=batch_size, progress=False)
    assert got.shape == x.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, brute_force_ism(f, x, 1), atol=1e-5)
    assert np.all(got[x == 1] == 0)


def test_ism_equals_brute_force_on_keras_model():
    model = tiny_keras()
    x = random_onehot(3, 12, seed=1)
    f = lambda a: np.asarray(model(a))  # noqa: E731
    got = ism(model, x, target=0, batch_size=32, progress=False)
    np.testing.assert_allclose(got, brute_force_ism(f, x, 0), atol=1e-4)


def test_ism_leaves_masked_positions_zero_and_unmutated():
    base = conv_fn()
    x = random_onehot(4, 12, seed=2)
    mask = np.ones((4, 12), np.uint8)
    mask[:, 9:] = 0
    mask[1, :2] = 0
    seen = []

    def f(a):
        seen.append(a.copy())
        return base(a)

    got = ism(f, x, mask=mask, target=0, batch_size=7, progress=False)
    assert np.all(got[mask == 0] == 0)
    assert np.any(got[mask == 1] != 0)
    mutants = np.concatenate(seen[1:])  # the first call scores the references
    assert len(mutants) == 3 * int(mask.sum())
    # each mutant is one of the sequences with one real position changed
    diff = (mutants[:, None] != x[None]).any(-1)  # (mutants, sequences, L)
    one = diff.sum(-1) == 1
    assert one.any(1).all()
    m_i, s_i = np.nonzero(one)
    assert np.all(mask[s_i, diff[m_i, s_i].argmax(-1)] == 1)


def test_centered_ism_puts_importance_on_observed_base():
    f = conv_fn()
    x = random_onehot(3, 12, seed=3)
    raw = ism(f, x, target=0, progress=False)
    cen = center_ism(raw, x)
    observed = (cen * x).sum(-1)
    mean_mutation = raw.sum(-1) / 3
    np.testing.assert_allclose(observed, -mean_mutation, atol=1e-6)
    np.testing.assert_allclose(cen.sum(-1), observed, atol=1e-6)
    np.testing.assert_allclose(ism_centered(f, x, target=0, progress=False), cen, atol=1e-6)


def linear_keras(weights, bias=0.3):
    length = weights.shape[0]
    inp = keras.Input((length, 4))
    out = keras.layers.Dense(1)(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    model.set_weights([weights.reshape(-1, 1).astype(np.float32),
                       np.array([bias], np.float32)])
    return model


def test_gradient_x_input_on_linear_model_is_weights_times_input():
    w = np.random.default_rng(4).normal(size=(20, 4)).astype(np.float32)
    x = random_onehot(5, 20, seed=4)
    mask = np.ones((5, 20), np.uint8)
    mask[:, 15:] = 0
    got = gradient_x_input(linear_keras(w), x, method="gradient", mask=mask, progress=False)
    np.testing.assert_allclose(got, w * x * mask[:, :, None], atol=1e-6)


def test_integrated_gradients_are_complete():
    model = tiny_keras(length=16, seed=5)
    x = random_onehot(3, 16, seed=5)
    got = gradient_x_input(model, x, target=1, method="integrated", n_background=4, steps=64,
                           seed=3, progress=False)
    assert np.all(got[x == 0] == 0)  # only observed bases carry attribution
    refs = dinuc_shuffle(x, n=4, seed=3)
    f = lambda a: np.asarray(model(a))[:, 1]  # noqa: E731
    expected = f(x) - f(refs.reshape(-1, 16, 4)).reshape(3, 4).mean(1)
    total = got.sum((1, 2))
    np.testing.assert_allclose(total, expected, atol=0.03 * np.abs(expected).max() + 1e-3)


def test_rc_consistency_is_one_for_strand_symmetric_model_only():
    g = conv_fn(seed=6)
    sym = lambda a: g(a) + g(a[:, ::-1, ::-1])  # noqa: E731
    x = random_onehot(8, 12, seed=6)
    mask = np.ones((8, 12), np.uint8)
    mask[:, :2] = 0
    res = rc_consistency(lambda a, **kw: ism(sym, a, progress=False, **kw), x, mask=mask)
    assert res["median"] > 0.999 and res["n"] == 8
    lopsided = rc_consistency(lambda a: ism(g, a, progress=False), x)
    assert lopsided["median"] < 0.9


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


def test_agreement_and_stability():
    w = np.random.default_rng(8).normal(size=(30, 4))
    w -= w.mean(1, keepdims=True)  # zero-mean rows: centered ISM is 4/3 of grad x input
    x = random_onehot(6, 30, seed=8)
    model = linear_keras(w)
    grad = gradient_x_input(model, x, method="gradient", progress=False)
    cen = ism_centered(model, x, progress=False)
    res = agreement(cen, grad)
    assert res["median"] > 0.999 and res["pearson"].shape == (6,)
    noise = np.random.default_rng(9).normal(size=grad.shape) * x
    assert agreement(noise, grad)["median"] < 0.7
    same = top_position_stability(grad, cen, k=5)
    assert same["median"] == 1.0
    other = top_position_stability(grad, noise, k=5)
    assert other["median"] < 0.7 and 0 < other["chance"] < 0.2
