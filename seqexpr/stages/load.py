"""Stage 01_load: read, check and join the inputs; write ``sequences.parquet``, ``load.json``
and ``dropped.csv`` (and the demo's ground truth, when given) to the run folder, or, when the
input is refused, ``problems.csv`` listing every record that fails."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd

from seqexpr import io
from seqexpr import runfolder as rf
from seqexpr._checks import DROPPED_COLUMNS, IUPAC_DNA, InputError, option, refuse

NAME = "01_load"


def run(run_dir, *, fasta, expression, table, id_column, sequence_column, target,
        replicate_columns, group_column, split_column, rna, policy, max_length, ground_truth,
        seed, demo_if_missing) -> dict:
    """Load the inputs and write 01's files; the parameters are 01_load's parameters cell.

    Returns ``inputs`` (a table of the input paths, and whether the demo was written now),
    ``result`` (``io.LoadResult``: frame, dropped, info) and ``paths`` (the files written).

    Raises
    ------
    InputError
        When records fail the checks: every one of them is written to ``problems.csv`` first
        (01's other files are removed: they would describe an earlier input).
    """
    rf.record_stage(run_dir, NAME, parameters=dict(locals()))
    written = (write_demo_if_missing(fasta, expression, seed=seed)
               if demo_if_missing and table is None else None)
    inputs = dict(fasta=fasta, expression=expression) if table is None else dict(table=table)
    try:
        result = io.load(**inputs, id_column=id_column, sequence_column=sequence_column,
                         targets=target, replicate_columns=replicate_columns,
                         group_column=group_column, split_column=split_column, rna=rna,
                         policy=policy, max_length=max_length)
    except InputError as error:
        if error.problems is None:
            raise
        path = write_problems(run_dir, error.problems, error.dropped)
        raise refuse(error.problems, error.fixes, error.dropped, listed_in=f"in {path}") from None
    paths = write_outputs(run_dir, result, ground_truth=ground_truth)
    shown = pd.DataFrame({"path": {k: str(Path(v).resolve()) for k, v in inputs.items()},
                          "written now": {k: written is not None for k in inputs}})
    return dict(inputs=shown, result=result, paths=paths)


def write_outputs(run_dir: str | os.PathLike, result: io.LoadResult, *,
                  ground_truth: str | os.PathLike | None = None) -> dict[str, Path]:
    """Write ``sequences.parquet``, ``load.json`` and ``dropped.csv`` to ``run_dir``.

    ``ground_truth`` (the demo's ``ground_truth.json``) is copied with its sites file (named by
    its ``sites_file`` key, next to it) when given; it must describe these sequences.
    Returns the written paths by file name.
    """
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    out = {}
    out[rf.SEQUENCES] = run / rf.SEQUENCES
    with rf.atomic(out[rf.SEQUENCES]) as tmp:
        result.frame.to_parquet(tmp, index=False)
    out[rf.DROPPED] = run / rf.DROPPED
    rf.write_csv(out[rf.DROPPED], result.dropped, index=False)
    (run / rf.PROBLEMS).unlink(missing_ok=True)  # an earlier refusal's list
    info = dict(result.info, ground_truth=False)
    if ground_truth is None:
        _remove_stale_truth(run)
    else:
        gt = Path(ground_truth)
        if not gt.is_file():
            raise FileNotFoundError(f"ground truth not found: {gt.resolve()}; pass "
                                    f"{option('ground_truth', None)} for data that is not the "
                                    "demo.")
        sites = gt.parent / json.loads(gt.read_text()).get("sites_file",
                                                           rf.GROUND_TRUTH_SITES)
        if sites.is_file():
            site_ids = pd.read_csv(sites, usecols=["id"], dtype={"id": "str"})["id"]
            if len(site_ids) and not io.ids_in(site_ids, result.frame["id"]).any():
                raise ValueError(f"{gt.name} describes other sequences (no id of {sites.name} "
                                 f"was loaded); pass {option('ground_truth', None)} for data "
                                 "that is not the demo.")
            out[sites.name] = Path(shutil.copyfile(sites, run / sites.name))
        out[rf.GROUND_TRUTH] = Path(shutil.copyfile(gt, run / rf.GROUND_TRUTH))
        info["ground_truth"] = True
    out[rf.LOAD_INFO] = rf.write_json(run / rf.LOAD_INFO, info)
    return out


def write_problems(run_dir: str | os.PathLike, problems: pd.DataFrame,
                   dropped: pd.DataFrame | None = None) -> Path:
    """Write every bad record to ``problems.csv`` and remove 01's other files, which would
    describe an earlier input; returns the path.

    Columns ``id, source, line, reason, detail, policy``: the records that made 01 refuse
    (``policy`` "fail") first, then those the policy would have dropped (``"drop"``), so the
    one file names every bad record of the input."""
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    for name in rf.STAGE_FILES[NAME]:
        if name != rf.GROUND_TRUTH:
            (run / name).unlink(missing_ok=True)
    _remove_stale_truth(run)
    path = rf.run_path(run, rf.PROBLEMS)
    listed = [problems[list(DROPPED_COLUMNS)].assign(policy="fail")]
    if dropped is not None and len(dropped):
        listed.append(dropped[list(DROPPED_COLUMNS)].assign(policy="drop"))
    rf.write_csv(path, pd.concat(listed, ignore_index=True), index=False)
    return path


def _remove_stale_truth(run: Path) -> None:
    """Delete a ground truth (and its sites file) left by an earlier run in this folder: it
    does not describe the data being loaded now."""
    if (run / rf.GROUND_TRUTH).exists():
        stale = json.loads((run / rf.GROUND_TRUTH).read_text()).get("sites_file")
        if stale:
            (run / Path(stale).name).unlink(missing_ok=True)
        (run / rf.GROUND_TRUTH).unlink()


def write_demo_if_missing(fasta, expression=None, *, seed: int = 0) -> dict | None:
    """Write the demo dataset when ``fasta`` is the demo's path (``data/demo/demo.fa``) and it
    or ``expression`` is missing; returns ``write_demo``'s paths, or None if nothing was done."""
    demo_dir = rf.project_root() / "data" / "demo"
    if fasta is None or Path(fasta).resolve() != (demo_dir / "demo.fa").resolve():
        return None
    if Path(fasta).exists() and (expression is None or Path(expression).exists()):
        return None
    from seqexpr.demo import write_demo  # only the demo needs the generator

    return write_demo(demo_dir, seed=seed)


def check(run_dir) -> None:
    """Validate 01's files against each other and docs/run_folder.md; raises AssertionError."""
    seqs = pd.read_parquet(rf.run_path(run_dir, rf.SEQUENCES))
    dropped = pd.read_csv(rf.run_path(run_dir, rf.DROPPED))
    saved = rf.read_json(rf.run_path(run_dir, rf.LOAD_INFO))
    assert len(seqs) == saved["counts"]["kept"] > 0, "sequences.parquet and load.json disagree"
    assert seqs["id"].is_unique, "duplicate ids in sequences.parquet"
    assert seqs[saved["targets"]].notna().all().all(), "missing targets were kept"
    assert seqs["sequence"].str.fullmatch(f"[{IUPAC_DNA}]+").all(), "a non-IUPAC base was kept"
    assert (seqs["length"] == seqs["sequence"].str.len()).all(), "lengths do not match"
    assert dropped.columns.tolist() == list(DROPPED_COLUMNS), "dropped.csv columns"
    assert dropped["reason"].value_counts().to_dict() == saved["counts"]["dropped"], \
        "dropped.csv and load.json count different drops"
    assert saved["ground_truth"] == rf.run_path(run_dir, rf.GROUND_TRUTH).exists(), \
        "load.json and ground_truth.json disagree"
