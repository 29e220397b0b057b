"""Stage 05_evaluate: every model scored on the test sequences with bootstrap intervals and
paired comparisons; writes ``evaluation.csv`` and adds ``evaluation`` to ``metrics.json``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seqexpr import evaluate
from seqexpr import runfolder as rf

NAME = "05_evaluate"
CHUNK_ROWS = 50_000  # rows of predictions.csv / sequences.parquet read at a time


def run(run_dir, *, seed, n_bootstrap, ci, max_points) -> dict:
    """Evaluate 04's predictions; the parameters are 05_evaluate's parameters cell.

    Returns ``evaluation`` (metrics.json's new key), ``table`` (evaluation.csv), ``frame``
    (the test rows of predictions.csv with ``gc``, ``has_relative_in_train`` and the group
    column joined, for the plots), ``targets`` and ``verdicts`` ``{target: str}``.
    """
    rf.record_stage(run_dir, NAME, parameters=dict(locals()))
    rf.require(run_dir, rf.PREDICTIONS, rf.SPLITS, rf.SEQUENCES, rf.LOAD_INFO,
               stage="01_load, 03_encode and 04_model")
    pred = read_predictions(rf.run_path(run_dir, rf.PREDICTIONS))
    load = rf.read_json(rf.run_path(run_dir, rf.LOAD_INFO))
    test = pred[pred["split"] == "test"]
    test_ids = pd.Index(test["id"].unique())
    spath = rf.run_path(run_dir, rf.SEQUENCES)
    present = set(pq.read_schema(spath).names)
    gcol = load.get("group_column")
    reps = [c for c in load.get("replicates") or [] if c in present]
    columns = [c for c in dict.fromkeys([gcol, *reps]) if c and c in present]
    seqs = (pd.read_parquet(spath, columns=["id", *columns]).astype({"id": str})
            .set_index("id").reindex(test_ids))  # only the test sequences are ever looked up
    splits = pd.read_csv(rf.run_path(run_dir, rf.SPLITS), dtype={"id": str},
                         usecols=["id", "has_relative_in_train"]).set_index("id")
    mpath = rf.run_path(run_dir, rf.METRICS)
    metrics = rf.read_json(mpath) if mpath.exists() else {}

    groups = pd.DataFrame(index=test_ids)
    if gcol and gcol in seqs.columns:
        groups[gcol] = seqs[gcol]
    groups["has_relative_in_train"] = splits["has_relative_in_train"].astype(bool)
    ceilings = _ceilings(run_dir, seqs[reps], metrics)
    evaluation, table = evaluate.evaluate_models(
        pred, groups=groups, metrics=metrics, ceilings=ceilings, group_column=gcol, seed=seed,
        n_bootstrap=n_bootstrap, ci=ci)

    rf.write_csv(rf.run_path(run_dir, rf.EVALUATION), table, index=False)
    current = rf.read_json(mpath) if mpath.exists() else {}
    current["evaluation"] = evaluation
    rf.write_json(mpath, current)

    gc = gc_by_id(spath, test_ids)
    frame = test.assign(gc=test["id"].map(gc).to_numpy(),
                        has_relative_in_train=test["id"].map(groups["has_relative_in_train"]))
    if gcol and gcol in groups:
        frame[gcol] = frame["id"].map(groups[gcol])
    return {"evaluation": evaluation, "table": table, "frame": frame,
            "targets": list(evaluation["targets"]), "verdicts": evaluation["verdict"]}


def read_predictions(path, *, splits=("valid", "test"), chunk_rows: int = CHUNK_ROWS
                     ) -> pd.DataFrame:
    """The rows of predictions.csv in ``splits``, read ``chunk_rows`` at a time so that the
    training rows (most of the file) are never all in memory."""
    parts = [c[c["split"].isin(splits)]
             for c in pd.read_csv(path, dtype={"id": str}, chunksize=chunk_rows)]
    return pd.concat(parts or [pd.read_csv(path, dtype={"id": str})], ignore_index=True)


def gc_by_id(path, ids, *, chunk_rows: int = CHUNK_ROWS) -> pd.Series:
    """GC fraction of the sequences ``ids`` of sequences.parquet, indexed by id.

    The sequences are read ``chunk_rows`` at a time and only those in ``ids`` are counted,
    so memory does not grow with the sequences left out.
    """
    wanted = pa.array(pd.Index(ids).astype(str), pa.large_string())
    parts = []
    # streamed page by page: a whole column chunk of sequences is never held at once
    with pq.ParquetFile(path, buffer_size=1 << 22, pre_buffer=False) as source:
        for batch in source.iter_batches(batch_size=chunk_rows, columns=["id", "sequence"]):
            batch = batch.set_column(0, "id", batch.column(0).cast(pa.large_string()))
            chunk = batch.filter(pc.is_in(batch.column(0), value_set=wanted)).to_pandas()
            parts.append(evaluate.gc_content(chunk["sequence"]).set_axis(chunk["id"]))
    return pd.concat(parts) if parts else pd.Series(dtype=np.float64)


def _ceilings(run_dir, replicates: pd.DataFrame, metrics: dict) -> dict:
    """Every noise ceiling the run folder offers: ground truth, replicates (``replicates``:
    the replicate columns of the test sequences), 04_model's."""
    out = {"ground_truth": None, "replicates": None, "metrics": metrics.get("noise_ceiling"),
           "explore_replicate_agreement": None}
    gt = rf.run_path(run_dir, rf.GROUND_TRUTH)
    if gt.exists():
        out["ground_truth"] = rf.read_json(gt).get("noise_ceiling_pearson")
    if replicates.shape[1] >= 2:
        out["replicates"] = evaluate.replicate_ceiling(replicates)
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
