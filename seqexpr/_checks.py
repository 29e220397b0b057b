"""Checks behind ``seqexpr.io.load``: each finds one kind of problem and either fails or drops.

Every check takes a frame with ``id`` and ``LINE`` columns (plus what it inspects) and returns
the rows it keeps and a frame of dropped rows (``id, source, line, reason, detail``). When the
policy for its kind is ``"fail"`` it raises :class:`InputError` naming the file, the first
records, their lines, and how to fix them instead.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from seqexpr.encode import IUPAC_BASES

DROPPED_COLUMNS = ["id", "source", "line", "reason", "detail"]

#: Default policy: fail on what cannot be fixed, drop what is routine.
DEFAULT_POLICY = {
    "duplicate_id": "fail",  # same id, different content (identical copies are always merged)
    "invalid_char": "fail",
    "empty": "drop",
    "missing_id": "drop",  # a table row with an empty id cell
    "missing_in_table": "drop",
    "missing_in_fasta": "drop",
    "missing_target": "drop",
    "nonnumeric_target": "fail",
    "infinite_target": "drop",
}

IUPAC_DNA = "".join(IUPAC_BASES)  # "ACGTRYSWKMBDHVN"
LINE = "__line__"  # working column holding each record's 1-based line (header or table row)
_SHOW = 3  # records named in an error message besides the count


class InputError(ValueError):
    """Malformed input; ``.file``, ``.line`` (1-based) and ``.record`` point at the first case."""

    def __init__(self, message: str, *, file=None, line=None, record=None):
        super().__init__(message)
        self.file = file
        self.line = None if line is None or pd.isna(line) else int(line)
        self.record = record


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
                       for c in DROPPED_COLUMNS})


def empty_dropped() -> pd.DataFrame:
    """A dropped-records frame without rows: ``id, source, line, reason, detail``."""
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
    """Fail on, or drop, the rows of ``frame`` where ``bad`` (n,) bool is true.

    ``details`` is one string per bad row (or one for all); ``fix`` the advice in the error.
    Returns the kept rows and the dropped-rows frame.
    """
    bad = np.asarray(bad, bool)
    if not bad.any():
        return frame, empty_dropped()
    dropped = report(kind, frame, bad, details, source=source, policy=policy, fix=fix)
    return frame.loc[~bad], dropped


def report(kind: str, frame: pd.DataFrame, bad: np.ndarray, details, *, source: str,
           policy: dict, fix: str | None = None) -> pd.DataFrame:
    """Raise for ``bad`` rows if ``policy[kind]`` is ``"fail"``, else return their drop rows."""
    rows = frame.loc[bad, ["id", LINE]]
    details = [details] * len(rows) if isinstance(details, str) else list(details)
    if policy[kind] == "fail":
        raise problem(kind, source, rows["id"].tolist(), rows[LINE].tolist(), details, fix=fix)
    return pd.DataFrame({"id": rows["id"].astype("str").to_numpy(), "source": source,
                         "line": rows[LINE].astype("Int64").to_numpy(), "reason": kind,
                         "detail": details})


def problem(kind: str, source: str, ids, lines, details, *, fix: str | None = None) -> InputError:
    """An :class:`InputError` naming the first record, a few more, the count and the fix."""
    fix = fix or "fix the input"
    msg = f"{where(source, lines[0])}, record '{ids[0]}': {details[0]}"
    if len(ids) > 1:
        more = ", ".join(f"{unit(source)} {l} '{i}'" for i, l in
                         zip(ids[1:1 + _SHOW], lines[1:1 + _SHOW]))
        etc = ", ..." if len(ids) > 1 + _SHOW else ""
        msg += f"; and {len(ids) - 1} more record(s) with this problem ({more}{etc})"
    msg += f"; {fix} or pass policy={json.dumps({kind: 'drop'})}."
    return InputError(msg, file=source, line=lines[0], record=str(ids[0]))


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
    """Find characters outside IUPAC DNA (vectorized over all bases at once).

    ``frame["sequence"]`` must already be upper case with ``U`` turned into ``T`` if ``rna``;
    positions in the message are 1-based.
    """
    seqs = frame["sequence"].tolist()
    if not seqs:
        return frame, empty_dropped()
    joined = "".join(seqs)
    try:
        codes = np.frombuffer(joined.encode("ascii"), np.uint8)
        lut_ok = _VALID[codes]
    except UnicodeEncodeError:  # a non-ASCII character: work on code points instead
        codes = np.frombuffer(joined.encode("utf-32-le"), np.uint32)
        lut_ok = np.zeros(codes.size, bool)
        ascii_ = codes < 256
        lut_ok[ascii_] = _VALID[codes[ascii_]]
    bad_pos = np.flatnonzero(~lut_ok)
    if bad_pos.size == 0:
        return frame, empty_dropped()
    lengths = np.fromiter((len(s) for s in seqs), np.int64, len(seqs))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    rec = np.searchsorted(starts, bad_pos, side="right") - 1
    recs, first = np.unique(rec, return_index=True)
    bounds = list(first[1:]) + [rec.size]
    details, any_u = [], False
    for r, a, b in zip(recs, first, bounds):  # one iteration per bad record, not per base
        pos = bad_pos[a:b] - starts[r] + 1
        chars = [chr(c) for c in codes[bad_pos[a:b]]]
        any_u |= "U" in chars
        details.append(_invalid_detail(chars, pos))
    bad = np.zeros(len(seqs), bool)
    bad[recs] = True
    fix = "fix the sequence"
    if any_u and not rna:
        fix = "these look like RNA: pass rna=True to read U as T, or fix the sequence"
    return decide("invalid_char", frame, bad, details, source=source, policy=policy, fix=fix)


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
        rows = frame.loc[extra]
        dropped_extra = pd.DataFrame({
            "id": rows["id"].astype("str").to_numpy(), "source": source,
            "line": rows[LINE].astype("Int64").to_numpy(), "reason": "duplicate_id",
            "detail": details})
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
    """Turn target columns into float64, failing on or dropping text, infinity and NaN.

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
