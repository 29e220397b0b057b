"""The built-in demo dataset: synthetic promoters with planted JASPAR motifs of known effect.

``make_demo`` draws sequences from a second-order Markov background whose GC content varies
from sequence to sequence, plants instances sampled from real JASPAR 2026 matrices (activators,
repressors, a motif that works only inside a window, a cooperating pair), computes the true
signal from a formula written into the ground truth, and adds replicate measurement noise
sized so that the noise ceiling (the best Pearson any model can reach) is known.
``write_demo`` writes it as a FASTA, an expression table and the ground truth.

The truth is a function of the final sequence alone: every site of a motif that scores at or
above its threshold counts, planted or not, so a model that learns the motifs can reach the
ceiling. Scanning and scoring live in :mod:`seqexpr.demo_truth` (``scan_sites``;
``true_signal`` recomputes the noise-free signal for any sequences).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from seqexpr.composition import gc_content
from seqexpr.demo_truth import (ALPHABET, PSEUDO, code_strings, log_odds, scan_sites,
                                signal_from_sites)
from seqexpr.jsonio import write_json

JASPAR_RELEASE = "JASPAR2026"

# One row per planted motif: JASPAR families deliberately distinct from one another.
# effect: log2 units added by the first site; window: fraction of the length (None = anywhere);
# presence: probability that a sequence gets planted sites; thr: the threshold at which a site
# counts and plant: the least score of a planted instance, both as fractions of the best score
# (planted sites sit well above the threshold, so that a model can tell them from near-misses).
MOTIFS = (
    dict(name="FOS::JUN", jaspar_id="MA0099.4", effect=1.0, role="activator", window=None,
         presence=0.30, thr=0.75, plant=0.85),
    dict(name="ETS1", jaspar_id="MA0098.4", effect=0.7, role="activator", window=None,
         presence=0.30, thr=0.75, plant=0.85),
    dict(name="GATA2", jaspar_id="MA0036.4", effect=0.6, role="activator", window=None,
         presence=0.30, thr=0.75, plant=0.75),
    dict(name="TBP", jaspar_id="MA0108.3", effect=1.2, role="activator", window=(0.70, 0.90),
         presence=0.35, thr=0.80, plant=0.80),
    dict(name="REST", jaspar_id="MA0138.3", effect=-1.0, role="repressor", window=None,
         presence=0.25, thr=0.65, plant=0.80),
    dict(name="GFI1", jaspar_id="MA0038.3", effect=-0.6, role="repressor", window=None,
         presence=0.25, thr=0.75, plant=0.85),
)
PAIRS = (dict(a="ETS1", b="FOS::JUN", interaction=0.8),)  # Ets-AP-1 composite elements
COPIES = (0.6, 0.3, 0.1)  # P(1, 2, 3 planted sites | the motif is planted)
# Site j (0-based) of a motif adds effect * COPY_DECAY**j. Additive copies (1.0) proved
# clearly easier for small CNNs to learn than diminishing returns (0.5).
COPY_DECAY = 1.0
INSIDE_WINDOW = 0.5  # fraction of a windowed motif's planted sites put inside its window
BASELINE = 5.0
GC_EFFECT, GC_CENTER, GC_CONCENTRATION = 3.0, 0.45, 40.0
# Background: second-order Markov chain; each base's weight is tilted by the sequence's GC
# and multiplied by these context factors (vertebrate-like CpG and TpA depletion, A/T tracts).
CPG_FACTOR, TPA_FACTOR, AT_RUN_FACTOR = 0.4, 0.75, 1.3
FORMULA = (
    "signal = baseline + sum over motifs of effect * (1 + copy_decay + ... + copy_decay**(k-1))"
    " (= effect * k when copy_decay is 1) + sum over pairs of interaction * [k_a > 0 and k_b > 0]"
    " + gc_effect * (gc - gc_center); a pair with max_spacing counts only when a site of each"
    " starts within max_spacing nt of the other; k = number of the motif's active sites (scan_sites: best-"
    "strand log2-odds >= threshold, local maximum within width-1 nt, and for a motif with a"
    " window the whole site inside [start, end)); gc = G+C fraction of the final sequence."
    " expression_rep1/2 = signal + independent N(0, noise_sd^2); expression = their mean;"
    " noise_ceiling_pearson = sqrt(var(signal) / (var(signal) + noise_sd^2 / 2)).")


@lru_cache(maxsize=None)
def _jaspar_pwm(jaspar_id: str) -> tuple[str, np.ndarray]:
    """(name, (w, 4) float64 probabilities rounded to 6 decimals) of a JASPAR matrix, offline."""
    from pyjaspar import jaspardb

    m = jaspardb(release=JASPAR_RELEASE).fetch_motif_by_id(jaspar_id)
    if m is None:
        raise ValueError(f"{jaspar_id} is not in {JASPAR_RELEASE}; pick another matrix id.")
    counts = np.array([m.counts[b] for b in ALPHABET], dtype=np.float64).T
    return m.name, np.round(counts / counts.sum(1, keepdims=True), 6)


# -- background ------------------------------------------------------------------------------
def _context_factors() -> np.ndarray:
    """(16, 4) multipliers of next-base weights given the two previous bases (4*b2 + b1)."""
    f = np.ones((4, 4, 4))  # [b2, b1, next]
    f[:, 1, 2] *= CPG_FACTOR  # C -> G
    f[:, 3, 0] *= TPA_FACTOR  # T -> A
    f[0, 0, 0] *= AT_RUN_FACTOR  # AA -> A
    f[3, 3, 3] *= AT_RUN_FACTOR  # TT -> T
    return f.reshape(16, 4)


def _background(gc: np.ndarray, length: int, rng: np.random.Generator, *,
                chunk: int = 20_000) -> np.ndarray:
    """(n, length) uint8 background drawn from the Markov chain, one GC tilt per sequence.

    Rows are drawn ``chunk`` at a time (the uniform draws of one chunk are n x length
    float64); consecutive draws continue one random stream, so the result does not depend
    on ``chunk``."""
    out = np.empty((len(gc), length), np.uint8)
    fac = _context_factors()
    for lo in range(0, len(gc), chunk):
        g = gc[lo:lo + chunk]
        n = len(g)
        tilt = np.stack([1 - g, g, g, 1 - g], axis=1)  # (n, 4)
        cum0 = np.cumsum(tilt / tilt.sum(1, keepdims=True), axis=1)
        u = rng.random((n, length))
        block = out[lo:lo + n]
        block[:, :2] = (u[:, :2, None] > cum0[:, None, :]).sum(2).clip(0, 3)
        rows = np.arange(n)
        for t in range(2, length):  # one step per position, vectorized over sequences
            ctx = 4 * block[:, t - 2].astype(np.intp) + block[:, t - 1]
            cum = np.cumsum(fac[ctx] * tilt, axis=1)
            block[:, t] = (u[rows, t, None] * cum[:, 3:4] > cum).sum(1).clip(0, 3)
    return out


# -- planting ----------------------------------------------------------------------------------
def _window(spec: dict, length: int):
    if spec["window"] is None:
        return None
    lo, hi = (int(round(f * length)) for f in spec["window"])
    return [lo, hi]


def _sample_instances(pwm, k, threshold, rng) -> np.ndarray:
    """(k, w) codes sampled from the PWM, kept only when they score >= threshold."""
    lo, cum = log_odds(pwm), np.cumsum(pwm, axis=1)
    w, got, out = len(pwm), 0, np.empty((k, len(pwm)), np.uint8)
    while got < k:
        draw = (rng.random((2 * (k - got) + 64, w, 1)) > cum[None]).sum(2).clip(0, 3)
        keep = draw[lo[np.arange(w), draw].sum(1) >= threshold][: k - got]
        out[got:got + len(keep)] = keep
        got += len(keep)
    return out


def _draw_starts(width, window, inside, length, rng) -> np.ndarray:
    """Start of each site of one motif: inside its window where asked, else outside it."""
    n_any = length - width + 1
    starts = rng.integers(0, n_any, len(width))
    if window is not None:
        lo, hi = window
        n_in = max(hi - width[0] - lo + 1, 1)
        left, right = max(lo - width[0] + 1, 0), max(length - width[0] - hi + 1, 0)
        r = rng.integers(0, max(left + right, 1), len(width))
        out = np.where(r < left, r, hi + r - left)
        starts = np.where(inside, lo + rng.integers(0, n_in, len(width)), out)
    return starts


def _plan_sites(n, length, specs, widths, windows, rng, copies_p=COPIES) -> pd.DataFrame:
    """Non-overlapping planted sites: seq, motif (index), width, start, strand (+1/-1)."""
    parts = []
    for m, spec in enumerate(specs):
        present = rng.random(n) < spec["presence"]
        copies = 1 + (rng.random(n)[:, None] > np.cumsum(copies_p)[None, :-1]).sum(1)
        seq = np.repeat(np.arange(n), np.where(present, copies, 0))
        inside = rng.random(len(seq)) < INSIDE_WINDOW
        parts.append(pd.DataFrame({"seq": seq, "motif": m, "width": widths[m], "inside": inside}))
    sites = pd.concat(parts, ignore_index=True)
    width, motif = sites["width"].to_numpy(), sites["motif"].to_numpy()
    seq, inside = sites["seq"].to_numpy(), sites["inside"].to_numpy()
    start = np.zeros(len(sites), np.int64)
    todo = np.ones(len(sites), bool)  # sites to (re)draw
    check = todo.copy()  # sites in sequences that may hold a clash
    for _ in range(50):  # redraw sites that collide with an earlier one; drop what is left
        for m in np.unique(motif[todo]):
            sel = todo & (motif == m)
            start[sel] = _draw_starts(width[sel], windows[m], inside[sel], length, rng)
        idx = np.flatnonzero(check)
        order = idx[np.lexsort((start[idx], seq[idx]))]
        s, e, q = start[order], start[order] + width[order], seq[order]
        # running end of the sites so far, restarted at each sequence by an offset per sequence
        end_before = np.maximum.accumulate(e + q * (length + 1)) - q * (length + 1)
        clash = np.zeros(len(order), bool)
        clash[1:] = (q[1:] == q[:-1]) & (s[1:] <= end_before[:-1])  # 1 nt gap at least
        todo = np.zeros(len(sites), bool)
        todo[order[clash]] = True
        if not todo.any():
            break
        bad = np.zeros(n, bool)
        bad[seq[todo]] = True
        check = bad[seq]
    sites["start"] = start
    sites["strand"] = np.where(rng.random(len(sites)) < 0.5, 1, -1)
    return sites[~todo].drop(columns="inside").reset_index(drop=True)


# -- the dataset ----------------------------------------------------------------------------------
# Sequences in the demo dataset: enough for the deep model to beat the k-mer baselines and
# small enough that `make report` runs in under 10 minutes on 2 CPU cores.
DEMO_N = 8000
DEMO_LENGTH = 200  # nt per demo sequence


def make_demo(n: int = DEMO_N, length: int = DEMO_LENGTH, seed: int = 0, *,
              noise_ceiling: float = 0.90, motifs=None, pairs=None, copy_decay=None,
              gc_effect=None, copies_p=None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Generate the demo dataset in memory (no I/O); the same seed gives the same data.

    Parameters
    ----------
    n : int
        Number of sequences.
    length : int
        Sequence length in nt (at least 60); windows scale with it ([140, 180) at 200 nt).
    seed : int
        Seed of the only random generator used.
    noise_ceiling : float
        Target Pearson between the true signal and ``expression`` (mean of two replicates);
        the replicate noise SD is set from the signal's variance to reach it.
    motifs, pairs : sequence of dict, optional
        Other grammars than the demo's (``MOTIFS``, ``PAIRS``), in the same form; a pair may
        carry ``max_spacing`` (nt between the starts of its two sites) to make a spacing rule.
        Used by the accuracy panel (``benchmarks/bench_accuracy.py``) to make datasets unlike
        the demo on purpose.
    copy_decay, gc_effect : float, optional
        Gain of the j-th site of a motif (``copy_decay ** j``) and the GC slope; the demo's
        ``COPY_DECAY`` and ``GC_EFFECT`` when None.
    copies_p : sequence of float, optional
        P(1, 2, ... planted sites | the motif is planted); ``COPIES`` when None.

    Returns
    -------
    frame : pandas.DataFrame
        ``id, sequence, expression, expression_rep1, expression_rep2`` (float64, log2 units),
        plus ``signal`` (true, noise-free) and ``gc`` (GC fraction), one row per sequence.
    sites : pandas.DataFrame
        Counted sites: ``id, motif, start, strand, sequence, score, active, planted``.
    truth : dict
        The ground truth, as written to ``ground_truth.json`` (see docs/run_folder.md).
    """
    if length < 60 or n < 10:
        raise ValueError(f"make_demo needs n >= 10 and length >= 60 nt, got n={n}, "
                         f"length={length}; the longest motif (REST) is 20 nt.")
    if not 0 < noise_ceiling < 1:
        raise ValueError(f"noise_ceiling must lie in (0, 1), got {noise_ceiling}")
    specs = MOTIFS if motifs is None else tuple(motifs)
    pairs = PAIRS if pairs is None else tuple(pairs)
    copy_decay = COPY_DECAY if copy_decay is None else float(copy_decay)
    gc_effect = GC_EFFECT if gc_effect is None else float(gc_effect)
    copies_p = COPIES if copies_p is None else tuple(float(p) for p in copies_p)
    if abs(sum(copies_p) - 1) > 1e-9:
        raise ValueError(f"copies_p must sum to 1, got {copies_p}")
    names = [spec["name"] for spec in specs]
    for p in pairs:
        if p["a"] not in names or p["b"] not in names:
            raise ValueError(f"pair {p} names a motif that is not among {names}")
    rng = np.random.default_rng(seed)
    motifs = []
    for spec in specs:
        name, pwm = _jaspar_pwm(spec["jaspar_id"])
        max_score = log_odds(pwm).max(1).sum()
        motifs.append(dict(
            name=spec["name"], jaspar_id=spec["jaspar_id"], jaspar_name=name,
            consensus="".join(ALPHABET[i] for i in pwm.argmax(1)), effect=spec["effect"],
            role=spec["role"], window=_window(spec, length), presence=spec["presence"],
            threshold=round(float(spec["thr"] * max_score), 4),
            plant_threshold=round(float(spec["plant"] * max_score), 4),
            max_score=round(float(max_score), 4), width=len(pwm), pwm=pwm.tolist()))
    widths = [m["width"] for m in motifs]
    windows = [m["window"] for m in motifs]

    gc_target = rng.beta(GC_CENTER * GC_CONCENTRATION, (1 - GC_CENTER) * GC_CONCENTRATION, n)
    codes = _background(gc_target, length, rng)
    plan = _plan_sites(n, length, specs, widths, windows, rng, copies_p)
    for m, spec in enumerate(motifs):
        sel = plan[plan["motif"] == m]
        inst = _sample_instances(np.asarray(spec["pwm"]), len(sel), spec["plant_threshold"],
                                rng)
        minus = (sel["strand"].to_numpy() == -1)[:, None]
        inst = np.where(minus, 3 - inst[:, ::-1], inst)
        codes[sel["seq"].to_numpy()[:, None],
              sel["start"].to_numpy()[:, None] + np.arange(spec["width"])] = inst

    seqs = code_strings(codes)
    del codes  # 1 byte a base: the strings say the same from here on
    digits = max(5, len(str(n - 1)))
    ids = [f"demo{i:0{digits}d}" for i in range(n)]
    truth = dict(
        seed=seed, n=n, length=length, generator="seqexpr.demo.make_demo",
        jaspar_release=JASPAR_RELEASE, baseline=BASELINE, gc_effect=gc_effect,
        gc_center=GC_CENTER, copy_decay=copy_decay, motifs=motifs, pairs=[dict(p) for p in pairs],
        replicates=["expression_rep1", "expression_rep2"], sites_file="ground_truth_sites.csv",
    )
    sites = scan_sites(seqs, truth)
    gc = gc_content(seqs)
    signal = signal_from_sites(sites, gc, truth)

    var_s = float(np.var(signal))
    noise_sd = float(np.sqrt(2 * var_s * (1 / noise_ceiling**2 - 1)))
    rep = signal[:, None] + rng.normal(0.0, noise_sd, (n, 2))
    expression = rep.mean(1)
    frame = pd.DataFrame({"id": ids, "sequence": seqs, "expression": expression,
                          "expression_rep1": rep[:, 0], "expression_rep2": rep[:, 1],
                          "signal": signal, "gc": gc})
    del seqs  # on pandas 3 the frame holds its own copy (Arrow strings)

    # a counted site is "planted" when it overlaps a planted site of its motif (a match can
    # shift by a base or two when the flanking background extends it)
    both = sites.reset_index().merge(
        plan.assign(motif=[motifs[k]["name"] for k in plan["motif"]]).rename(
            columns={"seq": "row", "start": "p_start"}), on=["row", "motif"])
    near = (both["start"] - both["p_start"]).abs() < both["width"]
    sites["planted"] = sites.index.isin(both.loc[near, "index"])
    sites.insert(0, "id", np.asarray(ids, dtype=object)[sites["row"].to_numpy()])
    sites = sites.drop(columns="row")
    sites["score"] = sites["score"].round(4)

    truth.update(
        noise_sd=noise_sd,
        noise_ceiling_pearson=float(np.sqrt(var_s / (var_s + noise_sd**2 / 2))),
        noise_ceiling_empirical=float(np.corrcoef(signal, expression)[0, 1]),
        replicate_pearson=float(np.corrcoef(rep[:, 0], rep[:, 1])[0, 1]),
        signal_sd=float(np.sqrt(var_s)),
        formula=FORMULA,
        score=f"log2((p + {PSEUDO}) / (1 + 4 * {PSEUDO}) / 0.25) summed over the motif columns",
        background=dict(
            model="second-order Markov chain: P(next | previous two) proportional to the GC tilt"
                  " (1 - g, g, g, 1 - g for A, C, G, T) times context factors",
            gc_per_sequence=f"g ~ Beta({GC_CENTER * GC_CONCENTRATION:g}, "
                            f"{(1 - GC_CENTER) * GC_CONCENTRATION:g})",
            cpg_factor=CPG_FACTOR, tpa_factor=TPA_FACTOR, at_run_factor=AT_RUN_FACTOR,
            gc_mean=float(gc.mean()), gc_sd=float(gc.std())),
        planting=dict(
            presence="per motif (see motifs[].presence)", copies_p=list(copies_p),
            inside_window=INSIDE_WINDOW, overlap="planted sites never overlap (>= 1 nt apart)",
            instances="sampled from the PWM, kept when scoring >= the motif's plant_threshold",
            # per motif: sites planted, planted sites that count (a stronger overlapping match
            # of the same motif can win instead), and all counted sites (chance ones included)
            planted_sites={m["name"]: int((plan["motif"] == k).sum())
                           for k, m in enumerate(motifs)},
            planted_found={m["name"]: int((sites["planted"] & (sites["motif"] == m["name"])).sum())
                           for m in motifs},
            sites_per_motif={m["name"]: int((sites["motif"] == m["name"]).sum()) for m in motifs}),
    )
    return frame, sites, truth


def write_demo(out_dir: str | os.PathLike, *, n: int | None = None,
               length: int | None = None, seed: int = 0) -> dict:
    """Write the demo dataset into ``out_dir``; returns the paths written.

    Files: ``demo.fa`` (one line per sequence), ``demo_expression.csv`` (``id, expression,
    expression_rep1, expression_rep2``), ``ground_truth.json`` and ``ground_truth_sites.csv``
    (``id, motif, start, strand, sequence, score, active, planted``). The same arguments give
    byte-identical files. ``n=None`` writes ``DEMO_N`` sequences, ``length=None`` makes them
    ``DEMO_LENGTH`` nt long.

    Returns
    -------
    dict
        ``fasta``, ``expression``, ``ground_truth``, ``sites``: absolute ``Path`` of each file.
    """

    n = DEMO_N if n is None else n  # None: the one demo size, DEMO_N
    length = DEMO_LENGTH if length is None else length

    frame, sites, truth = make_demo(n=n, length=length, seed=seed)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    paths = dict(fasta=out / "demo.fa", expression=out / "demo_expression.csv",
                 ground_truth=out / "ground_truth.json", sites=out / truth["sites_file"])
    with open(paths["fasta"], "w", newline="\n") as fh:
        for lo in range(0, len(frame), 50_000):
            part = frame.iloc[lo:lo + 50_000]
            fh.write("".join(f">{i}\n{s}\n" for i, s in zip(part["id"], part["sequence"])))
    frame[["id", "expression", "expression_rep1", "expression_rep2"]].to_csv(
        paths["expression"], index=False, float_format="%.6f", lineterminator="\n")
    sites.to_csv(paths["sites"], index=False, lineterminator="\n")
    write_json(paths["ground_truth"], truth)
    return paths
