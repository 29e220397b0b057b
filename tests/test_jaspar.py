"""Naming motifs against JASPAR: planted matrices come back, shuffled ones do not."""

import json

import numpy as np
import pandas as pd
import pytest

from seqexpr.patterns.discovery import Motif
from seqexpr.patterns.jaspar import (MOTIF_COLUMNS, _window_right, counts_to_pwm,
                                     ground_truth_table, load_jaspar, match_motifs,
                                     motif_table)

# Long, information-rich, non-repetitive matrices: CTCF, ESR1, ELF1, TP53.
INFORMATIVE = ["MA0139", "MA0112", "MA0473", "MA0106"]


@pytest.fixture(scope="module")
def db():
    return load_jaspar()


def _row(db, base_id):
    return db[db["jaspar_id"].str.split(".").str[0] == base_id].iloc[0]


def test_load_jaspar_is_offline_core_with_families(db):
    assert len(db) > 1000
    assert db["jaspar_id"].is_unique
    assert (db["family"] != "").mean() > 0.8
    for pwm in db["pwm"].iloc[:50]:
        assert pwm.shape[1] == 4
        np.testing.assert_allclose(pwm.sum(1), 1.0)
    # Asking again is served from the in-process cache with the same content.
    again = load_jaspar()
    assert list(again["jaspar_id"]) == list(db["jaspar_id"])


def test_noisy_trimmed_motif_is_named_and_shuffled_one_is_refused(db):
    rng = np.random.default_rng(0)
    queries = {}
    for base in INFORMATIVE:
        p = _row(db, base)["pwm"]
        noisy = np.clip(p[1:] + rng.normal(0, 0.05, p[1:].shape), 0.01, None)  # trimmed
        queries[f"{base}_noisy"] = noisy / noisy.sum(1, keepdims=True)
        queries[f"{base}_shuffled"] = p[rng.permutation(len(p))]
    found = match_motifs(queries, db=db, top=3)
    assert list(found.columns[:4]) == ["query", "rank", "jaspar_id", "name"]
    best = found[found["rank"] == 1].set_index("query")
    for base in INFORMATIVE:
        hit = best.loc[f"{base}_noisy"]
        assert hit["jaspar_id"].split(".")[0] == base
        assert hit["q_value"] < 1e-3
        assert hit["similarity"] > 0.9
        assert best.loc[f"{base}_shuffled", "q_value"] >= 0.05


def test_ap1_site_is_named_with_its_family(db):
    ap1 = np.full((7, 4), 0.02)
    ap1[np.arange(7), ["ACGT".index(c) for c in "TGACTCA"]] = 0.94
    found = match_motifs([ap1], db=db, top=3)
    assert found["q_value"].iloc[0] < 0.01
    # TGACTCA is short: the right family must be among the top three, as in the demo check.
    assert found["family"].str.contains("Jun|Fos", case=False).sum() >= 2


def test_counts_to_pwm_rejects_nothing_and_normalises():
    p = counts_to_pwm(np.array([[10, 0, 0, 0], [0, 0, 0, 0]]))
    np.testing.assert_allclose(p.sum(1), 1)
    np.testing.assert_allclose(p[1], 0.25)


def test_bad_query_shape_names_the_motif(db):
    with pytest.raises(ValueError, match="'broken'"):
        match_motifs({"broken": np.ones((4, 2))}, db=db)


def test_motif_table_and_ground_truth_check(db):
    ctcf = _row(db, "MA0139")
    m = Motif(motif_id="pos_1", sign="+", pwm=ctcf["pwm"][1:], cwm=ctcf["pwm"][1:] * 0.1,
              n_seqlets=40, consensus="CCGCGNGGNGGCAG", seqlets=pd.DataFrame())
    matches = match_motifs([m], db=db)
    effects = pd.DataFrame({"motif_id": ["pos_1"], "effect": [0.7], "effect_sd": [0.1],
                            "preferred_position": ["40-80"]})
    table = motif_table([m], matches, effects)
    assert list(table.columns) == MOTIF_COLUMNS
    assert table.loc[0, "best_match_id"].startswith("MA0139")
    assert len(json.loads(table.loc[0, "pwm"])) == m.width
    truth = {"motifs": [
        dict(name="CTCF", jaspar_id=ctcf["jaspar_id"], consensus="", effect=0.5,
             role="activator", window=[50, 90], pwm=ctcf["pwm"].tolist()),
        dict(name="REST", jaspar_id="MA0138.3", consensus="", effect=-0.5, role="repressor",
             window=None, pwm=_row(db, "MA0138")["pwm"].tolist())],
        "pairs": [dict(a="CTCF", b="REST", interaction=0.3)]}
    check, pairs = ground_truth_table(truth, [m], table, db=db)
    ctcf_row = check.set_index("planted").loc["CTCF"]
    assert ctcf_row["found"] and ctcf_row["id_in_top3"] and ctcf_row["family_right"]
    assert ctcf_row["sign_right"] and ctcf_row["window_right"]
    assert not check.set_index("planted").loc["REST", "found"]
    assert not pairs.loc[0, "cooperativity_right"]


def test_window_mirror_counts_only_for_a_model_trained_on_both_strands():
    # planted [140, 180) in 200 nt reads [20, 60) on the other strand
    assert _window_right([140, 180], "145-176")
    assert not _window_right([140, 180], "20-56")
    assert _window_right([140, 180], "20-56", mirror_length=200)
    assert not _window_right([140, 180], "80-110", mirror_length=200)
    assert _window_right(None, "")  # no window planted, none reported
