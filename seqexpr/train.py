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
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from seqexpr import distribute
from seqexpr._backend import BACKEND, keras, set_seed
from seqexpr._checks import option
from seqexpr._mapped import take
from seqexpr.batches import OneHotBatches, tf_batches, tf_eval_batches
from seqexpr.encode import to_float

HISTORY_COLUMNS = ["epoch", "loss", "val_loss", "lr"]


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


class EpochLog(keras.callbacks.Callback):
    """One line per epoch on stderr: ``se_cnn@0 epoch 3/20: loss 0.512, val_loss 0.603 (4.1 s)``
    (``fit`` with ``verbose=2``; ``python -m seqexpr run`` shows these lines on the terminal).
    An epoch longer than ``every`` seconds (a large library) also gets a progress line each
    ``every`` seconds: ``se_cnn@0 epoch 3/20: 41% (2,050 of 5,000 steps), about 4.2 min left``.
    """

    def __init__(self, label, epochs, *, every: float = 60.0):
        super().__init__()
        self.label, self.epochs, self.every = label, int(epochs), float(every)
        self.t0 = self.shown = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = self.shown = time.perf_counter()
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        steps = (self.params or {}).get("steps")
        if now - self.shown < self.every or not steps:
            return
        self.shown = now
        done = batch + 1
        left = (now - self.t0) / done * (steps - done)
        print(f"{self.label} epoch {self.epoch + 1}/{self.epochs}: {done / steps:.0%} "
              f"({done:,} of {steps:,} steps), about {left / 60:.1f} min left",
              file=sys.stderr, flush=True)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        loss, val = logs.get("loss", np.nan), logs.get("val_loss", np.nan)
        print(f"{self.label} epoch {epoch + 1}/{self.epochs}: loss {loss:.4g}, val_loss "
              f"{val:.4g} ({time.perf_counter() - self.t0:.1f} s)", file=sys.stderr, flush=True)


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


def fit(model, onehot, targets, train_idx, valid_idx, *, epochs=RECIPE["epochs"],
        batch_size=RECIPE["batch_size"], lr=RECIPE["lr"], weight_decay=RECIPE["weight_decay"],
        warmup=RECIPE["warmup"], ema=RECIPE["ema"], shift=RECIPE["shift"], seed=0,
        patience=RECIPE["patience"], min_epochs=RECIPE["min_epochs"], smooth=RECIPE["smooth"],
        rc_augment=RECIPE["rc_augment"], min_steps=0, max_epochs=150,
        unknown=0.0, mask=None, checkpoint_dir=None, resume=False, verbose="auto",
        callbacks=(), strategy=None):
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
        Keras progress bar (1, or "auto"); 2: one labelled line per epoch on stderr
        (:class:`EpochLog`, the model's name and seed as label).
    callbacks : sequence of keras.callbacks.Callback
        Extra callbacks (timers, loggers), run before the bookkeeping.
    strategy : from :func:`seqexpr.distribute.make_strategy`, optional
        Train on several devices or machines; build ``model`` inside
        ``distribute.scope(strategy)`` (it is compiled there too). ``batch_size`` is then per
        replica: the global batch is ``batch_size`` x replicas and the peak rate ``lr`` x
        replicas (:func:`seqexpr.distribute.scale`); the epochs stay as planned for one.

    Returns
    -------
    pandas.DataFrame
        ``epoch, loss, val_loss, lr`` per epoch (including epochs done before a resume) and
        ``seed``; ``.attrs`` holds ``best_epoch``, ``best_val_loss``, ``resumed_from``,
        ``batch_size`` (per replica), ``replicas``, ``global_batch_size`` and ``lr_scaled``.
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
    n_replicas = distribute.replicas(strategy)
    per_replica, (batch_size, lr) = batch_size, distribute.scale(batch_size, lr, n_replicas)
    distribute.check_built_in_scope(model, strategy)
    set_seed(seed)
    use_ema = bool(ema)
    state = dict(seed=int(seed), epoch=0, best=float("inf"), best_epoch=0, wait=0,
                 stopped=False, rows=[], replicas=n_replicas)
    ckpt = Path(checkpoint_dir) if checkpoint_dir else None
    with distribute.scope(strategy):  # the optimizer's variables are mirrored too
        opt = keras.optimizers.AdamW(lr, weight_decay=float(weight_decay), use_ema=use_ema,
                                     ema_momentum=float(ema) if use_ema else 0.99)
        # no XLA: on CPU it trained 2-3x slower than the plain graph (benchmarks/bench_train.py)
        model.compile(optimizer=opt, loss="mse", jit_compile=False)
        if ckpt:
            ckpt.mkdir(parents=True, exist_ok=True)
            saved = _checkpoint_state(ckpt) if resume else None
            if saved is not None and saved.get("replicas", 1) != n_replicas:
                print(f"{ckpt}: the checkpoint was trained on {saved.get('replicas', 1)} "
                      f"replica(s), this run has {n_replicas} (another batch and learning "
                      "rate): training starts again", file=sys.stderr)
                saved = None
            if saved is not None:
                state = saved
                _restore(model, ckpt / "last.keras")
            else:
                for name in ("state.json", "last.keras", "best.weights.h5"):
                    (ckpt / name).unlink(missing_ok=True)
        if not opt.built:  # moments and averages made in the first step: TF would trace it twice
            opt.build(model.trainable_variables)
    if state["epoch"] == 0:
        _init_output_bias(model, targets[np.asarray(train_idx)])
    resumed_from = state["epoch"]
    train = OneHotBatches(onehot, targets, train_idx, batch_size=batch_size, mask=mask,
                          shuffle=True, rc_augment=rc_augment, shift=shift, unknown=unknown,
                          seed=seed)
    steps = None
    if BACKEND == "tensorflow" and state["epoch"] < epochs:
        data, steps = tf_batches(onehot, targets, train_idx, batch_size=batch_size, seed=seed,
                                  first_epoch=state["epoch"], epochs=int(epochs),
                                  rc_augment=rc_augment, shift=shift, unknown=unknown, mask=mask)
    else:
        data = train
    data = distribute.split_batches(data, strategy)
    vrows = np.asarray(valid_idx)
    first = vrows[:2]  # builds a distributed model (fit_scope)
    sample = (to_float(take(onehot, first), None if mask is None else take(mask, first),
                       unknown=unknown), targets[first])
    if BACKEND == "tensorflow":  # one byte a position until a batch is drawn
        valid = distribute.split_batches(tf_eval_batches(
            onehot, targets, vrows, batch_size=max(batch_size, 256), unknown=unknown,
            mask=mask), strategy)
    else:
        valid = (to_float(take(onehot, vrows), None if mask is None else take(mask, vrows),
                          unknown=unknown), targets[vrows])
    keeper = _Bookkeeper(train, patience=patience, checkpoint_dir=ckpt, state=state,
                         smooth=smooth, min_epochs=min_epochs)
    callbacks = [_OneCycle(lr, epochs, len(train), warmup=warmup), *callbacks]
    if use_ema:  # validate (and keep) the averaged weights
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    callbacks.append(keeper)
    if verbose == 2:
        callbacks.append(EpochLog(f"{model.name}@{seed}", epochs))
        verbose = 0
    if state["epoch"] < epochs and not state["stopped"]:
        with distribute.fit_scope(model, strategy, sample):
            model.fit(data, shuffle=False, validation_data=valid, validation_batch_size=None
                      if BACKEND == "tensorflow" else max(batch_size, 256),
                      epochs=int(epochs), initial_epoch=state["epoch"], steps_per_epoch=steps,
                      verbose=verbose, callbacks=callbacks)
    else:  # finished before: just restore the best weights
        keeper.set_model(model)
        keeper.on_train_end()
    hist = pd.DataFrame(state["rows"], columns=HISTORY_COLUMNS)
    hist["seed"] = int(seed)
    hist.attrs.update(best_epoch=state["best_epoch"], best_val_loss=state["best"],
                      resumed_from=resumed_from, batch_size=per_replica, replicas=n_replicas,
                      global_batch_size=batch_size, lr_scaled=lr)
    return hist


def _checkpoint_state(ckpt):
    """The bookkeeping of an interrupted run in ``ckpt`` (None when there is none)."""
    if (ckpt / "state.json").exists() and (ckpt / "last.keras").exists():
        return json.loads((ckpt / "state.json").read_text())
    return None


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
                         f"pass {option('resume', False)}")
    for v, w in zip(mine, theirs):
        v.assign(w)


def clear_checkpoint(checkpoint_dir):
    """Delete a checkpoint folder (after its model was saved for good)."""
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
