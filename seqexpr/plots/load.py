"""Figures of the load stage (01_load): records read, dropped per reason, and kept.

``counts_table`` is the table shown next to the figure; both read ``load.json``'s ``info``
(see :func:`seqexpr.io.load`). Every plotting function returns a matplotlib Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from seqexpr.io import DEFAULT_POLICY

__all__ = ["counts_table", "plot_counts"]


def counts_table(info: dict) -> pd.DataFrame:
    """Records in, dropped per reason (every kind, zeros included) and kept, from ``info``."""
    c = info["counts"]
    rows = [("in", "FASTA records", c["fasta"]), ("in", "table rows", c["table"])]
    rows += [("dropped", k, c["dropped"].get(k, 0)) for k in DEFAULT_POLICY]
    rows += [("dropped", k, v) for k, v in c["dropped"].items() if k not in DEFAULT_POLICY]
    rows.append(("out", "kept", c["kept"]))
    return pd.DataFrame(rows, columns=["stage", "what", "n"]).dropna(subset=["n"])


def plot_counts(info: dict):
    """Bar plots of records in and kept (left) and dropped per reason (right); returns the
    Figure."""
    t = counts_table(info)
    flow = t[t["stage"] != "dropped"]
    drop = t[(t["stage"] == "dropped") & (t["n"] > 0)]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 0.35 * max(len(flow), len(drop), 3) + 1.4))
    for ax, part, color, title in ((ax1, flow, None, "Records in and kept"),
                                   (ax2, drop, "#c44e52", "Dropped, per reason")):
        y = np.arange(len(part))
        colors = color or part["stage"].map({"in": "#4c72b0", "out": "#55a868"}).tolist()
        ax.barh(y, part["n"].astype(float), color=colors)
        ax.set_yticks(y, part["what"].tolist())
        ax.invert_yaxis()
        for yi, n in zip(y, part["n"]):
            ax.text(float(n), yi, f" {int(n):,}", va="center", fontsize=8)
        ax.set_xlabel("records")
        ax.set_title(title)
        ax.margins(x=0.15)
    if drop.empty:
        ax2.text(0.5, 0.5, "nothing dropped", ha="center", va="center",
                 transform=ax2.transAxes)
        ax2.set_yticks([])
        ax2.set_xticks([])
    fig.tight_layout()
    return fig
