"""Position maps: a planted positional rule is recovered, a motif that moves is not called positional."""

import numpy as np
import pytest

from seqexpr.encode import encode
from seqexpr.patterns.ism import ism
from seqexpr.patterns.positions import (
    find_landmark, is_aligned, position_effects, position_labels, position_table, positional_share, top_effects,
)


def _random(n, length, seed=0):
    rng = np.random.default_rng(seed)
    return encode(["".join(rng.choice(list("ACGT"), length)) for _ in range(n)])[0]


def kozak_like(x):
    """A purine at position 4 (of 11) helps, G at position 10 helps, T at 10 hurts."""
    return x[:, 3, 0] + x[:, 3, 2] + 0.8 * x[:, 9, 2] - 0.5 * x[:, 9, 3]


def motif_anywhere(x):
    """Counts 'GATA' anywhere: the effect of a base depends on its neighbours."""
    g, a, t = x[..., 2], x[..., 0], x[..., 3]
    return (g[:, :-3] * a[:, 1:-2] * t[:, 2:-1] * a[:, 3:]).sum(1)


def test_a_planted_positional_rule_is_the_top_of_the_map():
    x = (_random(200, 11))
    effect, sd, n = position_effects(ism(kozak_like, x, progress=False))
    assert (n == 200).all()
    assert np.allclose(effect.sum(1), 0)
    assert effect[3, [0, 2]].min() > 0.4 and effect[3, [1, 3]].max() < -0.4  # purine at 4
    assert effect[9].argmax() == 2 and effect[9].argmin() == 3
    quiet = np.delete(np.arange(11), [3, 9])
    assert np.abs(effect[quiet]).max() < 1e-6
    assert np.nanmax(sd) < 1e-6  # additive: the same in every sequence
    assert positional_share(ism(kozak_like, x, progress=False)) > 0.99
    table = position_table(effect, sd, n, target="efficiency", labels=position_labels(11, 7))
    assert table.shape == (44, 7)
    best = top_effects(table, 3)
    assert set(best["label"]) <= {"-3", "+4"}
    assert best.loc[0, "position"] in (4, 10)


def test_a_motif_that_can_sit_anywhere_is_not_called_positional():
    x = (_random(200, 60, seed=1))
    scores = ism(motif_anywhere, x, progress=False)
    assert np.abs(scores).max() > 0  # the model does respond
    assert positional_share(scores) < 0.2


def test_padding_does_not_count():
    x = (_random(4, 11))
    scores = ism(kozak_like, x, progress=False)
    mask = np.ones((4, 11), np.uint8)
    mask[:2, 9:] = 0
    _, sd, n = position_effects(scores, mask=mask)
    assert n.tolist() == [4] * 9 + [2, 2]
    mask[:, 10] = 0
    effect, sd, n = position_effects(scores, mask=mask)
    assert n[10] == 0 and np.isnan(effect[10]).all()


def test_landmark_labels_count_from_plus_one_without_zero():
    assert position_labels(11, 7) == ["-6", "-5", "-4", "-3", "-2", "-1",
                                      "+1", "+2", "+3", "+4", "+5"]
    assert position_labels(3) == ["1", "2", "3"]
    with pytest.raises(ValueError, match="outside"):
        position_labels(11, 12)


def test_aligned_means_one_length():
    assert is_aligned([11, 11, 11]) and not is_aligned([11, 12]) and not is_aligned([])


def test_the_landmark_is_the_constant_core_not_the_flanks():
    rng = np.random.default_rng(0)
    seqs = ["CC" + "".join(rng.choice(list("ACGT"), 4)) + "ATG" + "".join(rng.choice(list("ACGT"), 2))
            for _ in range(50)]
    x, _ = encode(seqs)
    assert find_landmark(x) == (7, "ATG")  # the constant CC at the 5' end is a flank
    assert find_landmark(_random(50, 11)) is None
    x, mask = encode([s[:-1] if i % 2 else s for i, s in enumerate(seqs)])
    assert find_landmark(x, mask=mask) == (7, "ATG")
