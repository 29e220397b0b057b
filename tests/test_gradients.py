"""Gradient x input and integrated gradients against known answers."""

import numpy as np

from attribution_models import linear_keras, random_onehot, tiny_keras
from seqexpr.patterns.gradients import gradient_x_input
from seqexpr.patterns.shuffle import dinuc_shuffle


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
