"""Readers for FASTA files and expression tables that keep each record's line number."""

from __future__ import annotations

import csv
import io
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from seqexpr._checks import InputError
from seqexpr._textfile import byte_error, text_bytes

_TABLE_KINDS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "\t", ".parquet": None,
                ".pq": None}
_COMPRESSED = (".gz", ".bz2", ".xz", ".zip", ".zst")
# What read_csv reads as missing by default (its ``na_values`` documentation); ids and
# sequences are text, so there only an empty cell is missing.
_MISSING = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
            "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
_SEPS = {",": "comma", "\t": "tab", ";": "semicolon"}
_WHITESPACE = b" \t\n\r\f\v"


# -- FASTA ---------------------------------------------------------------------------------
def normalize(seqs: list[str], rna: bool, *, chunk: int = 50_000) -> tuple[list[str], int]:
    """Upper-case (soft-masked bases are accepted) and turn U into T if ``rna``.

    Returns the new list and the number of records that held lower case. The common cases
    (all upper case; no U) cost one pass over the joined text of ``chunk`` records at a time
    instead of one per record, and memory stays bounded however many records there are.
    """
    out, n_lower = [], 0
    for lo in range(0, len(seqs), chunk):
        part = seqs[lo:lo + chunk]
        joined = "".join(part)
        upper = joined.upper()
        if upper != joined:
            fixed = [q.upper() for q in part]
            n_lower += sum(a != b for a, b in zip(part, fixed))
            part = fixed
        if rna and "U" in upper:
            part = [q.replace("U", "T") for q in part]
        out.extend(part)
    return out, n_lower


def read_fasta(path: str | os.PathLike, *, rna: bool = False) -> pd.DataFrame:
    """Read a FASTA file (plain or compressed) into a frame, one row per record.

    One vectorized scan of the bytes finds the lines (``\\n``, ``\\r\\n`` or ``\\r`` ends)
    and the 1-based line of each header, so errors downstream can name it; a record's
    sequence is the text of the lines up to the next header, whitespace (spaces, tabs, form
    feeds) removed.

    Parameters
    ----------
    path : str or PathLike
        FASTA file, UTF-8 (with or without a byte-order mark) or UTF-16 with one; gzip,
        bzip2 and xz are detected from the content. A header's description (after the id)
        may hold bytes that are not UTF-8; ids and sequences may not.
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
        If the file is empty, binary or a broken compressed stream, holds no header, text
        before its first header, a header without id, or an id or sequence line that is not
        UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FASTA file not found: {path.resolve()}")
    name = path.name
    data = text_bytes(path, "FASTA file")
    if b"\f" in data or b"\v" in data:  # page breaks are whitespace, not line breaks
        data = data.translate(None, b"\f\v")
    arr = np.frombuffer(data, np.uint8)
    starts = np.concatenate([[0], np.flatnonzero(arr == 10) + 1])
    starts = starts[starts < arr.size]  # (lines,) offset of each line
    heads = np.flatnonzero(arr[starts] == ord(">"))  # (n,) 0-based line index of each header
    if heads.size == 0:
        raise InputError(f"{name}: no '>' header found; is this a FASTA file? Each record "
                         "starts with a line '>id description' followed by its sequence.",
                         file=name)
    before = data[: starts[heads[0]]]
    if before.strip():
        bad = next(i for i, ln in enumerate(before.split(b"\n"), 1) if ln.strip())
        raise InputError(f"{name} line {bad}: text before the first '>' header; is this a "
                         "FASTA file? Remove the text or start it with '>'.",
                         file=name, line=bad)
    ends = np.append(starts[1:], arr.size)  # (lines,) one past each line's last byte
    if arr.max() >= 128:  # a reduction: no (bytes,) temporary
        _check_fasta_utf8(data, arr, starts, ends, heads, name)
    head_at, seq_at = starts[heads].tolist(), ends[heads].tolist()
    seq_end = np.append(starts[heads[1:]], arr.size).tolist()
    ids = [(data[a + 1:b].decode("utf-8", "replace").split(None, 1) or [""])[0]
           for a, b in zip(head_at, seq_at)]
    seqs = [data[a:b].translate(None, _WHITESPACE).decode("utf-8")
            for a, b in zip(seq_at, seq_end)]
    del data, arr, starts, ends  # the file's bytes: as large as the sequences themselves
    header_lines = heads + 1
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


def _check_fasta_utf8(data, arr, starts, ends, heads, name) -> None:
    """Refuse a byte that is not UTF-8 in an id or a sequence line (one loop per line that
    holds non-ASCII bytes); a header's description may hold any, it is not kept."""
    try:
        data.decode("utf-8")
        return
    except UnicodeDecodeError:
        pass
    lines = np.unique(np.searchsorted(starts, np.flatnonzero(arr >= 128), side="right") - 1)
    for ln, head in zip(lines.tolist(), np.isin(lines, heads).tolist()):
        text = data[starts[ln]:ends[ln]]
        checked = text.split(None, 1)[0] if head else text  # a header: '>' and the id
        try:
            checked.decode("utf-8")
        except UnicodeDecodeError as err:
            raise byte_error(data, int(starts[ln]) + err.start, name,
                              f"{'ids' if head else 'sequences'} must be plain text (a "
                              "description after the id may hold any bytes); fix the "
                              "character or save the file as UTF-8.") from None


# -- tables --------------------------------------------------------------------------------
def _table_sep(path: Path):
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
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
        separated), ``.parquet``/``.pq``; gzip, bzip2, xz (by content) or a one-file
        ``.zip`` on text files, which must be UTF-8 (a byte-order mark is dropped) or UTF-16
        with a byte-order mark. When the header line holds no separator of the extension but
        a comma, tab or semicolon, that one is used (with a warning; after a semicolon the
        decimal mark is read as ``,``).
    id_column : str, optional
        Read as text (so ``007`` and ``NA`` stay as written), surrounding spaces stripped;
        only an empty cell is missing.
    text_columns : sequence of str
        Further columns read as text the same way (e.g. the sequence column). The other
        columns follow pandas: an empty cell, ``NA``, ``nan``, ``null`` ... are missing.

    Returns
    -------
    pandas.DataFrame
        The table's columns; the index, named ``line``, is the 1-based line where each row
        starts in a text file (the header is its first non-blank line; a quoted field may
        span lines) or its 1-based row number in Parquet. Blank lines are skipped.

    Raises
    ------
    InputError
        If the file is empty, binary, a broken compressed stream, not UTF-8, has a row with
        more fields than the header or two columns of the same name.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"table not found: {path.resolve()}")
    ext, sep = _table_sep(path)
    text = [c for c in (id_column, *text_columns) if c]
    frame = _read_parquet(path, text) if sep is None else _read_delimited(path, sep, text)
    for c in text:
        if c in frame.columns:
            frame[c] = frame[c].str.strip().replace("", np.nan)
    if sep is not None:  # blank lines
        frame = frame.dropna(how="all")
    frame.index.name = "line"
    return frame


def _read_parquet(path: Path, text: list[str]) -> pd.DataFrame:
    name = path.name
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head != b"PAR1":
        text_bytes(path, "Parquet file")  # names an empty, compressed or binary file
        raise InputError(f"{name} is not a Parquet file (it does not start with 'PAR1'; it "
                         "looks like text); give a text table a .csv or .tsv name.", file=name)
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow's errors share no base class worth naming
        raise InputError(f"{name}: cannot read it as Parquet ({err}); it may be truncated: "
                         "copy it again.", file=name) from None
    for c in text:
        if c in frame.columns:
            frame[c] = frame[c].astype("str").where(frame[c].notna())
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def _read_delimited(path: Path, sep: str, text: list[str]) -> pd.DataFrame:
    name = path.name
    data = text_bytes(path, "text table")
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise byte_error(data, err.start, name, "save it as UTF-8 (Excel: Save As 'CSV "
                             "UTF-8'; or iconv -f latin1 -t utf-8).") from None
    skipped = len(data) - len(data.lstrip(b"\n")) if data.startswith(b"\n") else 0
    data = data[skipped:]  # blank lines above the header; pandas would take one as header
    if not data or data.isspace():
        raise InputError(f"{name} holds only blank lines; give the table with its header.",
                         file=name)
    # the header and first row, decoded apart so pandas alone goes over the whole file
    head = data[:_nth_newline(data, 2)].decode("utf-8").split("\n")
    sep = _sniff_sep(head[0], sep, name)
    names = next(csv.reader([head[0]], delimiter=sep))
    _refuse_duplicate_names(names, name, skipped + 1)
    if _wide_row("\n".join(head), sep, len(names)):  # pandas would drop the extra fields
        raise _ragged(data, sep, len(names), name, skipped, None)
    na = {c: ([""] if c in text else _MISSING) for c in names}
    try:
        frame = pd.read_csv(io.BytesIO(data), sep=sep, dtype={c: "str" for c in text},
                            keep_default_na=False, na_values=na, skip_blank_lines=False,
                            index_col=False, decimal="," if sep == ";" else ".")
    except pd.errors.ParserError as err:
        raise _ragged(data, sep, len(names), name, skipped, err) from None
    frame.index = pd.Index(_row_lines(data, sep, len(frame)) + skipped)
    return frame


def _nth_newline(data: bytes, n: int) -> int:
    """Offset of the ``n``-th ``\\n`` in ``data`` (the end of the data if fewer)."""
    at = -1
    for _ in range(n):
        at = data.find(b"\n", at + 1)
        if at < 0:
            return len(data)
    return at


def _sniff_sep(header: str, sep: str, name: str) -> str:
    """The extension's separator, or the one the header line holds when it holds none."""
    if sep in header:
        return sep
    found = max((header.count(s), s) for s in _SEPS if s != sep)
    if not found[0]:
        return sep
    new = found[1]
    decimal = "; ',' read as the decimal mark" if new == ";" else ""
    fix = ({",": "name it .csv", "\t": "name it .tsv"}.get(new)
           or "save it comma-separated (.csv) or tab-separated (.tsv)")
    warnings.warn(f"{name}: the header line holds no {_SEPS[sep]} but {found[0]} "
                  f"{_SEPS[new]}(s); read it as {_SEPS[new]}-separated{decimal}. To read it "
                  f"without guessing, {fix}.", stacklevel=4)
    return new


def _refuse_duplicate_names(names: list[str], name: str, line: int) -> None:
    for c in dict.fromkeys(names):
        at = [i for i, n in enumerate(names, 1) if n == c]
        if c and len(at) > 1:
            raise InputError(f"{name} line {line}: column {c!r} appears {len(at)} times "
                             f"(columns {', '.join(map(str, at))}); rename or remove the "
                             "copies so that each column name is unique.", file=name, line=line)


def _row_lines(data: bytes, sep: str, n_rows: int) -> np.ndarray:
    """(n_rows,) int64: the 1-based line (in ``data``) where each row after the header starts.

    One row per line unless a quoted field spans lines; then the csv module counts them.
    """
    n_lines = data.count(b"\n") + (not data.endswith(b"\n"))
    if n_lines == n_rows + 1:
        return np.arange(2, n_rows + 2, dtype=np.int64)
    reader = csv.reader(io.StringIO(data.decode("utf-8")), delimiter=sep)
    next(reader)
    starts, last = [], reader.line_num
    for _ in reader:
        starts.append(last + 1)
        last = reader.line_num
    return np.asarray(starts[:n_rows], np.int64)


def _wide_row(body: str, sep: str, n_fields: int):
    """``(line, fields)`` of the first row with more than ``n_fields`` fields, or None."""
    reader = csv.reader(io.StringIO(body), delimiter=sep)
    next(reader)
    last = reader.line_num
    for row in reader:
        if len(row) > n_fields:
            return last + 1, len(row)
        last = reader.line_num
    return None


def _ragged(data: bytes, sep, n_fields, name, skipped, err) -> InputError:
    """The error for a row with more fields than the header (or pandas' ``err``)."""
    wide, label = _wide_row(data.decode("utf-8"), sep, n_fields), _SEPS[sep]
    if wide is None:
        return InputError(f"{name}: cannot read it as a {label}-separated table ({err}); "
                          "check its quotes and separators.", file=name)
    line, n = wide[0] + skipped, wide[1]
    return InputError(f"{name} line {line}: {n} fields where the header (line {skipped + 1}) "
                      f"has {n_fields}; put double quotes around a value that holds a {label}, "
                      "remove the extra fields, or name them in the header.",
                      file=name, line=line)
