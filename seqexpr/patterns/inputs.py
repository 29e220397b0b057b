"""Shared input handling for the pattern tools: one-hot checks, real positions, predictions.

Sequences are ``(n, L, 4) float32`` one-hot with bases in ACGT order; ``mask`` ``(n, L)`` marks
real bases (1) against padding or added flanks (0). Without a mask, every row holding any
non-zero value counts as real. :func:`scalar_predict` turns a model, bundle or function into a
batched ``(m, L, 4) -> (m,)`` scorer for one output column.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_onehot", "real_positions", "scalar_predict"]


def check_onehot(x):
    """One-hot input as (n, L, 4) float32, checked once."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3 or x.shape[-1] != 4:
        raise ValueError(f"expected one-hot sequences shaped (n, L, 4), got {x.shape}; "
                         "encode them with seqexpr.encode.encode and to_float first.")
    return x


def real_positions(x, mask=None):
    """(n, L) bool: real bases; from ``mask`` or, without one, rows with any non-zero value."""
    if mask is None:
        return np.asarray(x).any(-1)
    mask = np.asarray(mask).astype(bool)
    if mask.shape != np.shape(x)[:2]:
        raise ValueError(f"mask shape {mask.shape} does not match sequences {np.shape(x)[:2]}")
    return mask


def scalar_predict(predict_fn, *, target=0, batch_size=1024):
    """Wrap a model or function as ``f(x (m, L, 4) float32) -> (m,) float64``, batched.

    A ``keras.Model`` runs through ``predict_on_batch``; short batches (over a quarter of
    ``batch_size``) are padded to full size so the compiled graph is not retraced. An object with a ``predict`` method (a bundle)
    or a plain function is called on batches of ``batch_size``.
    """
    from seqexpr._backend import keras

    if isinstance(predict_fn, keras.Model):
        model = predict_fn

        def call(xb):
            m = len(xb)
            if m < batch_size and m > batch_size // 4:  # pad: one batch shape, one trace
                xb = np.concatenate([xb, np.zeros((batch_size - m, *xb.shape[1:]), xb.dtype)])
            return np.asarray(model.predict_on_batch(xb))[:m]
    elif callable(predict_fn):
        call = predict_fn
    elif hasattr(predict_fn, "predict"):
        call = predict_fn.predict
    else:
        raise TypeError(f"predict_fn must be a keras.Model or a function of (m, L, 4) arrays, "
                        f"got {type(predict_fn).__name__}")

    def f(x):
        outs = []
        for lo in range(0, len(x), batch_size):
            y = np.asarray(call(x[lo:lo + batch_size]), dtype=np.float64)
            if y.ndim == 2:
                if not 0 <= target < y.shape[1]:
                    raise IndexError(f"target {target} is out of range: the model has "
                                     f"{y.shape[1]} outputs")
                y = y[:, target]
            elif y.ndim != 1:
                raise ValueError(f"predict_fn returned shape {y.shape}; expected (m,) or (m, T)")
            outs.append(y)
        return np.concatenate(outs) if outs else np.zeros(0)

    return f
