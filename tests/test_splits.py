"""splits.py: relatives stay together, leaks are caught, flanks do not chain clusters."""

import numpy as np
import pandas as pd
import pytest

from seqexpr.encode import reverse_complement_str
from seqexpr.plots.encode import leakage_box_html
from seqexpr.homology import kmer_index
from seqexpr.splits import (LeakySplitError, audit, audit_table, check_leakage, make_splits,
                            relatives_of)

FLANK_L = "GACTAGCTAGGCTTAACGTTGGATCCAAGCTTGCATGCCT"  # constant primer/adaptor
FLANK_R = "TCGAGGTACCGAGCTCGAATTCACTGGCCGTCGTTTTACA"


def _mutate(s, rng, n_mut=3):
    s = list(s)
    for p in rng.choice(len(s), n_mut, replace=False):
        s[p] = "ACGT"[("ACGT".index(s[p]) + rng.integers(1, 4)) % 4]
    return "".join(s)


def _library(n=600, length=120, n_families=40, seed=0, flanks=True):
    """Random inserts; the first n_families*3 rows form families of 3: an original, a copy
    with 3 point mutations, and the reverse complement of another mutated copy."""
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]
    family = np.arange(n)
    for f in range(n_families):
        i = 3 * f
        seqs[i + 1] = _mutate(seqs[i], rng)
        seqs[i + 2] = reverse_complement_str(_mutate(seqs[i], rng))
        family[i : i + 3] = i
    if flanks:
        seqs = [FLANK_L + s + FLANK_R for s in seqs]
    ids = [f"s{i}" for i in range(n)]
    return ids, seqs, family


def test_homology_split_keeps_mutated_and_reverse_complement_copies_together():
    ids, seqs, family = _library()
    df, rep = make_splits(ids, seqs, method="homology", seed=0)
    per_family = df.assign(f=family).groupby("f")["split"].nunique()
    assert (per_family == 1).all()
    clusters = df.assign(f=family).groupby("f")["cluster"].nunique()
    assert (clusters == 1).all()  # each planted family is one cluster ...
    assert rep["clusters"]["largest"] == 3  # ... and nothing else was chained onto it
    assert rep["counts"] == {"train": 480, "valid": 60, "test": 60}
    assert not rep["leaky"] and rep["test_with_relative_in_train"]["n"] == 0


def test_random_split_with_near_duplicates_is_flagged_leaky_and_refused():
    ids, seqs, family = _library(n_families=100)
    df, rep = make_splits(ids, seqs, method="random", seed=0)
    assert rep["leaky"]
    t = rep["test_with_relative_in_train"]
    assert t["n"] > 0 and t["fraction"] > rep["threshold"]
    # exactly the test sequences whose family has a member in train are flagged
    fam_in_train = set(family[(df["split"] == "train").to_numpy()])
    expect = [(s != "train") and (f in fam_in_train) and (family == f).sum() > 1
              for s, f in zip(df["split"], family)]
    assert df["has_relative_in_train"].tolist() == expect
    with pytest.raises(LeakySplitError, match=rf"{t['n']} of 60 test sequences.*homology"):
        check_leakage(rep)
    check_leakage(rep, allow_leaky=True)  # allowed: no error, but a loud box
    assert "LEAKY SPLIT" in leakage_box_html(rep)
    tab = audit_table(df)
    assert tab.loc["test", "with_relative_in_train"] == t["n"]


def test_constant_flanks_and_poly_a_runs_do_not_collapse_clusters():
    ids, seqs, _ = _library(flanks=True)
    rng = np.random.default_rng(3)
    # a poly-A run inside 30% of inserts, at varying places
    seqs = [s[:p] + "A" * 25 + s[p + 25 :] if rng.random() < 0.3 else s
            for s, p in zip(seqs, rng.integers(45, 120, len(seqs)))]
    df, rep = make_splits(ids, seqs, method="homology")
    assert rep["kmers_ignored"] > 0 and rep["seqs_with_ignored_kmers"] == len(seqs)
    assert rep["clusters"]["largest"] <= 4
    assert rep["clusters"]["n_clusters"] >= 600 - 80 - 5


def test_a_cluster_too_big_for_test_goes_to_train_with_a_warning():
    ids, seqs, _ = _library(n=300, n_families=0, flanks=False)
    base = seqs[0]
    rng = np.random.default_rng(1)
    # 40 point-mutant variants of one promoter (13% of the data; max_kmer_fraction raised
    # so that their shared k-mers count as informative)
    seqs[:40] = [_mutate(base, rng, 2) for _ in range(40)]
    df, rep = make_splits(ids, seqs, method="homology", max_kmer_fraction=0.5)
    assert df.loc[:39, "split"].eq("train").all()
    assert rep["forced_to_train"][0]["size"] == 40
    assert any("larger than the valid/test share" in w for w in rep["warnings"])
    assert not rep["leaky"]


def test_column_split_keeps_whole_groups_together():
    ids, seqs, _ = _library(n=400, n_families=0)
    groups = [f"chr{i % 10}" for i in range(400)]
    df, rep = make_splits(ids, seqs, method="column", groups=groups, seed=2)
    assert (df.assign(g=groups).groupby("g")["split"].nunique() == 1).all()
    assert set(df["split"]) == {"train", "valid", "test"}
    assert df["cluster"].nunique() == 10


def test_column_with_train_test_values_decides_and_valid_is_carved_by_homology():
    ids, seqs, family = _library(n=600, n_families=100)
    given = np.where(np.arange(600) >= 540, "test", "train")
    given[:3] = "test"  # family 0 sits in test, as the user's file says
    df, rep = make_splits(ids, seqs, method="column", groups=list(given))
    assert (df["split"] == "test").sum() == 63
    assert df.loc[df["split"] != "test"].index.isin(np.flatnonzero(given == "train")).all()
    assert rep["counts"]["valid"] > 0
    nontest = df.assign(f=family)[df["split"] != "test"]
    assert (nontest.groupby("f")["split"].nunique() == 1).all()  # no family across train/valid
    # with all three values given they are taken literally
    given3 = np.array(["train", "valid", "test"])[np.arange(600) % 3]
    df3, _ = make_splits(ids, seqs, method="column", groups=list(given3))
    assert df3["split"].tolist() == given3.tolist()


def test_splits_are_reproducible_by_seed():
    ids, seqs, _ = _library(n=300, n_families=10)
    for method in ("random", "homology"):
        a, _ = make_splits(ids, seqs, method=method, seed=7)
        b, _ = make_splits(ids, seqs, method=method, seed=7)
        c, _ = make_splits(ids, seqs, method=method, seed=8)
        pd.testing.assert_frame_equal(a, b)
        assert not a["split"].equals(c["split"])


def test_audit_on_a_given_split_and_clear_errors():
    ids, seqs, _ = _library(n=60, n_families=5, flanks=False)
    df = pd.DataFrame({"id": ids, "split": ["train", "test", "test"] * 20})
    out, rep = audit(df, seqs, k=20)
    assert out["has_relative_in_train"].sum() == 10  # 5 families x 2 copies in test
    assert rep["test_with_relative_in_train"]["fraction"] == pytest.approx(10 / 40)
    with pytest.raises(ValueError, match="train/valid/test"):
        audit(df.assign(split="holdout"), seqs)
    with pytest.raises(ValueError, match="groups"):
        make_splits(ids, seqs, method="column")


def test_combinatorial_library_gets_a_warning_that_the_audit_is_blind():
    # 4 backgrounds x 5 variants of a 10-nt element: every k-mer is shared by many sequences
    rng = np.random.default_rng(5)
    backgrounds = ["".join(rng.choice(list("ACGT"), 150)) for _ in range(4)]
    elements = ["".join(rng.choice(list("ACGT"), 10)) for _ in range(5)]
    seqs = [bg[:70] + el + bg[80:] for bg in backgrounds for el in elements] * 5
    ids = [f"v{i}" for i in range(len(seqs))]
    _, rep = make_splits(ids, seqs, method="homology", max_kmer_fraction=0.01)
    assert rep["median_common_fraction"] > 0.75
    assert any("combinatorial" in w for w in rep["warnings"])


def test_relatives_read_a_few_pairs_at_a_time_match_all_at_once():
    ids, seqs, family = _library(n=90, n_families=10, flanks=False)
    index = kmer_index(seqs)
    members = np.arange(90) % 3 == 0  # each family's original
    whole = relatives_of(index, members)
    assert whole[:30].all() and not whole[30:].any()  # the families, nothing else
    for chunk in (1, 7, len(index["group"]) + 1):
        np.testing.assert_array_equal(relatives_of(index, members, chunk=chunk), whole)
