"""Training loop: it learns, stops early with the best weights, resumes, streams uint8."""

import functools
import json

import numpy as np
import pandas as pd
import pytest

from seqexpr import batches, encode, models, train
from seqexpr.predict import predict
from seqexpr._backend import keras

TINY = dict(filters=16, kernel_size=9, n_conv=1, dense=16, dropout=0.0)


def _split(n, seed=0):
    idx = np.random.default_rng(seed).permutation(n)
    return idx[: int(0.8 * n)], idx[int(0.8 * n):]


def test_tiny_model_overfits_tiny_dataset(toy):
    x, y = toy["onehot"][:64], toy["y"][:64]
    m = models.cnn(x.shape[1], **TINY)
    idx = np.arange(64)
    h = train.fit(m, x, y, idx, idx, epochs=40, batch_size=16, lr=5e-3, patience=40,
                  rc_augment=False, verbose=0)
    assert list(h.columns[:4]) == ["epoch", "loss", "val_loss", "lr"]
    assert h["loss"].iloc[-1] < 0.2 * h["loss"].iloc[0]
    # one-cycle schedule: the rate warms up, then falls below where it started
    assert h["lr"].max() > h["lr"].iloc[0] > h["lr"].iloc[-1]


def test_early_stopping_restores_best_weights(toy):
    # pure-noise targets: the model can only overfit, so validation loss rises after a while
    rng = np.random.default_rng(0)
    x, y = toy["onehot"][:200], rng.normal(size=200).astype(np.float32)
    tr, va = _split(200)
    m = models.cnn(x.shape[1], **TINY)
    h = train.fit(m, x, y, tr, va, epochs=30, batch_size=16, lr=1e-2, patience=2, verbose=0)
    assert len(h) < 30  # stopped early
    best = int(h["val_loss"].idxmin())
    assert best < len(h) - 1
    assert h.attrs["best_epoch"] == h["epoch"].iloc[best]
    pred = predict(m, x, va, rc_average=False)[:, 0]
    np.testing.assert_allclose(np.mean((pred - y[va]) ** 2), h["val_loss"].iloc[best],
                               rtol=1e-4)


def test_resume_continues_at_the_next_epoch(toy, tmp_path):
    x, y = toy["onehot"][:160], toy["y"][:160]
    tr, va = _split(160)
    ck = tmp_path / "ckpt"
    first = train.fit(models.cnn(x.shape[1], **TINY), x, y, tr, va, epochs=2, batch_size=32,
                      patience=10, checkpoint_dir=ck, verbose=0)
    assert (ck / "last.keras").exists() and (ck / "state.json").exists()
    m = models.cnn(x.shape[1], **TINY)
    h = train.fit(m, x, y, tr, va, epochs=4, batch_size=32, patience=10, checkpoint_dir=ck,
                  resume=True, verbose=0)
    assert h.attrs["resumed_from"] == 2
    assert h["epoch"].tolist() == [1, 2, 3, 4]
    pd.testing.assert_frame_equal(h.iloc[:2], first)
    # the optimizer continued too: the last checkpoint's step count covers all four epochs
    last = keras.saving.load_model(ck / "last.keras", safe_mode=True)
    assert int(last.optimizer.iterations.numpy()) == 4 * int(np.ceil(len(tr) / 32))
    # a finished run is not trained again
    again = train.fit(models.cnn(x.shape[1], **TINY), x, y, tr, va, epochs=4, batch_size=32,
                      patience=10, checkpoint_dir=ck, resume=True, verbose=0)
    assert again["epoch"].tolist() == [1, 2, 3, 4]
    # a checkpoint made on another number of replicas (another batch and rate) is not continued
    state = json.loads((ck / "state.json").read_text())
    (ck / "state.json").write_text(json.dumps(dict(state, epoch=2, stopped=False, replicas=2)))
    other = train.fit(models.cnn(x.shape[1], **TINY), x, y, tr, va, epochs=1, batch_size=32,
                      patience=10, checkpoint_dir=ck, resume=True, verbose=0)
    assert other.attrs["resumed_from"] == 0 and other["epoch"].tolist() == [1]


def test_batches_stream_from_memory_mapped_uint8(toy, tmp_path):
    np.save(tmp_path / "x.npy", toy["onehot"])
    x = np.load(tmp_path / "x.npy", mmap_mode="r")
    y = toy["y"].astype(np.float32)[:, None]
    ds = batches.OneHotBatches(x, y, np.arange(100), batch_size=32, rc_augment=True, shuffle=True)
    xb, yb = ds[0]
    assert xb.dtype == np.float32 and xb.shape == (32, x.shape[1], 4) and yb.shape == (32, 1)
    # every row is one strand of a real sequence, and some were flipped
    rows = ds.order[:32]
    fwd = np.all(xb == x[rows], axis=(1, 2))
    rev = np.all(xb == x[rows][:, ::-1, ::-1], axis=(1, 2))
    assert np.all(fwd | rev) and 0 < rev.sum() < 32
    h = train.fit(models.cnn(x.shape[1], **TINY), x, y, np.arange(100), np.arange(100, 140),
                  epochs=1, batch_size=32, verbose=0)
    assert len(h) == 1 and np.isfinite(h["loss"]).all()


def test_fit_refuses_mismatched_targets(toy):
    m = models.cnn(100, n_targets=2, **TINY)
    with pytest.raises(ValueError, match="n_targets=1"):
        train.fit(m, toy["onehot"], toy["y"], np.arange(10), np.arange(10, 20), epochs=1)


def test_shift_batch_moves_each_sequence_and_fills_with_zeros():
    x = np.eye(4, dtype=np.float32)[np.array([[0, 1, 2, 3, 0], [3, 2, 1, 0, 3]])]
    out = batches.shift_batch(x, [2, -1])
    np.testing.assert_array_equal(out[0, 2:], x[0, :3])  # moved right by 2
    assert not out[0, :2].any()  # zero fill (unknown base)
    np.testing.assert_array_equal(out[1, :4], x[1, 1:])  # moved left by 1
    assert not out[1, 4].any()
    np.testing.assert_array_equal(batches.shift_batch(x, [0, 0]), x)


def test_tf_pipeline_draws_the_same_rows_as_the_python_batches(toy):
    pytest.importorskip("tensorflow")
    x, y = toy["onehot"][:100], toy["y"][:100].astype(np.float32)[:, None]
    idx = np.arange(10, 90)
    data, steps = batches.tf_batches(x, y, idx, batch_size=32, seed=3, first_epoch=1, epochs=3,
                                    rc_augment=True, shift=0, unknown=0.0, mask=None)
    drawn = [(b[0].numpy(), b[1].numpy()) for b in data]
    assert steps == 3 and len(drawn) == 2 * steps  # epochs 1 and 2
    ref = batches.OneHotBatches(x, y, idx, batch_size=32, shuffle=True, seed=3, epoch=1)
    rows = ref.order[:32]
    xb, yb = drawn[0]
    np.testing.assert_array_equal(yb, y[rows])
    fwd = np.all(xb == x[rows], axis=(1, 2))
    rev = np.all(xb == x[rows][:, ::-1, ::-1], axis=(1, 2))
    assert np.all(fwd | rev) and 0 < rev.sum() < 32
    again = [b[0].numpy() for b in batches.tf_batches(
        x, y, idx, batch_size=32, seed=3, first_epoch=1, epochs=3, rc_augment=True, shift=0,
        unknown=0.0, mask=None)[0]]
    assert all(np.array_equal(a, b) for a, (b, _) in zip(again, drawn))  # seeded draws


def test_base_codes_give_back_the_float_one_hot_of_mapped_rows(tmp_path):
    pytest.importorskip("tensorflow")
    from seqexpr.encode import encode, to_float

    onehot, mask = encode(["ACGTN", "GGA", "NNTTC"], length=6, pad="right")
    np.save(tmp_path / "x.npy", onehot)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")  # read as 04 reads onehot.npy
    rows = np.array([2, 0, 1])
    for unknown, m in ((0.0, None), (0.25, None), (0.25, mask)):
        codes = batches.base_codes(mapped, rows, m, chunk=2)
        want = to_float(onehot[rows], None if m is None else m[rows], unknown=unknown)
        np.testing.assert_array_equal(batches.tf_floats(codes, unknown).numpy(), want)
        y = np.arange(3, dtype=np.float32)[:, None]
        got = list(batches.tf_eval_batches(mapped, y, rows, batch_size=2, unknown=unknown,
                                           mask=m))
        np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in got]), want)
        np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in got]), y[rows])
    # N inside a sequence and padding differ only where the mask says so
    assert batches.base_codes(onehot, [1], mask).tolist() == [[2, 2, 0, 5, 5, 5]]
    assert batches.base_codes(onehot, [0], None).tolist() == [[0, 1, 2, 3, 4, 4]]


def test_training_codes_are_shared_with_tensorflow_not_copied(monkeypatch):
    tf = pytest.importorskip("tensorflow")
    import gc

    codes = batches.aligned_empty((4, 6))
    codes[:] = 1
    tensor = batches.shared_tensor(codes)
    codes[2, 3] = 5  # the tensor reads the array's own memory
    assert tensor.dtype == tf.uint8 and int(tensor[2, 3]) == 5
    del codes
    gc.collect()  # the tensor keeps that memory alive
    assert tf.gather(tensor, [2]).numpy().tolist() == [[1, 1, 1, 5, 1, 1]]
    odd = batches.aligned_empty((25,))[1:]  # misaligned: copied (TensorFlow would abort)
    odd[:] = np.arange(24)
    assert batches.shared_tensor(odd).numpy().tolist() == list(range(24))
    frozen = batches.aligned_empty((3,))
    frozen[:] = 2
    frozen.flags.writeable = False  # DLPack refuses read-only arrays: copied
    assert batches.shared_tensor(frozen).numpy().tolist() == [2, 2, 2]
    # the training pipeline hands its codes over this way
    handed, share = [], batches.shared_tensor
    monkeypatch.setattr(batches, "shared_tensor", lambda a: handed.append(a) or share(a))
    x = np.eye(4, dtype=np.uint8)[np.random.default_rng(0).integers(0, 4, (10, 8))]
    batches.tf_batches(x, np.zeros((10, 1), np.float32), np.arange(10), batch_size=4, seed=0,
                       first_epoch=0, epochs=1, rc_augment=False, shift=0, unknown=0.0,
                       mask=None)
    assert [a.shape for a in handed] == [(10, 8)] and handed[0].ctypes.data % 64 == 0


def test_same_seed_trains_the_same_model_tracing_each_step_once(toy, monkeypatch):
    tf = pytest.importorskip("tensorflow")
    traces = []  # the Python body of a tf.function runs once per trace

    def counting(fn=None, **kwargs):
        if fn is None:  # decorator form (Keras's own helpers): not counted
            return tf_function(**kwargs)

        @functools.wraps(fn)
        def body(*args, **kw):
            traces.append(fn.__name__)
            return fn(*args, **kw)
        return tf_function(body, **kwargs)

    tf_function = tf.function
    monkeypatch.setattr(tf, "function", counting)
    x, y = toy["onehot"][:120], toy["y"][:120]
    tr, va = _split(120)
    preds = []
    for _ in range(2):
        train.set_seed(7)  # the initial weights are drawn when the model is built
        m = models.cnn(x.shape[1], **TINY)
        train.fit(m, x, y, tr, va, epochs=3, batch_size=16, shift=2, seed=7, verbose=0)
        preds.append(predict(m, x, va)[:, 0])
    np.testing.assert_array_equal(preds[0], preds[1])
    # per model: one train and one test step (the optimizer's variables exist before the
    # first step, so it is not traced again), each inside its per-iterator loop; one predict
    assert traces.count("one_step_on_data") == 2 * 2
    assert traces.count("multi_step_on_iterator") == 2 * 2
    assert traces.count("<lambda>") == 2


def test_rc_augment_auto_is_off_for_rna():
    assert encode.resolve_rc_augment("auto", {"rna": True}) is False
    assert encode.resolve_rc_augment("auto", {"rna": False}) is True
    assert encode.resolve_rc_augment(False, {"rna": False}) is False
    with pytest.raises(ValueError, match="rc_augment"):
        encode.resolve_rc_augment("both", {})


def test_auto_batch_size_gives_small_datasets_more_steps():
    assert train.auto_batch_size(2400) == 32  # 75 steps: the smallest batch
    assert train.auto_batch_size(9000) == 64
    assert train.auto_batch_size(16000) == 128
    assert train.auto_batch_size(200) == 32


def test_no_early_stop_before_min_epochs(toy):
    x, y = toy["onehot"][:80], toy["y"][:80]
    tr, va = _split(80)
    m = models.cnn(x.shape[1], **TINY)
    h = train.fit(m, x, y, tr, va, epochs=6, batch_size=16, lr=0.0, patience=1, min_epochs=5,
                  verbose=0)  # lr 0: the validation loss never improves after epoch 1
    assert len(h) >= 5


def test_min_epochs_stretch_with_the_step_floor(toy):
    # 64 train rows in batches of 16 = 4 steps per epoch: min_steps 24 plans 6 epochs instead
    # of 2, so the floor of 1 epoch (half the nominal schedule) becomes 3
    x, y = toy["onehot"][:80], toy["y"][:80]
    tr, va = _split(80)
    m = models.cnn(x.shape[1], **TINY)
    h = train.fit(m, x, y, tr, va, epochs=2, batch_size=16, lr=0.0, patience=1, min_epochs=1,
                  min_steps=24, verbose=0)
    assert 3 <= len(h) <= 6


def test_shift_auto_spares_short_aligned_libraries():
    # 11-nt translation-start contexts: position is the grammar, so no shift at all
    assert train.resolve_shift("auto", 11) == 0
    assert train.resolve_shift("auto", 60) == 2
    assert train.resolve_shift("auto", 200) == 3
    assert train.resolve_shift(5, 200) == 5
    with pytest.raises(ValueError, match="shift"):
        train.resolve_shift("some", 200)
    with pytest.raises(ValueError, match="shift"):
        train.resolve_shift(1.5, 200)


def test_long_epochs_report_progress_with_the_time_left(capsys):
    log = train.EpochLog("se_cnn@0", 20, every=0.0)
    log.set_params({"steps": 5000})
    log.on_epoch_begin(2)
    log.t0 -= 100.0  # 2,050 steps took 100 s: 2,950 more take about 144 s
    log.on_train_batch_end(2049)
    line = capsys.readouterr().err.strip()
    assert line.startswith("se_cnn@0 epoch 3/20: 41% (2,050 of 5,000 steps), about 2.4 min left")
    quiet = train.EpochLog("se_cnn@0", 20)  # short epochs: one line at the end only
    quiet.set_params({"steps": 5000})
    quiet.on_epoch_begin(0)
    quiet.on_train_batch_end(10)
    assert capsys.readouterr().err == ""
