"""Ground truth of the demo dataset: which motif sites count, and the signal they give.

The truth is a function of the final sequence alone: every site of a motif that scores at or
above its threshold counts, planted or not (``scan_sites``); ``signal_from_sites`` turns the
sites and the GC fraction (:func:`seqexpr.composition.gc_content`) into the noise-free signal
by the formula written into the ground truth; ``true_signal`` does both for any sequences
(the oracle). ``seqexpr.demo`` generates the dataset and uses these to score it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqexpr.composition import gc_content
from seqexpr.encode import BASE_CODE

ALPHABET = "ACGT"
PSEUDO = 0.01  # per-base pseudocount of the log-odds scores, on probabilities


def log_odds(pwm) -> np.ndarray:
    """Log2-odds of a (w, 4) ACGT probability matrix against a uniform background, (w, 4)."""
    p = np.asarray(pwm, dtype=np.float64)
    return np.log2((p + PSEUDO) / (1 + 4 * PSEUDO) / 0.25)


def _codes(seqs) -> np.ndarray:
    """(n, L) uint8 codes 0-3 in ACGT order for equal-length DNA strings (``encode.BASE_CODE``:
    either case, U read as T); any other letter is an error, not a base the truth can score."""
    seqs = list(seqs)
    lengths = {len(s) for s in seqs}
    if len(lengths) != 1:
        raise ValueError(f"sequences must share one length, got lengths {sorted(lengths)[:5]}")
    arr = BASE_CODE[np.frombuffer("".join(seqs).encode("ascii"), np.uint8)].reshape(len(seqs), -1)
    if (arr > 3).any():
        raise ValueError("sequences must hold only A, C, G and T: the demo's truth scores no "
                         "other letter")
    return arr


def code_strings(codes: np.ndarray) -> list[str]:
    """The ACGT strings of (n, L) uint8 codes 0-3 (the inverse of ``_codes``)."""
    letters = np.frombuffer(ALPHABET.encode(), np.uint8)[codes]
    return [row.tobytes().decode("ascii") for row in letters]


# -- scanning --------------------------------------------------------------------------------------
def _block_scores(code4: np.ndarray, lo: np.ndarray, npos: int) -> np.ndarray:
    """(n, npos) float64 sums of ``lo`` (w, 4) over each window, via 256-entry block tables."""
    nblk = -(-len(lo) // 4)
    lo = np.concatenate([lo, np.zeros((4 * nblk - len(lo), 4))])
    b = np.arange(256)
    score = np.zeros((code4.shape[0], npos))
    for k in range(nblk):  # one look-up per block of 4 motif columns
        r = lo[4 * k:4 * k + 4]
        table = r[0][b // 64] + r[1][b // 16 % 4] + r[2][b // 4 % 4] + r[3][b % 4]
        score += table[code4[:, 4 * k:4 * k + npos]]  # uint8 index: fastest look-up
    return score


def _local_maxima(row, start, score, w):
    """Keep the candidates (sorted by row, start) that no better one within w - 1 nt beats.

    A neighbour beats a candidate with a higher score, or an equal score further left. Only
    candidates can beat candidates, since a better neighbour also passes the threshold.
    """
    keep = np.ones(len(row), bool)
    for d in range(1, len(row)):  # compare with the d-th next candidate while any is close
        near = (row[d:] == row[:-d]) & (start[d:] - start[:-d] < w)
        if not near.any():
            break
        left, right = np.flatnonzero(near), np.flatnonzero(near) + d
        keep[left[score[right] > score[left]]] = False
        keep[right[score[left] >= score[right]]] = False
    return row[keep], start[keep]


def _scan_block(codes: np.ndarray, truth: dict) -> pd.DataFrame:
    """``scan_sites`` of one block of (m, L) codes; ``row`` indexes the block."""
    n, length = codes.shape
    # 4-base blocks: code4[:, i] indexes bases i..i+3 (padding past the end scores 0 below),
    # so a motif of width w is scored in ceil(w / 4) table look-ups per strand.
    padded = np.concatenate([codes, np.zeros((n, 3), np.uint8)], axis=1)
    code4 = (padded[:, :-3] << 6) | (padded[:, 1:-2] << 4) | (padded[:, 2:-1] << 2) | padded[:, 3:]
    out = []
    for spec in truth["motifs"]:
        lo = log_odds(spec["pwm"])
        w = len(lo)
        npos = length - w + 1
        fwd, rev = _block_scores(code4, lo, npos), _block_scores(code4, lo[::-1, ::-1], npos)
        best = np.maximum(fwd, rev)
        row, start = np.nonzero(best >= spec["threshold"])
        row, start = _local_maxima(row, start, best[row, start], w)
        strand = np.where(rev[row, start] > fwd[row, start], "-", "+")
        win = spec["window"]
        active = np.ones(len(row), bool) if win is None else (
            (start >= win[0]) & (start + w <= win[1]))
        site = codes[row[:, None], start[:, None] + np.arange(w)]
        site = np.where((strand == "-")[:, None], 3 - site[:, ::-1], site)
        out.append(pd.DataFrame({
            "row": row, "motif": spec["name"], "start": start, "strand": strand,
            "sequence": pd.Series(code_strings(site), dtype="str"), "score": best[row, start],
            "active": active}))
    return pd.concat(out, ignore_index=True)


def scan_sites(seqs, truth: dict, *, chunk: int = 20_000) -> pd.DataFrame:
    """Every counted site of every ground-truth motif in equal-length sequences.

    A position is a site of a motif when its best-strand log2-odds score (``log_odds`` of the
    motif's ``pwm``) reaches the motif's ``threshold`` and is the highest within
    ``width - 1`` nt either side (ties go to the leftmost, then to the ``+`` strand).

    Parameters
    ----------
    seqs : sequence of str
        ``n`` upper-case ACGT strings of one length ``L``.
    truth : dict
        The ground truth (``make_demo``'s third value or ``ground_truth.json``).
    chunk : int
        Sequences scanned at a time (sites never span two sequences, so the result does not
        depend on it; memory grows with it).

    Returns
    -------
    pandas.DataFrame
        ``row`` (int, index into ``seqs``), ``motif``, ``start`` (0-based, + strand),
        ``strand`` (``+``/``-``), ``sequence`` (the site read 5'->3' on its strand),
        ``score`` (float64 bits), ``active`` (bool: inside the motif's window, if it has one).
    """
    seqs = list(seqs)
    out = [_scan_block(_codes(seqs[lo:lo + chunk]), truth).assign(
               row=lambda f, lo=lo: f["row"] + lo)
           for lo in range(0, max(len(seqs), 1), chunk)]  # memory: O(chunk x L), exact
    return pd.concat(out, ignore_index=True).sort_values(["row", "start"], kind="stable",
                                                          ignore_index=True)


def signal_from_sites(sites: pd.DataFrame, gc, truth: dict) -> np.ndarray:
    """The noise-free signal of ``len(gc)`` sequences from their sites, by the truth's formula.

    ``sites`` needs ``row`` (index of the sequence), ``motif`` and ``active`` columns; ``gc`` is
    the (n,) GC fraction of each sequence. Returns (n,) float64 in log2 units.
    """
    gc = np.asarray(gc, dtype=np.float64)
    n = len(gc)
    names = [m["name"] for m in truth["motifs"]]
    act = sites[sites["active"]]
    counts = np.zeros((n, len(names)))
    np.add.at(counts, (act["row"].to_numpy(int), act["motif"].map(names.index).to_numpy(int)), 1)
    d = truth["copy_decay"]
    gain = counts if d == 1 else (1 - d ** counts) / (1 - d)  # 1, 1 + d, 1 + d + d^2, ...
    effects = np.array([m["effect"] for m in truth["motifs"]])
    y = truth["baseline"] + gain @ effects + truth["gc_effect"] * (gc - truth["gc_center"])
    for p in truth["pairs"]:
        if p.get("max_spacing") is None:
            both = (counts[:, names.index(p["a"])] > 0) & (counts[:, names.index(p["b"])] > 0)
        else:
            both = pairs_within(act, p["a"], p["b"], p["max_spacing"], n)
        y = y + p["interaction"] * both
    return y


def pairs_within(active_sites: pd.DataFrame, a: str, b: str, max_spacing: int, n: int):
    """(n,) bool: the sequence holds an active site of ``a`` and one of ``b`` whose starts lie
    at most ``max_spacing`` nt apart."""
    sa = active_sites.loc[active_sites["motif"] == a, ["row", "start"]]
    sb = active_sites.loc[active_sites["motif"] == b, ["row", "start"]]
    both = sa.merge(sb, on="row", suffixes=("_a", "_b"))
    close = (both["start_a"] - both["start_b"]).abs() <= max_spacing
    out = np.zeros(n, bool)
    out[both.loc[close, "row"].to_numpy()] = True
    return out


def true_signal(seqs, truth: dict) -> np.ndarray:
    """(n,) float64 noise-free expression of any ACGT sequences (the oracle), of one length or
    several (an insertion or deletion changes it): each length is scanned apart, windows stay
    at their positions in nt."""
    seqs = list(seqs)
    lengths = np.array([len(s) for s in seqs])
    out = np.empty(len(seqs))
    for n in np.unique(lengths):
        rows = np.flatnonzero(lengths == n)
        group = [seqs[i] for i in rows]
        out[rows] = signal_from_sites(scan_sites(group, truth), gc_content(group), truth)
    return out


__all__ = ["scan_sites", "signal_from_sites", "pairs_within", "true_signal", "log_odds",
           "code_strings", "ALPHABET", "PSEUDO"]
