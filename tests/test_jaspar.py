"""Naming motifs against JASPAR: planted matrices come back, shuffled ones and matrices with
too little information do not, and names come from the organism's taxon."""

import json
import socket

import numpy as np
import pandas as pd
import pytest

from seqexpr.patterns import jaspar
from seqexpr.patterns.discovery import Motif
from seqexpr.patterns.jaspar import (MIN_BITS, MOTIF_COLUMNS, counts_to_pwm, load_jaspar,
                                     match_motifs, motif_table, nameable, naming_note,
                                     naming_source)

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


def _site(consensus, p=0.94):
    pwm = np.full((len(consensus), 4), (1 - p) / 3)
    pwm[np.arange(len(consensus)), ["ACGT".index(c) for c in consensus]] = p
    return pwm


def _one_column_filter(rng, k=16):
    """A first-layer filter as the demo report showed it: near-N columns (0.2-0.5 bits of
    noise, as from a few hundred sites) and one informative G: consensus NNNNNNNNGNNNNNNN."""
    pwm = rng.dirichlet(np.full(4, 12.0), size=k)
    pwm[k // 2] = [0.03, 0.03, 0.91, 0.03]
    return pwm


def test_matrices_with_too_little_information_get_no_name(db):
    rng = np.random.default_rng(1)
    weak = _one_column_filter(rng)
    queries = {"uniform": np.full((16, 4), 0.25), "one_column": weak,
               "ap1": _site("TGACTCA")}
    found = match_motifs(queries, db=db, top=3)
    assert set(found["query"]) == {"ap1"}  # no match at all, so no q-value to misread
    assert found["family"].str.contains("Jun|Fos").sum() >= 2  # still named, as before
    assert naming_note(weak).startswith("too little information to name")
    assert naming_note(np.full((16, 4), 0.25)).startswith("too little information to name")
    assert naming_note(_site("TGACTCA"), 1e-4) == ""
    assert naming_note(_site("TGACTCA"), 0.3) == "no significant match (best q = 0.3)"


def test_edges_are_trimmed_before_matching(db):
    # a JASPAR matrix padded with 6 uniform columns on each side is still itself, and the
    # offset counts from the padded query's first column
    ctcf = _row(db, "MA0139")
    padded = np.vstack([np.full((6, 4), 0.25), ctcf["pwm"], np.full((6, 4), 0.25)])
    plain, wide = (match_motifs({"q": m}, db=db, top=1).iloc[0] for m in (ctcf["pwm"], padded))
    assert wide["jaspar_id"] == plain["jaspar_id"] == ctcf["jaspar_id"]
    assert wide["p_value"] == pytest.approx(plain["p_value"], rel=1e-6)
    assert wide["offset"] == plain["offset"] + 6


def test_almost_every_jaspar_matrix_carries_enough_information_to_name(db):
    ok = np.array([nameable(p) for p in db["pwm"]])
    assert ok.mean() > 0.95  # the bar refuses noise, not real TF motifs
    assert all(nameable(_site(c)) for c in ("TGACTCA", "GATAAG", "TATAAA"))


def test_names_come_from_the_organism_taxon():
    db, source = naming_source("human")
    assert set(db["tax_group"]) == {"vertebrates"}
    assert source["tax_group"] == "vertebrates" and source["n_matrices"] == len(db)
    assert "JASPAR2026 CORE" in source["summary"] and "vertebrates" in source["summary"]
    # a human CRE is named after a vertebrate bZIP, not the worm's zip-8 or a plant TGA
    best = match_motifs({"cre": _site("TGACGTCA")}, db=db, top=3)
    assert (best["q_value"] < 0.01).all()
    assert best["family"].str.contains("bZIP|Jun|Fos|CREB|ATF", case=False).all()
    every, source = naming_source(None)
    assert source["tax_group"] is None and len(every) > len(db)
    assert "all taxa" in source["summary"]


def test_a_bacterium_is_left_unnamed_with_the_reason():
    db, source = naming_source("E. coli")
    assert len(db) == 0 and "no bacterial matrices" in source["skipped"]
    m = Motif(motif_id="pos_1", sign="+", pwm=_site("TATAAT"), cwm=_site("TATAAT"),
              n_seqlets=30, consensus="TATAAT", seqlets=pd.DataFrame())
    table = motif_table([m], match_motifs([m], db=db), skipped=source["skipped"])
    assert table.loc[0, "best_match_name"] == ""
    assert table.loc[0, "naming_note"] == source["skipped"]


def test_a_new_tax_group_builds_offline_from_the_bundled_database(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("load_jaspar tried to open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    worms = load_jaspar(tax_group="nematodes", cache_dir=tmp_path)
    assert len(worms) > 50 and set(worms["tax_group"]) == {"nematodes"}
    assert list(tmp_path.glob("*nematodes*.npz"))
    # a second process reads the cache file, not pyjaspar
    jaspar._load.cache_clear()
    monkeypatch.setattr(jaspar, "_from_pyjaspar", no_network)
    again = load_jaspar(tax_group="nematodes", cache_dir=tmp_path)
    assert list(again["jaspar_id"]) == list(worms["jaspar_id"])


def test_motif_table_gives_the_family_and_says_why_a_motif_is_unnamed(db):
    ctcf = _row(db, "MA0139")
    named = Motif(motif_id="pos_1", sign="+", pwm=ctcf["pwm"][1:], cwm=ctcf["pwm"][1:] * 0.1,
                  n_seqlets=40, consensus="CCGCGNGGNGGCAG", seqlets=pd.DataFrame())
    weak = _one_column_filter(np.random.default_rng(2))
    blank = Motif(motif_id="pos_2", sign="+", pwm=weak, cwm=weak * 0.1, n_seqlets=25,
                  consensus="NNNNNNNNGNNNNNNN", seqlets=pd.DataFrame())
    effects = pd.DataFrame({"motif_id": ["pos_1"], "effect": [0.7], "effect_sd": [0.1],
                            "preferred_position": ["40-80"]})
    table = motif_table([named, blank], match_motifs([named, blank], db=db), effects)
    assert list(table.columns) == MOTIF_COLUMNS
    first, second = table.iloc[0], table.iloc[1]
    assert first["best_match_id"].startswith("MA0139")
    assert first["best_match_family"] == ctcf["family"] and first["naming_note"] == ""
    assert len(json.loads(first["pwm"])) == named.width
    assert second["best_match_name"] == "" and np.isnan(second["q_value"])
    assert second["naming_note"].startswith("too little information to name")
    assert f"naming needs {MIN_BITS:g} bits" in second["naming_note"]


def test_one_strand_matching_does_not_name_a_motif_after_its_reverse_complement(db):
    from seqexpr.patterns.discovery import reverse_complement_pwm

    base = INFORMATIVE[0]
    rc = reverse_complement_pwm(_row(db, base)["pwm"])
    both = match_motifs({"q": rc}, db=db, top=1)
    assert both["jaspar_id"].iloc[0].split(".")[0] == base and both["strand"].iloc[0] == "-"
    one = match_motifs({"q": rc}, db=db, top=5, both_strands=False)
    assert (one["strand"] == "+").all()
    assert base not in set(one["jaspar_id"].str.split(".").str[0])
