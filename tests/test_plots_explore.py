"""seqexpr.plots.explore: every figure of 02_explore is drawn, with a title."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from seqexpr import composition  # noqa: E402
from seqexpr import explore as ex  # noqa: E402
from seqexpr.plots import explore as explore_plots  # noqa: E402


@pytest.fixture(scope="module")
def toy_module():
    from conftest import _toy

    ids, seqs, y = _toy()
    return {"ids": ids, "seqs": seqs, "y": y}


@pytest.fixture(scope="module")
def assoc(toy_module):
    return ex.kmer_associations(toy_module["seqs"], toy_module["y"], ks=(4, 5, 6))


def test_plots_return_figures(toy_module, assoc):
    seqs, y = toy_module["seqs"], toy_module["y"]
    df = pd.DataFrame({"a": y, "b": y + 0.1, "c": y * 2})
    figs = [explore_plots.plot_lengths([len(s) for s in seqs]),
            explore_plots.plot_base_composition(composition.base_composition(seqs)),
            explore_plots.plot_gc_vs_target(composition.gc_content(seqs), y, max_points=200),
            explore_plots.plot_target_distribution(np.exp(y), y, transform="log"),
            explore_plots.plot_replicates(df, ["a", "b", "c"], max_points=100),
            explore_plots.plot_n_content(composition.n_content(seqs)),
            explore_plots.plot_volcano(assoc, highlight=["GACTCA"])]
    for f in figs:
        assert isinstance(f, plt.Figure) and f.axes[0].get_title()
        plt.close(f)
