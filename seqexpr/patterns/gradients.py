"""Gradient x input and integrated gradients from shuffled or fixed references.

These need one backward pass per path point and the TensorFlow backend; use
:mod:`seqexpr.patterns.ism` on other backends. Attributions sit on the observed bases and are 0
at masked positions; see :mod:`seqexpr.patterns.inputs` for the input conventions.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm  # text bars: no widget dependency, collapse cleanly in reports

from seqexpr.patterns.inputs import check_onehot, real_positions
from seqexpr.patterns.shuffle import dinuc_shuffle

__all__ = ["gradient_x_input"]


def gradient_x_input(model, x, *, target=0, method="integrated", background="shuffle",
                     n_background=8, steps=16, seed=0, mask=None, batch_size=512,
                     progress=True):
    """Gradient x input, or integrated gradients from shuffled references.

    ``method="gradient"``: ``x * df/dx``. ``method="integrated"``: for each of
    ``n_background`` references r, the gradient is averaged over ``steps`` points on the
    straight path from r to x (midpoint rule), multiplied by ``x - r``, and the result is
    averaged over references. Each position's total is then placed on its observed base, so
    only observed bases carry attribution and the map sums to ``f(x) - mean_r f(r)``
    (completeness, up to the path discretization).

    Parameters
    ----------
    model : keras.Model
        Or a loaded model folder (``bundle.Bundle``), explained through ``keras_model()``: as
        ``predict`` reports, averaged over both strands and over an ensemble's seeds.
    x : (n, L, 4) float32 or uint8
    target : int
        Output column explained.
    method : {"integrated", "gradient"}
    background : {"shuffle", "uniform", "zeros"} or (r, L, 4) array
        References for integrated gradients: dinucleotide shuffles of each sequence (real
        positions only), 0.25 at real positions, all zeros, or given arrays shared by all
        sequences.
    n_background : int
        Shuffled references per sequence.
    steps : int
        Path points per reference.
    seed : int
        Seed of the shuffles.
    mask : (n, L), optional
    batch_size : int
        Inputs per backward pass.
    progress : bool

    Returns
    -------
    (n, L, 4) float32
        Zero at non-observed bases and masked positions.
    """
    if method not in ("integrated", "gradient"):
        raise ValueError(f"method must be 'integrated' or 'gradient', got {method!r}")
    x = check_onehot(x)
    real = real_positions(x, mask)
    net = model.keras_model() if hasattr(model, "keras_model") else model  # a Bundle: as predicted
    grad = _gradient_fn(net, target, x.shape[1])
    n, length, _ = x.shape
    if method == "gradient":
        g = np.concatenate([grad(x[i:i + batch_size]) for i in range(0, n, batch_size)]) \
            if n else np.zeros_like(x)
        return (g * x * real[:, :, None]).astype(np.float32)

    refs = _references(x, real, background, n_background, seed)  # (n, r, L, 4)
    n_ref = refs.shape[1]
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)
    per_batch = max(1, batch_size // (n_ref * steps))
    out = np.zeros_like(x)
    for lo in tqdm(range(0, n, per_batch), desc="integrated gradients", disable=not progress):
        xb, rb = x[lo:lo + per_batch], refs[lo:lo + per_batch]
        diff = xb[:, None] - rb  # (b, r, L, 4)
        path = rb[:, :, None] + alphas[None, None, :, None, None] * diff[:, :, None]
        g = grad(path.reshape(-1, length, 4)).reshape(path.shape).mean(2)
        ig = (diff * g).mean(1)  # (b, L, 4), sums to f(x) - mean f(r)
        out[lo:lo + per_batch] = xb * ig.sum(-1, keepdims=True)
    return (out * real[:, :, None]).astype(np.float32)


def _references(x, real, background, n_background, seed):
    n, length, _ = x.shape
    if isinstance(background, str):
        if background == "shuffle":
            return dinuc_shuffle(x, n=n_background, seed=seed, mask=real)
        if background in ("uniform", "zeros"):
            fill = 0.25 if background == "uniform" else 0.0
            ref = np.where(real[:, :, None], np.float32(fill), x)  # padding kept as in x
            return ref[:, None]
        raise ValueError(f"background must be 'shuffle', 'uniform', 'zeros' or an array, "
                         f"got {background!r}")
    ref = np.asarray(background, np.float32)
    if ref.ndim == 2:
        ref = ref[None]
    if ref.ndim != 3 or ref.shape[1:] != (length, 4):
        raise ValueError(f"background array must be (r, {length}, 4), got {ref.shape}")
    return np.broadcast_to(ref[None], (n, *ref.shape))


def _gradient_fn(model, target, length):
    """A function (m, L, 4) float32 -> d f[:, target] / dx, (m, L, 4) float32."""
    from seqexpr._backend import BACKEND, keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"gradient_x_input needs a keras.Model (or a bundle), got "
                        f"{type(model).__name__}; for a plain predict function use ism().")
    if BACKEND != "tensorflow":
        raise NotImplementedError(
            f"gradient_x_input supports the TensorFlow backend only; this session runs Keras "
            f"on {BACKEND!r}. Use ism(), which works on every backend, or set "
            "KERAS_BACKEND=tensorflow.")
    import tensorflow as tf  # the one place tf is used directly: gradients need the tape

    @tf.function(input_signature=[tf.TensorSpec([None, length, 4], tf.float32)])
    def grad(xb):
        with tf.GradientTape() as tape:
            tape.watch(xb)
            out = model(xb, training=False)
            y = tf.reduce_sum(out[:, target] if len(out.shape) == 2 else out)
        return tape.gradient(y, xb)

    return lambda xb: grad(tf.constant(np.asarray(xb, np.float32))).numpy()
