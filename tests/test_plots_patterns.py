"""seqexpr.plots.patterns: motif and attribution logos of motifs discovered on a hand-set model.

The in-silico experiment plots are tested with the experiments, in test_effects.py.
"""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from seqexpr.plots import patterns as pattern_plots  # noqa: E402
from test_discovery import _planted, found  # noqa: E402, F401  (found: the motifs, a fixture)


def test_logos_draw_motifs_and_sequences(found):  # noqa: F811
    fig = pattern_plots.motif_logos(found)
    assert len(fig.axes) == 2 * len(found)
    assert pattern_plots.motif_logo(found[0].pwm).axes[0].get_ylabel() == "bits"
    x = _planted(n=4)
    mask = np.ones(x.shape[:2], np.uint8)
    mask[:, 60:] = 0
    fig = pattern_plots.attribution_logos(np.ones_like(x), x, [0, 1], mask=mask)
    assert fig.axes[0].get_xlim()[1] < 61  # padding hidden
    with pytest.raises(ValueError, match="kind"):
        pattern_plots.motif_logo(found[0].pwm, kind="bits")


def test_logo_titles_give_the_family_or_why_a_motif_is_unnamed(found):  # noqa: F811
    import pandas as pd

    table = pd.DataFrame({"motif_id": [found[0].motif_id, found[1].motif_id],
                          "best_match_id": ["MA0099.4", "MA0139.2"],
                          "best_match_name": ["FOS::JUN", "CTCF"],
                          "best_match_family": ["Jun-related", "More than 3 adjacent zinc fingers"],
                          "q_value": [1e-4, 0.4],
                          "naming_note": ["", "no significant match (best q = 0.4)"]})
    fig = pattern_plots.motif_logos(found[:2], table=table)
    first, second = fig.axes[0].get_title(), fig.axes[2].get_title()
    assert "FOS::JUN (MA0099.4, Jun-related, q=0.0001)" in first
    assert "no significant match" in second and "CTCF" not in second


def test_the_position_map_shows_landmark_labels_and_rna_bases():
    from seqexpr.patterns import positions

    effect = np.zeros((11, 4))
    effect[3] = [0.5, -0.4, 0.4, -0.5]
    table = positions.position_table(effect, np.zeros((11, 4)), np.full(11, 9), target="te",
                                     labels=positions.position_labels(11, 7), rna=True)
    fig = pattern_plots.plot_position_map(table)
    heat = fig.axes[1]
    assert [t.get_text() for t in heat.get_xticklabels()][3] == "-3"
    assert [t.get_text() for t in heat.get_yticklabels()] == ["A", "C", "G", "U"]
    assert "landmark" in heat.get_xlabel()
    effect = np.random.default_rng(0).normal(0, 0.1, (80, 4))
    wide = pattern_plots.plot_position_map(positions.position_table(
        effect - effect.mean(1, keepdims=True), np.zeros((80, 4)), np.full(80, 9), target="x"))
    assert wide.get_size_inches()[0] <= 16 and "landmark" not in wide.axes[1].get_xlabel()
