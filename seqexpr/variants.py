"""What a sequence change does to the prediction: variant effects and saturation mutagenesis.

``score_variants`` scores pairs of reference and alternative sequences (from
:mod:`seqexpr.variant_files`: a pairs table, VCF-style edits of a FASTA, or every single-base
change of one sequence) with a saved model folder. Each sequence is encoded by the model's own
preprocessing, so a change of length is padded or trimmed like any input, and the table's
``note`` says so. For a seed ensemble the effect comes with ``delta_sd``, the spread of the
members' effects: how far the seeds disagree about this change.

``truth_variants`` and ``truth_agreement`` check effects against the demo's noise-free signal
(:func:`seqexpr.demo_truth.true_signal`): knockouts of planted sites and changes away from
any site.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from seqexpr.bundle import check_sequences, is_deep
from seqexpr.encode import BASE_CODE, encode_codes
from seqexpr.scoring import flag_sequences
from seqexpr.variant_files import saturation_variants

__all__ = ["score_variants", "saturation", "saturation_matrix", "truth_variants",
           "truth_agreement", "EFFECT_COLUMNS"]

EFFECT_COLUMNS = ["variant_id", "target", "ref_pred", "alt_pred", "delta", "delta_sd"]
LARGE_EFFECT = 0.3  # |true effect| (log2 units on the demo) counted as large for sign agreement


def score_variants(bundle, table, *, batch_size=256) -> pd.DataFrame:
    """Score every variant of ``table`` with a loaded model folder (``bundle.load_bundle``).

    Parameters
    ----------
    bundle : seqexpr.bundle.Bundle
    table : pandas.DataFrame
        ``variant_id, ref_sequence, alt_sequence`` and optionally ``kind`` (as
        :func:`seqexpr.variant_files.read_pairs` / ``read_variants`` return).

    Returns
    -------
    pandas.DataFrame
        One row per variant and target: ``variant_id, target, ref_pred, alt_pred, delta`` on
        the modelled scale, ``delta_sd`` (the SD of ``delta`` across an ensemble's seeds; NaN
        for one model), ``ref_original, alt_original, delta_original`` on the measured scale
        when the target transform can be inverted, ``kind`` when given, and ``note``: how the
        encoding treats the pair (length change, padding or trimming, an edit cut away by the
        trimming, N-rich sequences), empty when nothing needs saying.
    """
    p = bundle.preprocessing
    ids = table["variant_id"].astype(str).tolist()
    refs = check_sequences(table["ref_sequence"], p, ids=[f"{i} (ref)" for i in ids])
    alts = check_sequences(table["alt_sequence"], p, ids=[f"{i} (alt)" for i in ids])
    unique, inverse = np.unique(np.asarray(refs, dtype=object), return_inverse=True)
    ref_y = bundle.predict_sequences(list(unique), batch_size=batch_size, members=True)[:, inverse]
    alt_y = bundle.predict_sequences(alts, batch_size=batch_size, members=True)
    delta = alt_y - ref_y  # (S, n, T): each member's effect
    notes = _notes(refs, alts, p)
    frames = []
    for j, t in enumerate(bundle.targets):
        f = pd.DataFrame({"variant_id": ids, "target": t, "ref_pred": ref_y[:, :, j].mean(0),
                          "alt_pred": alt_y[:, :, j].mean(0), "delta": delta[:, :, j].mean(0),
                          "delta_sd": (delta[:, :, j].std(0, ddof=1) if len(delta) > 1
                                       else np.nan)})
        if p.get("target_inverse", True):
            ref_o = bundle.inverse(ref_y.mean(0))[:, j]
            alt_o = bundle.inverse(alt_y.mean(0))[:, j]
            f = f.assign(ref_original=ref_o, alt_original=alt_o, delta_original=alt_o - ref_o)
        if "kind" in table:
            f["kind"] = table["kind"].to_numpy()
        f["note"] = notes
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def _notes(refs, alts, p) -> list[str]:
    """Per pair: how the model's encoding treats it, in words ('' when plainly)."""
    deep = is_deep(p)
    if deep:  # what the model reads of each sequence, after its padding and trimming
        window = dict(length=p["length"], pad=p["pad"], trim=p["trim"],
                      flank_left=p["flank_left"], flank_right=p["flank_right"])
        same = (encode_codes(refs, **window)[0] == encode_codes(alts, **window)[0]).all(1)
    ref_flags, alt_flags = flag_sequences(refs, p), flag_sequences(alts, p)
    out = []
    for i, (ref, alt, rf_, af) in enumerate(zip(refs, alts, ref_flags, alt_flags)):
        notes = []
        if len(ref) != len(alt):
            notes.append(f"length changes {len(ref)} -> {len(alt)} nt"
                         + (f"; both encoded to {p['length']} nt by the model's padding and "
                            "trimming" if deep else ""))
        if deep and same[i]:
            notes.append(f"the model reads the same {p['length']} nt for ref and alt (the edit "
                         "lies where its trimming cuts): no effect is possible")
        notes += [f"ref {rf_}"] if rf_ else []
        notes += [f"alt {af}"] if af and af != rf_ else []
        out.append("; ".join(notes))
    return out


def saturation(bundle, seq_id, sequence, *, positions=None, batch_size=256) -> pd.DataFrame:
    """Every single-base change of one sequence, scored: :func:`score_variants` rows with
    ``id``, ``position`` (1-based), ``ref`` and ``alt`` columns. Positions whose base is not
    A/C/G/T are left out and listed (1-based) in ``attrs["skipped"]``; a sequence without
    any A/C/G/T gives an empty table."""
    table = saturation_variants(seq_id, check_sequences([sequence], bundle.preprocessing)[0],
                                positions=positions)
    keys = table[["variant_id", "id", "position", "ref", "alt"]]
    out = keys.merge(score_variants(bundle, table, batch_size=batch_size), on="variant_id",
                     how="right") if len(table) else keys
    out.attrs.update(skipped=table.attrs.get("skipped", []), length=len(sequence))
    return out


def saturation_matrix(sat, target=None, *, length=None) -> tuple[np.ndarray, np.ndarray, str]:
    """``(delta, sd, reference)`` of one sequence's saturation table: ``(L, 4)`` arrays in ACGT
    order over positions 1..L (0 at the reference base, NaN where a base was not scored) and
    the reference read back from the table (N where it was not). ``length`` defaults to the
    sequence's, recorded by :func:`saturation`."""
    if not len(sat):
        raise ValueError("the saturation table is empty: the sequence has no A/C/G/T base")
    t = sat["target"].iloc[0] if target is None else target
    s = sat[sat["target"] == t]
    length = length or sat.attrs.get("length") or int(s["position"].max())
    delta = np.full((length, 4), np.nan)
    sd = np.full((length, 4), np.nan)
    pos = s["position"].to_numpy() - 1
    delta[pos, _codes(s["alt"])], sd[pos, _codes(s["alt"])] = s["delta"], s["delta_sd"]
    ref = np.full(length, "N", dtype="<U1")
    ref[pos] = s["ref"]
    known = np.flatnonzero(ref != "N")
    delta[known, _codes(ref[known])] = 0.0
    sd[known, _codes(ref[known])] = 0.0
    return delta, sd, "".join(ref)


def _codes(bases) -> np.ndarray:
    """ACGT column (0-3) of each single-letter base."""
    return BASE_CODE[np.frombuffer("".join(bases).encode(), np.uint8)].astype(np.intp)


# -- checks against the demo's truth ---------------------------------------------------------------
def truth_variants(seqs, ids, sites, truth, *, n_knockouts=200, n_neutral=100, seed=0):
    """Single-base variants whose true effect the demo's oracle knows.

    Knockouts change the most informative base of a counted, active site (to the base the
    motif's matrix likes least); neutral changes fall at least 5 nt from every site of every
    motif. The true effect is ``true_signal(alt) - true_signal(ref)``, so a knockout that
    leaves the site above its threshold, or a change that makes a new site, is scored as it
    truly is.

    Parameters
    ----------
    seqs, ids : sequences of str
        Equal-length ACGT sequences and their ids (e.g. the test split).
    sites : pandas.DataFrame
        The ground-truth sites (``ground_truth_sites.csv``: ``id, motif, start, strand,
        active``).
    truth : dict
        ``ground_truth.json``.

    Returns
    -------
    pandas.DataFrame
        ``variant_id, id, position, ref, alt, kind`` (``knockout`` / ``neutral``), ``motif``,
        ``ref_sequence, alt_sequence, true_delta``.
    """
    from seqexpr.demo_truth import log_odds, true_signal

    rng = np.random.default_rng(seed)
    seq_of = dict(zip(map(str, ids), seqs))
    pwms = {m["name"]: np.asarray(m["pwm"]) for m in truth["motifs"]}
    act = sites[sites["active"] & sites["id"].astype(str).isin(seq_of)]
    act = act.iloc[rng.permutation(len(act))[:n_knockouts]]
    rows = []
    for r in act.itertuples():
        pwm = pwms[r.motif]
        j = int(log_odds(pwm).max(1).argmax())  # the motif's most informative column
        worst = int(pwm[j].argmin())
        if r.strand == "-":
            j, worst = len(pwm) - 1 - j, 3 - worst
        rows.append((str(r.id), r.start + j, "ACGT"[worst], "knockout", r.motif))
    near = {}
    for r in sites.itertuples():
        near.setdefault(str(r.id), []).append((r.start - 5, r.start + len(pwms[r.motif]) + 5))
    pool, n = list(seq_of), 0
    for _ in range(50 * n_neutral):  # draws; most fall away from every site
        if n == n_neutral:
            break
        sid = pool[rng.integers(len(pool))]
        pos = int(rng.integers(len(seq_of[sid])))
        if any(lo <= pos < hi for lo, hi in near.get(sid, ())):
            continue
        alt = "ACGT".replace(seq_of[sid][pos], "")[rng.integers(3)]
        rows.append((sid, pos, alt, "neutral", ""))
        n += 1
    out = []
    for sid, pos, alt, kind, motif in rows:
        ref_seq = seq_of[sid]
        if ref_seq[pos] == alt:  # the site's base already is the least liked one
            continue
        out.append(dict(variant_id=f"{sid}:{pos + 1}{ref_seq[pos]}>{alt}", id=sid,
                        position=pos + 1, ref=ref_seq[pos], alt=alt, kind=kind, motif=motif,
                        ref_sequence=ref_seq,
                        alt_sequence=ref_seq[:pos] + alt + ref_seq[pos + 1:]))
    table = pd.DataFrame(out).drop_duplicates("variant_id", ignore_index=True)
    table["true_delta"] = (true_signal(table["alt_sequence"], truth)
                           - true_signal(table["ref_sequence"], truth))
    return table


def truth_agreement(predicted, true, *, large=LARGE_EFFECT, n_bootstrap=1000, seed=0) -> dict:
    """How well predicted effects follow the true ones: Spearman (with a 95% bootstrap
    interval over variants) and Pearson over all variants, and the share of large true
    effects (``|true| >= large``) whose sign the model gets right."""
    predicted, true = np.asarray(predicted, float), np.asarray(true, float)
    big = np.abs(true) >= large
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(true), (n_bootstrap, len(true)))
    boot = [stats.spearmanr(predicted[r], true[r])[0] for r in rows]
    lo, hi = np.nanpercentile(boot, [2.5, 97.5])
    return dict(n=int(len(true)), spearman=float(stats.spearmanr(predicted, true)[0]),
                spearman_lo=float(lo), spearman_hi=float(hi),
                pearson=float(np.corrcoef(predicted, true)[0, 1]), n_large=int(big.sum()),
                large=large, sign_agreement=float(np.mean(np.sign(predicted[big])
                                                          == np.sign(true[big])))
                if big.any() else float("nan"))
