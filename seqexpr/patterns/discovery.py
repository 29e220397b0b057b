"""Motif discovery: cluster seqlets into motifs (PWM and contribution-weighted matrix).

The method is greedy and deterministic, made for MPRA-length sequences and thousands of
seqlets. Per sign (activating ``+`` and repressing ``-`` seqlets apart):

1. seed: the k-mer (both strands pooled) carrying the most attribution among the seqlets
   not yet assigned;
2. align: score every remaining seqlet against the current PWM at every offset and on both
   strands; seqlets whose best window reaches ``min_relative_score`` of the PWM's score
   range, and overlaps the seqlet's core, join the motif;
3. rebuild the PWM from the aligned windows widened by ``extend`` nt, trim it to its
   informative core, and repeat a few times; then remove the assigned seqlets and reseed.

Motifs of one sign that are the same pattern (shifted, or on the other strand) are merged.
Motifs are ranked by support x information (seqlets x mean bits per column), so a
low-information smear (poly-A, GC-rich) ranks low; low-complexity motifs are flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from .filters import pwm_consensus as consensus
from .filters import pwm_information as information_content
from .seqlets import extract_seqlets, seqlet_windows



# -- PWM utilities ----------------------------------------------------------------------
def reverse_complement_pwm(pwm):
    """Reverse complement of a ``(k, 4)`` ACGT matrix."""
    return np.asarray(pwm)[::-1, ::-1].copy()


def trim_span(pwm, *, min_ic=0.4):
    """Half-open ``(start, end)`` from the first to the last column with >= ``min_ic`` bits."""
    keep = np.flatnonzero(information_content(pwm) >= min_ic)
    if keep.size == 0:
        return 0, 0
    return int(keep[0]), int(keep[-1]) + 1


def pwm_similarity(a, b, *, min_overlap=5, both_strands=True):
    """Best Pearson correlation of two ``(k, 4)`` matrices over offsets and both strands
    (``b`` as given only, with ``both_strands=False``).

    Returns
    -------
    (similarity, offset, strand)
        ``offset`` is where ``b``'s first column sits relative to ``a``'s (``b`` reverse
        complemented first when ``strand == "-"``); similarity is -1..1 (nan if no
        offset overlaps ``min_overlap`` columns).
    """
    a = np.asarray(a, dtype=np.float64)
    best = (np.nan, 0, "+")
    strands = [("+", np.asarray(b, float))]
    if both_strands:
        strands.append(("-", reverse_complement_pwm(b)))
    for strand, bb in strands:
        ka, kb = len(a), len(bb)
        need = min(min_overlap, ka, kb)
        for off in range(-(kb - need), ka - need + 1):
            lo, hi = max(0, off), min(ka, off + kb)
            u, v = a[lo:hi].ravel(), bb[lo - off:hi - off].ravel()
            if u.std() == 0 or v.std() == 0:
                continue
            r = float(np.corrcoef(u, v)[0, 1])
            if np.isnan(best[0]) or r > best[0]:
                best = (r, off, strand)
    return best


@dataclass
class Motif:
    """A discovered motif.

    ``pwm`` is ``(k, 4)`` float64 probabilities (ACGT), ``cwm`` ``(k, 4)`` the mean
    attribution of the observed bases over aligned seqlets (signed: negative for
    repressors), ``seqlets`` one row per supporting seqlet: ``seq_index``, ``start``,
    ``end`` (the motif's k columns in sequence coordinates), ``strand``, ``score``.
    """

    motif_id: str
    sign: str
    pwm: np.ndarray
    cwm: np.ndarray
    n_seqlets: int
    consensus: str
    seqlets: pd.DataFrame = field(repr=False)
    information: float = 0.0  # total bits over the trimmed columns
    rank_score: float = 0.0  # n_seqlets x mean bits per column
    low_complexity: bool = False  # a one-base or soft two-base smear: likely background

    @property
    def width(self) -> int:
        return len(self.pwm)


def _low_complexity(pwm):
    """One base dominating, or two bases (G/C or A/T) making up a soft, low-information
    smear; a TATA box (A/T only but sharp) is not flagged."""
    p = np.asarray(pwm)
    comp = p.mean(0)
    soft = information_content(p).mean() < 1.3
    return bool(comp.max() >= 0.7 or (soft and max(comp[1] + comp[2], comp[0] + comp[3]) >= 0.9))


# -- the greedy clustering ---------------------------------------------------------------
def _kmer_codes(codes, k, both_strands=True):
    """(m, W) base codes (-1 = none) -> (m, W-k+1) k-mer codes (-1 if invalid), canonical
    (a k-mer and its reverse complement share one code) when ``both_strands``."""
    win = sliding_window_view(codes, k, axis=1)
    valid = (win >= 0).all(-1)
    w = np.where(valid[..., None], win, 0).astype(np.int64)
    fwd = (w * (4 ** np.arange(k - 1, -1, -1))).sum(-1)
    rev = ((3 - w) * (4 ** np.arange(k))).sum(-1)
    return np.where(valid, np.minimum(fwd, rev) if both_strands else fwd, -1)


def _scan(x, pwm, *, core, both_strands=True, background=0.25, pseudo=0.01):
    """Best window of each seqlet against ``pwm``: (relative score, offset, strand +1/-1);
    the given strand only (+1) unless ``both_strands``.

    ``core`` (m, 2) holds each seqlet's peak position and core width: a window counts only
    when its midpoint lies within half of max(core width, motif width) of the peak.
    """
    p = (np.asarray(pwm) + pseudo) / (1 + 4 * pseudo)
    lo = np.log2(p / background)
    k = len(lo)
    win = sliding_window_view(x, k, axis=1)  # (m, nwin, 4, k)
    full = win.sum((2, 3)) == k  # every position a real base
    s_f = np.einsum("mwbk,kb->mw", win, lo)
    s_r = np.einsum("mwbk,kb->mw", win, lo[::-1, ::-1])
    mid = np.arange(win.shape[1]) + k / 2
    reach = np.maximum(core[:, 1:], k) / 2
    in_core = np.abs(mid - core[:, :1]) <= reach
    ok = full & in_core
    s_f, s_r = np.where(ok, s_f, -np.inf), np.where(ok & both_strands, s_r, -np.inf)
    rev = s_r > s_f
    s = np.where(rev, s_r, s_f)
    off = s.argmax(1)
    best = s[np.arange(len(s)), off]
    smin, smax = lo.min(1).sum(), lo.max(1).sum()
    rel = (best - smin) / max(smax - smin, 1e-9)
    strand = np.where(rev[np.arange(len(s)), off], -1, 1)
    return rel, off, strand


def _aligned(x, a, idx, off, strand, k, extend):
    """Windows (orientation-corrected) of length k + 2*extend around each hit."""
    width = k + 2 * extend
    xp = np.pad(x, ((0, 0), (width, width), (0, 0)))
    ap = np.pad(a, ((0, 0), (width, width), (0, 0)))
    cols = (off[:, None] + width - extend) + np.arange(width)
    wx, wa = xp[idx[:, None], cols], ap[idx[:, None], cols]
    rev = strand == -1
    wx[rev], wa[rev] = wx[rev][:, ::-1, ::-1], wa[rev][:, ::-1, ::-1]
    return wx, wa


def _build(wx, wa, *, pseudo=0.5):
    n_obs = wx.sum((0, 2))[:, None]
    pwm = (wx.sum(0) + pseudo * 0.25 * 4) / (n_obs + pseudo * 4)
    cwm = (wa * wx).sum(0) / np.clip(n_obs, 1, None)
    return pwm, cwm


def _grow(x, a, avail, pwm, *, core, extend, n_iter, min_relative_score, min_ic, min_width,
          max_width, both_strands):
    """Iteratively align the available seqlets to ``pwm``, rebuild it widened by ``extend``
    columns on each side, and trim it to its informative core."""
    for _ in range(n_iter):
        idx = np.flatnonzero(avail)
        rel, off, strand = _scan(x[idx], pwm, core=core[idx], both_strands=both_strands)
        take = rel >= min_relative_score
        if take.sum() == 0:
            return None
        k = len(pwm)
        wx, wa = _aligned(x, a, idx[take], off[take], strand[take], k, extend)
        new, _ = _build(wx, wa)
        lo, hi = trim_span(new, min_ic=min_ic)
        if hi - lo < min_width:
            return None
        if hi - lo > max_width:
            c = np.convolve(information_content(new), np.ones(max_width), "valid")
            lo = int(c.argmax())
            hi = lo + max_width
        pwm = new[lo:hi]
    # Final assignment against the converged PWM.
    return _assign(x, a, np.flatnonzero(avail), pwm, core=core,
                   min_relative_score=min_relative_score, both_strands=both_strands)


def _assign(x, a, idx, pwm, *, core, min_relative_score, both_strands):
    """Seqlets ``idx`` that match ``pwm``, and the PWM/CWM rebuilt from them."""
    rel, off, strand = _scan(x[idx], pwm, core=core[idx], both_strands=both_strands)
    take = rel >= min_relative_score
    if take.sum() == 0:
        return None
    wx, wa = _aligned(x, a, idx[take], off[take], strand[take], len(pwm), 0)
    pwm, cwm = _build(wx, wa)
    return pwm, cwm, (idx[take], off[take], strand[take], rel[take])


def scaled_to_length(length: int) -> dict:
    """Seqlet and motif widths for sequences of ``length`` nt.

    The defaults (9-nt smoothing and core, 5-nt flanks, 6-mer seeds, motifs of 5 to 20 nt)
    suit MPRA-length sequences and stay as they are from 29 nt up. Shorter sequences (UTR,
    ribosome-binding-site or translation-start contexts) get a core of a third of the length
    (at least 3 nt), flanks that keep a seqlet inside the sequence, seeds no wider than the
    core and motifs from 4 nt, so that a seqlet still fits and a short motif can be found.
    Returns ``window, flank, k, min_width, max_width`` (keywords of
    :func:`~seqexpr.patterns.seqlets.extract_seqlets` and :func:`discover_motifs`).
    """
    window = int(min(9, max(3, length // 3)))
    flank = int(min(5, max(0, (length - window) // 4)))
    return dict(window=window, flank=flank, k=min(6, max(3, window)),
                min_width=5 if window >= 9 else 4, max_width=int(min(20, length)))


def discover_motifs(attr, onehot, *, mask=None, seqlets=None, window=9, flank=5,
                    threshold=2.0, max_per_seq=5, k=6, min_seqlets=20, max_motifs=10,
                    min_relative_score=0.8, n_iter=3, extend=4, min_ic=0.4, min_width=5,
                    max_width=20, merge_similarity=0.85, max_seeds=50, both_strands=True):
    """Discover activating and repressing motifs from attribution maps.

    Parameters
    ----------
    attr : (n, L, 4) float array
        Per-nucleotide attributions (ISM or gradient x input), bases in ACGT order.
    onehot : (n, L, 4) uint8 array
    mask : (n, L) array, optional
        1 for real bases, 0 for padding.
    seqlets : DataFrame, optional
        Seqlets from :func:`~seqexpr.patterns.seqlets.extract_seqlets`; extracted here with
        ``window``, ``flank``, ``threshold`` and ``max_per_seq`` when omitted.
    k : int
        Seed k-mer length (nt).
    min_seqlets : int
        A motif needs this many supporting seqlets.
    max_motifs : int
        At most this many motifs per sign.
    min_relative_score : float
        A seqlet joins a motif when its best window scores at least this fraction of the
        PWM's log-odds range (0.8 lets a 7-mer site carry about one mismatch).
    n_iter, extend, min_ic, min_width, max_width :
        Alignment rounds; nt the PWM may grow by on each side per round; bits a column needs
        to stay in the trimmed core; narrowest and widest motif kept (nt).
    merge_similarity : float
        Motifs of one sign whose PWMs correlate at least this much (any offset, either
        strand) are merged.
    max_seeds : int
        Seeds tried per sign before giving up.
    both_strands : bool
        Pool k-mers with their reverse complements and align seqlets on either strand (DNA
        read as double-stranded); False reads the given strand only (RNA, oriented
        constructs), so a motif and its reverse complement stay two motifs.

    Returns
    -------
    list of Motif
        Sorted by ``rank_score`` (seqlets x mean bits per column), best first; ids are
        ``pos_1, pos_2, ...`` and ``neg_1, ...`` in that order within each sign.
    """
    if seqlets is None:
        seqlets = extract_seqlets(attr, onehot, mask=mask, window=window, flank=flank,
                                  threshold=threshold, max_per_seq=max_per_seq)
    motifs = []
    for sign in ("+", "-"):
        sl = seqlets[seqlets["sign"] == sign].reset_index(drop=True)
        if len(sl) < min_seqlets:
            continue
        w = int((sl["end"] - sl["start"]).iloc[0])
        pad = max(extend, max_width // 2)
        x, a = seqlet_windows(sl, onehot, attr, pad=pad)
        if sign == "-":
            a = -a
        # A hit must sit on the seqlet's peak: its midpoint within half a core of it.
        peak = (sl["center"] - sl["start"]).to_numpy() + pad + 0.5
        core = np.c_[peak, np.full(len(sl), float(window))]
        codes = np.where(x.sum(-1) > 0, x.argmax(-1), -1)
        kcodes = _kmer_codes(codes, k, both_strands)
        contrib = sliding_window_view((a * x).sum(-1), k, axis=1).sum(-1)
        avail = np.ones(len(sl), bool)
        found, tried, banned = [], 0, np.zeros(4 ** k, bool)
        while len(found) < max_motifs and tried < max_seeds and avail.sum() >= min_seqlets:
            tried += 1
            valid = (kcodes >= 0) & avail[:, None]
            weight = np.bincount(kcodes[valid], weights=np.clip(contrib[valid], 0, None),
                                 minlength=4 ** k)
            weight[banned] = 0
            if weight.max() <= 0:
                break
            code = int(weight.argmax())
            banned[code] = True
            digits = (code // 4 ** np.arange(k - 1, -1, -1)) % 4
            seed = np.full((k, 4), 0.02)
            seed[np.arange(k), digits] = 0.94
            seed = np.pad(seed, ((extend, extend), (0, 0)), constant_values=0.25)
            res = _grow(x, a, avail, seed, core=core, extend=extend, n_iter=n_iter,
                        min_relative_score=min_relative_score, min_ic=min_ic,
                        min_width=min_width, max_width=max_width,
                        both_strands=both_strands)
            if res is None or len(res[2][0]) < min_seqlets:
                continue
            pwm, cwm, (idx, off, strand, rel) = res
            avail[idx] = False
            found.append(dict(pwm=pwm, cwm=cwm, idx=idx, off=off, strand=strand, rel=rel))
        found = _merge(found, x, a, core, merge_similarity, both_strands)
        for f in found:
            kk = len(f["pwm"])
            start = sl["start"].to_numpy()[f["idx"]] - pad + f["off"]
            hits = pd.DataFrame({"seq_index": sl["seq_index"].to_numpy()[f["idx"]],
                                 "start": start, "end": start + kk,
                                 "strand": np.where(f["strand"] == 1, "+", "-"),
                                 "score": f["rel"]})
            ic = information_content(f["pwm"])
            cwm = f["cwm"] if sign == "+" else -f["cwm"]
            motifs.append(Motif(
                motif_id="", sign=sign, pwm=f["pwm"], cwm=cwm, n_seqlets=len(hits),
                consensus=consensus(f["pwm"]), seqlets=hits, information=float(ic.sum()),
                rank_score=float(len(hits) * ic.mean()), low_complexity=_low_complexity(f["pwm"])))
    motifs.sort(key=lambda m: -m.rank_score)
    counters = {"+": 0, "-": 0}
    for m in motifs:
        counters[m.sign] += 1
        m.motif_id = f"{'pos' if m.sign == '+' else 'neg'}_{counters[m.sign]}"
    return motifs


def _merge(found, x, a, core, threshold, both_strands):
    """Fold motifs of one sign that are the same pattern (shifted, or on the other strand
    when ``both_strands``) into the best-supported one, re-aligning the folded seqlets."""
    found = sorted(found, key=lambda f: -len(f["idx"]))
    kept = []
    for f in found:
        for g in kept:
            if pwm_similarity(g["pwm"], f["pwm"], both_strands=both_strands)[0] < threshold:
                continue
            idx = np.r_[g["idx"], f["idx"]]
            res = _assign(x, a, idx, g["pwm"], core=core, min_relative_score=0.0,
                          both_strands=both_strands)
            pwm, cwm, (idx, off, strand, rel) = res
            g.update(pwm=pwm, cwm=cwm, idx=idx, off=off, strand=strand, rel=rel)
            break
        else:
            kept.append(f)
    return kept
