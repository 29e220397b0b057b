"""Train deep models on one-hot arrays: batches from uint8, early stopping, checkpoints, resume.

``fit`` streams batches from the ``(n, L, 4) uint8`` array (an ``np.load(mmap_mode="r")`` array
works), casts each batch to float32, flips a random half of each batch to its reverse
complement, and trains with Adam + MSE under a cosine learning-rate schedule, stopping early
on the validation loss and restoring the best weights. With ``checkpoint_dir`` it saves the
model, the optimizer state and its own bookkeeping after every epoch, so an interrupted run
resumes at the next epoch.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from seqexpr._backend import BACKEND, keras, set_seed
from seqexpr.encode import reverse_complement

HISTORY_COLUMNS = ["epoch", "loss", "val_loss", "lr"]


def _to_float(onehot, mask, unknown):
    """uint8 one-hot batch -> float32, filling unknown bases (all-zero real positions)."""
    try:
        from seqexpr.encode import to_float
    except ImportError:  # encode.py not there yet: plain cast (unknown=0.0 only)
        if unknown:
            raise
        return np.asarray(onehot, dtype=np.float32)
    return to_float(onehot, mask, unknown=unknown)


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
        mask = None if self.mask is None else np.asarray(self.mask[srt])[back]
        x = _to_float(np.asarray(self.onehot[srt])[back], mask, self.unknown)
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


def _tf_batches(onehot, targets, idx, *, batch_size, seed, first_epoch, epochs, rc_augment,
                shift, unknown, mask):
    """The training batches of epochs ``first_epoch..epochs-1`` as one ``tf.data`` pipeline.

    Same batches as :class:`OneHotBatches` would draw in order (the row order of epoch ``e``
    is ``default_rng([seed, e]).permutation(idx)``), but cast and augmented by TensorFlow ops
    inside the input pipeline, so no Python runs per batch and both cores stay on the model.
    Augmentation draws are stateless, keyed by ``(seed, global batch number)``: two runs, or
    a resumed one, see the same batches.
    """
    import tensorflow as tf

    idx = np.asarray(idx, dtype=np.int64)
    rows = np.sort(idx)
    x_all = tf.constant(np.asarray(onehot[rows]))  # (m, L, 4) uint8, gathered once
    y_all = tf.constant(np.asarray(targets[rows], dtype=np.float32))
    m_all = tf.constant(np.asarray(mask[rows])) if (unknown and mask is not None) else None
    steps = math.ceil(len(idx) / batch_size)
    pos = np.stack([np.searchsorted(rows, np.random.default_rng([seed, e]).permutation(idx))
                    for e in range(first_epoch, epochs)]).astype(np.int32)
    length = int(onehot.shape[1])

    def make(k, p):
        x = tf.cast(tf.gather(x_all, p), tf.float32)
        if unknown:
            empty = tf.equal(tf.reduce_sum(x, -1), 0.0)
            if m_all is not None:
                empty = tf.logical_and(empty, tf.gather(m_all, p) > 0)
            x = tf.where(empty[..., None], tf.constant(unknown, tf.float32), x)
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


class _Bookkeeper(keras.callbacks.Callback):
    """Early stopping with best-weights restore, per-epoch checkpoints and history rows.

    Early stopping watches the validation loss smoothed over the last ``smooth`` epochs
    (the raw loss jumps from epoch to epoch on small data); the weights kept are those of the
    epoch with the lowest raw validation loss.
    """

    def __init__(self, data, *, patience, checkpoint_dir, state, smooth=1, min_epochs=0):
        super().__init__()
        self.data, self.patience, self.dir, self.state = data, patience, checkpoint_dir, state
        self.smooth, self.min_epochs = max(1, int(smooth)), int(min_epochs)
        self.best_weights = None

    def on_epoch_begin(self, epoch, logs=None):
        self.data.set_epoch(epoch)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        row = dict(epoch=epoch + 1, loss=float(logs.get("loss", np.nan)),
                   val_loss=float(logs.get("val_loss", np.nan)), lr=lr)
        st = self.state
        st["rows"].append(row)
        st["epoch"] = epoch + 1
        if np.isfinite(row["val_loss"]) and row["val_loss"] < st["best"]:
            st.update(best=row["val_loss"], best_epoch=epoch + 1)
            self.best_weights = self.model.get_weights()
            if self.dir:
                self.model.save_weights(self.dir / "best.weights.h5")
        recent = [r["val_loss"] for r in st["rows"][-self.smooth:]]
        smoothed = float(np.mean(recent)) if np.all(np.isfinite(recent)) else np.inf
        if smoothed < st.get("best_smoothed", np.inf):
            st.update(best_smoothed=smoothed, wait=0)
        else:
            st["wait"] += 1
        if st["wait"] >= self.patience and epoch + 1 >= self.min_epochs:
            self.model.stop_training = True
            st["stopped"] = True
        if self.dir:  # model + optimizer state, then our bookkeeping (written last: it commits)
            self.model.save(self.dir / "last.keras")
            (self.dir / "state.json").write_text(json.dumps(st, indent=1))

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        elif self.dir and (self.dir / "best.weights.h5").exists():
            self.model.load_weights(self.dir / "best.weights.h5")


class _OneCycle(keras.callbacks.Callback):
    """Learning rate per step: linear warm-up from ``lr / 10`` over the first ``warmup``
    share of the steps, then cosine decay to ``floor * lr``."""

    def __init__(self, lr, epochs, steps_per_epoch, *, warmup=0.1, floor=0.02):
        super().__init__()
        self.lr, self.total = float(lr), max(1, int(epochs) * int(steps_per_epoch))
        self.steps, self.warm = int(steps_per_epoch), max(1, int(warmup * self.total))
        self.floor, self.epoch = float(floor), 0

    def rate(self, step):
        if step < self.warm:
            return self.lr * (0.1 + 0.9 * step / self.warm)
        t = min(1.0, (step - self.warm) / max(1, self.total - self.warm))
        return self.lr * (self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * t)))

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate.assign(self.rate(self.epoch * self.steps + batch))


def auto_batch_size(n_train, *, min_steps=100, sizes=(32, 64, 128)):
    """The largest batch in ``sizes`` that still gives ``min_steps`` optimizer steps per epoch
    (the smallest when none does): small datasets need more, smaller steps to learn, large
    ones train faster per sequence in big batches."""
    ok = [b for b in sorted(sizes) if n_train / b >= min_steps]
    return int(ok[-1] if ok else min(sizes))


RECIPE = dict(epochs=20, batch_size="auto", lr=2e-3, weight_decay=1e-2, warmup=0.1, ema=0.99,
              shift="auto", patience=6, min_epochs=10, smooth=2, rc_augment=True, min_steps=2000)


def resolve_shift(shift, length):
    """Shift augmentation in nt: an int as given; ``"auto"``: ``min(3, length // 30)``.

    The accuracy panel chose 3 nt: at 30% of each set with one seed it raised test Pearson on all
    six DNA tuning sets (+0.007 to +0.14, most on the smallest and the longest); 8 nt did no
    better. Short aligned libraries (a few dozen nt, where a base's position *is* the grammar)
    get less, down to none below 30 nt: 3 nt cost 0.005 on the 11-nt translation starts.
    """
    if shift == "auto":
        return min(3, int(length) // 30)
    if isinstance(shift, str) or int(shift) != shift:
        raise ValueError(f'shift must be a whole number of nt or "auto", got {shift!r}')
    return int(shift)


def resolve_rc_augment(rc_augment, encoding):
    """``True``/``False`` as given; ``"auto"``: off for RNA (one strand exists), else on.

    ``encoding`` is the run's ``encoding.json`` (its ``rna`` flag). Oriented DNA constructs
    (native genes with promoter, UTRs and terminator in order) should pass ``False``.
    """
    if rc_augment == "auto":
        return not bool(encoding.get("rna", False))
    if isinstance(rc_augment, str):
        raise ValueError(f'rc_augment must be True, False or "auto", got {rc_augment!r}')
    return bool(rc_augment)


def fit(model, onehot, targets, train_idx, valid_idx, *, epochs=RECIPE["epochs"],
        batch_size=RECIPE["batch_size"], lr=RECIPE["lr"], weight_decay=RECIPE["weight_decay"],
        warmup=RECIPE["warmup"], ema=RECIPE["ema"], shift=RECIPE["shift"], seed=0,
        patience=RECIPE["patience"], min_epochs=RECIPE["min_epochs"], smooth=RECIPE["smooth"],
        rc_augment=RECIPE["rc_augment"], min_steps=0, max_epochs=150,
        unknown=0.0, mask=None, checkpoint_dir=None, resume=False, verbose="auto",
        callbacks=()):
    """Train ``model`` in place with AdamW + MSE; returns the per-epoch history.

    The recipe (defaults in ``RECIPE``, chosen on the accuracy panel, see
    ``seqexpr.panel``): AdamW with decoupled weight decay, a one-cycle learning rate (warm-up,
    then cosine decay, per step), an exponential moving average of the weights used for
    validation and kept at the end, reverse-complement and optional shift augmentation,
    and early stopping on a smoothed validation loss with the best weights restored.

    Parameters
    ----------
    model : keras.Model
        Input ``(batch, L, 4) float32``, output ``(batch, T)``; compiled here.
    onehot : (n, L, 4) uint8 array
        All sequences (may be ``np.load(..., mmap_mode="r")``); only batches become float32.
    targets : (n, T) or (n,) float array
        On the modelled scale.
    train_idx, valid_idx : int arrays
        Rows to train on and to monitor (early stopping, learning curves).
    epochs, batch_size, lr : training length, batch and peak learning rate; ``"auto"``
        batch size: see :func:`auto_batch_size`.
    weight_decay : float
        AdamW's decoupled weight decay (0 for plain Adam behaviour).
    warmup : float
        Share of the steps spent warming the learning rate up from ``lr / 10``.
    ema : float or None
        Momentum of the weight average (None or 0 trains without one).
    shift : int or "auto"
        Random shift augmentation of up to this many nt each way (0: none); ``"auto"``: see
        :func:`resolve_shift`.
    min_steps, max_epochs : int
        Train for at least ``min_steps`` optimizer steps: ``epochs`` grows (up to
        ``max_epochs``) on datasets too small to learn in ``epochs`` passes. ``0`` (the
        default here; 04_model and the panel use ``RECIPE["min_steps"]``) keeps ``epochs``.
        ``min_epochs`` grows in the same proportion.
    patience, min_epochs, smooth : int
        Stop after ``patience`` epochs without a lower validation loss averaged over the last
        ``smooth`` epochs, never before ``min_epochs`` (small datasets learn nothing in the
        first epochs, while the rate warms up and the weight average catches up); the best
        single epoch's weights are restored.
    seed : int
        Seeds Keras/NumPy (weights, dropout) and the batch order and augmentation. On the
        TensorFlow backend ops run deterministically, so the same seed gives the same model.
    rc_augment : bool
        Train on a random strand of each sequence.
    unknown : float
        Fill value for unknown bases (needs ``mask`` when not 0).
    mask : (n, L) uint8 array, optional
    checkpoint_dir : path, optional
        Where to save ``last.keras`` (model + optimizer), ``best.weights.h5`` and
        ``state.json`` after every epoch.
    resume : bool
        Continue from ``checkpoint_dir`` if it holds a checkpoint (at the epoch after the
        last one saved); a finished run is not trained again.
    verbose : "auto", 0, 1 or 2
        Keras progress bar.
    callbacks : sequence of keras.callbacks.Callback
        Extra callbacks (timers, loggers), run before the bookkeeping.

    Returns
    -------
    pandas.DataFrame
        ``epoch, loss, val_loss, lr`` per epoch (including epochs done before a resume) and
        ``seed``; ``.attrs`` holds ``best_epoch``, ``best_val_loss``, ``resumed_from``.
    """
    targets = np.asarray(targets, dtype=np.float32)
    targets = targets[:, None] if targets.ndim == 1 else targets
    if targets.shape[1] != model.output_shape[-1]:
        raise ValueError(f"targets have {targets.shape[1]} columns but the model outputs "
                         f"{model.output_shape[-1]}; build it with n_targets={targets.shape[1]}")
    if len(train_idx) == 0 or len(valid_idx) == 0:
        raise ValueError("fit needs non-empty train_idx and valid_idx")
    shift = resolve_shift(shift, onehot.shape[1])
    if shift < 0 or shift >= onehot.shape[1]:
        raise ValueError(f"shift must lie in [0, {onehot.shape[1]}), got {shift}")
    if batch_size == "auto":
        batch_size = auto_batch_size(len(train_idx))
    batch_size = int(batch_size)
    if min_steps:
        need = math.ceil(min_steps / math.ceil(len(train_idx) / batch_size))
        planned = max(int(epochs), min(int(max_epochs), need))
        # the floor on early stopping stretches with the schedule: stopping at epoch 10 of 90
        # stops right after the warm-up, before the rate decays (small sets learnt nothing)
        min_epochs = math.ceil(int(min_epochs) * planned / max(1, int(epochs)))
        epochs = planned
    set_seed(seed)
    use_ema = bool(ema)
    opt = keras.optimizers.AdamW(lr, weight_decay=float(weight_decay), use_ema=use_ema,
                                 ema_momentum=float(ema) if use_ema else 0.99)
    # no XLA: on CPU it trained 2-3x slower than the plain graph (benchmarks/bench_train.py)
    model.compile(optimizer=opt, loss="mse", jit_compile=False)
    state = dict(seed=int(seed), epoch=0, best=float("inf"), best_epoch=0, wait=0,
                 stopped=False, rows=[])
    ckpt = Path(checkpoint_dir) if checkpoint_dir else None
    if ckpt:
        ckpt.mkdir(parents=True, exist_ok=True)
        if resume and (ckpt / "state.json").exists() and (ckpt / "last.keras").exists():
            state = json.loads((ckpt / "state.json").read_text())
            _restore(model, ckpt / "last.keras")
        elif not resume:
            for name in ("state.json", "last.keras", "best.weights.h5"):
                (ckpt / name).unlink(missing_ok=True)
    if state["epoch"] == 0:
        _init_output_bias(model, targets[np.asarray(train_idx)])
    resumed_from = state["epoch"]
    train = OneHotBatches(onehot, targets, train_idx, batch_size=batch_size, mask=mask,
                          shuffle=True, rc_augment=rc_augment, shift=shift, unknown=unknown,
                          seed=seed)
    steps = None
    if BACKEND == "tensorflow" and state["epoch"] < epochs:
        data, steps = _tf_batches(onehot, targets, train_idx, batch_size=batch_size, seed=seed,
                                  first_epoch=state["epoch"], epochs=int(epochs),
                                  rc_augment=rc_augment, shift=shift, unknown=unknown, mask=mask)
    else:
        data = train
    vrows = np.asarray(valid_idx)
    valid = (_to_float(np.asarray(onehot[vrows]), None if mask is None else
                       np.asarray(mask[vrows]), unknown), targets[vrows])
    if BACKEND == "tensorflow":
        valid = _plain_batches(valid, max(batch_size, 256))
    keeper = _Bookkeeper(train, patience=patience, checkpoint_dir=ckpt, state=state,
                         smooth=smooth, min_epochs=min_epochs)
    callbacks = [_OneCycle(lr, epochs, len(train), warmup=warmup), *callbacks]
    if use_ema:  # validate (and keep) the averaged weights
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    callbacks.append(keeper)
    if state["epoch"] < epochs and not state["stopped"]:
        model.fit(data, shuffle=False, validation_data=valid,
                  validation_batch_size=None if BACKEND == "tensorflow" else max(batch_size, 256),
                  epochs=int(epochs), initial_epoch=state["epoch"], steps_per_epoch=steps,
                  verbose=verbose, callbacks=callbacks)
    else:  # finished before: just restore the best weights
        keeper.set_model(model)
        keeper.on_train_end()
    hist = pd.DataFrame(state["rows"], columns=HISTORY_COLUMNS)
    hist["seed"] = int(seed)
    hist.attrs.update(best_epoch=state["best_epoch"], best_val_loss=state["best"],
                      resumed_from=resumed_from, batch_size=batch_size)
    return hist


def _init_output_bias(model, y_train):
    """Start the output layer's bias at the training mean, so early epochs learn shape, not
    offset (targets on a log scale often sit far from 0)."""
    last = model.layers[-1]
    if getattr(last, "bias", None) is not None and tuple(last.bias.shape) == (y_train.shape[1],):
        last.bias.assign(np.nanmean(y_train, axis=0).astype(np.float32))


def _restore(model, path):
    """Load weights and optimizer state saved by ``model.save(path)`` into ``model``."""
    saved = keras.saving.load_model(path, compile=True, safe_mode=True)
    model.set_weights(saved.get_weights())
    model.optimizer.build(model.trainable_variables)
    mine, theirs = model.optimizer.variables, saved.optimizer.variables
    if len(mine) != len(theirs):
        raise ValueError(f"checkpoint {path} has a different optimizer; delete the folder or "
                         "pass resume=False")
    for v, w in zip(mine, theirs):
        v.assign(w)


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
        m = None if mask is None else np.asarray(mask[rows])
        x = _to_float(np.asarray(onehot[rows]), m, unknown)
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
    """``model.predict`` on a float array (on TensorFlow through :func:`_plain_batches`)."""
    if BACKEND == "tensorflow" and len(x):
        return model.predict(_plain_batches(x, batch_size), verbose=0)
    return model.predict(x, batch_size=batch_size, verbose=0)


def _plain_batches(arrays, batch_size):
    """In-memory arrays as a plain ``tf.data`` pipeline of batches (Keras's own numpy adapter
    adds a parallel map that logs a spurious C++ error line into every report)."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices(arrays).batch(batch_size)


def plot_history(history, *, title="Training curves"):
    """Loss and validation loss per epoch, one line per (model, seed); returns the Figure.

    ``history`` has columns ``epoch, loss, val_loss`` and optionally ``model``, ``seed``.
    """
    import matplotlib.pyplot as plt

    h = history.copy()
    if "model" not in h:
        h["model"] = "model"
    if "seed" not in h:
        h["seed"] = 0
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for (name, seed), g in h.groupby(["model", "seed"], sort=True):
        for ax, col in zip(axes, ["loss", "val_loss"]):
            ax.plot(g["epoch"], g[col], marker=".", label=f"{name} seed {seed}")
    for ax, what in zip(axes, ["training", "validation"]):
        ax.set(xlabel="epoch", ylabel="MSE (modelled scale)", title=f"{what} loss")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def clear_checkpoint(checkpoint_dir):
    """Delete a checkpoint folder (after its model was saved for good)."""
    shutil.rmtree(checkpoint_dir, ignore_errors=True)


# -- the 04_model stage: one deep model and seed at a time, saved in the run folder ---------
def load_run(run_dir):
    """What 04_model needs from a run folder, arrays memory-mapped.

    Returns
    -------
    dict
        ``onehot (n, L, 4) uint8``, ``mask (n, L) uint8``, ``targets (n, T) float32``,
        ``target_names``, ``encoding``, ``ids``, ``seqs``, ``split (n,) str``,
        ``idx`` (``{"train", "valid", "test"}`` -> int arrays), ``noise_ceiling`` (float or None).
    """
    from seqexpr import runfolder as rf

    rf.require(run_dir, rf.ONEHOT, rf.MASK, rf.TARGETS, rf.ENCODING, rf.SPLITS, rf.SEQUENCES,
               stage="03_encode")
    d = Path(run_dir)
    seqs = pd.read_parquet(d / rf.SEQUENCES, columns=["id", "sequence"])
    splits = pd.read_csv(d / rf.SPLITS, dtype={"id": str})
    if list(splits["id"]) != list(seqs["id"].astype(str)):
        splits = splits.set_index("id").reindex(seqs["id"].astype(str)).reset_index()
        if splits["split"].isna().any():
            raise ValueError(f"{d / rf.SPLITS} lacks some ids of {rf.SEQUENCES}; rerun 03_encode")
    split = splits["split"].to_numpy(str)
    idx = {s: np.flatnonzero(split == s) for s in ("train", "valid", "test")}
    for s, ix in idx.items():
        if len(ix) == 0:
            raise ValueError(f"{d / rf.SPLITS} has no {s!r} rows; 04_model needs train, valid "
                             "and test sequences (rerun 03_encode with other fractions)")
    encoding = rf.read_json(d / rf.ENCODING)
    truth = d / rf.GROUND_TRUTH
    ceiling = rf.read_json(truth).get("noise_ceiling_pearson") if truth.exists() else None
    return dict(onehot=np.load(d / rf.ONEHOT, mmap_mode="r"),
                mask=np.load(d / rf.MASK, mmap_mode="r"),
                targets=np.load(d / rf.TARGETS).astype(np.float32), encoding=encoding,
                target_names=list(encoding["targets"]), ids=seqs["id"].astype(str).to_numpy(),
                seqs=seqs["sequence"].tolist(), split=split, idx=idx, noise_ceiling=ceiling)


def train_deep(data, name, seed, *, run_dir, params=None, epochs=RECIPE["epochs"],
               batch_size=RECIPE["batch_size"], lr=RECIPE["lr"], patience=RECIPE["patience"],
               rc_augment=RECIPE["rc_augment"], weight_decay=RECIPE["weight_decay"],
               warmup=RECIPE["warmup"], ema=RECIPE["ema"], shift=RECIPE["shift"],
               smooth=RECIPE["smooth"], min_epochs=RECIPE["min_epochs"],
               min_steps=RECIPE["min_steps"], resume=True, verbose="auto"):
    """Build, train, save and predict one deep model with one seed.

    The model is saved as ``run_dir/models/{name}@{seed}/`` (``model.keras``,
    ``preprocessing.json``, ``history.csv``). With ``resume``, a finished folder trained on
    the same data with the same settings is loaded instead of retrained, and an interrupted
    one continues from its last epoch checkpoint. The training settings are those of
    :func:`fit`.

    Returns
    -------
    dict
        ``column``, ``model``, ``history`` (DataFrame), ``pred`` ``(n, T) float32`` for every
        row (RC-averaged, modelled scale), ``seconds``, ``path``, ``params``, ``seed``.
    """
    from seqexpr import bundle, models

    params = dict(params or {})
    column = f"{name}@{seed}"
    out = Path(run_dir) / "models" / column
    y, idx, enc = data["targets"], data["idx"], data["encoding"]
    shift = resolve_shift(shift, data["onehot"].shape[1])  # the manifest records nt
    recipe = dict(epochs=epochs, batch_size=batch_size, lr=lr, patience=patience,
                  rc_augment=rc_augment, weight_decay=weight_decay, warmup=warmup, ema=ema,
                  shift=shift, smooth=smooth, min_epochs=min_epochs, min_steps=min_steps)
    settings = dict(params, **recipe)
    fp = bundle.fingerprint(data["onehot"], y, idx["train"])
    prep_path = out / bundle.PREPROCESSING
    done = prep_path.exists() and (out / "model.keras").exists() and (out / "history.csv").exists()
    prep = json.loads(prep_path.read_text()) if done else {}
    if resume and done and prep.get("params") == settings and prep.get("training_fingerprint") == fp:
        model = bundle.load_bundle(out).model
        history, seconds = pd.read_csv(out / "history.csv"), prep.get("train_seconds")
        print(f"{column}: loaded the finished model from {out} (resume=True)")
    else:
        import time

        set_seed(seed)  # before building: the initial weights are drawn then
        model = models.build(name, data["onehot"].shape[1], y.shape[1], **params)
        t0 = time.perf_counter()
        history = fit(model, data["onehot"], y, idx["train"], idx["valid"], seed=seed,
                      unknown=enc.get("unknown", 0.0), mask=data["mask"],
                      checkpoint_dir=out / "checkpoint", resume=resume, verbose=verbose,
                      **recipe)
        seconds = round(time.perf_counter() - t0, 1)
        history.insert(0, "model", name)
        prep = bundle.preprocessing_record(enc, model=name, seed=seed, fingerprint=fp,
                                           params=settings, rc_average=rc_augment)
        prep.update(train_seconds=seconds, best_epoch=history.attrs.get("best_epoch"))
        bundle.save_bundle(model, out, prep)
        history.to_csv(out / "history.csv", index=False)
        clear_checkpoint(out / "checkpoint")
    # a model trained on one strand is scored on that strand only
    pred = predict(model, data["onehot"], mask=data["mask"], unknown=enc.get("unknown", 0.0),
                   rc_average=rc_augment)
    return dict(column=column, name=name, model=model, history=history, pred=pred,
                seconds=seconds, path=str(out), params=settings, seed=int(seed))
