"""Model builders: shapes, save-reload-predict, strand symmetry."""

import numpy as np
import pytest

from seqexpr import models
from seqexpr._backend import keras
from seqexpr.predict import predict_float

TINY = {"cnn": dict(filters=8, kernel_size=7, n_conv=2, dense=8),
        "resnet": dict(filters=8, kernel_size=7, n_blocks=2, dense=8),
        "se_cnn": dict(filters=8, kernel_size=7, n_blocks=2, dense=8),
        "deepstarr": {}}


def _x(n=6, length=40, seed=0):
    rng = np.random.default_rng(seed)
    return np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))]


@pytest.mark.parametrize("name", sorted(models.BUILDERS))
def test_save_reload_predict_identical(name, tmp_path):
    m = models.build(name, 40, 2, **TINY[name])
    x = _x()
    before = m.predict(x, verbose=0)
    m.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(again.predict(x, verbose=0), before)


@pytest.mark.parametrize("name", sorted(models.BUILDERS))
def test_multi_task_output_shape(name):
    m = models.build(name, 40, 3, **TINY[name])
    assert m.output_shape == (None, 3)
    assert m.predict(_x(5), verbose=0).shape == (5, 3)


def test_rc_average_is_strand_symmetric(tmp_path):
    m = models.build("cnn", 40, 2, **TINY["cnn"])
    x = _x(8)
    rc = np.ascontiguousarray(x[:, ::-1, ::-1])
    # a plain model is not symmetric, the averaged prediction is
    assert not np.allclose(m.predict(x, verbose=0), m.predict(rc, verbose=0), atol=1e-4)
    np.testing.assert_allclose(predict_float(m, x), predict_float(m, rc), rtol=1e-5, atol=1e-6)
    wrapped = models.with_rc_average(m)
    np.testing.assert_allclose(wrapped.predict(x, verbose=0), wrapped.predict(rc, verbose=0),
                               rtol=1e-5, atol=1e-6)
    wrapped.save(tmp_path / "w.keras")  # the registered flip layer survives safe-mode loading
    again = keras.saving.load_model(tmp_path / "w.keras", safe_mode=True)
    np.testing.assert_allclose(again.predict(x, verbose=0), wrapped.predict(x, verbose=0),
                               rtol=1e-6)


def test_unknown_model_name_is_refused():
    with pytest.raises(ValueError, match="unknown model 'transformer'"):
        models.build("transformer", 40)


def test_se_cnn_gates_channels_per_sequence():
    m = models.build("se_cnn", 40, 1, filters=8, n_blocks=1, dense=8)
    gate = keras.Model(m.input, m.get_layer("block1_se2").output)
    g = np.asarray(gate.predict(_x(3), verbose=0))
    assert g.shape == (3, 1, 8) and np.all((g > 0) & (g < 1))
    assert not np.allclose(g[0], g[1])  # the gate depends on the sequence


@pytest.mark.parametrize("name", ["cnn", "se_cnn"])
def test_positional_branch_does_not_grow_with_length(name):
    short = models.build(name, 200, 1, filters=8, dense=8, position_bins=16)
    long = models.build(name, 2000, 1, filters=8, dense=8, position_bins=16)
    for m in (short, long):
        assert m.get_layer("flatten").output.shape[-1] <= 16 * 8
    unbinned = models.build(name, 2000, 1, filters=8, dense=8, position_bins=None)
    assert long.count_params() < 1.2 * short.count_params() < unbinned.count_params()


def test_se_cnn_counts_branch_sees_base_composition(tmp_path):
    m = models.build("se_cnn", 40, 1, filters=8, n_blocks=1, dense=8, counts=True)
    comp = keras.Model(m.input, m.get_layer("composition").output)
    x = _x(2)
    np.testing.assert_allclose(comp.predict(x, verbose=0), x.mean(axis=1), rtol=1e-6)
    assert m.get_layer("stem_counts").output.shape == (None, 8)
    m.save(tmp_path / "c.keras")
    again = keras.saving.load_model(tmp_path / "c.keras", safe_mode=True)
    np.testing.assert_array_equal(again.predict(x, verbose=0), m.predict(x, verbose=0))


def test_predict_sees_new_weights_and_lets_models_go():
    # predict runs a compiled function per model: it must follow set_weights, and not keep
    # the model alive
    import gc
    import weakref

    from seqexpr import predict

    m = models.cnn(50, filters=4, kernel_size=5, n_conv=1, dense=4)
    x = np.random.default_rng(0).random((6, 50, 4)).astype(np.float32)
    before = predict.predict_float(m, x, rc_average=False)
    np.testing.assert_allclose(before, m.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    m.set_weights([w * 1.5 for w in m.get_weights()])
    after = predict.predict_float(m, x, rc_average=False)
    np.testing.assert_allclose(after, m.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(before, after)
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None
