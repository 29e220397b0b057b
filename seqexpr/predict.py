"""The one prediction path for Keras models: uint8 or float one-hot in, ``(n, T) float32``
out, averaged over both strands when the model was trained on both."""

from __future__ import annotations

import weakref

import numpy as np

from seqexpr._backend import BACKEND
from seqexpr._mapped import take
from seqexpr.encode import reverse_complement, to_float


def predict(model, onehot, idx=None, *, mask=None, unknown=0.0, rc_average=True,
            batch_size=256, chunk=8192):
    """Predict ``(m, T) float32`` for rows ``idx`` (all rows when None) of a uint8 one-hot array.

    With ``rc_average`` the output is the mean over both strands. Rows are cast to float32
    ``chunk`` at a time, so memory stays bounded for memory-mapped input.
    """
    idx = np.arange(len(onehot)) if idx is None else np.asarray(idx)
    out = []
    for start in range(0, len(idx), chunk):
        rows = idx[start:start + chunk]
        m = None if mask is None else take(mask, rows)
        x = to_float(take(onehot, rows), m, unknown=unknown)
        out.append(predict_float(model, x, rc_average=rc_average, batch_size=batch_size))
    if not out:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    return np.concatenate(out)


def predict_float(model, x, *, rc_average=True, batch_size=256):
    """Predict ``(n, T) float32`` from a float32 one-hot ``(n, L, 4)`` array (RC-averaged)."""
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(_predict_array(model, x, batch_size), dtype=np.float32)
    if rc_average:
        y_rc = _predict_array(model, np.ascontiguousarray(reverse_complement(x)), batch_size)
        y = (y + np.asarray(y_rc, dtype=np.float32)) / 2
    return y


def _predict_array(model, x, batch_size):
    """The model's output on a float array, ``batch_size`` rows per call: on TensorFlow through
    one compiled inference function per model (``model.predict`` builds a pipeline and a loop
    on every call, which cost more than the network on the few hundred sequences that
    variant scoring and design steps send at a time)."""
    if BACKEND == "tensorflow" and len(x):
        fn = _compiled(model, x.shape[1:])
        return np.concatenate([fn(x[i:i + batch_size]).numpy()
                               for i in range(0, len(x), batch_size)])
    return model.predict(x, batch_size=batch_size, verbose=0)


_COMPILED = weakref.WeakKeyDictionary()  # model -> {input shape: tf.function}


def _compiled(model, shape):
    """A ``tf.function`` running ``model`` in inference mode on ``(any, *shape)`` float32."""
    import tensorflow as tf

    per_model = _COMPILED.setdefault(model, {})
    if shape not in per_model:
        net = weakref.ref(model)  # the function must not keep the model (the cache's key) alive
        spec = tf.TensorSpec((None, *shape), tf.float32)
        per_model[shape] = tf.function(lambda z: net()(z, training=False),
                                       input_signature=[spec], autograph=False)
    return per_model[shape]
