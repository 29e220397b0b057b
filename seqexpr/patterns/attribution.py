"""Attribution maps: which bases of a sequence drive a model's prediction.

Two families. In-silico mutagenesis (ISM) is model-agnostic and exact: every single-base
substitution is scored with a forward pass. Gradient x input and integrated gradients need one
backward pass per path point and the TensorFlow backend. The checks at the end judge the maps
themselves: ISM against gradients, reverse-complement consistency, stability across models.

Conventions: sequences are ``(n, L, 4) float32`` one-hot, bases in ACGT order; ``mask``
``(n, L)`` marks real bases (1) against padding or added flanks (0); attributions are 0 at
masked positions. When ``mask`` is omitted every row with any non-zero value counts as real.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from tqdm import tqdm  # text bars: no widget dependency, collapse cleanly in reports

__all__ = ["ism", "ism_centered", "center_ism", "gradient_x_input", "dinuc_shuffle",
           "agreement", "rc_consistency", "top_position_stability"]


# -- inputs and predictions -----------------------------------------------------------------
def as_array(x):
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


# -- dinucleotide shuffle -------------------------------------------------------------------
def dinuc_shuffle(x, *, n=1, seed=0, mask=None):
    """Shuffle one-hot sequences keeping their dinucleotide counts exactly.

    A random Eulerian walk through the graph of observed dinucleotides (Altschul & Erickson
    1985): the last exit from each base is drawn so that those exits form a tree towards the
    final base, the other exits are put in random order, and the walk is done for all
    shuffles at once. Only real positions are shuffled (first and last real base are kept);
    padding and flanks stay in place. Unknown bases (rows that are not one-hot) are shuffled
    as a fifth letter.

    Parameters
    ----------
    x : (L, 4) or (m, L, 4) float32 or uint8
    n : int
        Shuffles per sequence.
    seed : int
    mask : (L,) or (m, L), optional
        Real positions; rows with any non-zero value when omitted.

    Returns
    -------
    (n, L, 4) float32 for one sequence, (m, n, L, 4) float32 for a batch.
    """
    single = np.ndim(x) == 2
    x = as_array(np.asarray(x)[None] if single else x)
    if mask is not None and single:
        mask = np.asarray(mask)[None]
    real = real_positions(x, mask)
    m, length, _ = x.shape
    rng = np.random.default_rng(seed)
    onehot = x.max(-1) >= 0.5
    codes = np.where(onehot, x.argmax(-1), 4)
    order = np.argsort(~real, axis=1, kind="stable")  # real positions first, in order
    lengths = real.sum(1)
    compact = np.take_along_axis(codes, order, 1)
    walked = _euler_walk(np.repeat(compact, n, 0), np.repeat(lengths, n), rng)
    unknown = x[real & ~onehot]
    lut = np.vstack([np.eye(4, dtype=np.float32),
                     unknown[:1] if len(unknown) else np.zeros((1, 4), np.float32)])
    out = np.repeat(x, n, 0)
    b, j = np.nonzero(np.arange(length)[None] < np.repeat(lengths, n)[:, None])
    out[b, np.repeat(order, n, 0)[b, j]] = lut[walked[b, j]]
    out = out.reshape(m, n, length, 4)
    return out[0] if single else out


def _euler_walk(seqs, lengths, rng, k=5, max_tries=10_000):
    """Random Eulerian walks over each row's dinucleotide edges; (B, L) int codes < k."""
    nb, length = seqs.shape
    if length < 3:
        return seqs.copy()
    rows = np.arange(nb)
    last = seqs[rows, np.maximum(lengths - 1, 0)]
    src = np.where(np.arange(length - 1)[None] < (lengths - 1)[:, None], seqs[:, :-1], k)
    dst = seqs[:, 1:]
    is_src = src[:, :, None] == np.arange(k)  # (B, E, k)
    chosen = np.full((nb, k), -1)
    todo = rows
    for _ in range(max_tries):  # draw last exits until they form a tree towards the last base
        keys = np.where(is_src[todo], rng.random((len(todo), length - 1, 1)), -1.0)
        pick = keys.argmax(1)  # (b, k) a random exit edge per base
        has = keys.max(1) >= 0
        root = last[todo][:, None]
        nxt = np.where(has, np.take_along_axis(dst[todo], pick, 1), root)
        nxt[np.arange(len(todo)), last[todo]] = last[todo]
        node = np.broadcast_to(np.arange(k), nxt.shape)
        for _ in range(k):
            node = np.take_along_axis(nxt, node, 1)
        ok = (node == root).all(1)
        pick = np.where(has, pick, -1)
        pick[np.arange(len(todo)), last[todo]] = -1
        chosen[todo[ok]] = pick[ok]
        todo = todo[~ok]
        if not len(todo):
            break
    else:
        raise RuntimeError("dinucleotide shuffle did not converge; please report this input")
    keys = rng.random((nb, length - 1))
    b, v = np.nonzero(chosen >= 0)
    keys[b, chosen[b, v]] = 2.0  # the tree edge is each base's last exit
    perm = np.argsort(src * 4.0 + keys, axis=1)
    out_dst = np.take_along_axis(dst, perm, 1)
    offset = np.cumsum(is_src.sum(1), 1) - is_src.sum(1)  # (B, k) first exit of each base
    used = np.zeros((nb, k), np.int64)
    out = seqs.copy()
    cur = seqs[:, 0].copy()
    for t in range(1, length):  # one step of all walks at a time
        r = rows[t < lengths]
        if not len(r):
            break
        c = cur[r]
        nxt = out_dst[r, offset[r, c] + used[r, c]]
        used[r, c] += 1
        out[r, t] = nxt
        cur[r] = nxt
    return out


# -- in-silico mutagenesis -----------------------------------------------------------------
def ism(predict_fn, x, *, mask=None, target=0, center=False, batch_size=512, progress=True):
    """In-silico mutagenesis: the prediction change of every single-base substitution.

    For each sequence the 3 substitutions at every real position are built with numpy and
    scored in batches of ``batch_size`` mutants (several sequences share a batch when L is
    small). Masked positions are not mutated and score 0.

    Parameters
    ----------
    predict_fn : keras.Model or callable
        A model, or a function mapping ``(m, L, 4) float32`` to ``(m,)`` or ``(m, T)``
        (e.g. ``bundle.predict``, which averages both strands).
    x : (n, L, 4) float32 or uint8
        One-hot sequences.
    mask : (n, L) uint8, optional
        1 for real bases, 0 for padding or flanks.
    target : int
        Output column explained.
    center : bool
        False: ``score[p, b] = f(x with b at p) - f(x)``, 0 at the observed base. True: the
        convention of :func:`center_ism` (the observed base carries the importance).
    batch_size : int
        Mutants per forward pass.
    progress : bool
        Show a progress bar.

    Returns
    -------
    (n, L, 4) float32
    """
    x = as_array(x)
    real = real_positions(x, mask)
    f = scalar_predict(predict_fn, target=target, batch_size=batch_size)
    n, length, _ = x.shape
    ref = f(x)
    todo = real[:, :, None] & (x < 0.5)  # substitutions to make: every non-observed base
    out = np.zeros((n, length, 4), np.float32)
    eye = np.eye(4, dtype=np.float32)
    # blocks of sequences holding ~64 batches of mutants keep the index arrays small
    per_block = max(1, 64 * batch_size // max(1, 3 * length))
    bar = tqdm(total=int(todo.sum()), unit="mutant", unit_scale=True, desc="ISM",
               disable=not progress)
    for lo in range(0, n, per_block):
        hi = min(n, lo + per_block)
        s, p, b = np.nonzero(todo[lo:hi])
        for c in range(0, len(s), batch_size):
            sc, pc, bc = s[c:c + batch_size], p[c:c + batch_size], b[c:c + batch_size]
            mutants = x[lo + sc]  # fancy indexing copies
            mutants[np.arange(len(sc)), pc] = eye[bc]
            out[lo + sc, pc, bc] = f(mutants) - ref[lo + sc]
            bar.update(len(sc))
    bar.close()
    return center_ism(out, x, mask=real) if center else out


def center_ism(scores, x, *, mask=None):
    """Re-express raw ISM so that the observed base carries the position's importance.

    At each real position the mean effect of the substitutions (the non-observed bases) is
    subtracted from all four entries. The observed base then scores ``-(mean effect of
    mutating it)``: positive where the observed base helps the prediction. The other bases
    score their effect relative to the average substitution. The four entries of a position
    sum to the observed base's score, so summing over bases projects centered ISM onto the
    observed sequence, as for gradient x input.

    Parameters
    ----------
    scores : (n, L, 4) float32
        Raw ISM from :func:`ism`.
    x : (n, L, 4) float32 or uint8
    mask : (n, L), optional

    Returns
    -------
    (n, L, 4) float32
    """
    x = as_array(x)
    scores = np.asarray(scores, np.float32)
    real = real_positions(x, mask)
    alt = real[:, :, None] & (x < 0.5)
    n_alt = alt.sum(-1, keepdims=True)
    mean_alt = (scores * alt).sum(-1, keepdims=True) / np.maximum(n_alt, 1)
    return np.where(real[:, :, None], scores - mean_alt, 0.0).astype(np.float32)


def ism_centered(predict_fn, x, **kwargs):
    """:func:`ism` with ``center=True``; see :func:`center_ism` for the convention."""
    return ism(predict_fn, x, center=True, **kwargs)


# -- gradients -------------------------------------------------------------------------------
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
        Or an object with a ``.model`` attribute (a bundle); reverse-complement averaging done
        outside the model is not applied.
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
    x = as_array(x)
    real = real_positions(x, mask)
    grad = _gradient_fn(getattr(model, "model", model), target, x.shape[1])
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


# -- checks of the maps ----------------------------------------------------------------------
def _summary(values):
    v = values[np.isfinite(values)]
    if v.size == 0:
        return dict(median=float("nan"), q25=float("nan"), q75=float("nan"),
                    iqr=float("nan"), n=0)
    q25, med, q75 = np.percentile(v, [25, 50, 75])
    return dict(median=float(med), q25=float(q25), q75=float(q75), iqr=float(q75 - q25),
                n=int(v.size))


def _rowwise_pearson(a, b, w):
    """Pearson correlation of each row of a and b (m, k) over entries where w (m, k) is 1."""
    w = w.astype(np.float64)
    cnt = np.maximum(w.sum(1, keepdims=True), 1)
    a = a - (a * w).sum(1, keepdims=True) / cnt
    b = b - (b * w).sum(1, keepdims=True) / cnt
    num = (a * b * w).sum(1)
    den = np.sqrt((a * a * w).sum(1) * (b * b * w).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def agreement(a, b, *, mask=None):
    """Per-sequence Pearson correlation of two attribution maps on the observed bases.

    Each map is projected to one score per position by summing over bases, which gives the
    observed base's score for gradient x input and for centered ISM (:func:`center_ism`);
    center raw ISM first.

    Parameters
    ----------
    a, b : (n, L, 4) float32
    mask : (n, L), optional
        Positions compared; when omitted, those where either map is non-zero.

    Returns
    -------
    dict
        ``pearson`` (n,) float64 (NaN for a constant map), ``median``, ``q25``, ``q75``,
        ``iqr``, ``n`` (sequences with a finite correlation).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"attribution maps differ in shape: {a.shape} vs {b.shape}")
    pa, pb = a.sum(-1), b.sum(-1)
    w = (pa != 0) | (pb != 0) if mask is None else np.asarray(mask).astype(bool)
    r = _rowwise_pearson(pa, pb, w)
    return dict(pearson=r, **_summary(r))


def rc_consistency(attr_fn: Callable, x, *, mask=None):
    """How well attributions of a sequence match those of its reverse complement.

    ``attr_fn(x)`` (called with ``mask=`` when a mask is given) is compared, per sequence, with
    the reverse complement of ``attr_fn(RC(x))`` over all bases of the real positions. A model
    that reads both strands alike scores ~1.

    Parameters
    ----------
    attr_fn : callable
        ``(n, L, 4) float32 -> (n, L, 4)``, e.g. ``lambda x, **kw: ism(model, x, **kw)``.
    x : (n, L, 4) float32 or uint8
    mask : (n, L), optional

    Returns
    -------
    dict
        ``pearson`` (n,), ``median``, ``q25``, ``q75``, ``iqr``, ``n``.
    """
    x = as_array(x)
    x_rc = np.ascontiguousarray(x[:, ::-1, ::-1])
    if mask is None:
        fwd, rev = attr_fn(x), attr_fn(x_rc)
        real = real_positions(x, None)
    else:
        mask = np.asarray(mask)
        fwd = attr_fn(x, mask=mask)
        rev = attr_fn(x_rc, mask=np.ascontiguousarray(mask[:, ::-1]))
        real = mask.astype(bool)
    back = np.asarray(rev, np.float64)[:, ::-1, ::-1]
    n = len(x)
    w = np.repeat(real, 4, axis=1)
    r = _rowwise_pearson(np.asarray(fwd, np.float64).reshape(n, -1), back.reshape(n, -1), w)
    return dict(pearson=r, **_summary(r))


def top_position_stability(a, b, *, k=10, mask=None):
    """Overlap of the ``k`` most important positions of two attribution maps.

    Use it on maps of the same sequences from two models or seeds. Importance is the absolute
    per-position score (sum over bases, as in :func:`agreement`).

    Parameters
    ----------
    a, b : (n, L, 4) float32
    k : int
        Top positions compared per sequence.
    mask : (n, L), optional

    Returns
    -------
    dict
        ``jaccard`` (n,) float64 (Jaccard index of the two top-k sets), ``median``, ``q25``,
        ``q75``, ``iqr``, ``n``, ``mean``, ``k``, and ``chance`` (the expected Jaccard of two
        random k-sets, at the median number of real positions).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"attribution maps differ in shape: {a.shape} vs {b.shape}")
    n, length = a.shape[:2]
    real = np.ones((n, length), bool) if mask is None else np.asarray(mask).astype(bool)
    k = int(min(k, length))
    sa = np.where(real, np.abs(a.sum(-1)), -np.inf)
    sb = np.where(real, np.abs(b.sum(-1)), -np.inf)
    top_a = np.zeros((n, length), bool)
    top_b = np.zeros((n, length), bool)
    rows = np.arange(n)[:, None]
    top_a[rows, np.argsort(-sa, axis=1, kind="stable")[:, :k]] = True
    top_b[rows, np.argsort(-sb, axis=1, kind="stable")[:, :k]] = True
    top_a &= real
    top_b &= real
    inter = (top_a & top_b).sum(1)
    union = (top_a | top_b).sum(1)
    jac = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
    m = float(np.median(real.sum(1))) if n else float("nan")
    kk = min(k, m) if m == m else float("nan")
    # E|A & B| = k^2 / m for two random k-sets of m positions
    chance = (kk * kk / m) / (2 * kk - kk * kk / m) if m and kk else float("nan")
    out = dict(jaccard=jac, **_summary(jac))
    out.update(mean=float(np.nanmean(jac)) if np.isfinite(jac).any() else float("nan"),
               k=k, chance=float(chance))
    return out
