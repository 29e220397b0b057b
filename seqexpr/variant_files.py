"""Variant inputs: pairs of sequences, or VCF-style variants applied to FASTA references.

Both readers check every row before refusing, in this order, and raise one
:class:`~seqexpr._checks.InputError` counting each kind of problem and naming the first of each
(file, line, variant, fix; ``.file``/``.line``/``.record`` point at the first reported, and
``.problems`` lists them all): ``empty_cell``, ``bad_position``, ``invalid_char`` (not IUPAC
DNA), ``identical`` (ref equals alt), ``duplicate_variant`` (a variant_id used twice), then
against the FASTA ``unknown_id``, ``reference_duplicate_id``, ``reference_invalid_char``,
``out_of_range`` and ``ref_mismatch``. A row is reported once, under its first problem.

Kinds of change (the ``kind`` column):

* ``"SNV"``: same length, one base differs;
* ``"MNV"``: same length, several bases differ (anywhere, not necessarily adjacent);
* ``"insertion"`` / ``"deletion"``: the longer allele is the shorter one with one block of
  bases added (VCF's anchor base, shared by both alleles, does not count as a change);
* ``"indel"``: the length changes and so do bases around it (a "delins").
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from seqexpr._checks import IUPAC_DNA, InputError, unit
from seqexpr._readers import normalize, read_fasta, read_table
from seqexpr._variant_problems import EMPTY_ALLELE, NOT_IUPAC, RNA_FIX, Problems, short
from seqexpr.encode import ALPHABET, reverse_complement_str

PAIR_COLUMNS = ["variant_id", "ref_sequence", "alt_sequence"]
VARIANT_COLUMNS = ["id", "position", "ref", "alt"]
COLUMNS = ["variant_id", "id", "position", "ref", "alt", "kind", "ref_sequence", "alt_sequence",
           "line"]
KINDS = ("SNV", "MNV", "insertion", "deletion", "indel")

_POSITION = re.compile(r"\+?(\d+)(?:\.0*)?")  # "7", "+7"; "7.0" as Parquet floats write it
_SUGGEST = 5  # unknown ids for which near FASTA ids are looked up (difflib is slow on many)
_CONTEXT = 5  # reference bases shown on each side of a mismatch


# -- reading -------------------------------------------------------------------------------
def _read(path, required: list[str], optional: list[str], what: str):
    """The table (text columns as str, '' where empty) and its file name; refuse if it lacks
    a required column or holds no rows."""
    path = Path(path)
    tab = read_table(path, text_columns=required + optional)
    name = path.name
    missing = [c for c in required if c not in tab.columns]
    if missing:
        raise InputError(
            f"{name} line 1: no column {', '.join(map(repr, missing))}; its columns are "
            f"{list(map(str, tab.columns))}; a {what} table needs the columns "
            f"{', '.join(required)} (lower case; one row per variant).",
            file=name, line=1)
    if tab.empty:
        raise InputError(f"{name} holds a header but no rows; give one row per variant.",
                         file=name)
    for c in required + optional:
        if c in tab.columns:
            tab[c] = tab[c].fillna("")
    return tab, name


def _bases(column: pd.Series, rna: bool, *, alleles: bool = False) -> list[str]:
    """Upper case, U as T if ``rna``; with ``alleles``, ``EMPTY_ALLELE`` as ''."""
    seqs = normalize(column.tolist(), rna)[0]
    return ["" if s == EMPTY_ALLELE else s for s in seqs] if alleles else seqs


def read_pairs(path: str | os.PathLike, *, rna: bool = False) -> pd.DataFrame:
    """Read a table of variants given as whole reference and alternative sequences.

    Parameters
    ----------
    path : str or PathLike
        CSV, TSV (optionally compressed) or Parquet (see ``seqexpr._readers.read_table``)
        with columns ``variant_id, ref_sequence, alt_sequence``; further columns are ignored.
        Any edit is allowed: substitutions, insertions, deletions, several at once.
    rna : bool
        Read ``U`` as ``T``; without it a ``U`` is refused with a hint to pass it.

    Returns
    -------
    pandas.DataFrame
        Columns ``variant_id`` (str), ``ref_sequence`` and ``alt_sequence`` (str, upper-case
        IUPAC DNA), ``kind`` (one of :data:`KINDS`, see the module docstring) and ``line``
        (int64, the row's 1-based line; its row in Parquet); rows in file order.
        ``attrs["source"]`` is the file name.

    Raises
    ------
    InputError
        If a column is missing or there are no rows; else for the rows that fail the checks
        (module docstring).
    """
    tab, name = _read(path, PAIR_COLUMNS, [], "pairs")
    vid = tab["variant_id"].tolist()
    ref, alt = _bases(tab["ref_sequence"], rna), _bases(tab["alt_sequence"], rna)
    lines = tab.index.to_numpy(np.int64)
    found = Problems(name, lines, [v or f"(no variant_id, {unit(name)} {n})"
                                    for v, n in zip(vid, lines)])
    found.empty({"variant_id": vid, "ref_sequence": ref, "alt_sequence": alt})
    found.alphabet({"ref_sequence": ref, "alt_sequence": alt}, rna, alleles=False)
    found.identical(ref, alt, ("ref_sequence", "alt_sequence"))
    found.duplicates(vid)
    found.refuse_any()
    frame = pd.DataFrame({"variant_id": vid, "ref_sequence": ref, "alt_sequence": alt,
                          "kind": [variant_kind(r, a) for r, a in zip(ref, alt)],
                          "line": lines})
    frame.attrs["source"] = name
    return frame


def read_variants(fasta, variants: str | os.PathLike, *, rna: bool = False) -> pd.DataFrame:
    """Read VCF-style variants and apply each to its FASTA reference.

    Coordinates follow VCF: ``position`` is the 1-based position, on the FASTA record's + strand,
    of the first base of ``ref``, and ``ref`` must equal the reference there. An indel carries
    the anchor base before it: ``position 5, ref "A", alt "ATT"`` inserts ``TT`` after base 5,
    ``ref "ATT", alt "A"`` deletes bases 6-7. An empty allele, written ``"-"`` or as an empty
    cell (HGVS-like tables), holds no bases: ``position 5, ref "-", alt "TT"`` inserts ``TT``
    before base 5 (``position`` may then be the record's length + 1, to append), and
    ``ref "TT", alt "-"`` deletes bases 5-6. Both cases follow one rule::

        alt_sequence = reference[:position - 1] + alt + reference[position - 1 + len(ref):]

    Each variant is applied to its reference alone: several variants on one record give
    several alternative sequences, never one that combines them.

    Parameters
    ----------
    fasta : str, PathLike or pandas.DataFrame
        The reference sequences: a FASTA file (see ``seqexpr._readers.read_fasta``), or records
        already read, with ``id, sequence, line`` columns and the source's name in
        ``attrs["source"]`` (e.g. a run's sequences); records that no variant names are not
        checked.
    variants : str or PathLike
        CSV, TSV (optionally compressed) or Parquet table with columns ``id`` (a FASTA record's
        id), ``position``, ``ref``, ``alt`` and optionally ``variant_id``; an empty or missing
        ``variant_id`` is built as ``"{id}:{position}{ref}>{alt}"`` (``-`` for an empty
        allele). Further columns are ignored.
    rna : bool
        Read ``U`` as ``T`` in alleles and references; without it a ``U`` is refused.

    Returns
    -------
    pandas.DataFrame
        One row per variant, in file order: ``variant_id``, ``id`` (str), ``position``
        (int64), ``ref``, ``alt`` (str, upper case; ``""`` for an empty allele), ``kind`` (one
        of :data:`KINDS`), ``ref_sequence``, ``alt_sequence`` (str) and ``line`` (int64, the
        row's 1-based line; its row in Parquet). ``attrs["source"]`` is the table's name.

    Raises
    ------
    InputError
        If a column is missing or there are no rows; else for the rows that fail the checks
        (module docstring), or the FASTA records they need.
    """
    tab, name = _read(variants, VARIANT_COLUMNS, ["variant_id"], "variants")
    ids, raw_pos = tab["id"].tolist(), tab["position"].tolist()
    ref, alt = (_bases(tab[c], rna, alleles=True) for c in ("ref", "alt"))
    pos = np.array([_position(p) for p in raw_pos], np.int64)
    built = [f"{i}:{p if p > 0 else raw}{r or EMPTY_ALLELE}>{a or EMPTY_ALLELE}"
             for i, p, raw, r, a in zip(ids, pos, raw_pos, ref, alt)]
    given = tab["variant_id"].tolist() if "variant_id" in tab else built
    vid = [g or b for g, b in zip(given, built)]
    lines = tab.index.to_numpy(np.int64)
    found = Problems(name, lines, vid)
    found.empty({"id": ids, "position": raw_pos})
    bad = [i for i in found.todo() if pos[i] < 1]
    found.add("bad_position", bad,
              [f"position {raw_pos[i]!r} is not a positive whole number"
               + (" (positions are 1-based: the first base is 1)" if pos[i] == 0 else "")
               for i in bad],
              "give the 1-based position of the first ref base on the FASTA record")
    found.alphabet({"ref": ref, "alt": alt}, rna, alleles=True)
    found.identical(ref, alt, ("ref", "alt"))
    found.duplicates(vid)
    refs = _references(fasta if isinstance(fasta, pd.DataFrame) else read_fasta(fasta, rna=rna),
                       ids, found)
    _match(found, ids, pos, ref, refs)
    found.refuse_any()
    seqs = [refs[i] for i in ids]
    frame = pd.DataFrame({
        "variant_id": vid, "id": ids, "position": pos, "ref": ref, "alt": alt,
        "kind": [variant_kind(r, a) for r, a in zip(ref, alt)], "ref_sequence": seqs,
        "alt_sequence": [s[:p - 1] + a + s[p - 1 + len(r):]
                         for s, p, r, a in zip(seqs, pos.tolist(), ref, alt)],
        "line": lines})
    frame.attrs["source"] = name
    return frame


def read_either(path: str | os.PathLike, references, *, rna: bool = False) -> pd.DataFrame:
    """A pairs table (:func:`read_pairs`, told by its ``ref_sequence`` column) or VCF-style
    variants of ``references`` (:func:`read_variants`)."""
    if "ref_sequence" in read_table(path).columns:
        return read_pairs(path, rna=rna)
    return read_variants(references, path, rna=rna)


def _position(text: str) -> int:
    """The whole number ``text`` holds, -1 if none."""
    m = _POSITION.fullmatch(text)
    return int(m.group(1)) if m else -1


def _references(fa: pd.DataFrame, ids: list[str], found: Problems) -> dict[str, str]:
    """The sequence of each FASTA record the unreported rows name, reporting unknown ids and
    broken records (whose rows are then skipped: the record is what to fix)."""
    src, all_ids = fa.attrs["source"], fa["id"].unique().tolist()
    known = set(all_ids)
    unknown = [i for i in found.todo() if ids[i] not in known]
    near = {}  # difflib is slow on large FASTAs: near ids for the first few unknown ids only
    for rid in list(dict.fromkeys(ids[i] for i in unknown))[:_SUGGEST]:
        close = difflib.get_close_matches(rid, all_ids, n=3)
        near[rid] = f"; near ids: {', '.join(map(repr, close))}" if close else ""
    found.add("unknown_id", unknown,
              [f"id {ids[i]!r} is not in {src} ({len(fa)} records{near.get(ids[i], '')})"
               for i in unknown], "give the id of a FASTA record (the first word of its header)")
    needed = fa[fa["id"].isin({ids[i] for i in found.todo()})]
    first = needed.drop_duplicates("id")
    seqs, at = dict(zip(first["id"], first["sequence"])), dict(zip(first["id"], first["line"]))
    other = needed[needed["sequence"].to_numpy() != needed["id"].map(seqs).to_numpy()]
    for rid, lines in other.groupby("id", sort=False)["line"]:
        found.record("reference_duplicate_id", src, at[rid], rid,
                     f"the id appears at lines {', '.join(map(str, [at[rid], *lines]))} with "
                     "different sequences; cannot tell which one the variants refer to",
                     "give each FASTA record a unique id, or delete the wrong copy")
    broken = set(other["id"])
    invalid = {rid: m for rid, s in seqs.items()
               if rid not in broken and (m := NOT_IUPAC.search(s))}
    has_u = any(m.group() == "U" for m in invalid.values())
    for rid, m in invalid.items():
        found.record("reference_invalid_char", src, at[rid], rid,
                     f"character {m.group()!r} at position {m.start() + 1} is not IUPAC DNA "
                     f"({IUPAC_DNA})", f"fix the FASTA record; {RNA_FIX}" if has_u else
                     "fix the FASTA record")
    broken |= set(invalid)
    found.done |= np.isin(ids, list(broken))
    return {k: v for k, v in seqs.items() if k not in broken}


def _match(found: Problems, ids, pos, ref, refs) -> None:
    """Report variants running past their reference's end or whose ref it does not read."""
    long, long_details, bad, details = [], [], [], []
    shifted = flipped = 0
    for i in found.todo():
        seq, p, r = refs[ids[i]], int(pos[i]), ref[i]
        a, b = p - 1, p - 1 + len(r)
        if b > len(seq):
            long.append(i)
            long_details.append(
                f"ref {short(r)!r} at {p}-{b} runs past the end of the reference '{ids[i]}' "
                f"({len(seq)} nt)" if r else
                f"position {p} is past the end of the reference '{ids[i]}' ({len(seq)} nt; an "
                f"empty ref inserts before positions 1 to {len(seq) + 1})")
        elif seq[a:b] != r:
            bad.append(i)
            ctx = (f"{'...' if a > _CONTEXT else ''}{seq[max(a - _CONTEXT, 0):a]}"
                   f"[{short(seq[a:b])}]{seq[b:b + _CONTEXT]}"
                   f"{'...' if b + _CONTEXT < len(seq) else ''}")
            details.append(f"ref {short(r)!r} does not match the reference '{ids[i]}' at "
                           f"{p}-{b}, which reads {short(seq[a:b])!r} (context {ctx})")
            shifted += seq[a + 1:b + 1] == r
            flipped += seq[a:b] == reverse_complement_str(r)
    found.add("out_of_range", long, long_details,
              "check the position and ref against the FASTA record (positions are 1-based "
              "from its first base)")
    fix = "check the coordinates are 1-based and on the + strand of the FASTA record"
    # a systematic cause shows in most mismatches; one or two may agree by chance
    if len(bad) >= 3 and 2 * shifted >= len(bad):
        fix += (f" ({shifted} of the {len(bad)} mismatched ref alleles match one base later: "
                "are the positions 0-based?)")
    if len(bad) >= 3 and 2 * flipped >= len(bad):
        fix += (f" ({flipped} of the {len(bad)} mismatched ref alleles match the reverse "
                "complement: are the alleles on the - strand?)")
    found.add("ref_mismatch", bad, details, fix)


# -- kinds and saturation ------------------------------------------------------------------
def variant_kind(ref: str, alt: str) -> str:
    """The kind of change from ``ref`` to ``alt``: one of :data:`KINDS`, or ``"identical"``.

    Works on alleles and on whole sequences alike (upper-case IUPAC DNA); see the module
    docstring for the kinds.
    """
    a, b = (np.frombuffer(s.encode("ascii", "replace"), np.uint8) for s in (ref, alt))
    if a.size == b.size:
        n = int(np.count_nonzero(a != b))
        return "identical" if n == 0 else "SNV" if n == 1 else "MNV"
    short, long = (a, b) if a.size < b.size else (b, a)
    k = short.size
    # pure when the shorter one is the longer one's head and tail, one block cut out between
    if _same_run(short, long[:k]) + _same_run(short[::-1], long[::-1][:k]) >= k:
        return "insertion" if b.size > a.size else "deletion"
    return "indel"


def _same_run(x: np.ndarray, y: np.ndarray) -> int:
    """How many leading elements ``x`` and ``y`` (same length) share."""
    diff = np.flatnonzero(x != y)
    return int(diff[0]) if diff.size else int(x.size)


def saturation_variants(seq_id: str, sequence: str, *, positions=None) -> pd.DataFrame:
    """Every single-base change of ``sequence``: three per position, as :func:`read_variants`.

    Positions whose base is not A, C, G or T (N and other IUPAC codes) are skipped: no
    alternative of an unknown base is a defined change. They are listed, 1-based, in
    ``frame.attrs["skipped"]`` for the caller to report.

    Parameters
    ----------
    seq_id : str
        Names the sequence in ``id`` and ``variant_id`` (``"{seq_id}:{position}{ref}>{alt}"``).
    sequence : str
        Checked IUPAC DNA; lower case is read as upper.
    positions : iterable of int, optional
        1-based positions to mutate (duplicates ignored); every position when omitted.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`, 3 rows per A/C/G/T position, ordered by position, then alt
        in ACGT order; ``kind`` is ``"SNV"``, ``line`` is missing (``Int64`` ``<NA>``).

    Raises
    ------
    ValueError
        If a position is outside 1 to the sequence's length.
    """
    seq = str(sequence).upper()
    n = len(seq)
    pos = np.arange(1, n + 1) if positions is None else np.unique(np.asarray(
        list(positions), np.int64))
    outside = pos[(pos < 1) | (pos > n)]
    if outside.size:
        raise ValueError(f"{seq_id}: position {outside[0]} is outside the sequence (1-{n}); "
                         "positions are 1-based.")
    codes = np.frombuffer(seq.encode("ascii", "replace"), np.uint8)
    acgt = np.frombuffer(ALPHABET.encode(), np.uint8)
    base = codes[pos - 1]
    known = np.isin(base, acgt)
    kept, base = pos[known], base[known]
    alts = np.broadcast_to(acgt, (kept.size, 4))
    alts = alts[alts != base[:, None]].reshape(-1, 3)  # (m, 3) the other bases, ACGT order
    p = np.repeat(kept, 3).tolist()
    r = [chr(c) for c in np.repeat(base, 3)]
    a = [chr(c) for c in alts.ravel()]
    frame = pd.DataFrame({
        "variant_id": [f"{seq_id}:{x}{y}>{z}" for x, y, z in zip(p, r, a)],
        "id": seq_id, "position": np.asarray(p, np.int64), "ref": r, "alt": a, "kind": "SNV",
        "ref_sequence": seq, "alt_sequence": [seq[:x - 1] + z + seq[x:] for x, z in zip(p, a)],
        "line": pd.array([pd.NA] * len(p), dtype="Int64")}, columns=COLUMNS)
    frame.attrs["skipped"] = pos[~known].tolist()
    return frame
