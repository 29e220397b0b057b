"""Train/valid/test splits that keep relatives apart, and an audit that proves it.

Two sequences are *relatives* when they share an informative exact k-mer (k=20 by default)
on either strand; constant flanks, k-mers common to many sequences and low-complexity
k-mers are ignored, and how many were is reported (see :mod:`seqexpr.homology`).

``make_splits(method="homology")`` joins relatives into clusters (connected components of
the "shares a k-mer" graph, found by sorting (k-mer hash, sequence) pairs; no all-pairs
loop) and assigns whole clusters to splits. ``audit`` marks every valid/test sequence that
has a relative in train; a split is *leaky* when more than ``threshold`` of the test set does.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from seqexpr._checks import option
from seqexpr.homology import clusters_from_index, kmer_index

SPLITS = ("train", "valid", "test")
_SPLIT_WORDS = {"train": "train", "training": "train", "valid": "valid", "val": "valid",
                "validation": "valid", "dev": "valid", "test": "test", "testing": "test"}


class LeakySplitError(ValueError):
    """Raised when a split puts too many test sequences next to a relative in train."""


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
    k, max_kmer_fraction, repeat_fraction : see :func:`seqexpr.homology.kmer_index`.
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
    k, max_kmer_fraction, repeat_fraction : see :func:`seqexpr.homology.kmer_index`
        (ignored when ``index``, a ``kmer_index`` result, is given).
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
    rel = relatives_of(index, is_train) & ~is_train
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


def relatives_of(index: dict, members: np.ndarray, *, chunk: int = 2**22) -> np.ndarray:
    """Which sequences share an informative k-mer with one of ``members``, ``(n,) bool``.

    ``index`` is a :func:`seqexpr.homology.kmer_index` result; its (k-mer, sequence) pairs
    are read ``chunk`` at a time, so the work memory stays O(chunk) beside the (n,) and
    (groups,) flags however many pairs there are. A member counts as its own relative
    when it holds any shared k-mer.
    """
    g, s = index["group"], index["seq"]
    group_has = np.zeros(index["n_groups"], bool)
    for lo in range(0, len(g), chunk):
        group_has[g[lo : lo + chunk][members[s[lo : lo + chunk]]]] = True
    hits = np.zeros(index["n"], bool)
    for lo in range(0, len(g), chunk):
        hits[s[lo : lo + chunk][group_has[g[lo : lo + chunk]]]] = True
    return hits


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
        raise ValueError(f'split_method="column" needs a column: pass '
                         f"{option('split_column', 'NAME')}, naming a column carried in "
                         "sequences.parquet")
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
        f"{option('split_method', 'homology')}, which keeps relatives in one split; if the "
        f"data came with a split column, also pass {option('split_column', '')} to ignore it. "
        f"Or group by a column, or pass {option('allow_leaky', True)} to go on anyway (the "
        "report will say so loudly)."
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


__all__ = ["make_splits", "audit", "relatives_of", "cluster_summary",
           "check_leakage", "resolve_method", "audit_table",
           "LeakySplitError", "SPLITS"]
