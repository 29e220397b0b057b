"""Small models with known answers for the attribution tests (imported by test_ism.py etc.)."""

import numpy as np

from seqexpr._backend import keras

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


# The models below are built with zeros initializers and then given their weights, so that
# building them draws nothing from the global random state that later tests' models use.
def tiny_keras(length=12, seed=0):
    """Conv1D(relu) -> Flatten -> Dense(2) with weights set from a fixed generator."""
    inp = keras.Input((length, 4))
    h = keras.layers.Conv1D(3, 3, padding="same", activation="relu",
                            kernel_initializer="zeros")(inp)
    out = keras.layers.Dense(2, kernel_initializer="zeros")(keras.layers.Flatten()(h))
    model = keras.Model(inp, out)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32)
                       for w in model.get_weights()])
    return model


def linear_keras(weights, bias=0.3):
    length = weights.shape[0]
    inp = keras.Input((length, 4))
    out = keras.layers.Dense(1, kernel_initializer="zeros")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    model.set_weights([weights.reshape(-1, 1).astype(np.float32),
                       np.array([bias], np.float32)])
    return model
