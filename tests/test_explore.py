"""The explore stage: planted motifs found, transforms suggested, duplicates and replicates."""

import numpy as np
import pandas as pd
import pytest

from seqexpr import composition
from seqexpr import explore as ex
from seqexpr.duplicates import exact_duplicates, near_duplicates, relatives

_RC = str.maketrans("ACGT", "TGCA")


def _rc(s):
    return s.translate(_RC)[::-1]


def _inside(kmer, motif):
    return kmer in motif or kmer in _rc(motif)


@pytest.fixture(scope="module")
def assoc(toy_module):
    return ex.kmer_associations(toy_module["seqs"], toy_module["y"], ks=(4, 5, 6))


@pytest.fixture(scope="module")
def toy_module():
    from conftest import _toy

    ids, seqs, y = _toy()
    return {"ids": ids, "seqs": seqs, "y": y}


def test_planted_kmers_top_with_right_sign(assoc, toy):
    top = assoc.head(10)
    act = top[[_inside(k, toy["motifs"]["activator"]) for k in top["kmer"]]]
    assert len(act) >= 2 and (act["effect"] > 0.5).all() and (act["q"] < 1e-20).all()
    rep = assoc[[_inside(k, toy["motifs"]["repressor"]) and len(k) == 6 for k in assoc["kmer"]]]
    best = rep.iloc[0]
    assert best["effect"] < -0.4 and best["q"] < 1e-10
    assert assoc.index[assoc["kmer"] == best["kmer"]][0] < 15


def test_unrelated_kmers_not_significant(assoc, toy):
    motifs = list(toy["motifs"].values())

    def unrelated(k):  # shares no 4-mer with either motif on either strand
        return all(not _inside(k[i : i + 4], m) for m in motifs for i in range(len(k) - 3))

    six = assoc[(assoc["k"] == 6) & np.array([unrelated(k) for k in assoc["kmer"]])]
    assert len(six) > 1000
    assert (six["q"] < 0.05).mean() < 0.01
    assert six["effect"].abs().median() < 0.1


def test_mann_whitney_agrees_on_the_top(toy_module):
    mw = ex.kmer_associations(toy_module["seqs"], toy_module["y"], ks=(6,), test="mannwhitney")
    assert set(mw["kmer"].head(2)) == {"GACTCA", "GAGTCA"}  # both halves of TGACTCA
    assert (mw["q"].between(0, 1)).all()


def test_welch_matches_scipy(toy_module):
    from scipy import stats

    a = ex.kmer_associations(toy_module["seqs"], toy_module["y"], ks=(4,), canonical=False)
    row = a.iloc[5]
    has = np.array([row["kmer"] in s for s in toy_module["seqs"]])
    ref = stats.ttest_ind(toy_module["y"][has], toy_module["y"][~has], equal_var=False)
    assert row["n_with"] == has.sum()
    assert row["p"] == pytest.approx(ref.pvalue, rel=1e-6)
    assert row["effect"] == pytest.approx(toy_module["y"][has].mean() - toy_module["y"][~has].mean())


@pytest.mark.parametrize("test", ["welch", "mannwhitney"])
def test_kmer_tests_in_chunks_equal_one_pass(toy_module, test):
    y = toy_module["y"].copy()
    y[::37] = np.nan  # left out before chunking
    kw = dict(ks=(4, 5), test=test, min_count=5)
    one = ex.kmer_associations(toy_module["seqs"], y, max_bases=10**9, **kw)
    chunked = ex.kmer_associations(toy_module["seqs"], y, max_bases=333, **kw)
    pd.testing.assert_frame_equal(chunked, one, check_exact=True)


def test_mann_whitney_matches_scipy_on_thousands_of_sequences():
    from scipy import stats

    rng = np.random.default_rng(1)
    seqs = ["".join(s) for s in rng.choice(list("ACGT"), size=(10_000, 3))]
    y = rng.normal(size=10_000) + 0.05 * np.array(["A" in s for s in seqs])
    a = ex.kmer_associations(seqs, y, ks=(1,), canonical=False, test="mannwhitney")
    for _, row in a.iterrows():
        has = np.array([row["kmer"] in s for s in seqs])
        assert has.sum() > 4096  # n_with * (n_with + 1) is past float32's exact integers
        ref = stats.mannwhitneyu(y[has], y[~has], use_continuity=False, method="asymptotic")
        assert row["p"] == pytest.approx(ref.pvalue, rel=1e-9)


def test_explore_tests_kmers_on_a_recorded_sample(toy_module):
    df = pd.DataFrame({"sequence": toy_module["seqs"], "expression": toy_module["y"]})
    info = {"targets": ["expression"]}
    kw = dict(kmer_sizes=(4,), seed=3)
    full = ex.explore(df, info, max_sequences=None, **kw)
    assert full["summary"]["kmers"].items() >= {"n_used": 600, "n_total": 600, "seed": 3}.items()
    same = ex.explore(df, info, max_sequences=600, **kw)
    pd.testing.assert_frame_equal(same["associations"], full["associations"])
    part = ex.explore(df, info, max_sequences=250, **kw)
    k = part["summary"]["kmers"]
    assert (k["n_used"], k["n_total"], k["seed"]) == (250, 600, 3)
    assert k["note"] == "k-mer tests on a random sample of 250 of 600 sequences, seed 3"
    rows = ex.sample_rows(600, 250, 3)
    assert rows.size == 250 and np.all(np.diff(rows) > 0)
    alone = ex.kmer_associations([toy_module["seqs"][i] for i in rows], toy_module["y"][rows],
                                 ks=(4,))
    pd.testing.assert_frame_equal(part["associations"].drop(columns="target"), alone)
    assert part["gc"].size == 600 and part["summary"]["n"] == 600  # counts cover everything


def test_duplicates_planted(toy_module):
    seqs = list(toy_module["seqs"][:200])
    seqs[10] = seqs[0]  # exact copy
    s = list(seqs[30])
    s[20], s[70] = ("A" if s[20] != "A" else "C"), ("G" if s[70] != "G" else "T")
    seqs[20] = "".join(s)  # two mismatches from 30
    seqs[40] = _rc(seqs[41])
    seqs[50] = seqs[51][:40] + seqs[50][40:]  # shares a 40-mer with 51, differs elsewhere
    d = exact_duplicates(seqs)
    assert d.loc[0, "exact_group"] == d.loc[10, "exact_group"] >= 0
    assert (d["exact_group"] >= 0).sum() == 2
    assert d.loc[40, "rc_group"] == d.loc[41, "rc_group"] >= 0
    near, info = near_duplicates(seqs, max_mismatches=3)
    assert near[20] == near[30] >= 0 and near[0] == near[10] >= 0
    assert info["with_near_duplicate"] == 4 and info["pairs"] == 2
    rel, rinfo = relatives(seqs, k=20)
    assert rel[50] == rel[51] >= 0 and rel[40] == rel[41] >= 0 and near[50] < 0
    assert rinfo["with_relative"] == 8


def test_replicate_agreement():
    rng = np.random.default_rng(1)
    truth = rng.normal(0, 1, 2000)
    df = pd.DataFrame({f"r{i}": truth + rng.normal(0, 0.5, 2000) for i in range(3)})
    out = ex.replicate_agreement(df, ["r0", "r1", "r2"])
    assert [(p["a"], p["b"]) for p in out["pairs"]] == [("r0", "r1"), ("r0", "r2"), ("r1", "r2")]
    assert out["pairs"][1]["pearson"] == pytest.approx(np.corrcoef(df["r0"], df["r2"])[0, 1])
    r = np.mean([p["pearson"] for p in out["pairs"]])
    assert r == pytest.approx(0.8, abs=0.03)  # 1 / (1 + 0.25)
    # the mean of 3 replicates correlates with the truth at sqrt(3r / (1 + 2r))
    assert out["ceiling_pearson"] == pytest.approx(np.sqrt(3 * r / (1 + 2 * r)))
    assert out["ceiling_pearson"] == pytest.approx(np.corrcoef(df.mean(axis=1), truth)[0, 1],
                                                   abs=0.02)
    assert ex.replicate_agreement(df, ["r0"]) is None


def test_composition_gc_and_n():
    seqs = ["ACGTAC", "GGGG", "AANN"]
    comp = composition.base_composition(seqs)
    assert comp["n"].tolist() == [3, 3, 3, 3, 1, 1]
    assert comp.loc[0, ["A", "G"]].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert comp.loc[2, "N"] == pytest.approx(1 / 3)
    assert composition.gc_content(seqs) == pytest.approx([0.5, 1.0, 0.0])
    assert composition.n_content(seqs) == pytest.approx([0, 0, 0.5])
    assert ex.common_flanks(["TTTTTTACG", "TTTTTTGGC"]) == {"prefix": "TTTTTT", "suffix": ""}


def test_planted_motif_hits():
    assoc = pd.DataFrame({"kmer": ["AAAA", "GAGTCA", "CCGGA"], "effect": [0.1, 1.0, -0.5],
                          "q": [0.5, 1e-9, 1e-3]})
    truth = {"motifs": [{"name": "AP1", "role": "activator", "effect": 1.0,
                         "consensus": "TGASTCA"}, {"name": "X", "consensus": "GGGGGGG"}]}
    hits = ex.planted_motif_hits(assoc, truth)
    assert hits.loc[0, "kmer"] == "GAGTCA" and hits.loc[0, "rank"] == 2  # rc, S = C/G
    assert hits.loc[1, "kmer"] == "" and not hits.loc[1, "in_top"]


def test_reverse_complement_copies_are_found_with_degenerate_letters():
    # RC of ACGRTT is AAYCGT (R pairs with Y): the two are one molecule read both ways
    dup = exact_duplicates(["ACGRTT", "AAYCGT", "ACGRTA"])
    assert dup.loc[0, "rc_group"] == dup.loc[1, "rc_group"] != -1
    assert dup.loc[2, "rc_group"] == -1
