"""Train/valid/test splits that keep relatives apart, and an audit that proves it.

Two sequences are *relatives* when they share an informative exact k-mer (k=20 by default)
on either strand. A k-mer is informative unless it occurs in more than ``max_kmer_fraction``
of the sequences (at least 5), overlaps such a common k-mer, or is low complexity (poly-A,
short tandem repeats): constant primer/adaptor flanks and repeats are everywhere and would
otherwise join every sequence into one cluster; how many k-mers were ignored is reported.

``make_splits(method="homology")`` joins relatives into clusters (connected components of
the "shares a k-mer" graph, found by sorting (k-mer hash, sequence) pairs; no all-pairs
loop) and assigns whole clusters to splits. ``audit`` marks every valid/test sequence that
has a relative in train; a split is *leaky* when more than ``threshold`` of the test set does.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from tqdm import tqdm

from seqexpr.encode import encode_codes

SPLITS = ("train", "valid", "test")
_SPLIT_WORDS = {"train": "train", "training": "train", "valid": "valid", "val": "valid",
                "validation": "valid", "dev": "valid", "test": "test", "testing": "test"}
MIN_KMER_LIMIT = 5  # a k-mer shared by this many sequences is always informative


class LeakySplitError(ValueError):
    """Raised when a split puts too many test sequences next to a relative in train."""


# -- k-mer index ---------------------------------------------------------------------------
def kmer_index(seqs: Sequence[str], *, k: int = 20, max_kmer_fraction: float = 0.01,
               repeat_fraction: float | None = 0.7, chunk: int = 4096) -> dict:
    """Group sequences by the canonical exact k-mers they share.

    A k-mer found in more than ``limit = max(MIN_KMER_LIMIT, max_kmer_fraction * n)``
    sequences is *common* (a constant flank, a poly-A run). Common k-mers are ignored, and
    so is every k-mer that overlaps one: otherwise the k-mers straddling a constant flank
    and the first few bases of the insert (say 16 flank + 4 insert bases) would be shared by
    n / 4**4 unrelated sequences and chain the whole library into one cluster.

    Parameters
    ----------
    seqs : sequence of str
        DNA; k-mers touching N or other IUPAC codes are skipped.
    k : int
        k-mer length, 1..31.
    max_kmer_fraction : float
        Share of sequences above which a k-mer is common.
    repeat_fraction : float or None
        Low-complexity k-mers (poly-A, short tandem repeats: at least this fraction of
        bases equal to the base 1, 2, 3 or 4 nt before), and k-mers half made of their
        bases, are skipped; None keeps them.
    chunk : int
        Sequences hashed at a time.

    Returns
    -------
    dict
        ``n``, ``k``, ``limit``, ``max_kmer_fraction``; ``group`` and ``seq`` ((m,) int64,
        sorted by group): pairs (informative k-mer, sequence holding it); ``n_groups``;
        ``n_ignored`` (distinct common k-mers); ``seqs_with_ignored`` (sequences holding
        one); ``kmers_overlapping_ignored`` (k-mer occurrences dropped next to them);
        ``median_common_fraction`` (median share of a sequence's k-mers that were dropped).
    """
    if not 1 <= k <= 31:
        raise ValueError(f"k={k}: k-mers are hashed into 64 bits, so k must be 1..31")
    seqs = list(seqs)
    n = len(seqs)
    limit = max(MIN_KMER_LIMIT, int(np.floor(max_kmer_fraction * n)))
    grids = []
    for lo in tqdm(range(0, n, chunk), desc="hashing k-mers", disable=n <= 25 * chunk):
        codes, _ = encode_codes(seqs[lo : lo + chunk])
        grids.append(_canonical_kmers(codes, k, repeat_fraction))
    width = max((g.shape[1] for g in grids), default=0)
    grid = np.full((n, width), _EMPTY, np.uint64)
    row = 0
    for g in grids:
        grid[row : row + len(g), : g.shape[1]] = g
        row += len(g)
    # pass 1: which k-mers are common (counted once per sequence)
    values, rows = _distinct_per_row(grid)
    uniq, counts = np.unique(values, return_counts=True)
    common = uniq[counts > limit]
    candidates = uniq[(counts >= 2) & (counts <= limit)]  # the only k-mers that can link
    at = np.searchsorted(common, grid).clip(max=max(len(common) - 1, 0))
    is_common = (common[at] == grid) if len(common) else np.zeros(grid.shape, bool)
    # drop every k-mer within k-1 positions of a common one (it shares bases with it)
    c = np.pad(np.cumsum(is_common, axis=1, dtype=np.int32), ((0, 0), (1, 0)))
    i = np.arange(width)
    near = c[:, np.minimum(i + k, width)] - c[:, np.maximum(i - k + 1, 0)]
    usable = grid != _EMPTY
    dropped = (near > 0) & usable
    # share of each sequence's k-mers lost as common: high in combinatorial libraries
    n_usable = usable.sum(axis=1)
    shared_fraction = dropped.sum(axis=1) / np.maximum(n_usable, 1)
    grid[dropped] = _EMPTY
    # pass 2: group the remaining k-mers shared by two or more sequences
    values, rows = _distinct_per_row(grid)
    if len(candidates):
        at = np.searchsorted(candidates, values).clip(max=len(candidates) - 1)
        hit = candidates[at] == values
        values, rows = values[hit], rows[hit]
    else:
        values, rows = values[:0], rows[:0]
    order = np.argsort(values, kind="stable")
    values, rows = values[order], rows[order]
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]]) if len(values) else \
        np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, len(values)])
    gid = np.repeat(np.arange(len(starts)), sizes)
    shared = sizes[gid] >= 2
    remap = np.cumsum(sizes >= 2) - 1
    return {
        "n": n, "k": k, "limit": limit, "max_kmer_fraction": float(max_kmer_fraction),
        "repeat_fraction": repeat_fraction,
        "group": remap[gid[shared]].astype(np.int64), "seq": rows[shared],
        "n_groups": int((sizes >= 2).sum()), "n_ignored": int(len(common)),
        "seqs_with_ignored": int(is_common.any(axis=1).sum()),
        "kmers_overlapping_ignored": int(dropped.sum() - is_common.sum()),
        "median_common_fraction": float(np.median(shared_fraction[n_usable > 0]))
        if (n_usable > 0).any() else 0.0,
    }


_EMPTY = np.uint64(2**64 - 1)  # never a canonical hash: min(h, rc(h)) < 2**63 for k <= 31


def _distinct_per_row(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's distinct hashes (empty slots skipped): flat (values, row index)."""
    s = np.sort(grid, axis=1)
    keep = s != _EMPTY
    keep[:, 1:] &= s[:, 1:] != s[:, :-1]
    rows = np.broadcast_to(np.arange(len(grid), dtype=np.int64)[:, None], grid.shape)
    return s[keep], rows[keep]


def _window_hash(base: np.ndarray, k: int) -> np.ndarray:
    """2-bit hashes of every k-window of a (m, L) uint64 code block by doubling: hashes of
    2p-windows are built from two p-windows, so k=20 takes 7 array passes instead of 20."""
    w = base.shape[1] - k + 1
    powers, h, p = {1: base}, base, 1
    while 2 * p <= k:
        width = h.shape[1] - p
        h = (h[:, :width] << np.uint64(2 * p)) | h[:, p : p + width]
        p *= 2
        powers[p] = h
    out, r = None, 0
    for p in sorted(powers, reverse=True):
        if k - r >= p:
            out = powers[p][:, :w].copy() if out is None else \
                (out << np.uint64(2 * p)) | powers[p][:, r : r + w]
            r += p
    return out


def _low_complexity(codes: np.ndarray, k: int, repeat_fraction: float) -> np.ndarray:
    """(m, L-k+1) bool: k-mers that mostly repeat themselves with a period of 1-4 nt
    (poly-A, AT or CAG repeats): for some period p, at least ``repeat_fraction`` of the
    k - p base pairs (i, i + p) inside the k-mer are equal."""
    m, length = codes.shape
    w = length - k + 1
    low = np.zeros((m, w), bool)
    for p in range(1, min(4, k - 1) + 1):
        same = np.pad(np.cumsum(codes[:, p:] == codes[:, :-p], axis=1, dtype=np.int32),
                      ((0, 0), (1, 0)))
        low |= (same[:, k - p : k - p + w] - same[:, :w]) >= repeat_fraction * (k - p)
    return low


def _canonical_kmers(codes: np.ndarray, k: int, repeat_fraction: float | None = 0.7
                     ) -> np.ndarray:
    """Canonical 2-bit k-mer hashes of a (m, L) code block: (m, L-k+1) uint64, _EMPTY where
    the k-mer touches an N or padding, or has half its bases or more inside low-complexity
    k-mers (see :func:`_low_complexity`)."""
    m, length = codes.shape
    w = max(length - k + 1, 0)
    if w == 0:
        return np.zeros((m, 0), np.uint64)
    base = (codes & 3).astype(np.uint64)
    fwd = _window_hash(base, k)
    rev = _window_hash(np.uint64(3) - base[:, ::-1], k)[:, ::-1]  # hashes of the other strand
    np.minimum(fwd, rev, out=fwd)
    bad = np.pad(np.cumsum(codes > 3, axis=1, dtype=np.int32), ((0, 0), (1, 0)))
    fwd[(bad[:, k:] - bad[:, :w]) > 0] = _EMPTY
    if repeat_fraction is not None:
        # bases inside a low-complexity k-mer are repeat bases; a k-mer that is half repeat
        # (say 12 As and 8 other bases) is skipped too, or the 8 bases alone would link
        # unrelated sequences that share a poly-A run
        low = np.pad(np.cumsum(_low_complexity(codes, k, repeat_fraction), axis=1,
                               dtype=np.int32), ((0, 0), (1, 0)))
        j = np.arange(length)
        rep = (low[:, np.minimum(j + 1, w)] - low[:, np.clip(j - k + 1, 0, w)]) > 0
        rep = np.pad(np.cumsum(rep, axis=1, dtype=np.int32), ((0, 0), (1, 0)))
        fwd[2 * (rep[:, k:] - rep[:, :w]) >= k] = _EMPTY
    return fwd


def clusters_from_index(index: dict) -> np.ndarray:
    """Connected components of the "shares an informative k-mer" graph: (n,) int64 labels."""
    n, g, s = index["n"], index["group"], index["seq"]
    if len(g) == 0:
        return np.arange(n, dtype=np.int64)
    # pairs are sorted by group: link every member to its group's first sequence
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    first = np.repeat(s[starts], np.diff(np.r_[starts, len(g)]))
    graph = sparse.coo_matrix((np.ones(len(s), np.int8), (first, s)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    # number clusters by size (largest = 0) so that labels are stable and readable
    sizes = np.bincount(labels)
    rank = np.empty_like(sizes)
    rank[np.lexsort((np.arange(len(sizes)), -sizes))] = np.arange(len(sizes))
    return rank[labels].astype(np.int64)


# -- assigning clusters to splits --------------------------------------------------------------
def _targets(n: int, fractions: Sequence[float]) -> np.ndarray:
    f = np.asarray(fractions, float)
    if f.shape != (3,) or (f < 0).any() or f.sum() <= 0:
        raise ValueError("fractions must be three non-negative numbers (train, valid, test), "
                         f"got {fractions}")
    f = f / f.sum()
    t = np.round(f * n).astype(int)
    t[0] = n - t[1:].sum()
    return t


def _assign_clusters(cluster: np.ndarray, targets: np.ndarray, seed: int,
                     allowed: Sequence[int] = (0, 1, 2)) -> tuple[np.ndarray, list]:
    """Whole clusters to splits (0/1/2) to hit ``targets``; clusters too big for valid/test go
    to train. Returns (split code per sequence, list of forced clusters)."""
    rng = np.random.default_rng(seed)
    sizes = np.bincount(cluster)
    ids = np.flatnonzero(sizes)
    ids = ids[rng.permutation(len(ids))]
    ids = ids[np.argsort(-sizes[ids], kind="stable")]  # largest first, random among equals
    small = [j for j in allowed if j > 0 and targets[j] > 0]
    cap = min((targets[j] for j in small), default=0)
    where = np.zeros(len(sizes), np.int8)
    goal = [float(max(t, 1)) for t in targets]
    need = [float(t) for t in targets]  # still to fill, per split
    forced = []
    for c, size in zip(ids.tolist(), sizes[ids].tolist()):  # a loop over clusters, not bases
        if 0 in allowed and size > cap:
            j = 0
            forced.append({"cluster": int(c), "size": int(size)})
        else:  # the split furthest (relatively) from its target
            j = max(allowed, key=lambda a: need[a] / goal[a])
        where[c] = j
        need[j] -= size
    return where[cluster], forced


# -- public API ------------------------------------------------------------------------------
def make_splits(ids: Sequence[str], seqs: Sequence[str], *, method: str = "homology",
                groups: Sequence | None = None, fractions: Sequence[float] = (0.8, 0.1, 0.1),
                seed: int = 0, k: int = 20, max_kmer_fraction: float = 0.01,
                repeat_fraction: float | None = 0.7, threshold: float = 0.01
                ) -> tuple[pd.DataFrame, dict]:
    """Split sequences into train/valid/test and audit the split for leakage.

    Parameters
    ----------
    ids, seqs : sequence of str, length n
    method : {"homology", "random", "column"}
        ``homology``: relatives (shared informative k-mer, either strand) stay in one split.
        ``random``: a seeded shuffle (audited, usually leaky on real libraries).
        ``column``: ``groups`` decide; whole groups go to one split, or, when the values
        are train/valid/test (or train/test), they are the split (valid is then carved
        out of train by homology).
    groups : sequence, length n, optional
        Group or split labels, required for ``column``.
    fractions : (3,) float
        Train, valid, test fractions (normalised to sum to 1).
    seed : int
    k, max_kmer_fraction, repeat_fraction : see :func:`kmer_index`.
    threshold : float
        Largest fraction of test with a relative in train that is not called leaky.

    Returns
    -------
    splits : DataFrame
        ``id, split, cluster, has_relative_in_train`` in input order.
    report : dict
        The keys of ``split_report.json`` (docs/run_folder.md) plus cluster figures.
    """
    ids = [str(i) for i in ids]
    seqs = list(seqs)
    n = len(seqs)
    if len(ids) != n:
        raise ValueError(f"{len(ids)} ids for {n} sequences")
    if method not in ("homology", "random", "column"):
        raise ValueError(f'method={method!r}: choose "homology", "random" or "column"')
    targets = _targets(n, fractions)
    index = kmer_index(seqs, k=k, max_kmer_fraction=max_kmer_fraction,
                       repeat_fraction=repeat_fraction)
    cluster = clusters_from_index(index)
    forced: list = []
    notes: list[str] = []
    if method == "random":
        code = np.empty(n, np.int8)
        code[np.random.default_rng(seed).permutation(n)] = np.repeat([0, 1, 2], targets)
    elif method == "homology":
        code, forced = _assign_clusters(cluster, targets, seed)
    else:
        if groups is None or len(groups) != n:
            raise ValueError('method="column" needs groups: one label per sequence '
                             "(a chromosome, gene family, or a train/valid/test column)")
        labels = pd.Series(list(groups), dtype=object)
        if labels.isna().any():
            raise ValueError(f"the group column has {int(labels.isna().sum())} missing values; "
                             "fill them or choose another split method")
        words = labels.astype(str).str.strip().str.lower().map(_SPLIT_WORDS)
        if words.notna().all() and {"train", "test"} <= set(words):
            code = words.map({"train": 0, "valid": 1, "test": 2}).to_numpy(np.int8)
            notes.append("splits taken from the given column")
            if "valid" not in set(words):
                tr = np.flatnonzero(code == 0)
                f = np.asarray(fractions, float)
                n_valid = int(round(len(tr) * f[1] / max(f[0] + f[1], 1e-12)))
                sub, forced = _assign_clusters(np.unique(cluster[tr], return_inverse=True)[1],
                                               np.array([len(tr) - n_valid, n_valid, 0]), seed,
                                               allowed=(0, 1))
                code[tr] = sub
                notes.append(f"valid ({n_valid}) carved out of the given train by homology")
        else:
            cluster = pd.factorize(labels, sort=True)[0].astype(np.int64)
            code, forced = _assign_clusters(cluster, targets, seed)
            notes.append("whole groups assigned to splits")
    df = pd.DataFrame({"id": ids, "split": np.asarray(SPLITS)[code], "cluster": cluster,
                       "has_relative_in_train": False})
    df, audit_report = audit(df, seqs, threshold=threshold, index=index)
    report = {"method": method, "seed": int(seed), "fractions": [float(x) for x in fractions],
              **audit_report, "clusters": cluster_summary(df["cluster"].to_numpy(), n),
              "forced_to_train": forced, "notes": notes}
    report["warnings"] = _warnings(report, targets, cluster, forced)
    return df, report


def audit(splits_df: pd.DataFrame, seqs: Sequence[str], *, k: int = 20,
          max_kmer_fraction: float = 0.01, repeat_fraction: float | None = 0.7,
          threshold: float = 0.01, index: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """Mark every valid/test sequence that has a relative in train.

    Parameters
    ----------
    splits_df : DataFrame
        ``id, split`` (and optionally ``cluster``), rows in ``seqs`` order.
    seqs : sequence of str
    k, max_kmer_fraction, repeat_fraction : see :func:`kmer_index` (ignored when
        ``index``, a :func:`kmer_index` result, is given).
    threshold : float
        The split is leaky when more than this fraction of test has a relative in train.

    Returns
    -------
    splits : DataFrame
        A copy with ``has_relative_in_train`` filled (always False for train rows).
    report : dict
        ``counts``, ``relative_definition``, ``with_relative_in_train`` per split,
        ``test_with_relative_in_train {n, fraction}``, ``leaky``, ``threshold``, ``k``,
        ``max_kmer_fraction``, ``kmer_limit``, ``kmers_ignored``, ``seqs_with_ignored_kmers``.
    """
    if len(splits_df) != len(seqs):
        raise ValueError(f"splits has {len(splits_df)} rows but there are {len(seqs)} sequences")
    if index is None:
        index = kmer_index(list(seqs), k=k, max_kmer_fraction=max_kmer_fraction,
                           repeat_fraction=repeat_fraction)
    split = splits_df["split"].astype(str).to_numpy()
    unknown = sorted(set(split) - set(SPLITS))
    if unknown:
        raise ValueError(f"split values must be train/valid/test; found {unknown}")
    is_train = split == "train"
    g, s, n = index["group"], index["seq"], index["n"]
    train_in_group = np.bincount(g, weights=is_train[s], minlength=index["n_groups"]) > 0
    hits = np.bincount(s[train_in_group[g]], minlength=n) > 0
    rel = hits & ~is_train
    out = splits_df.copy()
    out["has_relative_in_train"] = rel
    counts = {name: int((split == name).sum()) for name in SPLITS}
    with_rel = {name: {"n": int(rel[split == name].sum()),
                       "fraction": float(rel[split == name].mean()) if counts[name] else 0.0}
                for name in ("valid", "test")}
    limit, kk = index["limit"], index["k"]
    report = {
        "counts": counts,
        "relative_definition": (
            f"shares an exact {kk}-mer (either strand) with a train sequence; k-mers found in "
            f"more than {limit} sequences (max_kmer_fraction={index['max_kmer_fraction']:g}) "
            "are ignored as uninformative (constant flanks), with every k-mer overlapping them"
            + ("" if index["repeat_fraction"] is None else
               f"; low-complexity k-mers (repeat_fraction={index['repeat_fraction']:g}) too")),
        "test_with_relative_in_train": with_rel["test"],
        "valid_with_relative_in_train": with_rel["valid"],
        "leaky": bool(with_rel["test"]["fraction"] > threshold),
        "threshold": float(threshold),
        "k": int(kk), "max_kmer_fraction": float(index["max_kmer_fraction"]),
        "repeat_fraction": index["repeat_fraction"],
        "kmer_limit": int(limit), "kmers_ignored": index["n_ignored"],
        "seqs_with_ignored_kmers": index["seqs_with_ignored"],
        "kmers_overlapping_ignored": index["kmers_overlapping_ignored"],
        "median_common_fraction": index["median_common_fraction"],
    }
    return out, report


def cluster_summary(cluster: np.ndarray, n: int | None = None) -> dict:
    """Cluster size figures: count, largest, singletons, and a size histogram."""
    sizes = np.bincount(np.asarray(cluster))
    sizes = sizes[sizes > 0]
    n = int(sizes.sum()) if n is None else n
    edges = [1, 2, 3, 6, 11, 101, 1001, np.inf]
    bins = {}
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (sizes >= lo) & (sizes < hi)
        if hi == lo + 1:
            name = str(lo)
        else:
            name = f"{lo}-{int(hi) - 1}" if np.isfinite(hi) else f">{lo - 1}"
        bins[name] = {"clusters": int(sel.sum()), "sequences": int(sizes[sel].sum())}
    return {"n_clusters": int(len(sizes)), "largest": int(sizes.max()) if len(sizes) else 0,
            "largest_fraction": float(sizes.max() / n) if len(sizes) and n else 0.0,
            "singletons": int((sizes == 1).sum()),
            "median_size": float(np.median(sizes)) if len(sizes) else 0.0,
            "size_histogram": bins}


def _warnings(report: dict, targets: np.ndarray, cluster: np.ndarray, forced: list) -> list[str]:
    out = []
    n = max(len(cluster), 1)
    for f in forced:
        out.append(f"cluster {f['cluster']} ({f['size']} sequences, {f['size'] / n:.1%}) is larger "
                   "than the valid/test share, so all of it went to train: relatives were never "
                   "split across the boundary")
    got = report["counts"]
    for j, name in enumerate(SPLITS):
        if targets[j] and abs(got[name] - targets[j]) > max(0.2 * targets[j], 5):
            out.append(f"{name} holds {got[name]} sequences where {targets[j]} were asked: "
                       "clusters "
                       "are too large to hit the fractions; a larger k, a lower max_kmer_fraction "
                       'or a group split (method="column") gives finer units')
    if report["median_common_fraction"] > 0.75:
        out.append(f"{report['median_common_fraction']:.0%} of the k-mers of a typical sequence "
                   "are shared with many others and were ignored: a combinatorial or "
                   "mutational library? The audit sees only the unshared parts, so two variants "
                   "built on one background are not called relatives; for an honest test hold "
                   'out whole backgrounds/designs (method="column" with such a column)')
    if got["test"] == 0:
        out.append("the test split is empty")
    return out


def resolve_method(split_method: str, split_column: str | None,
                   load_info: dict | None = None) -> tuple[str, str | None]:
    """Decide 03_encode's split method and column.

    ``split_column=None`` takes 01_load's ``split_column``, then its ``group_column``;
    ``split_column=""`` means none. With a column, ``"homology"`` and ``"column"`` become
    ``"column"``; ``"random"`` stays random. Returns ``(method, column or None)``.
    """
    info = load_info or {}
    column = (info.get("split_column") or info.get("group_column")) if split_column is None \
        else (split_column or None)
    if split_method not in ("homology", "random", "column"):
        raise ValueError(f'split_method={split_method!r}: choose "homology", "random" or "column"')
    if split_method == "random":
        return "random", None
    if column:
        return "column", column
    if split_method == "column":
        raise ValueError('split_method="column" needs a column: pass split_column="NAME" '
                         "(a column carried in sequences.parquet)")
    return "homology", None


def check_leakage(report: dict, *, allow_leaky: bool = False) -> None:
    """Raise :class:`LeakySplitError` for a leaky split unless ``allow_leaky``."""
    if not report["leaky"] or allow_leaky:
        return
    t = report["test_with_relative_in_train"]
    raise LeakySplitError(
        f"leaky split: {t['n']} of {report['counts']['test']} test sequences ({t['fraction']:.1%}, "
        f"above the threshold {report['threshold']:.1%}) have a relative in train "
        f"({report['relative_definition']}). Test scores would be inflated. Fix: use "
        'split_method="homology" (relatives kept in one split; add split_column="" to ignore '
        "a split column given with the data), or group by a column; or pass allow_leaky=True "
        "to go on anyway (the report will say so loudly)."
    )


def audit_table(splits_df: pd.DataFrame) -> pd.DataFrame:
    """Per split: sequences, those with a relative in train, and the fraction."""
    g = splits_df.groupby("split", sort=False)["has_relative_in_train"]
    tab = pd.DataFrame({"sequences": g.size(), "with_relative_in_train": g.sum().astype(int)})
    tab = tab.reindex([s for s in SPLITS if s in tab.index])
    tab["fraction"] = (tab["with_relative_in_train"] / tab["sequences"]).round(4)
    if "train" in tab.index:  # train sequences are not audited against themselves
        tab.loc["train", "fraction"] = np.nan
    return tab


def leakage_box_html(report: dict) -> str:
    """A loud HTML box for a report whose split is leaky (empty string otherwise)."""
    if not report["leaky"]:
        return ""
    t = report["test_with_relative_in_train"]
    return (
        '<div style="border:4px solid #c00;background:#fee;padding:12px;font-size:1.15em">'
        f"<b>&#9888; LEAKY SPLIT (allowed by allow_leaky=True)</b><br>{t['n']} of "
        f"{report['counts']['test']} test sequences ({t['fraction']:.1%}) have a relative in "
        "train. Test metrics from this run are optimistic and must not be reported as "
        'performance on unseen sequences. Rerun with split_method="homology".</div>'
    )


def plot_split_overview(splits_df: pd.DataFrame):
    """Cluster size distribution and per-split relatives; returns a matplotlib Figure."""
    import matplotlib.pyplot as plt

    sizes = np.bincount(splits_df["cluster"].to_numpy())
    sizes = sizes[sizes > 0]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    vals, cnt = np.unique(sizes, return_counts=True)
    a.bar(np.arange(len(vals)), cnt * vals, color="#4477aa")
    step = max(1, len(vals) // 12)
    a.set_xticks(np.arange(len(vals))[::step], [str(v) for v in vals[::step]], rotation=45)
    a.set_yscale("log")
    a.set_ylim(0.8, None)
    a.set_xlabel("cluster size (sequences)")
    a.set_ylabel("sequences in clusters of that size")
    a.set_title(f"{len(sizes)} clusters; largest {sizes.max()} sequences")
    tab = audit_table(splits_df)
    rel = tab["with_relative_in_train"].astype(int)
    b.bar(tab.index, tab["sequences"] - rel, color="#4477aa", label="no relative in train")
    b.bar(tab.index, rel, bottom=tab["sequences"] - rel, color="#cc3311", label="relative in train")
    b.set_ylabel("sequences")
    b.set_title("split sizes and leakage")
    b.legend(fontsize=8)
    fig.tight_layout()
    return fig


__all__ = ["make_splits", "audit", "kmer_index", "clusters_from_index", "cluster_summary",
           "check_leakage", "resolve_method", "audit_table", "leakage_box_html",
           "plot_split_overview",
           "LeakySplitError", "SPLITS"]
