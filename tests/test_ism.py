"""ISM against brute force, masked positions untouched, the centered convention."""

import numpy as np
import pytest

from attribution_models import EYE, conv_fn, random_onehot, tiny_keras
from seqexpr.patterns.ism import center_ism, ism, ism_centered


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
