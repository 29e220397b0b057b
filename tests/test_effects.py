"""In-silico experiments on hand-set models whose answers are known."""

import matplotlib
import numpy as np
import pytest

from seqexpr.patterns.effects import (cooperativity, insertion_effect, motif_instances,
                                      position_profile, preferred_window)
from seqexpr.plots.patterns import plot_cooperativity, plot_effects, plot_position_profile

matplotlib.use("Agg")
EYE = np.eye(4, dtype=np.float32)
ACTIVATOR, REPRESSOR = "TGACTCA", "CCGGAAGT"


def onehot(s):
    return EYE[["ACGT".index(c) for c in s]]


def match_starts(x, motif):
    """(m, L-k+1) bool: where motif (a string) starts on the forward strand."""
    k = len(motif)
    win = np.lib.stride_tricks.sliding_window_view(x, k, axis=1)  # (m, L-k+1, 4, k)
    return np.einsum("mpbj,jb->mp", win, onehot(motif)) > k - 0.5


def has(x, motif, both=True):
    hit = match_starts(x, motif).any(1)
    if both:
        hit |= match_starts(x[:, ::-1, ::-1], motif).any(1)
    return hit.astype(float)


def scorer(x):
    """+1.5 per activator site, -0.8 per repressor site (either strand), plus GC content."""
    return 1.5 * has(x, ACTIVATOR) - 0.8 * has(x, REPRESSOR) + 0.1 * x[:, :, 1:3].sum((1, 2))


def backgrounds(n=60, length=100, seed=0):
    x = EYE[np.random.default_rng(seed).integers(0, 4, (n, length))]
    keep = (has(x, ACTIVATOR) == 0) & (has(x, REPRESSOR) == 0)  # start from clean backgrounds
    return x[keep]


def test_insertion_effect_recovers_hand_set_effects_and_signs():
    bg = backgrounds()
    act = insertion_effect(scorer, bg, ACTIVATOR, n_samples=40)
    rep = insertion_effect(scorer, bg, REPRESSOR, n_samples=40)
    # the GC term makes single insertions vary a little around the hand-set effect
    assert act["effect"] == pytest.approx(1.5, abs=0.2) and act["effect"] > 0
    assert rep["effect"] == pytest.approx(-0.8, abs=0.2) and rep["effect"] < 0
    assert act["per_strand"]["+"] == pytest.approx(act["per_strand"]["-"], abs=0.3)
    assert act["effects"].shape == (40, 5, 2) and act["n"] == 400
    assert list(act["per_position"].columns) == ["position", "effect_mean", "effect_sd", "n"]
    # a motif the model ignores has ~no effect
    assert abs(insertion_effect(scorer, bg, "ACGTACT")["effect"]) < 0.15


def test_insertion_never_touches_padding_and_respects_lengths():
    bg = backgrounds(n=40)
    mask = np.ones(bg.shape[:2], np.uint8)
    lengths = np.random.default_rng(1).integers(30, 101, len(bg))
    mask[np.arange(100)[None] >= lengths[:, None]] = 0
    bg[mask == 0] = 0
    seen = []

    def f(x):
        seen.append(x.copy())
        return scorer(x)

    res = insertion_effect(f, bg, ACTIVATOR, mask=mask, positions=[0, 20, 60, 90])
    rows = np.concatenate(seen).any(-1)  # (inputs, L): non-zero rows
    n_real = rows.sum(1)
    last = 100 - rows[:, ::-1].argmax(1)
    # every input keeps a real prefix of one of the background lengths, padding untouched
    assert np.all(last == n_real) and np.isin(n_real, lengths).all()
    # position 90 fits no background shorter than 97 nt: those are skipped, not clipped
    fits = lengths >= 90 + len(ACTIVATOR)
    expected_n = [2 * len(bg), 2 * len(bg), 2 * (lengths >= 67).sum(), 2 * fits.sum()]
    assert res["per_position"]["n"].tolist() == expected_n
    assert res["per_position"]["effect_mean"].iloc[:3].between(1.2, 1.8).all()


def windowed(x):
    """Activator counts 2.0 when it starts in [40, 60), 0.2 elsewhere (forward strand)."""
    hits = match_starts(x, ACTIVATOR)
    inside = hits[:, 40:60].any(1)
    return 2.0 * inside + 0.2 * (hits.any(1) & ~inside) + 0.05 * x[:, :, 2].sum(1)


def test_position_profile_finds_window_of_position_dependent_model():
    bg = backgrounds()
    prof = position_profile(windowed, bg, ACTIVATOR, step=2, both_strands=False, n_samples=30)
    assert prof["position"].iloc[0] == 0 and prof["position"].iloc[-1] <= 100 - 7
    window = preferred_window(prof)
    assert window is not None
    start, end = window
    assert 38 <= start <= 42 and 58 + 7 - 2 <= end <= 60 + 7
    assert preferred_window(prof, min_effect=5.0) is None  # real, but too small to matter
    assert plot_position_profile(prof, window=window).axes


def test_position_profile_gives_no_window_for_position_independent_model():
    bg = backgrounds()
    prof = position_profile(scorer, bg, ACTIVATOR, step=4, n_samples=30)
    assert prof["effect_mean"].between(1.2, 1.8).all()
    assert preferred_window(prof) is None
    # nor for a motif without effect
    assert preferred_window(position_profile(scorer, bg, "ACGTACT", step=4)) is None


A, B = "GGGCGGG", "TTGCAA"


def and_model(x):
    a, b = has(x, A, both=False), has(x, B, both=False)
    return 0.5 * a + 0.7 * b + 2.0 * a * b + 0.1 * x[:, :, 0].sum(1)


def additive_model(x):
    a, b = has(x, A, both=False), has(x, B, both=False)
    return 0.5 * a + 0.7 * b + 0.1 * x[:, :, 0].sum(1) * (1 + 0.2 * x[:, :10, 3].sum(1))


def test_cooperativity_detects_and_logic_and_not_additivity():
    bg = backgrounds(n=80, seed=3)
    res = cooperativity(and_model, bg, A, B, spacing=6, n_samples=50)
    assert res["interaction"] == pytest.approx(2.0, abs=0.25)
    assert res["effect_ab"] > res["expected_additive"] + 1.5
    assert res["p_value"] < 1e-3
    add = cooperativity(additive_model, bg, A, B, spacing=6, n_samples=50)
    assert abs(add["interaction"]) < 0.1 and add["p_value"] > 0.05
    assert add["expected_additive"] == pytest.approx(add["effect_ab"], abs=0.1)
    assert plot_cooperativity(res, names=("SP1", "CEBP")).axes
    with pytest.raises(ValueError, match="do not fit"):
        cooperativity(and_model, bg, A, B, spacing=200)


def test_motif_inputs_iupac_and_pwm():
    inst = motif_instances("TGASTCA", 200, seed=0)
    middle = inst[:, 3].argmax(1)
    assert set(np.unique(middle)) == {1, 2}  # S = C or G
    pwm = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]])
    assert (motif_instances(pwm, 5).argmax(-1) == [0, 3]).all()
    sampled = motif_instances(pwm, 2000, pwm_mode="sample", seed=1).argmax(-1)
    assert (sampled[:, 0] == 0).mean() == pytest.approx(0.7, abs=0.05)
    with pytest.raises(ValueError, match="IUPAC"):
        motif_instances("TGAXTCA", 3)
    bg = backgrounds()
    res = insertion_effect(scorer, bg, np.eye(4)[["ACGT".index(c) for c in ACTIVATOR]] * 9)
    assert res["consensus"] == ACTIVATOR and res["effect"] > 1.2
    fig = plot_effects({"AP-1": res, "ETS": insertion_effect(scorer, bg, REPRESSOR)})
    assert fig.axes[0].get_xlabel()
