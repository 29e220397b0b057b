"""Name motifs against JASPAR: the offline database pyjaspar ships, compared with Tomtom.

``load_jaspar`` reads a JASPAR release (CORE collection by default, all taxa or one taxonomic
group) from pyjaspar's bundled SQLite file, with no network, and keeps a small ``.npz`` cache
per group (``~/.cache/seqexpr`` by default) that is rebuilt from pyjaspar whenever it is
missing; ``naming_source`` picks the group of an organism ("human", "yeast", "fly").
``match_motifs`` trims each query's uninformative edges, refuses a query with too little
information to name (see ``MIN_BITS``), and compares the rest with every JASPAR matrix using
memelite's Tomtom (column Euclidean distances over all offsets and both strands, with
p-values); it adds Benjamini-Hochberg q-values per query and the TF family and class of each
match.
``motif_table`` turns the results into the run folder's ``motifs.tsv``.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .discovery import Motif, information_content, pwm_similarity, trim_span
from .taxa import tax_group_for

MATCH_COLUMNS = ["query", "rank", "jaspar_id", "name", "family", "tf_class", "p_value",
                 "q_value", "e_value", "similarity", "offset", "overlap", "strand"]


# Naming needs information. Edge columns under TRIM_BITS are cut first (as discovery trims its
# motifs); what is left must carry MIN_BITS in all and MIN_STRONG columns of STRONG_BITS or
# more. 98% of JASPAR 2026 CORE matrices pass (median 12 bits; the exceptions are 4-nt plant
# DOF cores, 3.5-5 bits), while a filter with one informative column carries at most 2 bits
# there plus sub-bit noise, and Tomtom scores such a matrix against every long matrix at once:
# that is how NNNNNNNNNNNNNGNNN came to be "CTCF, q = 1e-8". 6 bits is about three fixed bases
# (a chance hit every 64 nt per strand), the least a name can rest on.
TRIM_BITS = 0.4
MIN_BITS = 6.0
STRONG_BITS = 1.0  # a base at about 80%, or two bases sharing a column evenly
MIN_STRONG = 3
DB_COLUMNS = ["jaspar_id", "name", "family", "tf_class", "tax_group", "length", "pwm"]


def naming_source(organism, *, release="JASPAR2026", collection="CORE", cache_dir=None):
    """The JASPAR matrices to name an organism's motifs with, and a sentence saying which.

    Parameters
    ----------
    organism : str or None
        As :func:`~seqexpr.patterns.taxa.tax_group_for` takes it (None: all taxa).
    release, collection, cache_dir :
        As :func:`load_jaspar` takes them.

    Returns
    -------
    (db, source) : (DataFrame, dict)
        ``db`` as :func:`load_jaspar` returns it (no rows for a bacterium); ``source``:
        ``organism, release, collection, tax_group`` (None = all taxa), ``n_matrices``,
        ``skipped`` (why naming was not attempted, or "") and ``summary`` (a sentence).
    """
    group = tax_group_for(organism)
    source = dict(organism=organism, release=release, collection=collection,
                  tax_group=group or None, n_matrices=0, skipped="")
    if group is False:
        source.update(skipped=f"not named: JASPAR {collection} has no bacterial matrices",
                      summary=f"Motifs are not named: {release} {collection} has no "
                      f"bacterial matrices (organism {organism!r}). Compare them with a "
                      "bacterial database (RegulonDB, CollecTF), or set organism = None for "
                      "the closest eukaryotic matrices.")
        return pd.DataFrame(columns=DB_COLUMNS), source
    db = load_jaspar(release=release, collection=collection, tax_group=group,
                     cache_dir=cache_dir)
    if not group:
        taxon = ("all taxa: a name may come from a species far from yours (set organism, "
                 "e.g. 'human', 'yeast', 'fly', to name against one taxon)")
    else:
        taxon = group if organism == group else f"{group} (organism {organism!r})"
    source.update(n_matrices=len(db), summary=f"Motifs named against {release} {collection}: "
                  f"{len(db)} matrices of {taxon}.")
    return db, source


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
    db = pd.DataFrame(meta, columns=DB_COLUMNS[:5])
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


def query_core(pwm):
    """The informative core of a query matrix: its edges under ``TRIM_BITS`` cut.

    Parameters
    ----------
    pwm : (k, 4) array
        ACGT probabilities (or counts).

    Returns
    -------
    (start, end, bits, n_strong)
        Half-open span of the core, its total information (bits) and its number of columns
        of at least ``STRONG_BITS``.
    """
    lo, hi = trim_span(pwm, min_ic=TRIM_BITS)
    ic = information_content(np.asarray(pwm, float)[lo:hi])
    return lo, hi, float(ic.sum()), int((ic >= STRONG_BITS).sum())


def _enough(bits, strong):
    return bits >= MIN_BITS and strong >= MIN_STRONG


def nameable(pwm):
    """Whether a matrix carries enough information to be named (``MIN_BITS`` in its core and
    ``MIN_STRONG`` columns of ``STRONG_BITS``)."""
    return _enough(*query_core(pwm)[2:])


def naming_note(pwm, q_value=np.nan, *, skipped="", alpha=0.05):
    """Why a motif has no trustworthy name ("" when it has one).

    Parameters
    ----------
    pwm : (k, 4) array
    q_value : float
        Of its best match (nan: none).
    skipped : str
        Naming was not attempted, and why (e.g. no JASPAR matrices for the organism).
    alpha : float
        A best match at or above this q-value is not significant.
    """
    if skipped:
        return skipped
    _, _, bits, strong = query_core(pwm)
    if not _enough(bits, strong):
        return (f"too little information to name ({bits:.1f} bits, {strong} column(s) of "
                f">= {STRONG_BITS:g} bit; naming needs {MIN_BITS:g} bits and {MIN_STRONG})")
    if np.isnan(q_value):
        return "no JASPAR match"
    if q_value >= alpha:
        return f"no significant match (best q = {q_value:.2g})"
    return ""


def warm_up():
    """Compile Tomtom's numba code now (a minute or more, once per environment: numba caches
    it) so that the first report does not pay for it; ``make venv`` calls this."""
    pwm = np.full((6, 4), 0.1)
    pwm[np.arange(6), [0, 1, 2, 3, 0, 1]] = 0.7
    return match_motifs({"warm_up": pwm}, db=load_jaspar().head(30), top=1)


def match_motifs(pwms, *, db=None, top=3, both_strands=True, n_jobs=-1):
    """Best JASPAR matches of each motif (Tomtom p-values, BH q-values per query).

    Each query is first cut to its informative core (:func:`query_core`); a query with too
    little information to name (:func:`nameable`) gets no rows, so that a matrix of near-N
    columns is never named.

    Parameters
    ----------
    pwms : list of (k, 4) arrays or of Motif, or dict {name: (k, 4) array}
        Probability matrices, ACGT columns (rows are positions).
    db : DataFrame, optional
        From :func:`load_jaspar`; the CORE collection of all taxa when omitted.
    top : int
        Matches kept per query.
    both_strands : bool
        Also compare each JASPAR matrix's reverse complement (DNA); False matches the given
        strand only (RNA, oriented constructs: a site read backwards is another site).
    n_jobs : int
        Threads for Tomtom (-1 = all cores). The first call on a new machine compiles
        Tomtom's numba code, which takes a minute or more once.

    Returns
    -------
    pandas.DataFrame
        ``query, rank (1 = best), jaspar_id, name, family, tf_class, p_value, q_value,
        e_value (p x number of JASPAR matrices), similarity (Pearson correlation of the
        aligned columns, -1..1), offset, overlap, strand`` (Tomtom's alignment; the offset
        counts from the query's first column, before trimming).
    """
    from memelite import tomtom

    names, mats = _queries(pwms)
    if db is None:
        db = load_jaspar()
    cores = [query_core(m) for m in mats]
    keep = [i for i, c in enumerate(cores) if _enough(*c[2:])]
    if not keep or not len(db):
        return pd.DataFrame(columns=MATCH_COLUMNS)
    names = [names[i] for i in keep]
    spans = [cores[i][:2] for i in keep]
    starts = [lo for lo, _ in spans]
    mats = [mats[i][lo:hi] for i, (lo, hi) in zip(keep, spans)]
    targets = [np.ascontiguousarray(m.T) for m in db["pwm"]]
    p, _, off, ovl, strand = tomtom([np.ascontiguousarray(m.T) for m in mats], targets,
                                    reverse_complement=both_strands, n_jobs=n_jobs)
    p = np.clip(np.nan_to_num(p, nan=1.0), 0.0, 1.0)
    q = _bh(p)
    rows = []
    for i, name in enumerate(names):
        for r, j in enumerate(np.argsort(p[i], kind="stable")[:top]):
            t = db.iloc[j]
            rows.append(dict(query=name, rank=r + 1, jaspar_id=t["jaspar_id"], name=t["name"],
                             family=t["family"], tf_class=t["tf_class"], p_value=p[i, j],
                             q_value=q[i, j], e_value=p[i, j] * len(db),
                             similarity=pwm_similarity(mats[i], t["pwm"], min_overlap=4,
                                                       both_strands=both_strands)[0],
                             offset=int(off[i, j]) + starts[i], overlap=int(ovl[i, j]),
                             strand="-" if strand[i, j] else "+"))
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)


# -- reports -------------------------------------------------------------------------------
MOTIF_COLUMNS = ["motif_id", "sign", "consensus", "n_seqlets", "best_match_id",
                 "best_match_name", "best_match_family", "similarity", "q_value", "naming_note",
                 "matches", "effect", "effect_sd", "preferred_position", "pwm"]


def motif_table(motifs, matches=None, effects=None, *, skipped=""):
    """The run folder's ``motifs.tsv``: one row per motif, columns as docs/run_folder.md says.

    Parameters
    ----------
    motifs : list of Motif
    matches : DataFrame, optional
        From :func:`match_motifs` (``query`` = motif id).
    effects : DataFrame, optional
        Indexed by motif id (or with a ``motif_id`` column): ``effect``, ``effect_sd``,
        ``preferred_position`` (``"start-end"`` or empty).
    skipped : str
        Why naming was not attempted (:func:`naming_source`), written as every motif's note.

    Returns
    -------
    pandas.DataFrame with columns ``MOTIF_COLUMNS``; ``naming_note`` says why a motif has no
    trustworthy name (:func:`naming_note`), empty when it has one.
    """
    if effects is not None and "motif_id" in effects.columns:
        effects = effects.set_index("motif_id")
    rows = []
    for m in motifs:
        row = dict(motif_id=m.motif_id, sign=m.sign, consensus=m.consensus,
                   n_seqlets=int(m.n_seqlets), best_match_id="", best_match_name="",
                   best_match_family="", similarity=np.nan, q_value=np.nan, matches="",
                   effect=np.nan,
                   effect_sd=np.nan, preferred_position="",
                   pwm=json.dumps(np.round(np.asarray(m.pwm), 4).tolist()))
        if matches is not None and len(matches):
            mm = matches[matches["query"] == m.motif_id].sort_values("rank")
            if len(mm):
                best = mm.iloc[0]
                row.update(best_match_id=best["jaspar_id"], best_match_name=best["name"],
                           best_match_family=best["family"],
                           similarity=float(best["similarity"]), q_value=float(best["q_value"]),
                           matches=";".join(f"{r.jaspar_id}:{r.name}:{r.q_value:.3g}"
                                            for r in mm.itertuples()))
        row["naming_note"] = naming_note(m.pwm, row["q_value"], skipped=skipped)
        if effects is not None and m.motif_id in effects.index:
            e = effects.loc[m.motif_id]
            pp = e.get("preferred_position", "")
            row.update(effect=float(e.get("effect", np.nan)),
                       effect_sd=float(e.get("effect_sd", np.nan)),
                       preferred_position="" if pp is None or pd.isna(pp) else str(pp))
        rows.append(row)
    return pd.DataFrame(rows, columns=MOTIF_COLUMNS)
