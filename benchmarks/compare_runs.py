"""Compare two run folders file by file: are the results the same?

A refactor that should not change behaviour is checked by running the demo before and after
and comparing the run folders. Every data file both folders hold is compared:

- JSON: equal after dropping what differs between any two runs (timings, timestamps, paths,
  package versions, the git commit);
- CSV/TSV: the same columns and rows; text columns equal, numbers equal within --rtol;
- NumPy ``.npy``/``.npz``: the same keys, shapes and dtypes, values within --rtol;
- Parquet: as CSV.

Prints one line per file and exits 1 when anything differs.

    .venv/bin/python benchmarks/compare_runs.py build/baseline reports/demo
    .venv/bin/python benchmarks/compare_runs.py A B --rtol 1e-6
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

# keys whose values differ between two runs of the same code on the same data
VOLATILE = {"seconds", "train_seconds", "started", "finished", "recorded", "created",
            "duration_s", "git_commit", "packages", "seqexpr_version", "command"}


def _strip(obj):
    """Drop the volatile keys; an absolute path keeps only its file name (two clones differ)."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    if isinstance(obj, str) and obj.startswith("/"):
        return Path(obj).name
    return obj


def _json_diff(a, b, rtol, where="$"):
    """First difference between two JSON values, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{where}: keys differ ({sorted(set(a) ^ set(b))})"
        for k in a:
            d = _json_diff(a[k], b[k], rtol, f"{where}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where}: lengths {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = _json_diff(x, y, rtol, f"{where}[{i}]")
            if d:
                return d
        return None
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool):
        if np.isclose(a, b, rtol=rtol, atol=0, equal_nan=True):
            return None
        return f"{where}: {a} vs {b}"
    return None if a == b else f"{where}: {a!r} vs {b!r}"


def _frame_diff(a, b, rtol):
    if list(a.columns) != list(b.columns):
        return f"columns differ: {list(a.columns)} vs {list(b.columns)}"
    if len(a) != len(b):
        return f"{len(a)} vs {len(b)} rows"
    for col in a.columns:
        x, y = a[col], b[col]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            xv, yv = x.to_numpy(float), y.to_numpy(float)
            ok = np.isclose(xv, yv, rtol=rtol, atol=0, equal_nan=True)
            if not ok.all():
                i = int(np.flatnonzero(~ok)[0])
                rel = np.nanmax(np.abs(xv - yv) / np.maximum(np.abs(yv), 1e-300))
                return (f"column {col!r}: {int((~ok).sum())} values differ (first at row {i}: "
                        f"{xv[i]} vs {yv[i]}; max relative difference {rel:.2g})")
        elif not x.astype(str).equals(y.astype(str)):
            i = int(np.flatnonzero(x.astype(str).to_numpy() != y.astype(str).to_numpy())[0])
            return f"column {col!r} differs at row {i}: {x.iloc[i]!r} vs {y.iloc[i]!r}"
    return None


def _arrays_diff(a, b, rtol):
    if a.keys() != b.keys():
        return f"keys differ ({sorted(set(a) ^ set(b))})"
    for k in a:
        x, y = a[k], b[k]
        if x.shape != y.shape or x.dtype != y.dtype:
            return f"{k}: {x.shape} {x.dtype} vs {y.shape} {y.dtype}"
        if x.dtype.kind in "fc":
            if not np.allclose(x, y, rtol=rtol, atol=0, equal_nan=True):
                return f"{k}: max absolute difference {np.nanmax(np.abs(x - y)):.3g}"
        elif not np.array_equal(x, y):
            return f"{k}: values differ"
    return None


def compare_file(a, b, rtol):
    """None when the two files hold the same results, else the first difference."""
    suffix = a.suffix.lower()
    if suffix == ".json":
        return _json_diff(_strip(json.loads(a.read_text())), _strip(json.loads(b.read_text())),
                          rtol)
    if suffix in (".csv", ".tsv"):
        sep = "\t" if suffix == ".tsv" else ","
        return _frame_diff(pd.read_csv(a, sep=sep), pd.read_csv(b, sep=sep), rtol)
    if suffix == ".parquet":
        return _frame_diff(pd.read_parquet(a), pd.read_parquet(b), rtol)
    if suffix == ".npy":
        return _arrays_diff({"": np.load(a)}, {"": np.load(b)}, rtol)
    if suffix == ".npz":
        with np.load(a) as x, np.load(b) as y:
            return _arrays_diff(dict(x), dict(y), rtol)
    return None if a.read_bytes() == b.read_bytes() else "bytes differ"


DATA = (".json", ".csv", ".tsv", ".parquet", ".npy", ".npz")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--rtol", type=float, default=0.0,
                    help="relative tolerance on numbers (0: exactly equal)")
    a = ap.parse_args()
    for d in (a.before, a.after):
        if not d.is_dir():
            sys.exit(f"{d} is not a folder")
    names = sorted({p.relative_to(d).as_posix() for d in (a.before, a.after)
                    for p in d.rglob("*") if p.suffix.lower() in DATA
                    and "checkpoint" not in p.parts})
    bad = 0
    for name in names:
        x, y = a.before / name, a.after / name
        if not (x.exists() and y.exists()):
            print(f"ONLY IN {'before' if x.exists() else 'after'}  {name}")
            bad += 1
            continue
        diff = compare_file(x, y, a.rtol)
        print(f"{'same' if diff is None else 'DIFF'}  {name}" + ("" if diff is None else
                                                                 f"  ({diff})"))
        bad += diff is not None
    print(f"\n{len(names) - bad} of {len(names)} files the same (rtol {a.rtol:g})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
