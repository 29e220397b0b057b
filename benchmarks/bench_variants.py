"""Benchmark using a model: variant-scoring speed, saturation and design time, and how well
predicted effects and designs follow the demo's true signal, over several draws.

Needs a finished demo run (``make report``); scores with its seed ensemble. Prints figures;
asserts nothing. About three minutes on 2 cores:

    .venv/bin/python benchmarks/bench_variants.py [--run reports/demo] [--draws 3]

With ``--library RUN`` (a finished run on a library of single-base variants of each other, such
as Noderer's translation-start contexts) it checks effects against measurements instead: for
every pair of test sequences that differ at one base, the measured difference against the one
each model predicts (both sequences unseen in training; no model is loaded: 04's predictions).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="reports/demo", help="a finished demo run folder")
    ap.add_argument("--draws", type=int, default=3, help="independent draws of truth variants")
    ap.add_argument("--starts", type=int, default=5, help="starts designed from")
    ap.add_argument("--library", help="a run folder of a single-base variant library")
    args = ap.parse_args()
    if args.library:
        return library_pairs(Path(args.library))

    from seqexpr import design, variants
    from seqexpr.bundle import load_bundle
    from seqexpr.demo_truth import true_signal
    from seqexpr.design_rules import Rules

    run = Path(args.run)
    if not (run / "ground_truth.json").exists() or not (run / "models" / "se_cnn").exists():
        raise SystemExit(f"{run} is not a finished demo run with a seed ensemble: run "
                         "`make report` first")
    b = load_bundle(run / "models" / "se_cnn")
    truth = json.loads((run / "ground_truth.json").read_text())
    sites = pd.read_csv(run / "ground_truth_sites.csv")
    seqs = pd.read_parquet(run / "sequences.parquet", columns=["id", "sequence"])
    test = seqs[seqs["id"].isin(pd.read_csv(run / "splits.csv").query("split == 'test'")["id"])]
    print(f"{b.describe()}; {len(test)} test sequences of {len(test['sequence'].iloc[0])} nt")

    t = time.perf_counter()
    sat = variants.saturation(b, test["id"].iloc[0], test["sequence"].iloc[0])
    dt = time.perf_counter() - t
    print(f"saturation of one sequence: {len(sat)} variants in {dt:.1f} s "
          f"({len(sat) / dt:,.0f} variants/s, {len(b.models)} members x 2 strands)")

    rows = []
    for draw in range(args.draws):
        table = variants.truth_variants(test["sequence"], test["id"], sites, truth,
                                        n_knockouts=200, n_neutral=100, seed=draw)
        scored = variants.score_variants(b, table)
        a = variants.truth_agreement(scored["delta"], table["true_delta"], seed=draw)
        rows.append(a)
        print(f"draw {draw}: {a['n']} variants, Spearman {a['spearman']:.3f} "
              f"[{a['spearman_lo']:.3f}, {a['spearman_hi']:.3f}], Pearson {a['pearson']:.3f}, "
              f"sign right on {a['sign_agreement']:.1%} of {a['n_large']} large effects")
    sp = [r["spearman"] for r in rows]
    sg = [r["sign_agreement"] for r in rows]
    print(f"over {args.draws} draws: Spearman {np.mean(sp):.3f} (min {min(sp):.3f}); sign "
          f"agreement {np.mean(sg):.1%} (min {min(sg):.1%})")

    starts = test.sample(args.starts * 2, random_state=0)
    rules = Rules(["GAATTC", "GGATCC"], (0.3, 0.7), 10)
    starts = starts[[rules.allow(s) for s in starts["sequence"]]][:args.starts]  # design()
    # refuses a start that already breaks a rule
    for penalty in (1.0, 0.0):  # the default, and without the seeds' disagreement
        t = time.perf_counter()
        res = design.design(lambda s: b.predict_sequences(s, members=True),
                            list(starts["sequence"]), start_ids=list(starts["id"]), steps=8,
                            beam=2, max_edits=10, fixed=["1-10", "191-200"],
                            avoid=["GAATTC", "GGATCC"], gc_range=(0.3, 0.7), max_candidates=400,
                            disagreement=penalty, progress=False)
        dt = time.perf_counter() - t
        d = res.designs
        gain = true_signal(d["sequence"], truth) - true_signal(starts["sequence"], truth)
        print(f"design, disagreement {penalty:g}: {len(d)} random test starts, 8 steps, beam 2, "
              f"<= 10 edits, in {dt:.0f} s; predicted gain "
              f"{np.mean(d['predicted'] - d['start_predicted']):+.2f} (seeds' SD "
              f"{d['predicted_sd'].mean():.3f}), true gain {gain.mean():+.2f} (min "
              f"{gain.min():+.2f}) log2 units; {np.mean(gain > 0):.0%} truly raised")


def library_pairs(run: Path) -> None:
    """Measured against predicted effects of the single-base differences within the test split."""
    from seqexpr import variants

    metrics = json.loads((run / "metrics.json").read_text())
    pred = pd.read_csv(run / "predictions.csv")
    target = metrics["targets"][0]
    test = pred[(pred["split"] == "test") & (pred["target"] == target)]
    seqs = pd.read_parquet(run / "sequences.parquet", columns=["id", "sequence"])
    test = test.merge(seqs, on="id").reset_index(drop=True)
    if test["sequence"].str.len().nunique() != 1:
        raise SystemExit(f"{run}: test sequences of several lengths; not a variant library")
    length = len(test["sequence"][0])
    left, right = [], []
    for pos in range(length):  # sequences equal but at pos are the single-base pairs there
        key = test["sequence"].str.slice(0, pos) + test["sequence"].str.slice(pos + 1)
        for rows in test.groupby(key).indices.values():
            left += [a for k, a in enumerate(rows) for _ in rows[k + 1:]]
            right += [b for k, _ in enumerate(rows) for b in rows[k + 1:]]
    left, right = np.array(left), np.array(right)
    measured = test["observed"].to_numpy()[right] - test["observed"].to_numpy()[left]
    print(f"{run}: {len(test)} test sequences of {length} nt, {len(left)} single-base pairs "
          f"among them; target {target!r} (modelled scale)")
    columns = [metrics["deep_ensemble"], metrics["best_baseline"]]
    for col in [c for c in columns if c]:
        p = test[col].to_numpy()
        delta = p[right] - p[left]
        a = variants.truth_agreement(delta, measured, large=np.std(measured))
        print(f"{col}: predicted vs measured effect Spearman {a['spearman']:.3f} "
              f"[{a['spearman_lo']:.3f}, {a['spearman_hi']:.3f}], Pearson {a['pearson']:.3f}; "
              f"sign right on {a['sign_agreement']:.1%} of the {a['n_large']} effects larger "
              f"than one SD of all effects")


if __name__ == "__main__":
    main()
