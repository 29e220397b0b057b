"""Read, check and join a FASTA and an expression table (or one table holding both).

Stage 01_load. ``load`` runs every check of ``seqexpr._checks`` and returns the joined frame,
the dropped records with their reasons, and a summary; ``seqexpr.stages.load`` writes them to
the run folder (``sequences.parquet``, ``load.json``, ``dropped.csv``; see docs/run_folder.md).
Nothing is lost silently: each record not carried forward is a row of ``dropped.csv``, and
when records fail the checks, one error lists them all (``problems.csv`` in the run folder).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from seqexpr._checks import (
    DEFAULT_POLICY, IUPAC_DNA, LINE, InputError, check_alphabet, check_duplicates, check_empty,
    check_length, check_targets, decide, empty_dropped, option, refuse, resolve_policy,
    split_problems,
)
from seqexpr._readers import normalize, read_fasta, read_table
from seqexpr.encode import length_summary

__all__ = ["DEFAULT_POLICY", "IUPAC_DNA", "InputError", "LoadResult", "ids_in", "read_fasta",
           "read_table", "load"]

# -- load ----------------------------------------------------------------------------------
@dataclass
class LoadResult:
    """What ``load`` found: the joined ``frame``, the ``dropped`` records and an ``info`` dict
    (the content of ``load.json``)."""

    frame: pd.DataFrame
    dropped: pd.DataFrame
    info: dict = field(default_factory=dict)


def _columns_or_fail(tab, needed, source, *names):
    """Fail unless ``tab`` has the ``needed`` columns; ``names`` are the parameters naming them."""
    missing = [c for c in needed if c not in tab.columns]
    if missing:
        how = " or ".join(option(n, "NAME") for n in names)
        raise InputError(f"{source} line 1: no column {', '.join(map(repr, missing))}; its "
                         f"columns are {list(tab.columns)}; pass {how} naming one of them.",
                         file=source, line=1)


def _replicates(tab, given, exclude, source):
    if given is None:  # numeric columns named like replicates
        found = [c for c in tab.columns if "rep" in str(c).lower() and c not in exclude
                 and pd.api.types.is_numeric_dtype(tab[c])]
        return found
    given = [given] if isinstance(given, str) else list(given)
    _columns_or_fail(tab, given, source, "replicate_columns")
    for c in given:
        num = pd.to_numeric(tab[c], errors="coerce")
        bad = tab[c].notna() & num.isna()
        if bad.any():
            line = bad.idxmax()
            raise InputError(f"{source} line {line}: replicate column {c!r} holds "
                             f"{tab.at[line, c]!r}, which is not a number; fix it or leave the "
                             "cell empty.", file=source, line=line)
        tab[c] = num
    return given


def load(*, fasta=None, expression=None, table=None, id_column: str | None = "id",
         sequence_column: str = "sequence", targets=("expression",), replicate_columns=None,
         group_column: str | None = None, split_column: str | None = None, rna: bool = False,
         policy: dict | str | None = None, max_length: int | None = None) -> LoadResult:
    """Read, check and join sequences and their measured expression.

    Give ``fasta`` + ``expression`` (joined on ``id_column``) or one ``table`` holding a
    ``sequence_column``. Checks, in order: empty sequences, characters outside IUPAC DNA
    (lower case is accepted and upper-cased; ``U`` only with ``rna=True``), length outliers,
    target values (non-numeric, infinite, missing), duplicate ids (identical copies are
    merged, one kept), ids on one side only. ``policy`` says per kind whether to ``"fail"`` or
    ``"drop"`` (record the row in ``dropped``); see ``DEFAULT_POLICY``; a single word applies
    to every kind. Every check runs before any failure is raised, so one :class:`InputError`
    names the first record of each failing kind (file, line) and carries them all in
    ``.problems``.

    Parameters
    ----------
    fasta, expression, table : str or PathLike, optional
    id_column : str or None
        Column of the table holding the ids; ``None`` (or ``""``) in the one-table form
        numbers the rows (``row<line>``).
    sequence_column : str
        Column holding the sequences in the one-table form.
    targets : str or sequence of str
        Target columns, converted to float64.
    replicate_columns : sequence of str, optional
        Carried unchanged (as numbers); ``None`` picks the numeric columns whose name
        contains ``rep`` (any case); ``[]`` none.
    group_column, split_column : str, optional
        Carried unchanged.
    max_length : int, optional
        Longest sequence accepted, in nt; longer ones are ``length_outlier`` records. ``None``
        takes ``seqexpr._checks.length_limit`` of the lengths (ten times the median, or more
        when lengths vary widely).

    Returns
    -------
    LoadResult
        ``frame``: ``id``, ``sequence``, ``length`` (int64), one float64 column per target,
        then replicates, group and split columns, in FASTA order (table order in the
        one-table form). ``dropped``: ``id, source, line, reason, detail``. ``info``: the
        keys of ``load.json``.
    """
    t0 = time.perf_counter()
    pol = resolve_policy(policy)
    id_column = id_column or None  # "" is how a command line says None
    targets = [targets] if isinstance(targets, str) else list(targets)
    if (fasta is None) == (table is None):
        raise ValueError("give either fasta= together with expression=, or table= (one table "
                         "holding ids, sequences and targets), not both or neither.")
    if fasta is not None and expression is None:
        raise ValueError("fasta= needs expression=, the table of measured values to join on "
                         f"{id_column!r}.")
    if fasta is not None and id_column is None:
        raise ValueError("fasta= + expression= are joined on an id column: pass "
                         f"{option('id_column', 'NAME')} naming the table's id column.")
    one_table = table is not None
    tab_path = Path(table if one_table else expression)
    tab_src = tab_path.name
    text_cols = [sequence_column] if one_table else []
    tab = read_table(tab_path, id_column=id_column, text_columns=text_cols)
    if one_table and id_column is None:
        tab.insert(0, "id", [f"row{i}" for i in tab.index])
        id_column = "id"
    _columns_or_fail(tab, [id_column], tab_src, "id_column")
    _columns_or_fail(tab, targets, tab_src, "targets")
    _columns_or_fail(tab, text_cols, tab_src, "sequence_column")
    _columns_or_fail(tab, [c for c in (group_column, split_column) if c], tab_src,
                     "group_column", "split_column")
    reserved = {"id", "sequence", "length", LINE}
    clash = [c for c in targets if c in reserved]
    if clash:
        raise ValueError(f"target column(s) {clash} clash with the output columns "
                         "id/sequence/length; rename them in the table.")
    exclude = {id_column, sequence_column, *targets, group_column, split_column}
    reps = _replicates(tab, replicate_columns, exclude, tab_src)
    carried = list(dict.fromkeys(c for c in (*reps, group_column, split_column) if c))
    clash = [c for c in carried if c in reserved]
    if clash:
        raise ValueError(f"carried column(s) {clash} clash with the output columns "
                         "id/sequence/length; rename them in the table.")

    work = pd.DataFrame({"id": tab[id_column].to_numpy(), LINE: tab.index.to_numpy()})
    for c in dict.fromkeys([*text_cols, *targets, *carried]):
        work[c] = tab[c].to_numpy()
    work = work.rename(columns={sequence_column: "sequence"}) if one_table else work
    drops = []
    work, d = decide("missing_id", work, work["id"].isna().to_numpy(), f"the {id_column!r} "
                     "cell is empty", source=tab_src, policy=pol, fix="fill in the id")
    drops.append(d)
    soft_masked = 0

    def seq_checks(frame, source):
        out = []
        frame, d = check_empty(frame, source=source, policy=pol)
        out.append(d)
        frame, d = check_alphabet(frame, source=source, policy=pol, rna=rna)
        out.append(d)
        frame, d = check_length(frame, source=source, policy=pol, max_length=max_length)
        out.append(d)
        return frame, out

    if one_table:
        seqs = work["sequence"]
        ok = seqs.notna().to_numpy()
        norm, soft_masked = normalize(seqs[ok].tolist(), rna)
        work["sequence"] = seqs.astype("object")
        work.loc[ok, "sequence"] = norm
        work, d = seq_checks(work, tab_src)
        drops += d
        work, d = check_targets(work, targets, source=tab_src, policy=pol)
        drops.append(d)
        work, d = check_duplicates(work, ["sequence", *targets, *carried], source=tab_src,
                                   policy=pol, what="sequences or values")
        drops.append(d)
        n_fasta, merged = None, work
    else:
        fa = read_fasta(fasta, rna=rna).rename(columns={"line": LINE})
        fa_src, n_fasta, soft_masked = fa.attrs["source"], len(fa), fa.attrs["soft_masked"]
        fa_ids, tab_ids = fa["id"].to_numpy(), work["id"].to_numpy()  # before any drop
        if not ids_in(fa["id"], tab_ids).any():
            raise InputError(
                f"{tab_src}: no id in column {id_column!r} matches a record of {fa_src} "
                f"(FASTA ids look like {list(fa_ids[:2])}, table ids like "
                f"{list(tab_ids[:2])}); check {option('id_column', 'NAME')} and that the "
                "FASTA id is the first word of each header.", file=tab_src, line=1)
        fa, d = seq_checks(fa, fa_src)
        drops += d
        fa, d = check_duplicates(fa, ["sequence"], source=fa_src, policy=pol,
                                 what="sequences")
        drops.append(d)
        work, d = check_targets(work, targets, source=tab_src, policy=pol)
        drops.append(d)
        work, d = check_duplicates(work, [*targets, *carried], source=tab_src, policy=pol,
                                   what="values")
        drops.append(d)
        # ids whose partner was dropped above are already explained in `dropped`
        fa, d = decide("missing_in_table", fa, ~ids_in(fa["id"], tab_ids),
                       f"id not found in column {id_column!r} of {tab_src}", source=fa_src,
                       policy=pol, fix=f"add a row for it to {tab_src}")
        drops.append(d)
        work, d = decide("missing_in_fasta", work, ~ids_in(work["id"], fa_ids),
                         f"id not found among the records of {fa_src}", source=tab_src,
                         policy=pol, fix=f"add the sequence to {fa_src}")
        drops.append(d)
        merged = fa[["id", "sequence"]].merge(work.drop(columns=LINE), on="id", how="inner",
                                              validate="one_to_one")

    aside = pd.concat([d for d in drops if len(d)] or [empty_dropped()], ignore_index=True)
    problems, dropped, fixes = split_problems(aside)
    if len(problems):
        raise refuse(problems, fixes, dropped)
    counts = dropped["reason"].value_counts()
    if merged.empty:
        raise InputError(f"no record left after the checks (dropped: {counts.to_dict()}); "
                         "see the reasons above or in the dropped table.", file=tab_src)
    length = merged["sequence"].str.len().astype(np.int64)
    frame = pd.DataFrame({"id": merged["id"].astype("str").to_numpy(),
                          "sequence": merged["sequence"].astype("str").to_numpy(),
                          "length": length.to_numpy()})
    for c in targets:
        frame[c] = merged[c].astype("float64").to_numpy()
    for c in carried:
        frame[c] = merged[c].to_numpy()
    lengths = length_summary(length.to_numpy())
    length_policy, note = _length_policy(length.to_numpy())
    if note.startswith("lengths differ widely"):
        warnings.warn(note, stacklevel=2)
    info = {
        "targets": targets, "replicates": reps, "group_column": group_column,
        "split_column": split_column, "id_column": id_column,
        "sequence_column": sequence_column if one_table else None,
        "inputs": {k: (str(Path(v).resolve()) if v is not None else None) for k, v in
                   {"fasta": fasta, "expression": expression, "table": table}.items()},
        "counts": {"fasta": n_fasta, "table": len(tab), "kept": len(frame),
                   "dropped": {k: int(v) for k, v in counts.items()}},
        "summary": f"kept {len(frame):,} records, dropped {len(dropped):,}"
                   + (f" ({', '.join(f'{k}: {v:,}' for k, v in counts.items())})"
                      if len(dropped) else ""),
        "lengths": lengths, "length_policy": length_policy, "length_note": note,
        "ground_truth": False, "rna": bool(rna), "soft_masked": int(soft_masked),
        "policy": pol, "seconds": round(time.perf_counter() - t0, 3),
    }
    return LoadResult(frame, dropped, info)


def ids_in(values: pd.Series, pool) -> np.ndarray:
    """(n,) bool: which ``values`` (ids) occur in ``pool`` (Arrow's hash join: Series.isin on
    Arrow strings goes through Python objects, 30 s for a million ids)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.is_in(pa.array(values.astype("str")), value_set=pa.array(pd.Series(pool,
                     dtype="str")))
    return found.to_numpy(zero_copy_only=False).astype(bool)


def _length_policy(length: np.ndarray) -> tuple[str, str]:
    """``("none" | "pad", explanation)``: what 03_encode will do with these lengths."""
    lo, med, hi = int(length.min()), float(np.median(length)), int(length.max())
    if lo == hi:
        return "none", f"all sequences are {hi} nt: no padding needed"
    note = (f"lengths vary from {lo} to {hi} nt (median {med:g}): 03_encode pads every "
            f"sequence to the longest ({hi} nt) and masks the padding")
    p95 = int(np.percentile(length, 95))
    if hi > 1.5 * med or lo < 0.5 * med:
        note = (f"lengths differ widely ({lo} to {hi} nt, median {med:g}): 03_encode pads "
                f"every sequence to the longest ({hi} nt) and masks the padding; consider "
                f"{option('length', p95)} there (the 95th percentile) to trim the few long "
                "ones")
    return "pad", note
