"""The demo's self-check: planted motifs against what was discovered and named."""

import pandas as pd

from seqexpr.patterns.discovery import Motif
from seqexpr.patterns.jaspar import match_motifs, motif_table
from seqexpr.patterns.truth import _window_right, ground_truth_table
from test_jaspar import _row, db  # noqa: F401  (db: the JASPAR table, a fixture)


def test_ground_truth_check(db):
    ctcf = _row(db, "MA0139")
    m = Motif(motif_id="pos_1", sign="+", pwm=ctcf["pwm"][1:], cwm=ctcf["pwm"][1:] * 0.1,
              n_seqlets=40, consensus="CCGCGNGGNGGCAG", seqlets=pd.DataFrame())
    matches = match_motifs([m], db=db)
    effects = pd.DataFrame({"motif_id": ["pos_1"], "effect": [0.7], "effect_sd": [0.1],
                            "preferred_position": ["40-80"]})
    table = motif_table([m], matches, effects)
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
