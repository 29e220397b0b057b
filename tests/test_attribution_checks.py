"""Checks of attribution maps: strand consistency, agreement, top-position stability."""

import numpy as np

from attribution_models import conv_fn, linear_keras, random_onehot
from seqexpr.patterns.attribution_checks import agreement, rc_consistency, top_position_stability
from seqexpr.patterns.gradients import gradient_x_input
from seqexpr.patterns.ism import ism, ism_centered


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
