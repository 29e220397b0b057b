"""Figures of sequence design (``python -m seqexpr design``): how each design got there.

Every function returns a matplotlib Figure. The input is the ``trajectories`` frame of
:class:`seqexpr.design.DesignResult` (``start_id, design_id, step, predicted, predicted_sd,
objective, move``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["plot_trajectories"]

MAX_PANELS = 12  # starts drawn, one panel each; the title says when there are more


def plot_trajectories(trajectories: pd.DataFrame, *, goal=None, title: str | None = None) -> Figure:
    """Predicted value against search step for each design, one panel per start.

    Each line is one design's path from its start (step 0); the band is the prediction ± the
    ensemble members' SD, so a design that walks out of the model's comfort zone shows a
    widening band.

    Parameters
    ----------
    trajectories : DataFrame
        ``DesignResult.trajectories``.
    goal : {"maximize", "minimize"} or float, optional
        The design goal (``DesignResult.settings["goal"]``); a number is drawn as a dashed line.
    title : str, optional
        Figure title; by default it says how many designs and starts are drawn.
    """
    starts = list(dict.fromkeys(trajectories["start_id"]))
    if not starts:
        raise ValueError("no trajectories to draw: the design run produced no designs.")
    shown = starts[:MAX_PANELS]
    ncol = min(3, len(shown))
    nrow = int(np.ceil(len(shown) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.4 * ncol, 3.4 * nrow), squeeze=False)
    numeric = goal is not None and not isinstance(goal, str)
    for ax, sid in zip(axes.flat, shown):
        sub = trajectories[trajectories["start_id"] == sid]
        for k, (did, path) in enumerate(sub.groupby("design_id", sort=False)):
            path = path.sort_values("step")
            x, y = path["step"].to_numpy(), path["predicted"].to_numpy(float)
            sd = path["predicted_sd"].to_numpy(float)
            ax.fill_between(x, y - sd, y + sd, color=f"C{k % 10}", alpha=0.2, lw=0)
            ax.plot(x, y, "o-", color=f"C{k % 10}", ms=3, label=did)
        if numeric:
            ax.axhline(float(goal), color="grey", ls="--", lw=1, label=f"goal {float(goal):g}")
        ax.set_title(str(sid), fontsize=10)
        ax.set_xlabel("step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("predicted (modelled scale)")
        ax.legend(fontsize="x-small", loc="best")
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    n_designs = trajectories["design_id"].nunique()
    default = f"Design trajectories: {n_designs} design(s) from {len(starts)} start(s)"
    if len(starts) > len(shown):
        default += f", the first {len(shown)} starts drawn"
    if isinstance(goal, str):
        default += f" ({goal})"
    fig.suptitle(title or default)
    fig.tight_layout()
    return fig
