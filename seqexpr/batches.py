"""Training and prediction batches from a ``(n, L, 4) uint8`` one-hot array.

Batches are cast to float32 only when drawn (a memory-mapped array stays on disk), with the
training augmentations: a random strand (reverse complement) and a random shift of a few nt.
``OneHotBatches`` is the Keras ``PyDataset`` of any backend; ``tf_batches`` draws the same
batches as one ``tf.data`` pipeline, so no Python runs per batch on TensorFlow. That pipeline
holds the rows as base codes (``base_codes``: one byte a position, a quarter of the one-hot)
and makes the one-hot on the fly, so a million training sequences take 160 MB, not 640.
"""

from __future__ import annotations

import math

import numpy as np

from seqexpr._backend import keras
from seqexpr._mapped import take
from seqexpr.encode import reverse_complement, to_float

EMPTY, PADDING = 4, 5  # base codes of a position without a base: inside the sequence, padding


def shift_batch(x, shifts):
    """Shift each sequence of a float batch ``(b, L, 4)`` by ``shifts[i]`` nt (positive moves
    it right), filling the vacated positions with zeros (unknown base). Vectorized."""
    shifts = np.asarray(shifts, dtype=np.int64)
    if not shifts.any():
        return x
    s = int(np.abs(shifts).max())
    b, length = x.shape[:2]
    padded = np.zeros((b, length + 2 * s, x.shape[2]), x.dtype)
    padded[:, s:s + length] = x
    cols = np.arange(length)[None, :] + (s - shifts)[:, None]
    return padded[np.arange(b)[:, None], cols]


class OneHotBatches(keras.utils.PyDataset):
    """Batches of ``(x float32 (b, L, 4), y float32 (b, T))`` drawn from uint8 arrays.

    Rows are cast and augmented a chunk of batches at a time (vectorized, one gather per
    chunk), so the per-batch work is a slice: this keeps the two cores on the model.

    Parameters
    ----------
    onehot : (n, L, 4) uint8 array (may be memory-mapped)
    targets : (n, T) float32 array, or None for prediction
    idx : (m,) int array of the rows to use
    batch_size : int
    mask : (n, L) uint8 array, optional (needed for ``unknown != 0``)
    shuffle, rc_augment : bool
        Reshuffle each epoch; flip a random half of the sequences to the reverse complement.
    shift : int
        Move each sequence by a random 0..``shift`` nt left or right (zero fill), so motifs
        are learnt wherever they sit; 0 for none.
    unknown : float
        Value for unknown bases at cast time (0.0 or 0.25).
    seed : int
        Shuffling and augmentation depend only on ``(seed, epoch, chunk)``, so a resumed run
        sees the same batches as an uninterrupted one, and two runs the same batches.
    chunk_batches : int
        Batches prepared together.
    """

    def __init__(self, onehot, targets, idx, *, batch_size=128, mask=None, shuffle=False,
                 rc_augment=False, shift=0, unknown=0.0, seed=0, epoch=0, chunk_batches=64):
        super().__init__()
        self.onehot, self.targets, self.mask = onehot, targets, mask
        self.idx = np.asarray(idx, dtype=np.int64)
        self.batch_size, self.shuffle, self.rc_augment = int(batch_size), shuffle, rc_augment
        self.shift, self.unknown, self.seed = int(shift), unknown, int(seed)
        self.chunk_batches = max(1, int(chunk_batches))
        self.set_epoch(epoch)

    def set_epoch(self, epoch):
        self.epoch = int(epoch)
        rng = np.random.default_rng([self.seed, self.epoch])
        self.order = rng.permutation(self.idx) if self.shuffle else self.idx
        self._chunk = (None, None, None)

    def __len__(self):
        return math.ceil(len(self.idx) / self.batch_size)

    def _prepare(self, c):
        size = self.batch_size * self.chunk_batches
        rows = self.order[c * size:(c + 1) * size]
        order = np.argsort(rows, kind="stable")  # gather in file order (mmap-friendly)
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        srt = rows[order]
        mask = None if self.mask is None else take(self.mask, srt)[back]
        x = to_float(take(self.onehot, srt)[back], mask, unknown=self.unknown)
        rng = np.random.default_rng([self.seed, self.epoch, c])
        if self.rc_augment:
            flip = rng.random(len(rows)) < 0.5
            x[flip] = reverse_complement(x[flip])
        if self.shift:
            x = shift_batch(x, rng.integers(-self.shift, self.shift + 1, len(rows)))
        y = None if self.targets is None else np.asarray(self.targets[rows], dtype=np.float32)
        self._chunk = (c, x, y)

    def __getitem__(self, i):
        c, j = divmod(i, self.chunk_batches)
        if self._chunk[0] != c:
            self._prepare(c)
        sl = slice(j * self.batch_size, (j + 1) * self.batch_size)
        x, y = self._chunk[1][sl], self._chunk[2]
        return (x,) if y is None else (x, y[sl])

    def on_epoch_end(self):
        self.set_epoch(self.epoch + 1)


def base_codes(onehot, rows, mask=None, *, chunk: int = 8192) -> np.ndarray:
    """``(m, L) uint8`` codes of ``onehot[rows]``: 0-3 for A, C, G, T, ``EMPTY`` (4) for a
    position without a base inside the sequence (N; every such position when ``mask`` is None)
    and ``PADDING`` (5) where ``mask`` is 0. ``tf.one_hot(codes, 4)`` gives back the float
    one-hot. Rows are read ``chunk`` at a time (a memory-mapped array's pages are let go)."""
    rows = np.asarray(rows, dtype=np.int64)
    out = aligned_empty((len(rows), onehot.shape[1]))
    for start in range(0, len(rows), chunk):
        r = rows[start:start + chunk]
        x = take(onehot, r)
        codes = x.argmax(-1).astype(np.uint8)
        empty = ~x.any(-1)
        codes[empty] = EMPTY
        if mask is not None:
            codes[empty & ~take(mask, r).astype(bool)] = PADDING
        out[start:start + len(r)] = codes
    return out


TF_ALIGN = 64  # bytes: TensorFlow's CPU kernels assume a tensor's buffer starts on this


def aligned_empty(shape, dtype=np.uint8) -> np.ndarray:
    """``np.empty(shape, dtype)`` whose data starts on a ``TF_ALIGN``-byte boundary, so that
    :func:`shared_tensor` can hand it to TensorFlow without a copy."""
    dtype = np.dtype(dtype)
    size = math.prod(shape) * dtype.itemsize
    raw = np.empty(size + TF_ALIGN, np.uint8)
    start = -raw.ctypes.data % TF_ALIGN
    return raw[start:start + size].view(dtype).reshape(shape)


def shared_tensor(array: np.ndarray):
    """A TensorFlow tensor over ``array``'s own memory (DLPack: no copy; the tensor keeps the
    array alive). ``tf.constant`` copies, so the array and the tensor would both be held while
    the tensor is made (it copies even an aligned array): 160 + 160 MB for a million training
    rows of 200 nt. ``array`` must be a writeable, C-contiguous, ``TF_ALIGN``-aligned array
    (:func:`aligned_empty`); TensorFlow aborts the process on a misaligned buffer, so
    anything else, or anything DLPack refuses, is copied by ``tf.constant``."""
    import tensorflow as tf

    if (array.size and array.flags.c_contiguous and array.flags.writeable
            and array.ctypes.data % TF_ALIGN == 0):
        try:
            return tf.experimental.dlpack.from_dlpack(array.__dlpack__())
        except (BufferError, TypeError, tf.errors.InvalidArgumentError):
            pass
    return tf.constant(array)


def tf_floats(codes, unknown: float):
    """The float32 one-hot of a tensor of ``base_codes`` (TensorFlow ops), with ``unknown``
    in the 4 channels of each ``EMPTY`` position: ``encode.to_float``'s values."""
    import tensorflow as tf

    x = tf.one_hot(tf.cast(codes, tf.int32), 4, dtype=tf.float32)  # codes 4, 5: all zero
    if unknown:
        x = tf.where(tf.equal(codes, EMPTY)[..., None], tf.constant(unknown, tf.float32), x)
    return x


def tf_batches(onehot, targets, idx, *, batch_size, seed, first_epoch, epochs, rc_augment,
                shift, unknown, mask):
    """The training batches of epochs ``first_epoch..epochs-1`` as one ``tf.data`` pipeline.

    Same batches as :class:`OneHotBatches` would draw in order (the row order of epoch ``e``
    is ``default_rng([seed, e]).permutation(idx)``), but cast and augmented by TensorFlow ops
    inside the input pipeline, so no Python runs per batch and both cores stay on the model.
    Augmentation draws are stateless, keyed by ``(seed, global batch number)``: two runs, or
    a resumed one, see the same batches. The rows are held as ``base_codes``.
    """
    import tensorflow as tf

    idx = np.asarray(idx, dtype=np.int64)
    rows = np.sort(idx)
    codes = shared_tensor(base_codes(onehot, rows, mask if unknown else None))  # (m, L) uint8
    y_all = tf.constant(np.asarray(targets[rows], dtype=np.float32))
    steps = math.ceil(len(idx) / batch_size)
    pos = np.stack([np.searchsorted(rows, np.random.default_rng([seed, e]).permutation(idx))
                    for e in range(first_epoch, epochs)]).astype(np.int32)
    length = int(onehot.shape[1])

    def make(k, p):
        x = tf_floats(tf.gather(codes, p), unknown)
        key = tf.stack([tf.constant(seed, tf.int64), k + first_epoch * steps])
        if rc_augment:
            flip = tf.random.stateless_uniform(tf.shape(p), key) < 0.5
            x = tf.where(flip[:, None, None], tf.reverse(x, [1, 2]), x)
        if shift:
            d = tf.random.stateless_uniform(tf.shape(p), key + [0, 1 << 40], -shift,
                                            shift + 1, dtype=tf.int32)
            padded = tf.pad(x, [[0, 0], [shift, shift], [0, 0]])
            cols = tf.range(length)[None, :] + (shift - d)[:, None]
            x = tf.gather(padded, cols, batch_dims=1)
        return x, tf.gather(y_all, p)

    ds = tf.data.Dataset.from_tensor_slices(pos).flat_map(
        lambda p: tf.data.Dataset.from_tensor_slices(p).batch(batch_size))
    ds = ds.enumerate().map(make, num_parallel_calls=1, deterministic=True)
    return ds.prefetch(2), steps


def tf_eval_batches(onehot, targets, idx, *, batch_size, unknown, mask):
    """Rows ``idx`` (in that order) with their targets as a ``tf.data`` pipeline of float
    batches, held as ``base_codes``: what validation reads each epoch, at a quarter of the
    memory of the float arrays (and without ``from_tensor_slices``' copy of them)."""
    import tensorflow as tf

    idx = np.asarray(idx, dtype=np.int64)
    codes = base_codes(onehot, idx, mask if unknown else None)
    y = np.asarray(targets[idx], dtype=np.float32)
    return tf.data.Dataset.from_tensor_slices((codes, y)).batch(batch_size).map(
        lambda c, t: (tf_floats(c, unknown), t))
