"""Figures of the model stage (04_model): training and validation loss per epoch.

Importing this module does not load TensorFlow. Every function returns a matplotlib Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

__all__ = ["plot_history"]


def plot_history(history, *, title="Training curves"):
    """Loss and validation loss per epoch, one line per (model, seed); returns the Figure.

    ``history`` has columns ``epoch, loss, val_loss`` and optionally ``model``, ``seed``.
    """
    h = history.copy()
    if "model" not in h:
        h["model"] = "model"
    if "seed" not in h:
        h["seed"] = 0
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for (name, seed), g in h.groupby(["model", "seed"], sort=True):
        for ax, col in zip(axes, ["loss", "val_loss"]):
            ax.plot(g["epoch"], g[col], marker=".", label=f"{name} seed {seed}")
    for ax, what in zip(axes, ["training", "validation"]):
        ax.set(xlabel="epoch", ylabel="MSE (modelled scale)", title=f"{what} loss")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
