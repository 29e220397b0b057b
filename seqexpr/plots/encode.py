"""Figures of the encode stage (03_encode): the target transform and the split.

``plot_transform`` draws each target before and after its transform
(:mod:`seqexpr.transforms`); ``plot_split_overview`` the cluster sizes and, per split, the
sequences with a relative in train (:mod:`seqexpr.splits`); ``leakage_box_html`` is the loud
HTML box shown above a leaky split. Every plotting function returns a matplotlib Figure.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from seqexpr._checks import option
from seqexpr.plots._common import finite_histogram
from seqexpr.splits import audit_table
from seqexpr.transforms import apply, describe

__all__ = ["plot_transform", "leakage_box_html", "plot_split_overview"]


def plot_transform(y: np.ndarray, spec: dict, *, names: Sequence[str] | None = None):
    """Histograms of each target before and after the transform; returns a Figure."""
    y = np.asarray(y, np.float64)
    y2 = y if y.ndim == 2 else y[:, None]
    z = apply(spec, y2 if "columns" in spec else y2)
    t = y2.shape[1]
    names = list(names) if names is not None else [f"target {j}" for j in range(t)]
    fig, axes = plt.subplots(t, 2, figsize=(9, 2.8 * t), squeeze=False)
    for j in range(t):
        sub = spec["columns"][j] if "columns" in spec else spec
        for ax, vals, label in ((axes[j, 0], y2[:, j], "measured"),
                                (axes[j, 1], z[:, j], f"modelled: {describe(sub)}")):
            finite_histogram(ax, vals, f"{names[j]}: {label}")
    fig.tight_layout()
    return fig


def leakage_box_html(report: dict) -> str:
    """A loud HTML box for a report whose split is leaky (empty string otherwise)."""
    if not report["leaky"]:
        return ""
    t = report["test_with_relative_in_train"]
    return (
        '<div style="border:4px solid #c00;background:#fee;padding:12px;font-size:1.15em">'
        f"<b>&#9888; LEAKY SPLIT (allowed by allow_leaky=True)</b><br>{t['n']} of "
        f"{report['counts']['test']} test sequences ({t['fraction']:.1%}) have a relative in "
        "train. Test metrics from this run are optimistic and must not be reported as "
        f"performance on unseen sequences. Rerun with {option('split_method', 'homology')}."
        "</div>"
    )


def plot_split_overview(splits_df: pd.DataFrame):
    """Cluster size distribution and per-split relatives; returns a matplotlib Figure."""
    sizes = np.bincount(splits_df["cluster"].to_numpy())
    sizes = sizes[sizes > 0]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    vals, cnt = np.unique(sizes, return_counts=True)
    a.bar(np.arange(len(vals)), cnt * vals, color="#4477aa")
    step = max(1, len(vals) // 12)
    a.set_xticks(np.arange(len(vals))[::step], [str(v) for v in vals[::step]], rotation=45)
    a.set_yscale("log")
    a.set_ylim(0.8, None)
    a.set_xlabel("cluster size (sequences)")
    a.set_ylabel("sequences in clusters of that size")
    a.set_title(f"{len(sizes)} clusters; largest {sizes.max()} sequences")
    tab = audit_table(splits_df)
    rel = tab["with_relative_in_train"].astype(int)
    b.bar(tab.index, tab["sequences"] - rel, color="#4477aa", label="no relative in train")
    b.bar(tab.index, rel, bottom=tab["sequences"] - rel, color="#cc3311", label="relative in train")
    b.set_ylabel("sequences")
    b.set_title("split sizes and leakage")
    b.legend(fontsize=8)
    fig.tight_layout()
    return fig
