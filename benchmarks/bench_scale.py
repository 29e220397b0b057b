"""Benchmark the pipeline's growth with the number of sequences: seconds and peak memory per
stage on the demo generator's data at several sizes.

Each stage runs as the pipeline runs it (``python -m seqexpr run --only STAGE``: papermill,
a fresh kernel, the HTML report), one stage per process, so a stage's peak resident memory
is its own (the kernel's, measured by the operating system through ``wait4``). Prints one
table per size and, at the end, one table of every size side by side. Asserts nothing.

    .venv/bin/python benchmarks/bench_scale.py                       # 100k, 300k, 1M x 200 nt
    .venv/bin/python benchmarks/bench_scale.py --sizes 100000 --length 1000
    .venv/bin/python benchmarks/bench_scale.py --sizes 20000 --stages 01_load 02_explore

04_model trains one seed for one epoch (``-p n_seeds 1 -p epochs 1 -p min_steps 0``) on
top of its default baselines: the deep model's memory does not depend on the number of
epochs, and a default run takes about epochs x seeds times the deep part of this time.
Everything else runs with the notebooks' defaults. The run folders are kept under
``--work`` (default: a temporary folder, removed at the end unless ``--keep``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGES = ("01_load", "02_explore", "03_encode", "04_model", "05_evaluate", "06_patterns")
# one epoch of one seed: memory is the same as a full run's, time is per epoch
QUICK_TRAINING = {"n_seeds": "1", "epochs": "1", "min_steps": "0"}


def measured(cmd: list[str], log: Path) -> tuple[float, float, int]:
    """Run ``cmd`` (output to ``log``); returns (seconds, peak MiB of it and the processes it
    waited for, exit status)."""
    t = time.perf_counter()
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    peak = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 2**20
    return time.perf_counter() - t, peak, os.waitstatus_to_exitcode(status)


def run_size(n: int, length: int, work: Path, stages: list[str], seed: int) -> list[dict]:
    """Write the demo at ``n`` x ``length`` nt, then run each stage; one row per step."""
    data, run, log = work / "data", work / "run", work / "log.txt"
    rows = []
    print(f"\n{n:,} sequences x {length} nt (log: {log})", flush=True)
    steps = [("demo data", [sys.executable, "-m", "seqexpr", "demo", "--out", str(data),
                            "--n", str(n), "--length", str(length), "--seed", str(seed)])]
    for stage in stages:
        cmd = [sys.executable, "-m", "seqexpr", "run", "--fasta", str(data / "demo.fa"),
               "--expression", str(data / "demo_expression.csv"), "--id-column", "id",
               "--target", "expression", "--ground-truth", str(data / "ground_truth.json"),
               "--out", str(run), "--seed", str(seed), "--only", stage]
        if stage == "04_model":
            for key, value in QUICK_TRAINING.items():
                cmd += ["-p", key, value]
        steps.append((stage, cmd))
    for name, cmd in steps:
        seconds, peak, code = measured(cmd, log)
        rows.append(dict(n=n, length=length, step=name, seconds=seconds, peak_mib=peak,
                         ok=code == 0))
        print(f"  {name:12s} {seconds:8.1f} s  {peak:8,.0f} MiB"
              f"{'' if code == 0 else f'  FAILED (exit {code}; see the log)'}", flush=True)
        if code != 0:
            break
    return rows


def table(rows: list[dict]) -> str:
    """Every size side by side: seconds and peak MiB per step."""
    sizes = sorted({(r["n"], r["length"]) for r in rows})
    steps = list(dict.fromkeys(r["step"] for r in rows))
    cell = {(r["n"], r["length"], r["step"]): r for r in rows}
    head = f"{'step':12s}" + "".join(f"{f'{n:,} x {L}':>24s}" for n, L in sizes)
    lines = [head, f"{'':12s}" + "".join(f"{'s':>12s}{'peak MiB':>12s}" for _ in sizes)]
    for step in steps:
        line = f"{step:12s}"
        for n, L in sizes:
            r = cell.get((n, L, step))
            line += (f"{r['seconds']:12.1f}{r['peak_mib']:12,.0f}{'' if r['ok'] else '!'}"
                     if r else f"{'-':>12s}{'-':>12s}")
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--length", type=int, default=200, help="sequence length in nt")
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument("--work", type=Path, help="folder for the data and run folders")
    parser.add_argument("--keep", action="store_true", help="keep --work's temporary folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    root = args.work or Path(tempfile.mkdtemp(prefix="bench_scale_"))
    print(f"seqexpr bench_scale: sizes {args.sizes}, {args.length} nt, on "
          f"{os.cpu_count()} cores; work folder {root}")
    rows = []
    try:
        for n in args.sizes:
            work = root / f"n{n}_L{args.length}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            rows += run_size(n, args.length, work, args.stages, args.seed)
    finally:
        if rows:
            print("\n" + table(rows))
        if args.work is None and not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
