"""seqexpr.plots.evaluate: the figures of 05_evaluate on small and large test sets."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from seqexpr import evaluate as ev  # noqa: E402
from seqexpr.plots import evaluate as eval_plots  # noqa: E402


@pytest.mark.parametrize("n", [40, 6000])
def test_plots_return_figures_on_small_and_large_inputs(n):
    rng = np.random.default_rng(0)
    y = rng.standard_normal(n)
    frame = pd.DataFrame({"id": [f"s{i}" for i in range(n)], "split": "test",
                          "target": "expression", "observed": y,
                          "ridge_kmer": y + rng.normal(0, 1, n), "cnn": y + rng.normal(0, .3, n),
                          "gc": rng.uniform(0.3, 0.7, n),
                          "has_relative_in_train": np.zeros(n, bool)})
    groups = frame.set_index("id")[["has_relative_in_train"]]
    table, _ = ev.evaluate_predictions(frame, groups=groups, n_bootstrap=50, progress=False)
    figs = [eval_plots.plot_predicted_vs_observed(frame, ["cnn", "ridge_kmer"], max_points=5000),
            eval_plots.plot_residuals(frame, "cnn"),
            eval_plots.plot_relative_error(frame, "cnn"),
            eval_plots.plot_forest(table, ceiling=0.9),
            eval_plots.plot_forest(table, grouping="has_relative_in_train")]
    for fig in figs:
        assert isinstance(fig, Figure)
        fig.canvas.draw()
    # no test sequence has a relative in train: the plot says so plainly
    title = figs[2].axes[0].get_title()
    assert "no test sequence with a close relative" in title
    plt.close("all")
