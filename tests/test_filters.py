"""First-layer filters: a hand-set motif detector gives back its motif as a PWM."""

import numpy as np
import pytest

from seqexpr._backend import keras
from seqexpr.patterns.filters import first_layer_pwms, pwm_consensus, pwm_information

EYE = np.eye(4, dtype=np.float32)
MOTIF = "GATAAGC"


def detector_model(length, motif=MOTIF, padding="same"):
    """Filter 0 outputs 1 on an exact match of ``motif`` (0 otherwise); filter 1 never fires."""
    k = len(motif)
    inp = keras.Input((length, 4))
    conv = keras.layers.Conv1D(2, k, padding=padding, activation="relu", name="motifs")
    h = conv(inp)
    out = keras.layers.Dense(1)(keras.layers.GlobalMaxPooling1D()(h))
    model = keras.Model(inp, out)
    kernel = np.zeros((k, 4, 2), np.float32)
    kernel[:, :, 0] = 2 * EYE[["ACGT".index(c) for c in motif]] - 1  # +1 match, -1 mismatch
    bias = np.array([-(k - 1), -1.0], np.float32)
    conv.set_weights([kernel, bias])
    return model


def planted(n=120, length=60, seed=0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, length))
    motif = np.array(["ACGT".index(c) for c in MOTIF])
    for i in range(0, n, 2):  # every other sequence carries a site
        p = rng.integers(0, length - len(MOTIF) + 1)
        codes[i, p:p + len(MOTIF)] = motif
    return EYE[codes]


def brute_sites(x, mask, motif=MOTIF):
    """Exact matches lying wholly on real positions, counted with a plain loop."""
    k, hits = len(motif), 0
    for i in range(len(x)):
        s = "".join("ACGT"[j] for j in x[i].argmax(-1))
        for p in range(x.shape[1] - k + 1):
            hits += s[p:p + k] == motif and mask[i, p:p + k].all()
    return hits


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_first_layer_pwms_recover_hand_set_motif(padding):
    x = planted()
    model = detector_model(x.shape[1], padding=padding)
    res = first_layer_pwms(model, x, min_sites=5)
    assert [r["filter"] for r in res] == [0]  # the silent filter is dropped
    (r,) = res
    assert r["consensus"] == MOTIF
    assert r["pwm"].shape == (len(MOTIF), 4)
    np.testing.assert_allclose(r["pwm"].sum(1), 1.0)
    np.testing.assert_allclose(r["pwm"], EYE[["ACGT".index(c) for c in MOTIF]])
    assert r["n_sites"] == brute_sites(x, np.ones(x.shape[:2], bool))
    assert r["mean_activation"] == pytest.approx(1.0)
    assert r["information"] == pytest.approx(2 * len(MOTIF))


def test_first_layer_pwms_never_use_masked_positions():
    x = planted(seed=1)
    mask = np.ones(x.shape[:2], np.uint8)
    mask[:, :20] = 0  # e.g. an added flank: bases present, but not the input sequence
    x[::3, 5:12] = EYE[["ACGT".index(c) for c in MOTIF]]  # sites planted in the flank
    res = first_layer_pwms(detector_model(x.shape[1]), x, mask=mask, min_sites=5)
    assert res[0]["n_sites"] == brute_sites(x, mask.astype(bool))
    assert res[0]["n_sites"] < brute_sites(x, np.ones(x.shape[:2], bool))
    # too few sites: the filter is dropped rather than summarised from noise
    assert first_layer_pwms(detector_model(x.shape[1]), x, min_sites=10_000) == []


def test_first_conv_is_found_inside_a_nested_model():
    x = planted(seed=2)
    inner = detector_model(x.shape[1])
    inp = keras.Input(x.shape[1:])
    outer = keras.Model(inp, keras.layers.Average()([inner(inp), inner(inp[:, ::-1, ::-1])]))
    (r,) = first_layer_pwms(outer, x, min_sites=5)
    assert r["consensus"] == MOTIF


def test_pwm_helpers():
    pwm = np.array([[0.97, 0.01, 0.01, 0.01],  # A
                    [0.45, 0.05, 0.45, 0.05],  # A or G -> R
                    [0.25, 0.25, 0.25, 0.25],  # N
                    [0, 0, 0, 10]])  # counts are fine: T
    assert pwm_consensus(pwm) == "ARNT"
    info = pwm_information(pwm)
    assert info.shape == (4,)
    assert info[3] == pytest.approx(2.0) and info[2] == pytest.approx(0.0)
    assert info[0] > info[1] > info[2]
