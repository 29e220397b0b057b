"""Figures of the explore stage (02_explore); each function returns a matplotlib Figure.

The numbers behind them come from ``seqexpr.explore``; large tables are subsampled to
``max_points`` (with ``seed``) for scatter plots so that a figure stays light in a report.
"""

from __future__ import annotations

from itertools import combinations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from seqexpr.plots._common import finite_histogram, subsample

__all__ = [
    "plot_lengths", "plot_base_composition", "plot_gc_vs_target", "plot_target_distribution",
    "plot_replicates", "plot_n_content", "plot_volcano",
]
_BASE_COLORS = {"A": "#109648", "C": "#255c99", "G": "#f7b32b", "T": "#d62839", "N": "#888888"}


def plot_lengths(lengths) -> plt.Figure:
    """Histogram of sequence lengths (nt); a single bar when all are equal."""
    lengths = np.asarray(lengths)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    lo, hi = int(lengths.min()), int(lengths.max())
    bins = np.arange(lo, hi + 2) - 0.5 if hi - lo < 60 else 60
    ax.hist(lengths, bins=bins, color="#4477aa")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_xlabel("sequence length (nt)")
    ax.set_ylabel("sequences")
    ax.set_title(f"Lengths of {lengths.size:,} sequences: {lo}-{hi} nt, "
                 f"median {np.median(lengths):g}")
    fig.tight_layout()
    return fig


def plot_base_composition(comp: pd.DataFrame, *, title: str | None = None) -> plt.Figure:
    """Fraction of each base at each position (``explore.base_composition``'s table)."""
    fig, ax = plt.subplots(figsize=(9, 3.4))
    bases = list("ACGT") + (["N"] if comp["N"].max() > 0 else [])
    for b in bases:
        ax.plot(comp.index, comp[b], color=_BASE_COLORS[b], lw=1.2, label=b)
    ax.set_ylim(0, 1)
    ax.set_xlabel("position from the sequence start (nt)")
    ax.set_ylabel("fraction of sequences")
    ax.legend(ncol=len(bases), loc="upper right", frameon=False)
    ragged = comp["n"].iloc[-1] < comp["n"].iloc[0]
    ax.set_title(title or ("Base composition along the sequence"
                           + (" (left-aligned; fewer sequences further right)" if ragged else "")
                           + "; flat lines at 1 are constant flanks"))
    fig.tight_layout()
    return fig


def plot_gc_vs_target(gc, y, *, target: str = "target", max_points: int | None = 20000,
                      seed: int = 0) -> plt.Figure:
    """GC fraction against the (transformed) target: hexbin, binned-median trend, Spearman."""
    gc, y = np.asarray(gc, float), np.asarray(y, float)
    ok = np.isfinite(gc) & np.isfinite(y)
    gc, y = gc[ok], y[ok]
    idx = subsample(gc.size, max_points, seed)
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    if idx.size > 3000:
        hb = ax.hexbin(gc[idx], y[idx], gridsize=40, mincnt=1, cmap="Blues", bins="log")
        fig.colorbar(hb, ax=ax, label="sequences per hexagon (log scale)")
    else:
        ax.scatter(gc[idx], y[idx], s=6, alpha=0.4, color="#4477aa", rasterized=True)
    edges = np.unique(np.quantile(gc, np.linspace(0, 1, 11)))
    if edges.size > 2:
        which = np.clip(np.searchsorted(edges, gc, side="right") - 1, 0, edges.size - 2)
        med = pd.Series(y).groupby(which).median()
        mid = (edges[:-1] + edges[1:]) / 2
        ax.plot(mid[med.index], med.values, "o-", color="#d62839", label="median per GC decile")
        ax.legend(frameon=False, loc="upper left")
    rho = stats.spearmanr(gc, y)[0] if gc.size > 2 else np.nan
    ax.set_xlabel("GC fraction")
    ax.set_ylabel(f"{target} (modelled scale)")
    ax.set_title(f"GC content vs {target}: Spearman {rho:.2f}")
    fig.tight_layout()
    return fig


def plot_target_distribution(y, modelled=None, *, target: str = "target",
                             transform: str = "none") -> plt.Figure:
    """Histogram of the measured target and, when transformed, of the modelled scale."""
    y = np.asarray(y, float)
    panels = [(y, f"{target} as measured")]
    if modelled is not None and transform != "none":
        panels.append((np.asarray(modelled, float), f"after the suggested '{transform}'"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.4), squeeze=False)
    for ax, (v, label) in zip(axes[0], panels):
        v = v[np.isfinite(v)]
        finite_histogram(ax, v, f"{label}\n(skewness {stats.skew(v):.2f}, n = {v.size:,})")
    fig.tight_layout()
    return fig


def plot_replicates(df: pd.DataFrame, replicates, *, scaled: np.ndarray | None = None,
                    max_points: int | None = 20000, seed: int = 0) -> plt.Figure:
    """Pairwise replicate scatter plots with Pearson and Spearman in each panel.

    ``scaled`` ((n, R) float) gives the values to plot, e.g. on the modelled (log) scale;
    the replicate columns of ``df`` as they are when omitted.
    """
    replicates = list(replicates)
    vals = df[replicates].to_numpy(float) if scaled is None else np.asarray(scaled, float)
    pairs = list(combinations(range(len(replicates)), 2))
    ncol = min(3, len(pairs))
    nrow = int(np.ceil(len(pairs) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 3.4 * nrow), squeeze=False)
    idx = subsample(len(vals), max_points, seed)
    for ax, (a, b) in zip(axes.ravel(), pairs):
        x, y = vals[idx, a], vals[idx, b]
        ok = np.isfinite(x) & np.isfinite(y)
        ax.scatter(x[ok], y[ok], s=3, alpha=0.3, color="#4477aa", rasterized=True)
        lim = [np.nanmin([x[ok].min(), y[ok].min()]), np.nanmax([x[ok].max(), y[ok].max()])]
        ax.plot(lim, lim, color="grey", lw=0.8, ls="--")
        r = stats.pearsonr(x[ok], y[ok])[0]
        s = stats.spearmanr(x[ok], y[ok])[0]
        ax.set_title(f"Pearson {r:.3f}, Spearman {s:.3f}", fontsize=10)
        ax.set_xlabel(replicates[a])
        ax.set_ylabel(replicates[b])
    for ax in axes.ravel()[len(pairs):]:
        ax.set_visible(False)
    fig.suptitle("Replicate agreement: the ceiling for any model", fontsize=11)
    fig.tight_layout()
    return fig


def plot_n_content(n_frac) -> plt.Figure:
    """Histogram of each sequence's fraction of N (or other non-ACGT) positions."""
    n_frac = np.asarray(n_frac, float)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    if (n_frac > 0).any():
        ax.hist(n_frac[n_frac > 0], bins=40, color="#888888")
    else:
        ax.text(0.5, 0.5, "no N or other non-ACGT codes", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel("fraction of positions that are N or other non-ACGT codes")
    ax.set_ylabel("sequences")
    ax.set_title(f"N content: {(n_frac > 0).sum():,} of {n_frac.size:,} sequences have any"
                 + (" (only those shown)" if (n_frac > 0).any() else ""))
    fig.tight_layout()
    return fig


def plot_volcano(assoc: pd.DataFrame, *, alpha: float = 0.05, label: int = 12,
                 highlight=None, title: str | None = None) -> plt.Figure:
    """Volcano plot of k-mer associations: effect against -log10 p, significant in colour.

    Parameters
    ----------
    assoc : DataFrame
        ``explore.kmer_associations``'s table (``kmer, effect, p, q``).
    label : int
        Name this many of the most significant k-mers.
    highlight : sequence of str, optional
        K-mers to ring in black (e.g. those matching planted motifs).
    """
    fig, ax = plt.subplots(figsize=(7, 5))
    p = np.clip(assoc["p"].to_numpy(float), 1e-300, 1)
    y = -np.log10(p)
    x = assoc["effect"].to_numpy(float)
    sig = assoc["q"].to_numpy(float) < alpha
    up, down = sig & (x > 0), sig & (x < 0)
    ax.scatter(x[~sig], y[~sig], s=6, color="#bbbbbb", label=f"q >= {alpha:g}", rasterized=True)
    ax.scatter(x[up], y[up], s=8, color="#d62839", label=f"raises (q < {alpha:g})")
    ax.scatter(x[down], y[down], s=8, color="#255c99", label=f"lowers (q < {alpha:g})")
    if highlight is not None:
        h = assoc["kmer"].isin(list(highlight)).to_numpy()
        ax.scatter(x[h], y[h], s=40, facecolors="none", edgecolors="black", lw=1,
                   label="matches a planted motif")
    for i in np.argsort(p, kind="stable")[:label]:
        ax.annotate(assoc["kmer"].iloc[i], (x[i], y[i]), fontsize=7, xytext=(3, 2),
                    textcoords="offset points")
    ax.axvline(0, color="grey", lw=0.6)
    ax.set_xlabel("effect: mean target with k-mer minus without (modelled scale)")
    ax.set_ylabel("-log10 p")
    ax.set_title(title or f"{len(assoc):,} k-mers tested; {sig.sum():,} significant after "
                          "Benjamini-Hochberg")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
