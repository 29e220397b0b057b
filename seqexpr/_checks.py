"""Checks behind ``seqexpr.io.load``: each finds one kind of problem in a set of records.

Every check takes a frame with ``id`` and ``LINE`` columns (plus what it inspects) and returns
the rows it keeps and a frame of the rows it sets aside (``id, source, line, reason, detail``
and the working column ``FIX``). Set-aside rows go on to no later check. ``FIX`` holds the
advice on rows whose kind the policy fails on, and is empty on rows it drops: ``load`` runs
every check first, then refuses with one :class:`InputError` listing every problem
(:func:`refuse`), so that one run shows all there is to fix.
"""

from __future__ import annotations

import json
import re
import shlex

import numpy as np
import pandas as pd

from seqexpr.encode import IUPAC_BASES

DROPPED_COLUMNS = ["id", "source", "line", "reason", "detail"]

#: Default policy: fail on what cannot be fixed, drop what is routine.
DEFAULT_POLICY = {
    "duplicate_id": "fail",  # same id, different content (identical copies are always merged)
    "invalid_char": "fail",
    "empty": "drop",
    "length_outlier": "drop",  # far longer than the rest (see length_limit)
    "missing_id": "drop",  # a table row with an empty id cell
    "missing_in_table": "drop",
    "missing_in_fasta": "drop",
    "missing_target": "drop",
    "nonnumeric_target": "fail",
    "infinite_target": "drop",
}

IUPAC_DNA = "".join(IUPAC_BASES)  # "ACGTRYSWKMBDHVN"
LINE = "__line__"  # working column holding each record's 1-based line (header or table row)
FIX = "__fix__"  # working column of set-aside rows: the advice where the kind fails, else NaN
_SHOW = 3  # records named in an error message besides the first of each kind


class InputError(ValueError):
    """Malformed input; ``.file``, ``.line`` (1-based) and ``.record`` point at the first case.

    Raised by ``load`` after every check, it also carries ``.problems`` (every record that
    fails: ``id, source, line, reason, detail``), ``.dropped`` (those the policy drops) and
    ``.fixes`` (the advice per kind); elsewhere these are None.
    """

    def __init__(self, message: str, *, file=None, line=None, record=None, problems=None,
                 dropped=None, fixes=None):
        super().__init__(message)
        self.file = file
        self.line = None if line is None or pd.isna(line) else int(line)
        self.record = record
        self.problems, self.dropped, self.fixes = problems, dropped, fixes


# -- advice --------------------------------------------------------------------------------
# notebook parameters that `python -m seqexpr run` has a flag for (io.load's `targets` is the
# notebooks' `target`)
_FLAGS = {"id_column": "--id-column", "sequence_column": "--sequence-column",
          "targets": "--target", "target": "--target", "group_column": "--group-column",
          "split_column": "--split-column", "replicate_columns": "--replicate-columns",
          "seed": "--seed", "ground_truth": "--ground-truth", "organism": "--organism"}


def option(name: str, value) -> str:
    """A parameter setting spelled for Python and for ``python -m seqexpr run``.

    Examples
    --------
    >>> option("rna", True)
    'rna=True (command line: --rna)'
    >>> option("split_method", "homology")
    'split_method="homology" (command line: -p split_method homology)'
    """
    return f"{name}={python_literal(value)} (command line: {command_line(name, value)})"


def python_literal(value) -> str:
    """``value`` as Python source, strings in double quotes (as JSON writes them)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{python_literal(k)}: {python_literal(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(python_literal, value)) + "]"
    return json.dumps(value) if isinstance(value, str) else repr(value)


def command_line(name: str, value) -> str:
    """The ``run`` arguments that set notebook parameter ``name`` to ``value``: its own flag
    where there is one, else ``-p NAME VALUE`` (VALUE read as JSON, or as plain text)."""
    if name == "rna" and value is True:
        return "--rna"
    flag = _FLAGS.get(name)
    if flag and isinstance(value, (str, int)) and not isinstance(value, bool):
        return f"{flag} {shlex.quote(str(value))}"
    if flag and isinstance(value, (list, tuple)) and value:
        return f"{flag} {' '.join(shlex.quote(str(v)) for v in value)}"
    text = json.dumps(value)
    if isinstance(value, str):
        try:
            json.loads(value)
        except json.JSONDecodeError:  # read back as plain text: no JSON quotes needed
            text = value
    return f"-p {name} {shlex.quote(text)}"


def resolve_policy(policy: dict | str | None) -> dict[str, str]:
    """Complete a policy dict (or one word for every kind) with the defaults; check its values."""
    if policy is None:
        return dict(DEFAULT_POLICY)
    if isinstance(policy, str):
        policy = {k: policy for k in DEFAULT_POLICY}
    unknown = sorted(set(policy) - set(DEFAULT_POLICY))
    if unknown:
        raise ValueError(f"unknown policy kind(s) {unknown}; known kinds: {sorted(DEFAULT_POLICY)}")
    bad = {k: v for k, v in policy.items() if v not in ("fail", "drop")}
    if bad:
        raise ValueError(f"policy values must be 'fail' or 'drop', got {bad}")
    return {**DEFAULT_POLICY, **policy}


_EMPTY = pd.DataFrame({c: pd.Series(dtype="Int64" if c == "line" else "str")
                       for c in DROPPED_COLUMNS} | {FIX: pd.Series(dtype="object")})


def empty_dropped() -> pd.DataFrame:
    """A set-aside frame without rows: ``id, source, line, reason, detail`` and ``FIX``."""
    return _EMPTY.copy()


def unit(source: str) -> str:
    """How positions in ``source`` are counted: ``"row"`` in Parquet, else ``"line"``."""
    return "row" if str(source).lower().endswith((".parquet", ".pq")) else "line"


def where(source: str, line) -> str:
    """``'file line N'`` (text files) or ``'file row N'`` (Parquet)."""
    if line is None or pd.isna(line):
        return source
    return f"{source} {unit(source)} {int(line)}"


def decide(kind: str, frame: pd.DataFrame, bad: np.ndarray, details, *, source: str,
           policy: dict, fix: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Set aside the rows of ``frame`` where ``bad`` (n,) bool is true.

    ``details`` is one string per bad row (or one for all); ``fix`` the advice in the error
    when ``policy[kind]`` is ``"fail"``. Returns the kept rows and the set-aside frame.
    """
    bad = np.asarray(bad, bool)
    if not bad.any():
        return frame, empty_dropped()
    dropped = report(kind, frame, bad, details, source=source, policy=policy, fix=fix)
    return frame.loc[~bad], dropped


def report(kind: str, frame: pd.DataFrame, bad: np.ndarray, details, *, source: str,
           policy: dict, fix: str | None = None) -> pd.DataFrame:
    """The set-aside rows for ``bad``; ``FIX`` holds ``fix`` if ``policy[kind]`` is "fail"."""
    rows = frame.loc[bad, ["id", LINE]]
    details = [details] * len(rows) if isinstance(details, str) else list(details)
    return pd.DataFrame({"id": rows["id"].astype("str").to_numpy(), "source": source,
                         "line": rows[LINE].astype("Int64").to_numpy(), "reason": kind,
                         "detail": details,
                         FIX: (fix or "fix the input") if policy[kind] == "fail" else None})


def refuse(problems: pd.DataFrame, fixes: dict[str, str], dropped: pd.DataFrame | None = None,
           *, listed_in: str = "in this error's .problems") -> InputError:
    """One :class:`InputError` for every record that fails, grouped by kind in check order.

    The message counts each kind, names its first records with file and line and says how to
    fix them or drop them (in Python and on the command line), counts ``dropped`` (the rows the
    policy drops anyway) and says where the full list is (``listed_in``).
    """
    kinds = problems.groupby("reason", sort=False).size()
    lines = []
    if len(kinds) > 1:
        lines.append(f"{len(problems)} records fail the input checks ("
                     + ", ".join(f"{k}: {n}" for k, n in kinds.items())
                     + "); the first of each kind:")
    for kind, rows in problems.groupby("reason", sort=False):
        first = rows.iloc[0]
        msg = f"{where(first['source'], first['line'])}, record '{first['id']}': {first['detail']}"
        if len(rows) > 1:
            more = ", ".join(
                f"{unit(s) if s == first['source'] else s + ' ' + unit(s)} {l} '{i}'"
                for i, s, l in rows[["id", "source", "line"]].iloc[1:1 + _SHOW].to_numpy())
            etc = ", ..." if len(rows) > 1 + _SHOW else ""
            msg += f"; and {len(rows) - 1} more record(s) with this problem ({more}{etc})"
        lines.append(f"{msg}; {fixes[kind]}.")
    tail = f"Or drop such records: {option('policy', {k: 'drop' for k in kinds.index})}."
    if dropped is not None and len(dropped):
        counts = dropped.groupby("reason", sort=False).size()
        tail += (f" Besides, the policy drops {len(dropped)} record(s) ("
                 + ", ".join(f"{k}: {n}" for k, n in counts.items()) + ").")
    n_listed = len(problems) + (0 if dropped is None else len(dropped))
    lines.append(f"{tail} The full list ({n_listed} record(s), with file, line and reason) is "
                 f"{listed_in}.")
    first = problems.iloc[0]
    return InputError("\n".join(lines), file=first["source"], line=first["line"],
                      record=str(first["id"]), problems=problems, dropped=dropped, fixes=fixes)


def split_problems(aside: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Split set-aside rows into ``(problems, dropped, fixes)``: the rows whose kind fails, the
    rows dropped (both ``DROPPED_COLUMNS`` only, index reset) and the advice per failing kind."""
    fails = aside[FIX].notna().to_numpy()
    fixes = aside.loc[fails].groupby("reason", sort=False)[FIX].first().to_dict()
    return (aside.loc[fails, DROPPED_COLUMNS].reset_index(drop=True),
            aside.loc[~fails, DROPPED_COLUMNS].reset_index(drop=True), fixes)


# -- sequences -----------------------------------------------------------------------------
_VALID = np.zeros(256, bool)  # byte -> is an upper-case IUPAC DNA code
_VALID[np.frombuffer(IUPAC_DNA.encode(), np.uint8)] = True


def check_empty(frame, *, source, policy):
    """Drop (or fail on) records whose sequence is empty or missing."""
    seq = frame["sequence"]
    bad = (seq.isna() | (seq.fillna("").str.len() == 0)).to_numpy()
    return decide("empty", frame, bad, "the sequence is empty", source=source, policy=policy,
                  fix="remove the record or give it a sequence")


def check_alphabet(frame, *, source, policy, rna=False):
    """Find characters outside IUPAC DNA (vectorized over the bases of many records at once).

    ``frame["sequence"]`` must already be upper case with ``U`` turned into ``T`` if ``rna``;
    positions in the message are 1-based.
    """
    seqs = frame["sequence"].tolist()
    rec, pos, code = _invalid_bases(seqs)
    if rec.size == 0:
        return frame, empty_dropped()
    recs, first = np.unique(rec, return_index=True)
    bounds = list(first[1:]) + [rec.size]
    details, n_u, only_u = [], 0, True
    for a, b in zip(first, bounds):  # one iteration per bad record, not per base
        chars = [chr(c) for c in code[a:b]]
        n_u += "U" in chars
        only_u &= set(chars) == {"U"}
        details.append(_invalid_detail(chars, pos[a:b] + 1))
    bad = np.zeros(len(seqs), bool)
    bad[recs] = True
    fix = "fix the sequence"
    if n_u and not rna:
        rna_hint = f"read U as T with {option('rna', True)}"
        fix = (f"these look like RNA: {rna_hint}, or fix the sequence" if only_u else
               f"{n_u} of these records hold U: if the sequences are RNA, {rna_hint}; fix the "
               "other characters")
    return decide("invalid_char", frame, bad, details, source=source, policy=policy, fix=fix)


def _invalid_bases(seqs: list[str], chunk: int = 50_000
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every character of ``seqs`` outside IUPAC DNA: (record index, 0-based position, code
    point), in record then position order. Records are joined ``chunk`` at a time, so memory
    stays bounded however many there are."""
    found = []
    for lo in range(0, len(seqs), chunk):
        part = seqs[lo:lo + chunk]
        joined = "".join(part)
        try:
            codes = np.frombuffer(joined.encode("ascii"), np.uint8)
            ok = _VALID[codes]
        except UnicodeEncodeError:  # a non-ASCII character: work on code points instead
            codes = np.frombuffer(joined.encode("utf-32-le"), np.uint32)
            ok = np.zeros(codes.size, bool)
            ascii_ = codes < 256
            ok[ascii_] = _VALID[codes[ascii_]]
        at = np.flatnonzero(~ok)
        if at.size:
            lengths = np.fromiter((len(q) for q in part), np.int64, len(part))
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            r = np.searchsorted(starts, at, side="right") - 1
            found.append((r + lo, at - starts[r], codes[at].astype(np.int64)))
    if not found:
        return (np.zeros(0, np.int64),) * 3
    return tuple(np.concatenate(x) for x in zip(*found))


def _invalid_detail(chars: list[str], pos: np.ndarray) -> str:
    by_char: dict[str, list[int]] = {}
    for c, p in zip(chars, pos.tolist()):
        by_char.setdefault(c, []).append(p)
    parts = []
    for c, ps in list(by_char.items())[:5]:
        shown = ", ".join(map(str, ps[:5])) + (f" (+{len(ps) - 5} more)" if len(ps) > 5 else "")
        parts.append(f"character {c!r} at position{'s' if len(ps) > 1 else ''} {shown}")
    if len(by_char) > 5:
        parts.append(f"{len(by_char) - 5} more kinds of character")
    verb = "is" if len(pos) == 1 else "are"
    return f"{'; '.join(parts)} {verb} not IUPAC DNA ({IUPAC_DNA})"


def length_limit(lengths: np.ndarray) -> int:
    """The longest sequence (nt) accepted among ``lengths`` (n,) int: ten times the median, or
    the upper fence of a wide spread, ``Q3 * (Q3 / Q1) ** 3`` (Tukey's far-out fence, k = 3, on
    log lengths), whichever is larger.

    03_encode pads every sequence to the longest, so a sequence ten times the median makes the
    encoded arrays ten times their size, 90 % of it padding: a wrong record (a chromosome,
    records run together), not a measurement. The fence keeps libraries whose lengths truly
    vary (native UTRs, 50-2,000 nt): there the long ones belong to the spread.
    """
    q1, med, q3 = np.percentile(lengths, [25, 50, 75])
    return int(max(10 * med, q3 * (q3 / max(q1, 1.0)) ** 3))


def check_length(frame, *, source, policy, max_length=None):
    """Drop (or fail on) sequences longer than ``max_length`` nt (``length_limit`` if None)."""
    lengths = frame["sequence"].str.len().to_numpy()
    if not lengths.size:
        return frame, empty_dropped()
    limit = length_limit(lengths) if max_length is None else int(max_length)
    bad = lengths > limit
    med = float(np.median(lengths))
    details = [f"{n} nt; median {med:g} nt, limit {limit} nt" for n in lengths[bad]]
    fix = ("check the record (a chromosome? records run together?): 03_encode pads every "
           "sequence to the longest; to keep it, raise the limit with "
           f"{option('max_length', int(lengths.max(initial=0)))}")
    return decide("length_outlier", frame, bad, details, source=source, policy=policy, fix=fix)


# -- duplicates ----------------------------------------------------------------------------
def check_duplicates(frame, columns, *, source, policy, what="sequence"):
    """Merge identical copies of an id (dropping the extras) and fail on (or drop) conflicts.

    ``columns`` are the fields compared between copies; ``what`` names them in messages.
    """
    dup = frame["id"].duplicated(keep=False).to_numpy()
    if not dup.any():
        return frame, empty_dropped()
    sub = frame.loc[dup, ["id", LINE, *columns]]
    # copies count as identical when every compared column agrees (NaN equals NaN here)
    key = sub[columns].astype("str").agg("\x1f".join, axis=1) if columns else sub["id"]
    n_versions = key.groupby(sub["id"]).transform("nunique").to_numpy()
    first_line = sub.groupby("id")[LINE].transform("first")
    conflict = np.zeros(len(frame), bool)
    conflict[np.flatnonzero(dup)[n_versions > 1]] = True
    extra = np.zeros(len(frame), bool)
    extra[np.flatnonzero(dup)[(n_versions == 1) & sub["id"].duplicated().to_numpy()]] = True

    kept, dropped_extra = frame, empty_dropped()
    if extra.any():
        lines = first_line.to_numpy()[extra[dup]]
        details = [f"identical copy of the record at {where(source, l)}; kept that one"
                   for l in lines]
        dropped_extra = report("duplicate_id", frame, extra, details, source=source,
                               policy={"duplicate_id": "drop"})  # merged whatever the policy
        kept = frame.loc[~extra]
        conflict = conflict[~extra]
    if conflict.any():
        lines_by_id = sub.groupby("id")[LINE].agg(lambda s: ", ".join(map(str, s)))
        ids = kept.loc[conflict, "id"]
        details = [f"id appears at {unit(source)}s {lines_by_id[i]} with different {what}; "
                   "cannot tell which copy is right" for i in ids]
        kept, dropped_conf = decide(
            "duplicate_id", kept, conflict, details, source=source, policy=policy,
            fix="give each record a unique id or delete the wrong copies (drop removes every "
                "copy)")
        return kept, pd.concat([dropped_extra, dropped_conf], ignore_index=True)
    return kept, dropped_extra


# -- targets -------------------------------------------------------------------------------
_TARGET_FIX = {
    "nonnumeric_target": "correct the value (numbers only, '.' as the decimal point; leave the "
                         "cell empty for a missing value)",
    "infinite_target": "replace the value (a log of zero?)",
    "missing_target": "fill in the value",
}


def check_targets(frame, targets, *, source, policy):
    """Turn target columns into float64, setting aside rows with text, infinity or NaN.

    A row with several problems is reported once, under the first of: non-numeric text,
    infinite, missing.
    """
    raw = {t: frame[t] for t in targets}
    num = {t: pd.to_numeric(raw[t], errors="coerce").astype("float64").to_numpy()
           for t in targets}
    masks = {
        "nonnumeric_target": {t: raw[t].notna().to_numpy() & np.isnan(num[t]) for t in targets},
        "infinite_target": {t: np.isinf(num[t]) for t in targets},
        "missing_target": {t: raw[t].isna().to_numpy() for t in targets},
    }
    done = np.zeros(len(frame), bool)
    dropped = []
    for kind, m in masks.items():
        bad = np.logical_or.reduce(list(m.values())) & ~done
        if not bad.any():
            continue
        details = []
        for i in np.flatnonzero(bad):
            parts = []
            for t in targets:
                if not m[t][i]:
                    continue
                if kind == "nonnumeric_target":
                    v = str(raw[t].iloc[i])
                    hint = " (a decimal comma?)" if re.fullmatch(r"[-+]?\d+,\d+", v.strip()) else ""
                    parts.append(f"target {t!r} holds {v!r}, which is not a number{hint}")
                elif kind == "infinite_target":
                    parts.append(f"target {t!r} is {num[t][i]}")
                else:
                    parts.append(f"target {t!r} is missing (empty or NA)")
            details.append("; ".join(parts))
        dropped.append(report(kind, frame, bad, details, source=source, policy=policy,
                              fix=_TARGET_FIX[kind]))
        done |= bad
    frame = frame.assign(**num).loc[~done]
    return frame, (pd.concat(dropped, ignore_index=True) if dropped else empty_dropped())
