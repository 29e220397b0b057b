"""seqexpr.plots.model: training curves, drawn without loading TensorFlow."""

import subprocess
import sys

import matplotlib
import pandas as pd

matplotlib.use("Agg")

from seqexpr.plots import model as model_plots  # noqa: E402


def test_plot_history_returns_figure():
    h = pd.DataFrame(dict(model="cnn", seed=[0, 0, 1, 1], epoch=[1, 2, 1, 2],
                          loss=[2, 1, 2, 1.5], val_loss=[2, 1.5, 2, 1.8], lr=1e-3))
    fig = model_plots.plot_history(h)
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel() == "epoch"


def test_plot_modules_load_matplotlib_only_when_imported_and_never_tensorflow():
    code = ("import sys, seqexpr.plots; m = 'matplotlib' in sys.modules; "
            "import seqexpr.plots.model; print(m, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"], out.stdout
