"""Readers for FASTA files and expression tables that keep each record's line number."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
from Bio.SeqIO.FastaIO import SimpleFastaParser

from seqexpr._checks import InputError

_TABLE_KINDS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "\t", ".parquet": None,
                ".pq": None}


# -- FASTA ---------------------------------------------------------------------------------
def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    if gz:  # by content, not name: a gzipped file named .fa still reads
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()


def normalize(seqs: list[str], rna: bool) -> tuple[list[str], int]:
    """Upper-case (soft-masked bases are accepted) and turn U into T if ``rna``.

    Returns the new list and the number of records that held lower case. The common cases
    (all upper case; no U) cost one pass over the joined text instead of one per record.
    """
    joined = "".join(seqs)
    n_lower = 0
    if joined.upper() != joined:
        upper = [q.upper() for q in seqs]
        n_lower = sum(a != b for a, b in zip(seqs, upper))
        seqs = upper
    if rna and "U" in joined.upper():
        seqs = [q.replace("U", "T") for q in seqs]
    return seqs, n_lower


def read_fasta(path: str | os.PathLike, *, rna: bool = False) -> pd.DataFrame:
    """Read a FASTA file (plain or gzipped) into a frame, one row per record.

    Biopython's ``SimpleFastaParser`` splits the records; the 1-based line of each header
    comes from one vectorized scan of the bytes, so errors downstream can name it.

    Parameters
    ----------
    path : str or PathLike
        FASTA file; gzip is detected from the content.
    rna : bool
        Read ``U`` as ``T``. Without it a ``U`` stays and ``load`` reports it as not DNA.

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (str: the header's first word), ``sequence`` (str, upper case, as
        read otherwise; not yet checked) and ``line`` (int64, 1-based line of the header).
        ``frame.attrs`` holds ``source`` (file name) and ``soft_masked`` (records that held
        lower case).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    InputError
        If the file holds no header, text before its first header, or a header without id.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FASTA file not found: {path.resolve()}")
    data = _read_bytes(path)
    arr = np.frombuffer(data, np.uint8)
    starts = np.concatenate([[0], np.flatnonzero(arr == 10) + 1])
    starts = starts[starts < arr.size]
    header_lines = np.flatnonzero(arr[starts] == ord(">")) + 1  # (n,) 1-based
    name = path.name
    if header_lines.size == 0:
        raise InputError(f"{name}: no '>' header found; is this a FASTA file? Each record "
                         "starts with a line '>id description' followed by its sequence.",
                         file=name)
    before = data[: starts[header_lines[0] - 1]]
    if before.strip():
        bad = next(i for i, ln in enumerate(before.split(b"\n"), 1) if ln.strip())
        raise InputError(f"{name} line {bad}: text before the first '>' header; is this a "
                         "FASTA file? Remove the text or start it with '>'.",
                         file=name, line=bad)
    text = data.decode("utf-8", errors="replace")
    records = list(SimpleFastaParser(iter(text.splitlines(True))))
    ids = [t.split(None, 1)[0] if t else "" for t, _ in records]
    seqs = [q for _, q in records]
    del records
    if len(ids) != header_lines.size:  # e.g. stray form feeds splitting lines differently
        raise InputError(f"{name}: found {header_lines.size} header lines but parsed "
                         f"{len(ids)} records; the file may hold unusual line breaks.",
                         file=name)
    no_id = [i for i, x in enumerate(ids) if not x]
    if no_id:
        i = no_id[0]
        raise InputError(f"{name} line {header_lines[i]}: header without an id"
                         f"{f' (and {len(no_id) - 1} more)' if len(no_id) > 1 else ''}; "
                         "write the id right after '>'.", file=name, line=header_lines[i])
    seqs, n_lower = normalize(seqs, rna)
    frame = pd.DataFrame({"id": pd.Series(ids, dtype="str"),
                          "sequence": pd.Series(seqs, dtype="str"),
                          "line": header_lines.astype(np.int64)})
    frame.attrs.update(source=name, soft_masked=int(n_lower))
    return frame


# -- tables --------------------------------------------------------------------------------
def _table_sep(path: Path):
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".xz", ".zip", ".zst"):
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if ext not in _TABLE_KINDS:
        raise ValueError(f"{path.name}: cannot tell the table format from the extension "
                         f"{ext!r}; use .csv, .tsv (optionally .gz) or .parquet.")
    return ext, _TABLE_KINDS[ext]


def read_table(path: str | os.PathLike, *, id_column: str | None = None,
               text_columns=()) -> pd.DataFrame:
    """Read a CSV, TSV (optionally compressed) or Parquet table, keeping each row's line.

    Parameters
    ----------
    path : str or PathLike
        The format follows the extension: ``.csv``, ``.tsv``/``.tab``/``.txt`` (tab
        separated), ``.parquet``/``.pq``; ``.gz`` and other compressions on text files.
    id_column : str, optional
        Read as text (so ``007`` stays ``007``), with surrounding spaces stripped.
    text_columns : sequence of str
        Further columns to read as text (e.g. the sequence column).

    Returns
    -------
    pandas.DataFrame
        The table's columns; the index, named ``line``, is the 1-based line of each row in
        a text file (the header is line 1; fields spanning lines are not supported) or its
        1-based row number in Parquet. Blank lines are skipped.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"table not found: {path.resolve()}")
    ext, sep = _table_sep(path)
    text = [c for c in (id_column, *text_columns) if c]
    if sep is None:
        frame = pd.read_parquet(path)
        for c in text:
            if c in frame.columns:
                frame[c] = frame[c].astype("str").where(frame[c].notna())
        frame.index = pd.RangeIndex(1, len(frame) + 1)
    else:
        frame = pd.read_csv(path, sep=sep, dtype={c: "str" for c in text},
                            skip_blank_lines=False)
        frame.index = pd.RangeIndex(2, len(frame) + 2)
        frame = frame.dropna(how="all")
    if id_column in frame.columns:
        frame[id_column] = frame[id_column].str.strip()
    frame.index.name = "line"
    return frame
