"""Figures of variant effects (07_variants, ``python -m seqexpr variants``): saturation maps and
predicted against true effects. Every function returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["plot_saturation", "plot_truth_agreement"]


def plot_saturation(delta, ref, *, sd=None, title=None):
    """One sequence's saturation map: a logo of how much each reference base matters (its
    height is minus the mean effect of changing it: up when the base helps, down when it
    hurts) over a heatmap of every change's effect (``delta`` ``(L, 4)``, ACGT columns, 0 at
    the reference base; ``saturation_matrix``). With ``sd`` (the seeds' spread), the logo's
    positions whose mean effect is within one SD of zero are drawn pale."""
    import logomaker

    delta = np.asarray(delta, float)
    length = len(delta)
    cols = np.array(["ACGT".find(b) for b in ref])  # -1 where the reference is not A/C/G/T
    known = cols >= 0
    # the three changes at each position (rows of unknown bases: zeros, never drawn)
    changes = np.where(known[:, None], np.where(np.arange(4) == cols[:, None], np.nan, 0.0), 0.0)
    mean_change = np.nanmean(changes + np.nan_to_num(delta), axis=1)
    importance = np.zeros((length, 4))
    importance[known, cols[known]] = -mean_change[known]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(min(16.0, max(6.0, 0.07 * length + 3)), 4.6),
                                      sharex=True, gridspec_kw=dict(height_ratios=[1, 1]))
    logo = logomaker.Logo(pd.DataFrame(importance, columns=list("ACGT")), ax=top,
                          color_scheme="classic", show_spines=False, flip_below=False)
    sd = None if sd is None or np.isnan(sd).all() else np.asarray(sd, float)
    if sd is not None:  # a seed ensemble's spread: pale where it swamps the effect
        spread = np.nanmean(changes + np.nan_to_num(sd), axis=1)
        for i in np.flatnonzero(known & (np.abs(mean_change) < spread)):
            logo.style_single_glyph(i, ref[i], alpha=0.25)
    top.axhline(0, color="0.3", lw=0.8)
    top.set_ylabel("importance of the\nreference base")
    top.set_title(title or "Saturation mutagenesis")
    lim = float(np.nanmax(np.abs(delta))) or 1.0
    im = bottom.imshow(delta.T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                       interpolation="nearest", extent=(-0.5, length - 0.5, 3.5, -0.5))
    bottom.set_yticks(range(4), list("ACGT"))
    bottom.set_ylabel("changed to")
    bottom.set_xlabel("position (1-based)")
    ticks = np.arange(0, length, 10 if length > 40 else 1)
    bottom.set_xticks(ticks, [str(t + 1) for t in ticks])
    fig.colorbar(im, ax=[top, bottom], shrink=0.6, label="effect on the prediction")
    return fig


def plot_truth_agreement(table, *, agreement=None, title=None):
    """Predicted against true effects (``variant_truth.csv``), knockouts and neutral changes
    coloured apart, with the seeds' SD as error bars where there is one."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for kind, colour in (("knockout", "tab:red"), ("neutral", "tab:grey")):
        t = table[table["kind"] == kind]
        sd = t["delta_sd"] if t["delta_sd"].notna().any() else None
        ax.errorbar(t["true_delta"], t["predicted_delta"], yerr=sd, fmt="o", ms=3, alpha=0.6,
                    color=colour, elinewidth=0.5, label=f"{kind} ({len(t)})")
    lim = np.nanmax(np.abs(table[["true_delta", "predicted_delta"]].to_numpy())) * 1.05
    ax.plot([-lim, lim], [-lim, lim], color="0.5", lw=0.8, ls="--")
    ax.axhline(0, color="0.8", lw=0.5)
    ax.axvline(0, color="0.8", lw=0.5)
    ax.set_xlabel("true effect (noise-free signal, alt - ref)")
    ax.set_ylabel("predicted effect (alt - ref)")
    sub = "" if agreement is None else (
        f"\nSpearman {agreement['spearman']:.2f}; sign right on "
        f"{agreement['sign_agreement']:.0%} of {agreement['n_large']} large effects")
    ax.set_title((title or "Predicted against true variant effects") + sub, fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    return fig
