"""seqexpr.plots.design: the trajectory figure of a design run."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from seqexpr.plots import design as design_plots  # noqa: E402


def trajectories(n_starts):
    rows = [dict(start_id=f"s{i}", design_id=f"s{i}_d{k}", step=step, predicted=step * 0.5 + k,
                 predicted_sd=0.1 * step, objective=0.0, move="start" if step == 0 else "1A>G")
            for i in range(n_starts) for k in (1, 2) for step in range(4)]
    return pd.DataFrame(rows, columns=["start_id", "design_id", "step", "predicted",
                                       "predicted_sd", "objective", "move"])


def test_trajectories_draw_a_panel_per_start_and_the_numeric_goal():
    fig = design_plots.plot_trajectories(trajectories(2), goal=2.0)
    assert isinstance(fig, Figure)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.get_title() == "s0" and len(ax.get_lines()) == 3  # two designs and the goal
    assert "goal 2" in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close("all")


def test_many_starts_say_how_many_are_drawn():
    fig = design_plots.plot_trajectories(trajectories(14), goal="maximize")
    assert "the first 12 starts drawn" in fig._suptitle.get_text()
    assert "from 14 start(s)" in fig._suptitle.get_text()
    plt.close("all")
    with pytest.raises(ValueError, match="no trajectories to draw"):
        design_plots.plot_trajectories(trajectories(0))
