"""Training throughput of the default deep models on this machine.

Trains each model for a couple of epochs on random 200-nt sequences (batches cast from uint8,
RC augmentation on, as in 04_model) and prints sequences per second per epoch.

    .venv/bin/python benchmarks/bench_train.py [--n 4000] [--epochs 2] [--models cnn,resnet]
"""

import argparse
import json
import os
import time

import numpy as np

from seqexpr import models, train


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000, help="training sequences")
    ap.add_argument("--length", type=int, default=200, help="sequence length in nt")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--models", default="cnn,resnet")
    ap.add_argument("--params", default="{}", help="JSON builder parameters")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    n_valid = a.n // 8
    x = np.eye(4, dtype=np.uint8)[rng.integers(0, 4, (a.n + n_valid, a.length))]
    y = rng.normal(size=(len(x), 1)).astype(np.float32)
    tr, va = np.arange(a.n), np.arange(a.n, a.n + n_valid)
    print(f"{os.cpu_count()} CPUs, {a.n} x {a.length} nt, batch {a.batch_size}")
    for name in a.models.split(","):
        m = models.build(name, a.length, 1, **json.loads(a.params))
        t0 = time.perf_counter()
        h = train.fit(m, x, y, tr, va, epochs=a.epochs, batch_size=a.batch_size, patience=99,
                      verbose=0)
        total = time.perf_counter() - t0
        t1 = time.perf_counter()
        train.predict(m, x, tr)
        pred = time.perf_counter() - t1
        print(f"{name}: {m.count_params():,} parameters; {len(h)} epochs in {total:.1f} s = "
              f"{a.n * len(h) / total:,.0f} training sequences/s/epoch (incl. validation); "
              f"prediction (both strands) {a.n / pred:,.0f} sequences/s")


if __name__ == "__main__":
    main()
