"""First-layer filters as PWMs: what the model's motif detectors respond to.

Each filter of the first ``Conv1D`` is run over sequences; the windows where it fires
strongly are stacked and counted into a position frequency matrix.
"""

from __future__ import annotations

import numpy as np

from seqexpr.encode import IUPAC_BASES
from seqexpr.patterns.inputs import check_onehot, real_positions

__all__ = ["first_layer_pwms", "find_first_conv", "pwm_consensus", "pwm_information"]

_PAIRS = {frozenset(bases): code for code, bases in IUPAC_BASES.items() if len(bases) == 2}


def find_first_conv(model):
    """The first ``Conv1D`` layer of a model and the (possibly nested) model holding it.

    Returns
    -------
    (layer, container) : (keras.layers.Conv1D, keras.Model)
    """
    from seqexpr._backend import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv1D):
            return layer, model
        if isinstance(layer, keras.Model):
            found = find_first_conv(layer)
            if found is not None:
                return found
    return None


def _activations(model, layer, x, batch_size):
    """Conv output (n, L', F) float32 and the input offset of each output's window."""
    from seqexpr._backend import keras

    if layer is None:
        found = find_first_conv(model)
        if found is None:
            raise ValueError(f"model {model.name!r} has no Conv1D layer; first_layer_pwms "
                             "needs a convolutional first layer (pass layer= to choose one)")
        layer, container = found
    else:
        layer = model.get_layer(layer) if isinstance(layer, str) else layer
        container = model
    try:
        inputs = container.inputs
        sub = keras.Model(inputs[0] if len(inputs) == 1 else inputs, layer.output)
        apply = lambda b: sub(b, training=False)  # noqa: E731
    except (ValueError, AttributeError, TypeError):  # not reachable from the inputs:
        apply = layer  # apply the layer itself, as the first layer of the stack
    acts = np.concatenate([np.asarray(apply(x[i:i + batch_size]))
                           for i in range(0, len(x), batch_size)])
    k = int(layer.kernel_size[0])
    stride, dilation = int(layer.strides[0]), int(layer.dilation_rate[0])
    if dilation != 1:
        raise ValueError(f"layer {layer.name!r} is dilated ({dilation}); PWMs need dilation 1")
    pad = {"valid": 0, "same": (k - 1) // 2, "causal": k - 1}[layer.padding]
    starts = np.arange(acts.shape[1]) * stride - pad
    return acts, starts, k


def first_layer_pwms(model, x, *, mask=None, min_activation=0.5, top_fraction=0.05,
                     min_sites=10, layer=None, batch_size=512):
    """PWMs of the first convolution's filters, from the windows where each fires strongly.

    A window (width = kernel size, entirely on real positions) is a site of a filter when its
    activation exceeds ``min_activation`` times that filter's maximum over ``x`` and lies in
    the top ``top_fraction`` of the filter's activations over all windows. Sites are counted
    into a frequency matrix; filters that never activate above zero or have fewer than
    ``min_sites`` sites are dropped.

    Parameters
    ----------
    model : keras.Model
    x : (n, L, 4) float32 or uint8
        One-hot sequences (a few hundred to a few thousand).
    mask : (n, L), optional
        Windows touching a masked position (padding, flanks) are never used.
    min_activation : float
        Threshold as a fraction of each filter's maximum activation.
    top_fraction : float or None
        Keep only windows in this top fraction of each filter's activations (None: no cap).
    min_sites : int
    layer : str or keras layer, optional
        A Conv1D to use instead of the first one.
    batch_size : int

    Returns
    -------
    list of dict
        One per kept filter, in filter order: ``filter`` (int), ``pwm`` ((k, 4) float64, rows
        are ACGT frequencies), ``n_sites``, ``mean_activation`` (over sites), ``consensus``
        (str), ``information`` (bits, summed over positions).
    """
    x = check_onehot(x)
    real = real_positions(x, mask)
    acts, starts, k = _activations(model, layer, x, batch_size)
    n, length = real.shape
    # a window is usable when it lies inside the sequence and covers only real positions
    cum = np.concatenate([np.zeros((n, 1), int), np.cumsum(real, 1)], 1)
    inside = (starts >= 0) & (starts + k <= length)
    s_clip = np.clip(starts, 0, length - k)
    full = (cum[:, s_clip + k] - cum[:, s_clip]) == k
    usable = full & inside[None]  # (n, L')
    out = []
    offsets = np.arange(k)
    for f in range(acts.shape[2]):
        a = np.where(usable, acts[:, :, f], -np.inf)
        top = a.max()
        if not np.isfinite(top) or top <= 0:
            continue
        thresh = min_activation * top
        if top_fraction is not None:
            thresh = max(thresh, np.quantile(a[usable], 1 - top_fraction))
        seq, pos = np.nonzero(a >= thresh)
        if len(seq) < min_sites:
            continue
        windows = x[seq[:, None], starts[pos][:, None] + offsets]  # (sites, k, 4)
        counts = windows.sum(0).astype(np.float64)
        pwm = counts / np.maximum(counts.sum(1, keepdims=True), 1e-12)
        out.append(dict(filter=f, pwm=pwm, n_sites=int(len(seq)),
                        mean_activation=float(a[seq, pos].mean()),
                        consensus=pwm_consensus(pwm),
                        information=float(pwm_information(pwm).sum())))
    return out


def pwm_consensus(pwm, *, single=0.6, double=0.8):
    """IUPAC consensus of a PWM: a base where it has ``single`` of the mass, a two-base code
    where two bases have ``double``, else N.

    Parameters
    ----------
    pwm : (k, 4) array
        ACGT frequencies or counts per position.

    Returns
    -------
    str
    """
    p = np.asarray(pwm, float)
    p = p / np.maximum(p.sum(1, keepdims=True), 1e-12)
    order = np.argsort(-p, axis=1)
    top1 = np.take_along_axis(p, order[:, :1], 1)[:, 0]
    top2 = top1 + np.take_along_axis(p, order[:, 1:2], 1)[:, 0]
    out = []
    for row, t1, t2 in zip(order, top1, top2):
        if t1 >= single:
            out.append("ACGT"[row[0]])
        elif t2 >= double:
            out.append(_PAIRS[frozenset("ACGT"[row[0]] + "ACGT"[row[1]])])
        else:
            out.append("N")
    return "".join(out)


def pwm_information(pwm, *, background=0.25):
    """Information content of each PWM position in bits (relative entropy to a uniform
    background; 2 bits for a fully determined base).

    Parameters
    ----------
    pwm : (k, 4) array
    background : float

    Returns
    -------
    (k,) float64
    """
    p = np.asarray(pwm, float)
    p = p / np.maximum(p.sum(1, keepdims=True), 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(p / background), 0.0)
    return terms.sum(1)
