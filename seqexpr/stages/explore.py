"""Stage 02_explore: the numbers a scientist looks at before any model, computed on 01's
table; writes ``explore.json`` and ``kmer_associations.csv``."""

from __future__ import annotations

import pandas as pd

from seqexpr import explore
from seqexpr import runfolder as rf

NAME = "02_explore"
KMER_COLUMNS = ["kmer", "k", "n_with", "effect", "p", "q", "target"]


def run(run_dir, *, seed, kmer_sizes, kmer_canonical, kmer_test, min_count, max_sequences,
        top_kmers, max_points, near_max_mismatches, relative_k) -> dict:
    """Explore 01's table; the parameters are 02_explore's parameters cell.

    Returns ``explore.explore``'s results (``composition`` among them: base composition along
    the sequence) plus ``table`` (sequences.parquet), ``info`` (load.json), ``targets``,
    ``scaled_replicates`` (on the suggested scale, or None), ``truth`` (the demo's ground
    truth, or None) and ``planted_hits`` (the best k-mer inside each planted motif, or None).
    """
    rf.record_stage(run_dir, NAME, parameters=dict(locals()))
    df, info = read_inputs(run_dir)
    targets = list(info["targets"])
    if kmer_canonical == "auto":  # RNA has one strand: a k-mer and its reverse complement differ
        kmer_canonical = not info.get("rna", False)
    results = explore.explore(df, info, kmer_sizes=tuple(kmer_sizes), canonical=kmer_canonical,
                              min_count=min_count, test=kmer_test,
                              near_max_mismatches=near_max_mismatches, relative_k=relative_k,
                              max_sequences=max_sequences, seed=seed)
    rep = results["summary"]["replicate_agreement"]
    truth_path = rf.run_path(run_dir, rf.GROUND_TRUTH)
    truth = rf.read_json(truth_path) if truth_path.exists() else None
    hits = None
    if truth is not None:
        first = results["associations"].query("target == @targets[0]").reset_index(drop=True)
        hits = explore.planted_motif_hits(first, truth, top=top_kmers)
    write_outputs(run_dir, results)
    return dict(results, table=df, info=info, targets=targets,
                scaled_replicates=None if rep is None else explore.scaled_replicates(
                    df, info["replicates"], transform=rep["scale"])[0],
                truth=truth, planted_hits=hits)


def read_inputs(run_dir) -> tuple[pd.DataFrame, dict]:
    """The table 01_load wrote (``sequences.parquet``) and its description (``load.json``)."""
    rf.require(run_dir, rf.SEQUENCES, rf.LOAD_INFO, stage="01_load")
    df = pd.read_parquet(rf.run_path(run_dir, rf.SEQUENCES))
    info = rf.read_json(rf.run_path(run_dir, rf.LOAD_INFO))
    missing = [c for c in info.get("targets", []) + info.get("replicates", []) if c not in df]
    if missing:
        raise KeyError(f"load.json names columns {missing} that sequences.parquet lacks; "
                       "rerun 01_load on this run folder.")
    return df, info


def write_outputs(run_dir, results: dict) -> dict:
    """Write ``explore.json`` and ``kmer_associations.csv``; returns their paths."""
    js = rf.write_json(rf.run_path(run_dir, rf.EXPLORE_INFO), results["summary"])
    csv = rf.run_path(run_dir, rf.KMER_ASSOC)
    rf.write_csv(csv, results["associations"].reindex(columns=KMER_COLUMNS), index=False)
    return {"explore": js, "kmer_associations": csv}


def check(run_dir) -> None:
    """Validate 02's files against 01's; raises AssertionError."""
    saved = rf.read_json(rf.run_path(run_dir, rf.EXPLORE_INFO))
    info = rf.read_json(rf.run_path(run_dir, rf.LOAD_INFO))
    kmers = pd.read_csv(rf.run_path(run_dir, rf.KMER_ASSOC))
    assert saved["n"] == info["counts"]["kept"] > 0, "explore.json and load.json disagree on n"
    assert set(saved["suggested_transform"]) == set(info["targets"])
    assert all(v["name"] in ("none", "log", "log1p", "rank")
               for v in saved["suggested_transform"].values())
    assert {"exact", "near"} <= set(saved["duplicates"])
    assert list(kmers.columns) == KMER_COLUMNS, "kmer_associations.csv columns"
    assert kmers["q"].between(0, 1).all() and kmers["p"].notna().all()
