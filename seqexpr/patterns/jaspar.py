"""Name motifs against JASPAR: the offline database pyjaspar ships, compared with Tomtom.

``load_jaspar`` reads a JASPAR release (CORE collection by default, all taxa or one taxonomic
group) from pyjaspar's bundled SQLite file, with no network, and keeps a small ``.npz`` cache
(``~/.cache/seqexpr`` by default) that is rebuilt from pyjaspar whenever it is missing.
``match_motifs`` compares probability matrices with every JASPAR matrix using memelite's
Tomtom (column Euclidean distances over all offsets and both strands, with p-values), adds
Benjamini-Hochberg q-values per query and the TF family and class of each match.
``motif_table`` and ``ground_truth_table`` turn the results into the run folder's
``motifs.tsv`` and the demo's self-check.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .discovery import Motif, pwm_similarity

MATCH_COLUMNS = ["query", "rank", "jaspar_id", "name", "family", "tf_class", "p_value",
                 "q_value", "e_value", "similarity", "offset", "overlap", "strand"]


def counts_to_pwm(counts, *, pseudocount=1.0):
    """Counts ``(k, 4)`` (ACGT) -> probabilities, ``pseudocount`` spread evenly over bases."""
    c = np.asarray(counts, dtype=np.float64)
    return (c + pseudocount / 4) / (c.sum(1, keepdims=True) + pseudocount)


def _cache_file(cache_dir, release, collection, tax_group):
    base = Path(cache_dir) if cache_dir else Path(
        os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "seqexpr"
    return base / f"{release}_{collection}_{tax_group or 'all'}.npz".replace(" ", "_")


def _from_pyjaspar(release, collection, tax_group):
    from pyjaspar import jaspardb

    try:
        db = jaspardb(release=release)
    except Exception as e:  # pyjaspar raises plain exceptions for unknown releases
        raise ValueError(f"pyjaspar has no JASPAR release {release!r} offline ({e}); "
                         "pass a release it ships, e.g. 'JASPAR2026'.") from e
    found = db.fetch_motifs(collection=collection, tax_group=tax_group)
    if not found:
        raise ValueError(f"no {release} motifs in collection {collection!r} for tax group "
                         f"{tax_group!r}: check the spelling (e.g. 'vertebrates', 'plants').")
    meta, counts = [], []
    for m in found:
        counts.append(np.array([m.counts[b] for b in "ACGT"], dtype=np.float64).T)
        meta.append(dict(jaspar_id=m.matrix_id, name=m.name,
                         family="; ".join(m.tf_family or []), tf_class="; ".join(m.tf_class or []),
                         tax_group=m.tax_group or ""))
    return meta, counts


@functools.lru_cache(maxsize=8)
def _load(release, collection, tax_group, cache_dir):
    path = _cache_file(cache_dir, release, collection, tax_group)
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                counts = np.split(z["counts"], np.cumsum(z["lengths"])[:-1])
            return meta, counts
        except (OSError, KeyError, ValueError):
            pass  # a broken cache is rebuilt below
    meta, counts = _from_pyjaspar(release, collection, tax_group)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, meta=json.dumps(meta), counts=np.concatenate(counts),
                            lengths=np.array([len(c) for c in counts]))
        tmp.replace(path)
    except OSError:
        pass  # a read-only home only costs the cache
    return meta, counts


def load_jaspar(*, release="JASPAR2026", collection="CORE", tax_group=None, cache_dir=None,
                pseudocount=1.0):
    """The JASPAR matrices of one collection as a table, read offline.

    Parameters
    ----------
    release : str
        A release pyjaspar ships (``"JASPAR2026"``).
    collection : str
        ``"CORE"`` (curated, non-redundant) or another JASPAR collection.
    tax_group : str, optional
        ``"vertebrates"``, ``"plants"``, ``"insects"``, ``"fungi"``, ``"nematodes"``,
        ``"urochordates"``; all taxa when omitted.
    cache_dir : str or Path, optional
        Where the ``.npz`` cache lives (default ``~/.cache/seqexpr``); deleted caches are
        rebuilt from pyjaspar.
    pseudocount : float
        Added to each column's counts (spread over the 4 bases) before normalising.

    Returns
    -------
    pandas.DataFrame
        ``jaspar_id, name, family, tf_class, tax_group, length, pwm`` (``(k, 4)`` float64
        probabilities, ACGT), latest version of each matrix only.
    """
    meta, counts = _load(release, collection, tax_group,
                         str(cache_dir) if cache_dir else None)
    db = pd.DataFrame(meta)
    db["length"] = [len(c) for c in counts]
    db["pwm"] = [counts_to_pwm(c, pseudocount=pseudocount) for c in counts]
    return db


def _bh(p):
    """Benjamini-Hochberg q-values along the last axis."""
    p = np.asarray(p, dtype=np.float64)
    n = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ranked = np.take_along_axis(p, order, -1) * n / np.arange(1, n + 1)
    ranked = np.minimum.accumulate(ranked[..., ::-1], axis=-1)[..., ::-1]
    q = np.empty_like(p)
    np.put_along_axis(q, order, np.minimum(ranked, 1.0), -1)
    return q


def _queries(pwms):
    if isinstance(pwms, dict):
        items = list(pwms.items())
    else:
        items = [(m.motif_id, m.pwm) if isinstance(m, Motif) else (f"query_{i}", m)
                 for i, m in enumerate(pwms)]
    names, mats = [], []
    for name, m in items:
        m = np.asarray(m, dtype=np.float64)
        if m.ndim != 2 or m.shape[1] != 4 or len(m) < 3:
            raise ValueError(f"motif {name!r} has shape {m.shape}: expected (k, 4) ACGT "
                             "probabilities with k >= 3.")
        m = np.clip(m, 0, None)
        mats.append(m / np.clip(m.sum(1, keepdims=True), 1e-12, None))
        names.append(str(name))
    return names, mats


def warm_up():
    """Compile Tomtom's numba code now (a minute or more, once per environment: numba caches
    it) so that the first report does not pay for it; ``make venv`` calls this."""
    pwm = np.full((6, 4), 0.1)
    pwm[np.arange(6), [0, 1, 2, 3, 0, 1]] = 0.7
    return match_motifs({"warm_up": pwm}, db=load_jaspar().head(30), top=1)


def match_motifs(pwms, *, db=None, top=3, n_jobs=-1):
    """Best JASPAR matches of each motif (Tomtom p-values, BH q-values per query).

    Parameters
    ----------
    pwms : list of (k, 4) arrays or of Motif, or dict {name: (k, 4) array}
        Probability matrices, ACGT columns (rows are positions).
    db : DataFrame, optional
        From :func:`load_jaspar`; the CORE collection of all taxa when omitted.
    top : int
        Matches kept per query.
    n_jobs : int
        Threads for Tomtom (-1 = all cores). The first call on a new machine compiles
        Tomtom's numba code, which takes a minute or more once.

    Returns
    -------
    pandas.DataFrame
        ``query, rank (1 = best), jaspar_id, name, family, tf_class, p_value, q_value,
        e_value (p x number of JASPAR matrices), similarity (Pearson correlation of the
        aligned columns, -1..1), offset, overlap, strand`` (Tomtom's alignment).
    """
    from memelite import tomtom

    names, mats = _queries(pwms)
    if db is None:
        db = load_jaspar()
    if not names:
        return pd.DataFrame(columns=MATCH_COLUMNS)
    targets = [np.ascontiguousarray(m.T) for m in db["pwm"]]
    p, _, off, ovl, strand = tomtom([np.ascontiguousarray(m.T) for m in mats], targets,
                                    n_jobs=n_jobs)
    p = np.clip(np.nan_to_num(p, nan=1.0), 0.0, 1.0)
    q = _bh(p)
    rows = []
    for i, name in enumerate(names):
        for r, j in enumerate(np.argsort(p[i], kind="stable")[:top]):
            t = db.iloc[j]
            rows.append(dict(query=name, rank=r + 1, jaspar_id=t["jaspar_id"], name=t["name"],
                             family=t["family"], tf_class=t["tf_class"], p_value=p[i, j],
                             q_value=q[i, j], e_value=p[i, j] * len(db),
                             similarity=pwm_similarity(mats[i], t["pwm"], min_overlap=4)[0],
                             offset=int(off[i, j]), overlap=int(ovl[i, j]),
                             strand="-" if strand[i, j] else "+"))
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)


# -- reports -------------------------------------------------------------------------------
MOTIF_COLUMNS = ["motif_id", "sign", "consensus", "n_seqlets", "best_match_id",
                 "best_match_name", "similarity", "q_value", "matches", "effect", "effect_sd",
                 "preferred_position", "pwm"]


def motif_table(motifs, matches=None, effects=None):
    """The run folder's ``motifs.tsv``: one row per motif, columns as docs/run_folder.md says.

    Parameters
    ----------
    motifs : list of Motif
    matches : DataFrame, optional
        From :func:`match_motifs` (``query`` = motif id).
    effects : DataFrame, optional
        Indexed by motif id (or with a ``motif_id`` column): ``effect``, ``effect_sd``,
        ``preferred_position`` (``"start-end"`` or empty).

    Returns
    -------
    pandas.DataFrame with columns ``MOTIF_COLUMNS``.
    """
    if effects is not None and "motif_id" in effects.columns:
        effects = effects.set_index("motif_id")
    rows = []
    for m in motifs:
        row = dict(motif_id=m.motif_id, sign=m.sign, consensus=m.consensus,
                   n_seqlets=int(m.n_seqlets), best_match_id="", best_match_name="",
                   similarity=np.nan, q_value=np.nan, matches="", effect=np.nan,
                   effect_sd=np.nan, preferred_position="",
                   pwm=json.dumps(np.round(np.asarray(m.pwm), 4).tolist()))
        if matches is not None and len(matches):
            mm = matches[matches["query"] == m.motif_id].sort_values("rank")
            if len(mm):
                best = mm.iloc[0]
                row.update(best_match_id=best["jaspar_id"], best_match_name=best["name"],
                           similarity=float(best["similarity"]), q_value=float(best["q_value"]),
                           matches=";".join(f"{r.jaspar_id}:{r.name}:{r.q_value:.3g}"
                                            for r in mm.itertuples()))
        if effects is not None and m.motif_id in effects.index:
            e = effects.loc[m.motif_id]
            pp = e.get("preferred_position", "")
            row.update(effect=float(e.get("effect", np.nan)),
                       effect_sd=float(e.get("effect_sd", np.nan)),
                       preferred_position="" if pp is None or pd.isna(pp) else str(pp))
        rows.append(row)
    return pd.DataFrame(rows, columns=MOTIF_COLUMNS)


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
        :func:`motif_table` output (with matches and effects filled in).
    db : DataFrame, optional
        :func:`load_jaspar` output, to look up the planted matrices' TF families.
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
