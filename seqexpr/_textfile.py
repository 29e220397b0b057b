"""Turn an input file into clean UTF-8 text bytes, or say clearly why it cannot be.

What would otherwise surface as a raw library error (a truncated gzip, an Excel workbook named
``.csv``, UTF-16, a 0-byte file) becomes an :class:`InputError` naming the file and saying how
to fix it; ``seqexpr._readers`` parses the bytes.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
import zlib
from pathlib import Path

from seqexpr._checks import InputError

# Compressed streams recognised by their first bytes (not their name).
_STREAMS = {b"\x1f\x8b": ("gzip", gzip.decompress), b"BZh": ("bzip2", bz2.decompress),
            b"\xfd7zXZ\x00": ("xz", lzma.decompress)}
# Binary formats people hand over by mistake: first bytes -> what the file is.
_BINARY = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"%PDF": "a PDF file",
           b"PAR1": "a Parquet file", b"\x89HDF": "an HDF5 file", b"BAM\x01": "a BAM file",
           b"\xd0\xcf\x11\xe0": "an old Excel (.xls) or other Microsoft Office file",
           b"PK\x03\x04": "a zip archive", b"\x28\xb5\x2f\xfd": "a zstd-compressed file"}
_BOMS = [(b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")]


# -- raw bytes -----------------------------------------------------------------------------
def text_bytes(path: Path, what: str) -> bytes:
    """The content of a text input as UTF-8 bytes with ``\\n`` line ends.

    Decompresses gzip, bzip2 and xz (found by content) and a one-file zip named ``.zip``;
    drops a UTF-8 byte-order mark; decodes UTF-16/32 marked by one; turns CRLF and CR-only
    line ends into ``\\n``. Bytes that are not UTF-8 are left for the reader to judge.

    Parameters
    ----------
    path : Path
        An existing file.
    what : str
        What the file should be (``"FASTA file"``, ``"text table"``), for messages.

    Raises
    ------
    InputError
        If the file is empty, a truncated or corrupt compressed stream, a zip of several
        files, or binary (an Excel workbook, an image, UTF-16 without a byte-order mark...).
    """
    name = path.name
    data = path.read_bytes()
    if not data:
        raise InputError(f"{name} is empty (0 bytes); was it fully written or downloaded? "
                         f"Give the {what} with its content.", file=name)
    for magic, (kind, decompress) in _STREAMS.items():
        if data.startswith(magic):
            data = _decompress(data, decompress, kind, name)
            if not data:
                raise InputError(f"{name} is empty (0 bytes after {kind} decompression); "
                                 f"give the {what} with its content.", file=name)
            break
    else:
        if data.startswith(b"PK\x03\x04") and path.suffix.lower() == ".zip":
            data = _unzip(data, name)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                data = data.decode(codec).encode("utf-8")
            except UnicodeDecodeError as err:
                raise InputError(f"{name}: marked as {codec.upper()} but not valid {codec} "
                                 f"({err.reason}); save it as UTF-8 text.", file=name) from None
            break
    _refuse_binary(data, name, what)
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data


def _decompress(data: bytes, decompress, kind: str, name: str) -> bytes:
    try:
        return decompress(data)
    except EOFError:
        problem = "ends early (truncated or incomplete download?)"
    except (OSError, ValueError, zlib.error, lzma.LZMAError) as err:
        problem = ("ends early (truncated or incomplete download?)" if "end" in str(err)
                   else f"is corrupt ({err})")
    raise InputError(f"{name}: the {kind} stream {problem}; download or copy the file again "
                     f"(`{kind} -t {name}` tests it).", file=name)


def _unzip(data: bytes, name: str) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = [m for m in zf.namelist() if not m.endswith("/")]
            if len(members) == 1:
                return zf.read(members[0])
    except zipfile.BadZipFile as err:
        raise InputError(f"{name}: not a readable zip archive ({err}); copy it again.",
                         file=name) from None
    raise InputError(f"{name}: the zip archive holds {len(members)} files; unpack it and give "
                     "the one file.", file=name)


def _refuse_binary(data: bytes, name: str, what: str) -> None:
    kind = next((k for magic, k in _BINARY.items() if data.startswith(magic)), None)
    if kind == "a zip archive" and b"xl/" in data:
        kind = "an Excel workbook (.xlsx)"
    if kind is None and b"\x00" not in data:
        return
    if kind is not None and "Excel" in kind:
        fix = ("open it in Excel and save it as 'CSV UTF-8' (or in Python: "
               "pandas.read_excel(path).to_csv('table.csv', index=False)).")
    elif kind == "a Parquet file":
        fix = "name it .parquet."
    elif kind == "a zstd-compressed file":
        fix = f"decompress it first (zstd -d {name})."
    elif kind is None and abs(data[:200:2].count(0) - data[1:200:2].count(0)) > 40:
        # NUL in every other byte: ASCII text written as UTF-16
        kind, fix = "UTF-16 text without a byte-order mark", "save it as UTF-8 text."
    elif kind is None:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        kind, fix = f"binary (a NUL byte on line {line})", "is it the right file?"
    else:
        fix = "is it the right file?"
    raise InputError(f"{name} is {kind}, not a {what}; {fix}", file=name)


def byte_error(data: bytes, pos: int, name: str, fix: str) -> InputError:
    """An InputError naming the line and column of the non-UTF-8 byte at ``pos``."""
    line = data.count(b"\n", 0, pos) + 1
    col = pos - data.rfind(b"\n", 0, pos)
    return InputError(f"{name} line {line}: byte 0x{data[pos]:02X} at column {col} is not "
                      "UTF-8 (the file looks Latin-1 or Windows-1252 encoded); " + fix,
                      file=name, line=line)
