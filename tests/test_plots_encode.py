"""seqexpr.plots.encode: the transform histograms, the split overview and the leakage box."""

import matplotlib
import numpy as np

matplotlib.use("Agg")

from seqexpr import transforms  # noqa: E402
from seqexpr.plots import encode as encode_plots  # noqa: E402
from seqexpr.splits import make_splits  # noqa: E402


def test_transform_and_split_figures_and_no_box_for_an_honest_split():
    rng = np.random.default_rng(0)
    y = np.exp(rng.normal(size=(200, 2)))
    spec = transforms.fit(["log", "rank"], y)
    fig = encode_plots.plot_transform(y, spec, names=["a", "b"])
    assert len(fig.axes) == 4 and fig.axes[1].get_title() == "a: modelled: ln(y)"
    seqs = ["".join(rng.choice(list("ACGT"), 60)) for _ in range(200)]
    df, report = make_splits([f"s{i}" for i in range(200)], seqs, seed=0)
    fig = encode_plots.plot_split_overview(df)
    assert fig.axes[0].get_title() == "200 clusters; largest 1 sequences"
    assert encode_plots.leakage_box_html(report) == ""  # only a leaky split gets the box
