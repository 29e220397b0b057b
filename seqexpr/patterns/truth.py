"""The demo's self-check: planted motifs (ground truth) against what 06 discovered and named.

``match_planted`` pairs each planted JASPAR matrix with the discovered motif most like it;
``ground_truth_table`` checks, per planted motif, that it was found, named within its TF
family, given the right sign and (for a positional motif) the right window, and that the
planted pair cooperates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .discovery import pwm_similarity
from .jaspar import load_jaspar


def match_planted(planted, motifs, *, min_similarity=0.75):
    """Map each planted motif (ground truth) to the discovered motif most like it.

    Parameters
    ----------
    planted : list of dict
        ``ground_truth.json`` ``motifs``: ``name``, ``pwm`` (ACGT rows), ...
    motifs : list of Motif

    Returns
    -------
    dict
        planted name -> (motif_id or None, similarity); None when no discovered PWM
        correlates at least ``min_similarity`` with it.
    """
    out = {}
    for p in planted:
        best = (None, np.nan)
        for m in motifs:
            short = min(len(p["pwm"]), m.width)
            sim = pwm_similarity(np.asarray(p["pwm"], float), m.pwm,
                                 min_overlap=max(min(5, short), round(0.6 * short)))[0]
            if not np.isnan(sim) and (np.isnan(best[1]) or sim > best[1]):
                best = (m.motif_id, sim)
        out[p["name"]] = best if best[1] >= min_similarity else (None, best[1])
    return out


def _window_right(expected, found, mirror_length=None):
    """Whether ``found`` (``"start-end"``) overlaps the planted window by half the shorter one.

    With ``mirror_length`` (a model trained on both strands), the window read on the other
    strand, ``[L - end, L - start)``, counts too: such a model sees every training sequence
    both ways round, so a window and its mirror image are the same rule to it.
    """
    if expected is None:
        return not found
    if not found:
        return False
    a, b = (int(v) for v in str(found).split("-"))
    windows = [tuple(expected)]
    if mirror_length:
        windows.append((mirror_length - expected[1], mirror_length - expected[0]))
    return any((min(b, hi) - max(a, lo)) >= 0.5 * min(b - a, hi - lo) for lo, hi in windows)


def ground_truth_table(truth, motifs, table, *, db=None, pairs=None, min_similarity=0.75,
                       both_strands=False):
    """Compare planted motifs (the demo's ground truth) with what was discovered.

    Parameters
    ----------
    truth : dict
        ``ground_truth.json``.
    motifs : list of Motif
    table : DataFrame
        :func:`~seqexpr.patterns.jaspar.motif_table` output (matches and effects filled in).
    db : DataFrame, optional
        :func:`~seqexpr.patterns.jaspar.load_jaspar` output, to look up the TF families of
        the planted matrices and of the matches; all taxa when omitted.
    pairs : DataFrame, optional
        Cooperativity results: ``motif_a, motif_b, interaction, p_value``.
    both_strands : bool
        The model was trained on both strands (reverse-complement augmentation): a planted
        window found at its mirror position on the other strand counts as right.

    Returns
    -------
    (motifs_check, pairs_check) : two DataFrames
        Per planted motif: ``planted, jaspar_id, family, role, found, motif_id,
        similarity, consensus_found, jaspar_top3, id_in_top3, family_right, sign_right,
        window, preferred_position, window_right``; per planted pair: ``a, b,
        interaction, found_interaction, p_value, cooperativity_right``.
    """
    db = load_jaspar() if db is None else db
    fam = dict(zip(db["jaspar_id"].str.split(".").str[0], db["family"]))
    name_of = dict(zip(db["jaspar_id"], db["family"]))
    by_id = table.set_index("motif_id")
    mapping = match_planted(truth.get("motifs", []), motifs, min_similarity=min_similarity)
    rows = []
    for p in truth.get("motifs", []):
        mid, sim = mapping[p["name"]]
        family = fam.get(str(p.get("jaspar_id", "")).split(".")[0], "")
        row = dict(planted=p["name"], jaspar_id=p.get("jaspar_id"), family=family,
                   role=p.get("role"), found=mid is not None, motif_id=mid, similarity=sim,
                   consensus_found="", jaspar_top3="", id_in_top3=False, family_right=False,
                   sign_right=False, window=p.get("window"), preferred_position="",
                   window_right=False)
        if mid is not None:
            r = by_id.loc[mid]
            ids = [s.split(":")[0] for s in r["matches"].split(";") if s]
            fams = {f.strip() for i in ids for f in name_of.get(i, "").split(";") if f.strip()}
            want = {f.strip() for f in family.split(";") if f.strip()}
            want_sign = "+" if p.get("role") == "activator" else "-"
            effect_ok = np.isnan(r["effect"]) or np.sign(r["effect"]) == np.sign(p["effect"])
            row.update(consensus_found=r["consensus"], jaspar_top3=r["matches"],
                       id_in_top3=any(i.split(".")[0] == str(p.get("jaspar_id")).split(".")[0]
                                      for i in ids),
                       family_right=bool(want & fams),
                       sign_right=bool(r["sign"] == want_sign and effect_ok),
                       preferred_position=r["preferred_position"],
                       window_right=_window_right(
                           p.get("window"), r["preferred_position"],
                           truth.get("length") if both_strands else None))
        rows.append(row)
    pair_rows = []
    for pr in truth.get("pairs", []):
        a, b = mapping.get(pr["a"], (None,))[0], mapping.get(pr["b"], (None,))[0]
        row = dict(a=pr["a"], b=pr["b"], interaction=pr["interaction"], motif_a=a, motif_b=b,
                   found_interaction=np.nan, p_value=np.nan, cooperativity_right=False)
        if pairs is not None and a is not None and b is not None:
            hit = pairs[((pairs["motif_a"] == a) & (pairs["motif_b"] == b))
                        | ((pairs["motif_a"] == b) & (pairs["motif_b"] == a))]
            if len(hit):
                h = hit.iloc[0]
                row.update(found_interaction=float(h["interaction"]),
                           p_value=float(h["p_value"]),
                           cooperativity_right=bool(np.sign(h["interaction"])
                                                    == np.sign(pr["interaction"])
                                                    and h["p_value"] < 0.05))
        pair_rows.append(row)
    return pd.DataFrame(rows), pd.DataFrame(pair_rows)
