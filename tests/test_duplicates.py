"""duplicates.py by chunks and hash parts: the same groups as the whole library at once."""

import os

import numpy as np
import pandas as pd
import pytest

from seqexpr.duplicates import common_flanks, exact_duplicates, near_duplicates, relatives
from seqexpr.encode import reverse_complement_str
from seqexpr.kmers import window_codes


def _library(n=70, seed=0, flank="GATTACAGATTACAGG"):
    """Mixed lengths behind a constant flank: copies, near copies (1-3
    substitutions), shared 25-nt segments, poly-A runs, an N and a lower-case copy."""
    rng = np.random.default_rng(seed)
    rand = lambda m: "".join(rng.choice(list("ACGT"), m))  # noqa: E731
    seqs = [rand(int(rng.choice([50, 60, 61]))) for _ in range(n)]
    for i in range(1, n, 9):
        seqs[i] = seqs[i - 1]
    for i in range(3, n, 6):
        s = list(seqs[i - 2])
        for j in rng.choice(len(s), int(rng.integers(1, 4)), replace=False):
            s[j] = "ACGT"[("ACGT".index(s[j]) + 1) % 4]
        seqs[i] = "".join(s)
    for i in range(2, n, 11):
        seqs[i] = seqs[i][:10] + seqs[i - 2][20:45] + seqs[i][35:]
    for i in range(7, n, 10):
        seqs[i] = seqs[i][:5] + "A" * 20 + seqs[i][25:]
    seqs[13] = seqs[13][:30] + "N" + seqs[13][31:]
    seqs[20] = seqs[19].lower()
    return [flank + s + "CCGG" for s in seqs]


def test_exact_duplicates_match_pandas_factorize():
    seqs = _library()
    seqs.append(reverse_complement_str(seqs[4]))
    got = exact_duplicates(seqs, chunk=4)
    up = pd.Series([s.upper() for s in seqs])
    codes, _ = pd.factorize(up)
    size = np.bincount(codes)[codes]
    ccodes, _ = pd.factorize(pd.Series([min(s, reverse_complement_str(s)) for s in up]))
    csize = np.bincount(ccodes)[ccodes]
    assert got["exact_group"].tolist() == np.where(size > 1, codes, -1).tolist()
    assert got["exact_size"].tolist() == size.tolist()
    assert got["rc_group"].tolist() == np.where(csize > size, ccodes, -1).tolist()
    assert (got["exact_group"] >= 0).sum() > 0 and (got["rc_group"] >= 0).sum() == 2
    assert exact_duplicates([]).shape == (0, 3)


def _relatives_by_sets(seqs, k, max_fraction):
    """Components of "shares a canonical k-mer held by 2..cap sequences", labelled like
    connected_components (by smallest member), -1 when alone."""
    n = len(seqs)
    row, code, _ = window_codes(seqs, k, canonical=True)
    holders = {}
    for r, c in zip(row.tolist(), code.tolist()):
        holders.setdefault(c, set()).add(r)
    cap = max(2, int(max_fraction * n))
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i
    for h in holders.values():
        if 2 <= len(h) <= cap:
            first, *rest = sorted(h)
            for r in rest:
                parent[root(r)] = root(first)
    roots = [root(i) for i in range(n)]
    label, out = {}, []
    for r in roots:
        out.append(label.setdefault(r, len(label)))
    out = np.array(out)
    return np.where(np.bincount(out)[out] > 1, out, -1), \
        sum(len(h) > cap for h in holders.values())


@pytest.mark.parametrize("chunk, part_size", [(3, 800), (7, 2000), (4096, 10**9)])
@pytest.mark.parametrize("k, fraction", [(20, 0.05), (12, 0.1)])
def test_relatives_by_parts_match_a_set_per_k_mer(chunk, part_size, k, fraction):
    seqs = _library(seed=1)
    groups, info = relatives(seqs, k=k, max_fraction=fraction, chunk=chunk,
                             part_size=part_size)
    want, ignored = _relatives_by_sets(seqs, k, fraction)
    assert groups.tolist() == want.tolist()
    assert info["ignored_common_kmers"] == ignored > 0  # the flank's k-mers
    assert 0 < info["with_relative"] < len(seqs)


def _near_by_pairs(seqs, m):
    """Every pair of equal-length sequences within ``m`` mismatches outside the flanks."""
    f = common_flanks(seqs, min_length=1)
    lo, hi = len(f["prefix"]), len(f["suffix"])
    cores = [s[lo : len(s) - hi].upper() for s in seqs]
    return {(i, j) for i in range(len(seqs)) for j in range(i + 1, len(seqs))
            if len(seqs[i]) == len(seqs[j])
            and sum(a != b for a, b in zip(cores[i], cores[j])) <= m}


@pytest.mark.parametrize("chunk", [1, 3, 4096])
def test_near_duplicates_by_chunks_find_every_close_pair(chunk):
    seqs = _library(seed=2)
    groups, info = near_duplicates(seqs, max_mismatches=3, chunk=chunk)
    one, one_info = near_duplicates(seqs, max_mismatches=3)
    assert groups.tolist() == one.tolist() and info == one_info
    assert info["pairs"] == len(_near_by_pairs(seqs, 3)) > 0
    _, tight = near_duplicates(seqs, max_mismatches=3, max_bucket=1, chunk=chunk)
    assert tight["skipped_buckets"] > 0


@pytest.mark.parametrize("chunk", [1, 4, 4096])
def test_common_flanks_by_chunks(chunk):
    seqs = _library(seed=3)
    got = common_flanks(seqs, min_length=1, chunk=chunk)
    up = [s.upper() for s in seqs]
    assert got["prefix"] == os.path.commonprefix(up) == "GATTACAGATTACAGG"
    assert got["suffix"] == os.path.commonprefix([s[::-1] for s in up])[::-1]
    assert common_flanks([], chunk=chunk) == {"prefix": "", "suffix": ""}
