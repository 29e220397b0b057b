"""The problems of one variants table, gathered and refused at once (:mod:`seqexpr.variant_files`).

Each check reports the rows it finds (file, line, variant, detail) and marks them done, so a
row is reported once, under its first problem; ``refuse_any`` raises one
:class:`~seqexpr._checks.InputError` counting each kind and naming the first of each with its fix.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from seqexpr._checks import IUPAC_DNA, InputError, option, unit, where

EMPTY_ALLELE = "-"  # as an empty cell: no bases (HGVS-like tables)
NOT_IUPAC = re.compile(f"[^{IUPAC_DNA}]")
SHOW = 3  # rows named besides the first of each kind
RNA_FIX = f"if they are RNA, read U as T ({option('rna', True)})"


def short(s: str, n: int = 20) -> str:
    """``s``, or its first ``n`` letters and its length when longer."""
    return s if len(s) <= n else f"{s[:n]}...({len(s)} nt)"


class Problems:
    """Bad rows of one variants table (plus the FASTA records it needs), refused at once."""

    def __init__(self, source: str, lines: np.ndarray, names: list[str]):
        self.source, self.lines, self.names = source, lines, names
        self.done = np.zeros(len(lines), bool)  # rows already reported (or not checkable)
        self.rows: list[dict] = []
        self.fixes: dict[str, str] = {}

    def add(self, kind: str, rows, details, fix: str) -> None:
        """Report variant rows ``rows`` (indices) with one detail each; later checks skip them."""
        for i, detail in zip(rows, details):
            self.record(kind, self.source, self.lines[i], self.names[i], detail, fix, "variant")
            self.done[i] = True

    def record(self, kind, source, line, name, detail, fix, noun="record") -> None:
        """Report one problem at ``source`` ``line`` (a FASTA record by default)."""
        self.rows.append({"id": name, "source": source, "line": int(line), "reason": kind,
                          "detail": detail, "noun": noun})
        self.fixes.setdefault(kind, fix)

    def todo(self) -> np.ndarray:
        return np.flatnonzero(~self.done)

    def empty(self, columns: dict[str, list[str]]) -> None:
        bad = [(i, [c for c, v in columns.items() if not v[i]]) for i in self.todo()]
        bad = [(i, cols) for i, cols in bad if cols]
        self.add("empty_cell", [i for i, _ in bad],
                 [f"empty cell in column{'s' if len(c) > 1 else ''} {', '.join(map(repr, c))}"
                  for _, c in bad], "fill in the cell or remove the row")

    def alphabet(self, columns: dict[str, list[str]], rna: bool, *, alleles: bool) -> None:
        rows, details, has_u = [], [], False
        for i in self.todo():
            for col, values in columns.items():
                v = values[i]
                if m := NOT_IUPAC.search(v):
                    n = len(NOT_IUPAC.findall(v, m.start()))
                    more = f" (and {n - 1} more)" if n > 1 else ""
                    rows.append(i)
                    details.append(f"{col} {short(v)!r}: character {m.group()!r} at position "
                                   f"{m.start() + 1}{more} is not IUPAC DNA ({IUPAC_DNA})")
                    has_u |= "U" in v
                    break
        empty = f" (an empty allele as {EMPTY_ALLELE!r} or an empty cell)" if alleles else ""
        fix = f"write bases as IUPAC DNA{empty}" + (f"; {RNA_FIX}" if has_u and not rna else "")
        self.add("invalid_char", rows, details, fix)

    def identical(self, ref: list[str], alt: list[str], cols: tuple[str, str]) -> None:
        rows = [i for i in self.todo() if ref[i] == alt[i]]
        self.add("identical", rows,
                 [f"{cols[0]} and {cols[1]} are the same ({short(ref[i])!r})" if ref[i] else
                  f"{cols[0]} and {cols[1]} are both empty" for i in rows],
                 "give the changed allele, or remove the row")

    def duplicates(self, ids: list[str]) -> None:
        first: dict[str, int] = {}
        rows, details = [], []
        for i, v in enumerate(ids):
            if v in first and not self.done[i]:
                rows.append(i)
                details.append(f"variant_id {v!r} is also at {unit(self.source)} "
                               f"{self.lines[first[v]]}")
            first.setdefault(v, i)
        self.add("duplicate_variant", rows, details,
                 "give each variant a unique variant_id, or remove the copy")

    def refuse_any(self) -> None:
        """Raise one :class:`InputError` for everything reported, if anything was."""
        if not self.rows:
            return
        problems = pd.DataFrame(self.rows)
        groups = problems.groupby("reason", sort=False)
        out = []
        if len(problems) > 1:
            out.append(f"{len(problems)} problems in the variant input ("
                       + ", ".join(f"{k}: {len(g)}" for k, g in groups)
                       + "); the first of each kind:")
        for kind, g in groups:
            first = g.iloc[0]
            msg = (f"{where(first['source'], first['line'])}, {first['noun']} "
                   f"'{first['id']}': {first['detail']}")
            if len(g) > 1:
                more = ", ".join(f"{unit(s)} {n} '{i}'"
                                 for i, s, n in g[["id", "source", "line"]].iloc[1:1 + SHOW]
                                 .to_numpy())
                etc = ", ..." if len(g) > 1 + SHOW else ""
                msg += f"; and {len(g) - 1} more with this problem ({more}{etc})"
            out.append(f"{msg}; {self.fixes[kind]}.")
        if len(problems) > 1:
            out.append(f"The full list ({len(problems)} problems, with file, line and reason) "
                       "is in this error's .problems.")
        first = problems.iloc[0]
        raise InputError("\n".join(out), file=first["source"], line=first["line"],
                         record=str(first["id"]), problems=problems.drop(columns="noun"),
                         fixes=self.fixes)
