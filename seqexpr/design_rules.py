"""The hard constraints of sequence design, and the checks of its options and starts.

What a design may not do: change a fixed position, contain an avoided site on either strand,
leave the GC range, or differ from its start at more than ``max_edits`` bases. Sites are IUPAC
strings matched as (k, 4) masks of allowed bases on uint8 code arrays (0-3 = A, C, G, T), so
a whole batch of candidates is checked at once.
"""

from __future__ import annotations

import math

import numpy as np

from seqexpr._checks import InputError
from seqexpr.encode import ALPHABET, BASE_CODE, IUPAC_BASES

__all__ = ["GOALS", "Rules", "as_list", "check_options", "check_start", "has_site",
           "parse_fixed", "parse_goal", "site_masks", "start_ids_of"]

GOALS = {"maximize": "maximize", "maximise": "maximize", "max": "maximize",
         "minimize": "minimize", "minimise": "minimize", "min": "minimize"}
GC = np.array([False, True, True, False])  # code -> is G or C


def as_list(x) -> list:
    """One option value or a sequence of them, as a list."""
    return [x] if isinstance(x, (str, int, np.integer)) else list(x)


def start_ids_of(starts, start_ids) -> list[str]:
    """One unique id per start: ``start_ids`` checked, or ``start1``, ``start2``, ..."""
    n = len(as_list(starts))
    ids = [f"start{i + 1}" for i in range(n)] if start_ids is None else \
        [str(i) for i in as_list(start_ids)]
    if not n or len(ids) != n:
        raise ValueError(f"got {n} start(s) and {len(ids)} id(s): pass at least one start "
                         "and one id per start.")
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"start ids must be unique (the design ids derive from them); "
                         f"repeated: {dup[:5]}.")
    return ids


def parse_goal(goal) -> tuple[str, float | None]:
    """``("maximize", None)``, ``("minimize", None)`` or ``("value", v)`` from a goal option."""
    if isinstance(goal, str) and goal.strip().lower() in GOALS:
        return GOALS[goal.strip().lower()], None
    try:
        value = float(goal) if not isinstance(goal, bool) else math.nan
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"goal {goal!r} is not understood: pass 'maximize', 'minimize' or a "
                         "finite number to reach (on the model's modelled scale).")
    return "value", value


def parse_fixed(fixed, length: int, start_id: str = "start") -> np.ndarray:
    """(length,) bool mask of the positions that must not change.

    ``fixed`` holds 1-based inclusive positions: ints, ``(start, end)`` tuples, or strings
    ``"57"`` and ``"1-20"`` (a string may list several, comma-separated). A bare tuple is a
    list of entries, so ``(30, 35)`` means positions 30 and 35; one range is ``[(30, 35)]``.
    """
    mask = np.zeros(length, bool)
    for item in as_list(fixed):
        parts = item.split(",") if isinstance(item, str) else [item]
        for part in parts:
            lo, hi = _range(part)
            if not 1 <= lo <= hi <= length:
                raise ValueError(
                    f"fixed positions {lo}-{hi} do not fit start {start_id!r} ({length} nt): "
                    f"positions are 1-based and inclusive, from 1 to {length}; fix the range "
                    "or drop the start.")
            mask[lo - 1:hi] = True
    return mask


def _range(part) -> tuple[int, int]:
    try:
        if isinstance(part, str):
            a, _, b = part.strip().partition("-")
            lo, hi = int(a), int(b or a)
        elif isinstance(part, (tuple, list)) and len(part) == 2:
            lo, hi = (int(v) for v in part)
        elif isinstance(part, (int, np.integer)) and not isinstance(part, bool):
            lo = hi = int(part)
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"fixed entry {part!r} is not a position: write 1-based positions as "
                         "'57' or inclusive ranges as '1-20' (or ints and (start, end) "
                         "tuples).") from None
    if lo > hi:
        raise ValueError(f"fixed range {part!r} ends before it starts; write it as '{hi}-{lo}'.")
    return lo, hi


def site_masks(site: str, what: str) -> np.ndarray:
    """(k, 4) bool: which bases each position of an IUPAC ``site`` allows."""
    s = str(site).strip().upper()
    bad = sorted({c for c in s if c not in IUPAC_BASES})
    if not s or bad:
        raise ValueError(f"{what} {site!r} is not an IUPAC DNA string (bad letters: {bad}); "
                         f"use the letters {''.join(IUPAC_BASES)}.")
    return np.array([[b in IUPAC_BASES[c] for b in ALPHABET] for c in s])


def has_site(codes: np.ndarray, masks: list[np.ndarray]) -> np.ndarray:
    """(n,) bool: which rows of ``codes`` ((n, L) uint8, 0-3) contain any site of ``masks``."""
    n, length = codes.shape
    found = np.zeros(n, bool)
    for mask in masks:
        k = len(mask)
        if k > length:
            continue
        hit = np.ones((n, length - k + 1), bool)
        for i in range(k):  # one pass per site position, over the whole batch at once
            hit &= mask[i][codes[:, i:length - k + 1 + i]]
        found |= hit.any(axis=1)
    return found


class Rules:
    """The hard constraints, checked on whole batches of candidates.

    ``avoid`` holds the masks of each avoided site and of its reverse complement (once for a
    palindrome), ``avoid_names`` a label for each.
    """

    def __init__(self, avoid, gc_range, max_edits):
        self.avoid, self.avoid_names = [], []
        for site in avoid:
            mask = site_masks(site, "avoid site")
            rc = mask[::-1, ::-1]  # reverse the positions, complement by reversing ACGT
            self.avoid.append(mask)
            self.avoid_names.append(str(site).upper())
            if not np.array_equal(mask, rc):
                self.avoid.append(rc)
                self.avoid_names.append(f"{str(site).upper()} (on the reverse strand)")
        self.gc_range = gc_range
        self.max_edits = max_edits

    def allow(self, seq: str) -> bool:
        """Whether ``seq`` can start a design: A/C/G/T only, no avoided site, GC in range."""
        codes = BASE_CODE[np.frombuffer(str(seq).upper().encode("ascii", "replace"), np.uint8)]
        return bool(len(codes)) and codes.max() <= 3 and not self.broken(codes[None])[0]

    def broken(self, codes: np.ndarray) -> np.ndarray:
        """(n,) bool: rows that contain an avoided site or lie outside the GC range."""
        bad = has_site(codes, self.avoid)
        if self.gc_range is not None:
            gc = GC[codes].mean(axis=1)
            bad |= (gc < self.gc_range[0]) | (gc > self.gc_range[1])
        return bad


def check_options(goal, target, n_designs, steps, max_edits, beam, gc_range, disagreement,
                  max_candidates) -> tuple[str, float | None, tuple[float, float] | None]:
    """Refuse an option :func:`seqexpr.design.design` cannot use; return the goal's kind and
    value (:func:`parse_goal`) and the GC range as floats."""
    kind, value = parse_goal(goal)
    if not isinstance(target, (int, np.integer)) or isinstance(target, bool) or target < 0:
        raise ValueError(f"target must be a column index (0, 1, ...), got {target!r}.")
    for name, v, least in (("n_designs", n_designs, 1), ("steps", steps, 1),
                           ("max_edits", max_edits, 1), ("beam", beam, 1),
                           ("max_candidates", max_candidates, 1)):
        if v is not None and (not isinstance(v, (int, np.integer)) or v < least):
            raise ValueError(f"{name} must be a whole number of at least {least}, got {v!r}.")
    if n_designs > beam:
        raise ValueError(f"n_designs ({n_designs}) is larger than the beam ({beam}): the "
                         "designs are the best sequences the beam kept; raise beam to at least "
                         "n_designs or ask for fewer designs.")
    if isinstance(disagreement, bool) or not (
            isinstance(disagreement, (int, float, np.number)) and disagreement >= 0):
        raise ValueError(f"disagreement must be a number >= 0 (the weight of the member SD in "
                         f"the objective; 0 turns the penalty off), got {disagreement!r}.")
    if gc_range is not None:
        lo, hi = (float(v) for v in gc_range)
        if not 0 <= lo <= hi <= 1:
            raise ValueError(f"gc_range {tuple(gc_range)} must be two fractions with "
                             "0 <= low <= high <= 1, e.g. (0.4, 0.6).")
        gc_range = (lo, hi)
    return kind, value, gc_range


def check_start(seq: str, sid: str, rules: Rules, fixed) -> tuple[np.ndarray, np.ndarray]:
    """Codes and fixed mask of one start, refused when it is not plain DNA or breaks a rule."""
    raw = np.frombuffer(str(seq).upper().encode("ascii", "replace"), np.uint8)
    codes = BASE_CODE[raw]
    odd = np.flatnonzero((codes > 3) | (raw == ord("U")))
    if not len(raw) or len(odd):
        where = (f"{chr(raw[odd[0]])!r} at position {odd[0] + 1}" if len(odd) else "no bases")
        raise InputError(f"start {sid!r} has {where}: design needs starts of A/C/G/T only; "
                         "replace the ambiguous bases or drop the start.", record=sid)
    found = [n for n, m in zip(rules.avoid_names, rules.avoid) if has_site(codes[None], [m])[0]]
    if found:
        raise InputError(f"start {sid!r} already contains the avoided site {found[0]}: drop the "
                         "start, remove the site from it, or change the avoid option.",
                         record=sid)
    if rules.gc_range is not None and rules.broken(codes[None])[0]:
        raise InputError(f"start {sid!r} has GC {GC[codes].mean():.3f}, outside gc_range "
                         f"{rules.gc_range}: drop the start or widen gc_range.", record=sid)
    return codes, parse_fixed(fixed, len(codes), sid)
