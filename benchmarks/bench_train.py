"""Training throughput of the default deep model against the DeepSTARR-size reference.

Trains each model for a few epochs on random 200-nt sequences through ``seqexpr.train.fit``
(the 04_model loop: batches cast from uint8, RC augmentation, validation every epoch) and
prints sequences per second per epoch, the first epoch (graph tracing) left out, and the
ratio of each model's speed to the reference's.

    .venv/bin/python benchmarks/bench_train.py [--n 8000] [--epochs 3] [--models se_cnn,deepstarr]
"""

import argparse
import json
import os
import time

import numpy as np

from seqexpr import models, predict, train
from seqexpr._backend import keras


class _EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8000, help="training sequences")
    ap.add_argument("--length", type=int, default=200, help="sequence length in nt")
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs (one more is run first)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--models", default=f"{models.DEFAULT},deepstarr",
                    help="builders; the last is the reference")
    ap.add_argument("--params", default="{}", help="JSON builder parameters (all but the last)")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    n_valid = a.n // 8
    x = np.eye(4, dtype=np.uint8)[rng.integers(0, 4, (a.n + n_valid, a.length))]
    y = rng.normal(size=(len(x), 1)).astype(np.float32)
    tr, va = np.arange(a.n), np.arange(a.n, a.n + n_valid)
    names = a.models.split(",")
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {a.n} x {a.length} nt, "
          f"batch {a.batch_size}; reference: {names[-1]}")
    speed = {}
    for i, name in enumerate(names):
        params = json.loads(a.params) if i < len(names) - 1 else {}
        m = models.build(name, a.length, 1, **params)
        timer = _EpochTimer()
        timer.times = []
        train.fit(m, x, y, tr, va, epochs=a.epochs + 1, batch_size=a.batch_size, patience=99,
                  verbose=0, callbacks=[timer])
        timed = timer.times[1:]
        speed[name] = a.n * len(timed) / sum(timed)
        t1 = time.perf_counter()
        predict.predict(m, x, tr)
        pred = a.n / (time.perf_counter() - t1)
        print(f"{name}: {m.count_params():,} parameters; {speed[name]:,.0f} training "
              f"sequences/s (epochs 2-{a.epochs + 1}, validation included; first epoch "
              f"{timer.times[0]:.1f} s); prediction (both strands) {pred:,.0f} sequences/s",
              flush=True)
    ref = names[-1]
    for name in names[:-1]:
        print(f"speed ratio {name} / {ref}: {speed[name] / speed[ref]:.2f}x")


if __name__ == "__main__":
    main()
