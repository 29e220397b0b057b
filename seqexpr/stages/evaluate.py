"""Stage 05_evaluate: every model scored on the test sequences with bootstrap intervals and
paired comparisons; writes ``evaluation.csv`` and adds ``evaluation`` to ``metrics.json``."""

from __future__ import annotations

import pandas as pd

from seqexpr import evaluate
from seqexpr import runfolder as rf

NAME = "05_evaluate"


def run(run_dir, *, seed, n_bootstrap, ci, max_points) -> dict:
    """Evaluate 04's predictions; the parameters are 05_evaluate's parameters cell.

    Returns ``evaluation`` (metrics.json's new key), ``table`` (evaluation.csv), ``frame``
    (the test rows of predictions.csv with ``gc``, ``has_relative_in_train`` and the group
    column joined, for the plots), ``targets`` and ``verdicts`` ``{target: str}``.
    """
    rf.record_stage(run_dir, NAME, parameters=dict(locals()))
    rf.require(run_dir, rf.PREDICTIONS, rf.SPLITS, rf.SEQUENCES, rf.LOAD_INFO,
               stage="01_load, 03_encode and 04_model")
    pred = pd.read_csv(rf.run_path(run_dir, rf.PREDICTIONS), dtype={"id": str})
    load = rf.read_json(rf.run_path(run_dir, rf.LOAD_INFO))
    seqs = pd.read_parquet(rf.run_path(run_dir, rf.SEQUENCES)).astype({"id": str})
    splits = pd.read_csv(rf.run_path(run_dir, rf.SPLITS), dtype={"id": str}).set_index("id")
    mpath = rf.run_path(run_dir, rf.METRICS)
    metrics = rf.read_json(mpath) if mpath.exists() else {}

    gcol = load.get("group_column")
    groups = pd.DataFrame(index=seqs["id"])
    if gcol and gcol in seqs.columns:
        groups[gcol] = seqs.set_index("id")[gcol]
    groups["has_relative_in_train"] = splits["has_relative_in_train"].astype(bool)
    test = pred[pred["split"] == "test"]
    ceilings = _ceilings(run_dir, load, seqs, test["id"].unique(), metrics)
    evaluation, table = evaluate.evaluate_models(
        pred, groups=groups, metrics=metrics, ceilings=ceilings, group_column=gcol, seed=seed,
        n_bootstrap=n_bootstrap, ci=ci)

    rf.write_csv(rf.run_path(run_dir, rf.EVALUATION), table, index=False)
    current = rf.read_json(mpath) if mpath.exists() else {}
    current["evaluation"] = evaluation
    rf.write_json(mpath, current)

    gc = evaluate.gc_content(seqs["sequence"]).set_axis(seqs["id"])
    frame = test.assign(gc=test["id"].map(gc).to_numpy(),
                        has_relative_in_train=test["id"].map(groups["has_relative_in_train"]))
    if gcol and gcol in groups:
        frame[gcol] = frame["id"].map(groups[gcol])
    return {"evaluation": evaluation, "table": table, "frame": frame,
            "targets": list(evaluation["targets"]), "verdicts": evaluation["verdict"]}


def _ceilings(run_dir, load: dict, seqs: pd.DataFrame, test_ids, metrics: dict) -> dict:
    """Every noise ceiling the run folder offers: ground truth, replicates, 04_model's."""
    out = {"ground_truth": None, "replicates": None, "metrics": metrics.get("noise_ceiling"),
           "explore_replicate_agreement": None}
    gt = rf.run_path(run_dir, rf.GROUND_TRUTH)
    if gt.exists():
        out["ground_truth"] = rf.read_json(gt).get("noise_ceiling_pearson")
    reps = [c for c in load.get("replicates") or [] if c in seqs.columns]
    if len(reps) >= 2:
        out["replicates"] = evaluate.replicate_ceiling(seqs.set_index("id").loc[test_ids, reps])
    ex = rf.run_path(run_dir, rf.EXPLORE_INFO)
    if ex.exists():
        out["explore_replicate_agreement"] = rf.read_json(ex).get("replicate_agreement")
    return out


def check(run_dir) -> None:
    """Validate 05's files; raises AssertionError."""
    written = pd.read_csv(rf.run_path(run_dir, rf.EVALUATION))
    metrics = rf.read_json(rf.run_path(run_dir, rf.METRICS))
    assert list(written.columns) == evaluate.EVAL_COLUMNS, "evaluation.csv columns"
    assert {"evaluation", "test", "models"} <= set(metrics), "04's keys must survive"
    overall = written[written["grouping"] == "all"]
    assert overall["pearson"].notna().all(), "a model has no test Pearson (constant predictions?)"
    assert ((overall["pearson_lo"] <= overall["pearson"])
            & (overall["pearson"] <= overall["pearson_hi"])).all(), "an interval misses its point"
    targets = set(metrics["evaluation"]["targets"])
    assert set(overall["target"]) == targets, "a target was not scored"
    assert all(metrics["evaluation"]["verdict"].get(t) for t in targets), "a verdict is missing"
