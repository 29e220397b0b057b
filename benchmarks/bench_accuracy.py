"""Accuracy panel: the default deep model (seed ensemble) against the k-mer baselines.

For every panel dataset (``seqexpr.panel``: three real sets from ../shared/datasets and six
synthetic ones made unlike the demo), prints test Pearson and Spearman of the deep ensemble
and of each baseline, the paired-bootstrap difference deep - best baseline with its 95%
interval, and training time. The two held-out sets (never used to choose a default) are
listed last.

    .venv/bin/python benchmarks/bench_accuracy.py                      # the whole panel
    .venv/bin/python benchmarks/bench_accuracy.py --only syn_small_short --scale 0.5
    .venv/bin/python benchmarks/bench_accuracy.py --model se_cnn --recipe '{"shift": 3}'
    .venv/bin/python benchmarks/bench_accuracy.py --only syn_small_short --scale 0.3 0.5 1

With several --scale values every dataset runs at each share and a learning curve (deep -
best baseline as the training set grows) is printed after the table.

Baseline predictions are cached per dataset fingerprint in --cache (they do not change
while the deep recipe is tuned). Rows are also written to --out as JSON lines.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from seqexpr import models, panel

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None, help="panel datasets to run")
    ap.add_argument("--skip", nargs="*", default=[], help="panel datasets to leave out")
    ap.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"),
                    help="folder holding the real datasets")
    ap.add_argument("--model", default=models.DEFAULT, help="deep model builder (seqexpr.models)")
    ap.add_argument("--params", default="{}", help="JSON builder parameters")
    ap.add_argument("--recipe", default="{}", help="JSON training settings (seqexpr.train.fit)")
    ap.add_argument("--seeds", type=int, default=2, help="seeds in the deep ensemble (as 04_model)")
    ap.add_argument("--scale", type=float, nargs="+", default=[1.0],
                    help="share(s) of each dataset to use; several: a learning curve")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--cache", default=str(ROOT / "build" / "panel"))
    ap.add_argument("--out", default=str(ROOT / "build" / "panel" / "results.jsonl"))
    a = ap.parse_args()
    names = a.only or [n for n in panel.PANEL if n not in a.skip]
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load {load:.1f}; model {a.model} {a.params}, recipe "
          f"{a.recipe}, {a.seeds} seeds, scale {' '.join(map(str, a.scale))}", flush=True)
    rows, t_all = [], time.perf_counter()
    for name, scale in [(n, s) for n in names for s in a.scale]:
        t0 = time.perf_counter()
        try:
            ds = panel.prepare(name, datasets_dir=a.datasets, scale=scale)
        except FileNotFoundError as err:
            print(f"{name}: skipped ({err})", flush=True)
            continue
        base = panel.fit_baselines(ds, cache_dir=a.cache)
        deep = panel.fit_deep(ds, model=a.model, params=json.loads(a.params),
                              recipe=json.loads(a.recipe), seeds=range(a.seeds))
        row = panel.score(ds, deep, base, n_bootstrap=a.bootstrap)
        row.update(model=a.model, params=a.params, recipe=a.recipe, scale=scale,
                   seeds=a.seeds, seconds=round(time.perf_counter() - t0, 1))
        rows.append(row)
        print(f"{name} ({100 * scale:.0f}%): deep {row['deep_pearson']:.3f} "
              f"(seeds {row['deep_seed_pearson']}), "
              f"best baseline {row['best_baseline']} {row[row['best_baseline'] + '_pearson']:.3f}"
              f", delta {row['delta']:+.3f} [{row['delta_lo']:+.3f}, {row['delta_hi']:+.3f}]; "
              f"{row['seconds']:.0f} s", flush=True)
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        with open(a.out, "a") as fh:
            fh.write(json.dumps(row, default=float) + "\n")
    if not rows:
        sys.exit("no panel dataset could be run")
    print()
    print(panel.table(rows).to_string(index=False))
    if len(a.scale) > 1:
        print("\nlearning curve:")
        print(panel.learning_curve(rows).to_string(index=False))
    won = sum(r["delta_lo"] > 0 for r in rows)
    print(f"\ndeep ensemble wins (interval above 0) on {won} of {len(rows)} runs; "
          f"{time.perf_counter() - t_all:.0f} s in all")


if __name__ == "__main__":
    main()
