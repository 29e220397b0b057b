"""Explore: the numbers a scientist looks at before any model.

Counts and lengths, base composition along the sequence, GC and N content (counted by
``seqexpr.composition``), the target's distribution and a suggested transform, replicate
agreement (which bounds any model), exact and near duplicates, and the k-mers most associated
with expression (counted in chunks of rows; on a seeded random sample of a very large library).
Every function here returns numbers (dicts, arrays, DataFrames); the figures live in
``seqexpr.plots.explore``. ``explore`` runs them all on 01_load's table;
``seqexpr.stages.explore`` reads and writes the run folder.
"""

from __future__ import annotations

import re
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from seqexpr.composition import CHUNK_BASES, base_composition, gc_content, n_content, row_chunks
from seqexpr.duplicates import common_flanks, exact_duplicates, near_duplicates, relatives
from seqexpr.encode import IUPAC_BASES, reverse_complement_str
from seqexpr.kmers import kmer_counts, sample_rows as sample_rows_or_all
from seqexpr.transforms import modelled_scale, suggest_transform

__all__ = [
    "gc_content", "n_content", "base_composition", "common_flanks",
    "target_summary", "gc_association",
    "scaled_replicates", "replicate_agreement", "exact_duplicates", "near_duplicates", "relatives", "kmer_associations",
    "presence_sums", "sample_rows",
    "top_kmers", "planted_motif_hits", "explore",
]


# -- the target ------------------------------------------------------------------------------
def target_summary(y) -> dict:
    """n, missing, min, median, mean, max, sd, skewness and zeros of one target."""
    y = np.asarray(y, dtype=np.float64)
    v = y[np.isfinite(y)]
    if v.size == 0:
        return {"n": 0, "missing": int(y.size)}
    return {"n": int(v.size), "missing": int(y.size - v.size), "min": float(v.min()),
            "median": float(np.median(v)), "mean": float(v.mean()), "max": float(v.max()),
            "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            "skewness": float(stats.skew(v)) if v.size > 2 else 0.0,
            "zeros": int((v == 0).sum()), "negative": int((v < 0).sum())}


def gc_association(gc, y) -> dict:
    """Spearman correlation of GC fraction with the target, and the least-squares slope."""
    ok = np.isfinite(gc) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(gc[ok]) == 0:
        return {"spearman": None, "p": None, "slope": None, "n": int(ok.sum())}
    rho, p = stats.spearmanr(gc[ok], y[ok])
    slope = np.polyfit(gc[ok], y[ok], 1)[0]
    return {"spearman": float(rho), "p": float(p), "slope": float(slope), "n": int(ok.sum())}


# -- replicates ------------------------------------------------------------------------------
def scaled_replicates(df: pd.DataFrame, replicates, *, transform: str = "none"):
    """Replicate columns on the modelled scale: ((n, R) float64, the transform used).

    Each column gets ``transform`` fitted to itself; when one cannot take it (a log of
    negative values) all stay untransformed and the name returned is ``"none"``.
    """
    vals = df[list(replicates)].to_numpy(dtype=np.float64)
    try:
        return np.column_stack([modelled_scale(v, transform) for v in vals.T]), transform
    except ValueError:
        return vals, "none"


def replicate_agreement(df: pd.DataFrame, replicates, *, transform: str = "none") -> dict | None:
    """Pairwise agreement between replicate columns, and the ceiling it puts on any model.

    Pearson is computed on the modelled scale (``transform``, falling back to untransformed
    when a replicate column cannot take it), Spearman on ranks. With k replicates of mean
    pairwise Pearson r, the mean of the replicates has reliability k r / (1 + (k - 1) r)
    (Spearman-Brown) and no model can correlate with it better than its square root.

    Returns
    -------
    dict or None
        ``pairs`` (list of {a, b, pearson, spearman, n}), ``scale``, ``mean_pearson``,
        ``mean_spearman``, ``ceiling_pearson``, ``note``; None with fewer than 2 replicates.
    """
    replicates = list(replicates or [])
    if len(replicates) < 2:
        return None
    vals = df[replicates].to_numpy(dtype=np.float64)
    scaled, scale = scaled_replicates(df, replicates, transform=transform)
    pairs = []
    for a, b in combinations(range(len(replicates)), 2):
        ok = np.isfinite(scaled[:, a]) & np.isfinite(scaled[:, b])
        r = stats.pearsonr(scaled[ok, a], scaled[ok, b])[0] if ok.sum() > 2 else np.nan
        s = stats.spearmanr(vals[ok, a], vals[ok, b])[0] if ok.sum() > 2 else np.nan
        pairs.append({"a": replicates[a], "b": replicates[b], "pearson": float(r),
                      "spearman": float(s), "n": int(ok.sum())})
    k = len(replicates)
    r_bar = float(np.nanmean([p["pearson"] for p in pairs]))
    rel = k * r_bar / (1 + (k - 1) * r_bar) if r_bar > 0 else 0.0
    return {"pairs": pairs, "scale": scale, "mean_pearson": r_bar,
            "mean_spearman": float(np.nanmean([p["spearman"] for p in pairs])),
            "ceiling_pearson": float(np.sqrt(rel)),
            "note": (f"Replicates agree at mean Pearson {r_bar:.3f}; a model predicting the "
                     f"mean of {k} replicates cannot exceed Pearson ~{np.sqrt(rel):.3f} "
                     "(Spearman-Brown), so judge test scores against that, not against 1.")}


# -- k-mer associations ----------------------------------------------------------------------
def kmer_associations(seqs, y, *, ks=(4, 5, 6), canonical: bool = True, min_count: int = 10,
                      test: str = "welch", max_bases: int = CHUNK_BASES) -> pd.DataFrame:
    """Test every k-mer's presence against the target, all k-mers at once.

    For each k-mer, sequences are split into those holding it (at least once) and those not;
    ``effect`` is the mean target with minus without. ``test="welch"`` gives Welch's t-test,
    ``"mannwhitney"`` the Mann-Whitney U test through ranks (normal approximation, tie
    corrected). p-values are adjusted over all tested k-mers with Benjamini-Hochberg. Memory
    is that of one chunk of rows plus (n,) and (k-mers,) arrays; the cost is linear in n, so
    ``explore`` runs it on a random sample of very large libraries.

    Parameters
    ----------
    seqs : sequence of str
        DNA sequences, any lengths.
    y : (n,) float
        Target on the modelled (transformed) scale; NaN rows are left out.
    ks : sequence of int
        k-mer sizes (4 to 6 is the useful range on a few thousand sequences).
    canonical : bool
        Merge each k-mer with its reverse complement.
    min_count : int
        Test only k-mers present in, and absent from, at least this many sequences.
    max_bases : int
        Size (nt) of the chunks of rows counted at a time (see ``presence_sums``).

    Returns
    -------
    DataFrame
        ``kmer, k, n_with, mean_with, mean_without, effect, statistic, p, q``, sorted by p.
    """
    if test not in ("welch", "mannwhitney"):
        raise ValueError(f"test={test!r}: choose 'welch' or 'mannwhitney'.")
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(y)
    seqs = [s for s, keep in zip(seqs, ok) if keep]
    y = y[ok]
    n = y.size
    if n < 2 * min_count:
        raise ValueError(f"only {n} sequences with a finite target; k-mer tests need at least "
                         f"{2 * min_count} (lower min_count for tiny data).")
    yc = y - y.mean()  # centred: sums of squares without cancellation
    second = yc * yc if test == "welch" else stats.rankdata(y)
    n1, sums, names = presence_sums(seqs, np.column_stack([yc, second]), ks=ks,
                                    canonical=canonical, max_bases=max_bases)
    keep = (n1 >= min_count) & (n - n1 >= min_count)
    n1, s1, s2 = n1[keep], sums[keep, 0], sums[keep, 1]
    kept_names = np.asarray(names)[keep]
    n0 = n - n1
    m1, m0 = s1 / n1, (yc.sum() - s1) / n0
    if test == "welch":
        v1 = np.maximum(s2 - n1 * m1**2, 0) / np.maximum(n1 - 1, 1)
        v0 = np.maximum((yc * yc).sum() - s2 - n0 * m0**2, 0) / np.maximum(n0 - 1, 1)
        se2 = v1 / n1 + v0 / n0
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = (m1 - m0) / np.sqrt(se2)
            df = se2**2 / ((v1 / n1) ** 2 / np.maximum(n1 - 1, 1)
                           + (v0 / n0) ** 2 / np.maximum(n0 - 1, 1))
        p = 2 * stats.t.sf(np.abs(stat), np.where(np.isfinite(df), df, 1))
    else:
        u = s2 - n1 * (n1 + 1) / 2  # s2: rank sum of the sequences holding the k-mer
        _, tie = np.unique(y, return_counts=True)
        var = n1 * n0 / 12 * ((n + 1) - (tie**3 - tie).sum() / (n * (n - 1)))
        stat = (u - n1 * n0 / 2) / np.sqrt(var)
        p = 2 * stats.norm.sf(np.abs(stat))
    p = np.where(np.isfinite(p), p, 1.0)
    out = pd.DataFrame({
        "kmer": kept_names, "k": [len(s.replace(".", "")) for s in kept_names],
        "n_with": n1.astype(int), "mean_with": m1 + y.mean(), "mean_without": m0 + y.mean(),
        "effect": m1 - m0, "statistic": stat, "p": p,
        "q": stats.false_discovery_control(p) if p.size else p,
    })
    return out.sort_values(["p", "effect"], key=lambda c: c if c.name == "p" else -c.abs(),
                           ignore_index=True)


def presence_sums(seqs, weights, *, ks=(4, 5, 6), canonical: bool = True,
                  max_bases: int = CHUNK_BASES) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """For every k-mer, how many sequences hold it and the column sums of ``weights`` over them.

    Counted over chunks of about ``max_bases`` nt; each k-mer's sums add its sequences one at a
    time in row order, so the result does not depend on the chunk size.

    Parameters
    ----------
    seqs : list of str
        DNA sequences, any lengths.
    weights : (n, W) float64
        Values to sum per k-mer (e.g. the centred target and its square).
    ks, canonical
        k-mer sizes, and whether to merge reverse complements (``seqexpr.kmers.kmer_counts``).

    Returns
    -------
    n_with : (F,) float64
        Sequences holding each k-mer at least once.
    sums : (F, W) float64
        Sum of ``weights`` over those sequences.
    names : list of str
        The F k-mers: each k in turn, in ``kmer_counts`` column order.
    """
    if not len(ks) or len(set(ks)) != len(ks):
        raise ValueError(f"k-mer sizes {list(ks)}: give at least one, each once.")
    w = np.ascontiguousarray(np.asarray(weights, dtype=np.float64).T)  # (W, n): fast add.at
    lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
    parts = []
    for k in ks:  # one k at a time: a chunk's count matrix is the only large array held
        names = kmer_counts([], k, canonical=canonical)[1]
        n_with, sums = np.zeros(len(names)), np.zeros((w.shape[0], len(names)))
        for lo, hi in row_chunks(lengths, max_bases=max_bases, desc=f"{k}-mer tests"):
            x = kmer_counts(seqs[lo:hi], k, canonical=canonical)[0]
            row = lo + np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
            n_with += np.bincount(x.indices, minlength=x.shape[1])
            for j in range(w.shape[0]):
                np.add.at(sums[j], x.indices, w[j, row])  # unbuffered: adds in row order
            del x, row
        parts.append((n_with, sums, names))
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts], axis=1).T,
            [name for p in parts for name in p[2]])


def top_kmers(assoc: pd.DataFrame, n: int = 25, *, alpha: float = 0.05) -> pd.DataFrame:
    """The ``n`` most significant k-mers (q < ``alpha``), largest effects first among ties."""
    sig = assoc[assoc["q"] < alpha]
    return sig.sort_values(["q", "effect"], key=lambda c: c if c.name == "q" else -c.abs()
                           ).head(n).reset_index(drop=True)


_IUPAC = {code: bases if len(bases) == 1 else f"[{bases}]" for code, bases in IUPAC_BASES.items()}


def planted_motif_hits(assoc: pd.DataFrame, ground_truth: dict, *, top: int = 25) -> pd.DataFrame:
    """For each planted motif (demo ground truth), the best-ranked k-mer found inside it.

    A k-mer matches a motif when it fits inside the motif's IUPAC consensus on either strand.

    Returns
    -------
    DataFrame, one row per motif
        ``motif, role, planted_effect, consensus, kmer, rank`` (1-based, in ``assoc`` order),
        ``effect, q, in_top`` (rank <= ``top``); kmer empty when none matches.
    """
    rows = []
    kmers = assoc["kmer"].str.replace(".", "N", regex=False).tolist()
    for m in ground_truth.get("motifs", []):
        cons = m["consensus"].upper()
        pats = [re.compile("".join(_IUPAC.get(c, "[ACGT]") for c in s))
                for s in (cons, reverse_complement_str(cons))]
        hit = next((i for i, km in enumerate(kmers)
                    if any(_fits(km, pat) for pat in pats)), None)
        row = {"motif": m["name"], "role": m.get("role"), "planted_effect": m.get("effect"),
               "consensus": cons, "kmer": "", "rank": None, "effect": np.nan, "q": np.nan,
               "in_top": False}
        if hit is not None:
            row.update(kmer=assoc["kmer"].iloc[hit], rank=hit + 1,
                       effect=float(assoc["effect"].iloc[hit]), q=float(assoc["q"].iloc[hit]),
                       in_top=hit < top)
        rows.append(row)
    return pd.DataFrame(rows)


def _fits(kmer: str, consensus_pattern: re.Pattern) -> bool:
    """Whether ``kmer`` lines up with some window of the consensus (IUPAC classes allowed)."""
    cons = consensus_pattern.pattern
    classes = re.findall(r"\[[A-Z]+\]|[A-Z]", cons)
    w = len(kmer)
    for s in range(len(classes) - w + 1):
        if all(b == "N" or b in c for b, c in zip(kmer, classes[s : s + w])):
            return True
    return False


def sample_rows(n: int, max_rows: int | None, seed: int) -> np.ndarray | None:
    """Sorted indices of a seeded random sample of ``max_rows`` of ``n`` rows: (m,) int64.

    None when all rows are kept (``max_rows`` None or at least ``n``).
    """
    rows = sample_rows_or_all(n, max_rows, seed)  # drawn as the baselines' sample
    return None if len(rows) == n else rows


def sample_note(n_used: int, n_total: int, seed: int) -> str:
    """One sentence saying on how many sequences the k-mer tests ran."""
    if n_used == n_total:
        return f"k-mer tests on all {n_total:,} sequences"
    return f"k-mer tests on a random sample of {n_used:,} of {n_total:,} sequences, seed {seed}"


# -- the whole stage -------------------------------------------------------------------------
def explore(df: pd.DataFrame, info: dict, *, kmer_sizes=(4, 5, 6), canonical: bool = True,
            min_count: int = 10, test: str = "welch", near_max_mismatches: int | None = None,
            relative_k: int = 20, relative_max_fraction: float = 0.05,
            max_sequences: int | None = 200_000, seed: int = 0) -> dict:
    """Compute every explore figure for 01_load's table and ``load.json`` (``info``).

    Counts (lengths, GC, N, duplicates) cover every sequence; the k-mer tests, whose cost
    grows with n times the number of k-mers, run on a random sample of ``max_sequences``
    (drawn with ``seed``; all sequences when None), recorded in ``summary["kmers"]``.

    Returns
    -------
    dict
        ``summary`` (JSON-able; what ``explore.json`` holds), ``gc`` and ``n_content``
        ((n,) float64), ``modelled`` ({target: (n,) float64}), ``duplicates`` (DataFrame),
        ``near_groups`` and ``relative_groups`` ((n,) int64), ``associations`` (DataFrame,
        all targets), ``composition`` (``base_composition``'s table).
    """
    seqs = df["sequence"].tolist()
    targets = list(info.get("targets", []))
    sample = sample_rows(len(seqs), max_sequences, seed)
    kmer_seqs = seqs if sample is None else [seqs[i] for i in sample]
    gc, nfrac = gc_content(seqs), n_content(seqs)
    lengths = df["length"].to_numpy() if "length" in df else np.array([len(s) for s in seqs])
    dups = exact_duplicates(seqs)
    near_groups, near_info = near_duplicates(seqs, max_mismatches=near_max_mismatches)
    rel_groups, rel_info = relatives(seqs, k=relative_k, max_fraction=relative_max_fraction)
    modelled, suggested, tsum, gc_assoc, tables = {}, {}, {}, {}, []
    for t in targets:
        y = df[t].to_numpy(dtype=np.float64)
        name, reason = suggest_transform(y)
        suggested[t] = {"name": name, "reason": reason}
        tsum[t] = target_summary(y)
        modelled[t] = modelled_scale(y, name)
        gc_assoc[t] = gc_association(gc, modelled[t])
        a = kmer_associations(kmer_seqs, modelled[t] if sample is None else modelled[t][sample],
                              ks=kmer_sizes, canonical=canonical,
                              min_count=min_count, test=test)
        tables.append(a.assign(target=t))
    assoc = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    first = targets[0] if targets else None
    rep = replicate_agreement(df, info.get("replicates"),
                              transform=suggested[first]["name"] if first else "none")
    summary = {
        "n": int(len(df)),
        "lengths": {"min": int(lengths.min()), "median": float(np.median(lengths)),
                    "max": int(lengths.max()), "distinct": int(np.unique(lengths).size)},
        "gc": {"mean": float(np.nanmean(gc)), "sd": float(np.nanstd(gc)),
               "min": float(np.nanmin(gc)), "max": float(np.nanmax(gc)),
               "vs_target": gc_assoc},
        "n_content": {"sequences_with_n": int((nfrac > 0).sum()),
                      "fraction_of_bases": float(np.average(nfrac, weights=lengths))
                      if lengths.sum() else 0.0, "max_fraction": float(nfrac.max())},
        "targets": tsum,
        "suggested_transform": suggested,
        "replicate_agreement": rep,
        "duplicates": {"exact": int((dups["exact_group"] >= 0).sum()),
                       "exact_groups": int(dups.loc[dups["exact_group"] >= 0,
                                                    "exact_group"].nunique()),
                       "reverse_complement": int((dups["rc_group"] >= 0).sum()),
                       "near": near_info["with_near_duplicate"],
                       **{f"near_{k}": v for k, v in near_info.items()
                          if k != "with_near_duplicate"},
                       "relatives": rel_info["with_relative"],
                       **{f"relatives_{k}": v for k, v in rel_info.items()
                          if k != "with_relative"}},
        "common_flanks": common_flanks(seqs),
        "kmers": {"sizes": list(kmer_sizes), "canonical": canonical, "test": test,
                  "min_count": min_count, "tested": int(len(assoc) // max(len(targets), 1)),
                  "significant_q05": {t: int(((assoc["target"] == t) & (assoc["q"] < 0.05)).sum())
                                      for t in targets},
                  "n_used": len(kmer_seqs), "n_total": len(seqs), "seed": seed,
                  "note": sample_note(len(kmer_seqs), len(seqs), seed)},
    }
    return {"summary": summary, "gc": gc, "n_content": nfrac, "lengths": lengths,
            "modelled": modelled, "duplicates": dups, "near_groups": near_groups,
            "relative_groups": rel_groups,
            "associations": assoc, "composition": base_composition(seqs)}
