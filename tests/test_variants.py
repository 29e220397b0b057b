"""Variant effects: each pair scored as alt minus ref with the seeds' spread, lengths handled by
the model's own encoding and said so, saturation maps complete, and the demo's truth check
able to tell a model that knows the motifs from one that does not."""

import numpy as np
import pandas as pd
import pytest

from seqexpr import variants
from seqexpr.demo import make_demo

SITE = "TGACTCA"


class ToyBundle:
    """Two 'seeds' that count a site and disagree by a known amount per site."""

    preprocessing = {"kind": "ensemble", "length": 30, "pad": "right", "trim": "right",
                     "unknown": 0.0, "flank_left": "", "flank_right": "", "rna": False,
                     "targets": ["expression"], "target_transform": {"name": "log", "offset": 0.0},
                     "target_inverse": True, "train_lengths": {"min": 30, "median": 30, "max": 30}}
    targets = ["expression"]

    def predict_sequences(self, seqs, *, members=False, **_):
        # the model reads only the first 30 nt (trim right), as its encoding would
        n = np.array([s[:30].count(SITE) for s in seqs], float)
        y = np.stack([1.0 + 0.9 * n, 1.0 + 1.1 * n])[:, :, None]
        return y if members else y.mean(0)

    def inverse(self, y):
        return np.exp(y)


def pairs(rows):
    return pd.DataFrame(rows, columns=["variant_id", "ref_sequence", "alt_sequence"])


def test_effects_are_alt_minus_ref_with_the_seeds_spread():
    bg = "A" * 30
    table = pairs([("two", SITE * 2 + bg[14:], SITE + bg[7:]),  # refs scored once each, in
                   ("gain", bg, SITE + bg[7:]),                # another order than given
                   ("none", bg, "C" + bg[1:])])
    got = variants.score_variants(ToyBundle(), table).set_index("variant_id")
    assert got.loc["two", "ref_pred"] == pytest.approx(3.0)
    assert got.loc["two", "delta"] == pytest.approx(-1.0)
    assert got.loc["gain", "delta"] == pytest.approx(1.0)
    assert got.loc["gain", "delta_sd"] == pytest.approx(np.std([0.9, 1.1], ddof=1))
    assert got.loc["none", "delta"] == 0 and got.loc["none", "delta_sd"] == 0
    assert got.loc["gain", "delta_original"] == pytest.approx(np.exp(2.0) - np.exp(1.0))
    assert list(got["note"]) == ["", "", ""]


def test_length_changes_and_trimmed_edits_are_noted():
    bg = "A" * 30
    table = pairs([("ins", bg, "G" + bg),                 # 31 nt: trimmed back to 30
                   ("far", bg + "C" * 10, bg + "G" * 10),  # edit at 31-40, cut away
                   ("shift", SITE + "C" * 23, "GG" + SITE + "C" * 23)])  # moves what it reads
    got = variants.score_variants(ToyBundle(), table).set_index("variant_id")
    assert got.loc["ins", "note"] == ("length changes 30 -> 31 nt; both encoded to 30 nt by the "
                                      "model's padding and trimming; alt longer than training "
                                      "(31 nt vs 30 nt): trimmed to 30 nt (right end cut)")
    assert "the model reads the same 30 nt for ref and alt" in got.loc["far", "note"]
    assert got.loc["far", "delta"] == 0
    assert "reads the same" not in got.loc["shift", "note"]


def test_saturation_scores_every_change_and_maps_them():
    seq = "A" * 11 + "TGACTCC" + "A" * 12  # one change (C->A at 18) makes the site
    sat = variants.saturation(ToyBundle(), "s1", seq)
    assert len(sat) == 3 * 30 and set(sat["position"]) == set(range(1, 31))
    best = sat.loc[sat["delta"].idxmax()]
    assert (best["position"], best["ref"], best["alt"]) == (18, "C", "A")
    delta, sd, ref = variants.saturation_matrix(sat)
    assert ref == seq and delta.shape == (30, 4)
    assert delta[17, 0] == pytest.approx(1.0) and delta[17, 1] == 0  # C is the reference


@pytest.fixture(scope="module")
def demo():
    frame, sites, truth = make_demo(n=150, length=120, seed=3)
    return frame, sites, truth


def test_truth_variants_know_their_true_effects(demo):
    frame, sites, truth = demo
    table = variants.truth_variants(frame["sequence"], frame["id"], sites, truth,
                                    n_knockouts=40, n_neutral=20, seed=0)
    knock, neutral = table[table["kind"] == "knockout"], table[table["kind"] == "neutral"]
    assert len(knock) >= 30 and len(neutral) == 20
    # knockouts of activators lower the truth, of repressors raise it; neutral changes are tiny
    role = {m["name"]: np.sign(m["effect"]) for m in truth["motifs"]}
    lost = knock["true_delta"] * -knock["motif"].map(role)
    assert (lost > 0.3).mean() > 0.8
    assert neutral["true_delta"].abs().max() < 0.1
    assert all(a != r for a, r in zip(table["alt"], table["ref"]))
    # the oracle agrees with itself; a model blind to the motifs does not
    perfect = variants.truth_agreement(table["true_delta"], table["true_delta"])
    assert perfect["spearman"] == pytest.approx(1) and perfect["sign_agreement"] == 1
    rng = np.random.default_rng(0)
    blind = variants.truth_agreement(rng.normal(size=len(table)), table["true_delta"])
    assert blind["spearman"] < 0.5 and blind["sign_agreement"] < 0.8
