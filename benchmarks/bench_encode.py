"""Benchmark the encode stage: one-hot speed, FASTA parsing, homology splits, peak memory.

Prints figures; asserts nothing about time. Runs in about a minute on one core:

    .venv/bin/python benchmarks/bench_encode.py [--n 1000000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _random_seqs(n: int, length: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, length), dtype=np.uint8)
    raw = np.frombuffer(b"ACGT", np.uint8)[codes].tobytes().decode()
    return [raw[i * length : (i + 1) * length] for i in range(n)]


def _peak_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def bench_onehot(n: int, length: int) -> None:
    from seqexpr.encode import encode

    seqs = _random_seqs(n, length)
    t, c = time.perf_counter(), time.process_time()
    x, _ = encode(seqs)
    dt, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"seqexpr.encode: {n:,} x {length} nt in {dt:.2f} s wall = "
          f"{n * length / dt / 1e6:,.0f} million nt/s ({n * length / cpu / 1e6:,.0f} million "
          f"nt/s of CPU time; output {x.nbytes / 2**20:,.0f} MiB)")
    del x

    from sklearn.preprocessing import OneHotEncoder

    sub = seqs[:2000]
    enc = OneHotEncoder(categories=[list("ACGT")], handle_unknown="ignore", sparse_output=False)
    t = time.perf_counter()
    for s in sub:  # the per-sequence approach found in many tutorials
        enc.fit_transform(np.array(list(s)).reshape(-1, 1))
    dt_sk = time.perf_counter() - t
    rate_sk = len(sub) * length / dt_sk
    print(f"scikit-learn OneHotEncoder per sequence: {len(sub):,} x {length} nt in {dt_sk:.2f} s "
          f"= {rate_sk / 1e3:,.0f} thousand nt/s  -> seqexpr is "
          f"{n * length / dt / rate_sk:,.0f}x faster")


def bench_fasta(n: int, length: int) -> None:
    try:
        from seqexpr.io import read_fasta
    except ImportError as err:
        print(f"FASTA parsing: skipped (seqexpr.io.read_fasta not importable: {err})")
        return
    seqs = _random_seqs(n, length, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.fa"
        path.write_text("".join(f">seq{i}\n{s[:length // 2]}\n{s[length // 2:]}\n"
                                for i, s in enumerate(seqs)))
        t = time.perf_counter()
        out = read_fasta(path)
        dt = time.perf_counter() - t
    print(f"seqexpr.io.read_fasta: {len(out):,} records x {length} nt (2 lines each) in "
          f"{dt:.2f} s = {len(out) / dt:,.0f} records/s")


def bench_splits() -> None:
    from seqexpr.encode import reverse_complement_str
    from seqexpr.splits import make_splits

    for n, length in ((20000, 200), (11367, 198), (4000, 1000)):
        seqs = _random_seqs(n, length, seed=2)
        flank = "GACTAGCTAGGCTTAACGTTGG"
        for i in range(0, n // 10, 2):  # 10% near-duplicates: a point mutant or its RC
            s = seqs[i][:50] + ("A" if seqs[i][50] != "A" else "C") + seqs[i][51:]
            seqs[i + 1] = s if i % 4 else reverse_complement_str(s)
        seqs = [flank + s + flank for s in seqs]
        ids = [str(i) for i in range(n)]
        for method in ("random", "homology"):
            t = time.perf_counter()
            _, rep = make_splits(ids, seqs, method=method)
            dt = time.perf_counter() - t
            c = rep["clusters"]
            print(f"make_splits {method:8s} {n:6,} x {length + 2 * len(flank)} nt: {dt:5.2f} s; "
                  f"{c['n_clusters']:,} clusters (largest {c['largest']}); test with a relative "
                  f"in train {rep['test_with_relative_in_train']['fraction']:.1%}; "
                  f"leaky={rep['leaky']}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000, help="sequences to one-hot encode")
    p.add_argument("--length", type=int, default=200, help="sequence length in nt")
    p.add_argument("--fasta-n", type=int, default=200_000, help="FASTA records to parse")
    a = p.parse_args()
    bench_onehot(a.n, a.length)
    print(f"peak memory so far: {_peak_mib():,.0f} MiB")
    bench_fasta(a.fasta_n, a.length)
    bench_splits()
    print(f"peak memory (ru_maxrss): {_peak_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
