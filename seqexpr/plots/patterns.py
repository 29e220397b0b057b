"""Figures of the patterns stage (06_patterns): logos and in-silico experiments.

Logos (logomaker) of attributions along sequences and of motifs as information or contribution
(:mod:`seqexpr.patterns.discovery`); insertion effects, position profiles and cooperativity
(:mod:`seqexpr.patterns.effects`). Every function returns a matplotlib Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from seqexpr.patterns.discovery import information_content

__all__ = ["attribution_logos", "ic_matrix", "motif_logo", "motif_logos",
           "plot_position_profile", "plot_effects", "plot_cooperativity", "plot_position_map"]


# -- logos -----------------------------------------------------------------------------------------
def _logo(matrix, ax, *, color_scheme="classic"):
    import logomaker

    df = pd.DataFrame(np.asarray(matrix, dtype=float), columns=list("ACGT"))
    logo = logomaker.Logo(df, ax=ax, color_scheme=color_scheme, show_spines=False)
    logo.ax.axhline(0, color="0.6", lw=0.5)
    return logo


def attribution_logos(attr, onehot, indices, *, mask=None, labels=None, title=None,
                      height=1.6, width=14):
    """Attribution x one-hot logos of some sequences, one row each, padding hidden.

    Parameters
    ----------
    attr : (n, L, 4) float array
        Attributions whose observed base carries the importance (centred ISM or gradient x
        input).
    onehot : (n, L, 4) array
    indices : sequence of int
        Rows to draw.
    mask : (n, L) array, optional
        Padded positions (0) are cut from the logo.
    labels : sequence of str, optional
        One label per row (e.g. id and predicted value).

    Returns
    -------
    matplotlib.figure.Figure
    """
    indices = list(indices)
    fig, axes = plt.subplots(len(indices), 1, figsize=(width, height * max(1, len(indices))),
                             squeeze=False)
    for row, i in enumerate(indices):
        ax = axes[row, 0]
        real = np.ones(attr.shape[1], bool) if mask is None else np.asarray(mask[i], bool)
        pos = np.flatnonzero(real)
        contrib = (np.asarray(attr[i], float) * np.asarray(onehot[i], float))[pos]
        if len(pos):
            _logo(contrib, ax)
            ticks = np.linspace(0, len(pos) - 1, min(9, len(pos))).astype(int)
            ax.set_xticks(ticks, [str(pos[t]) for t in ticks])
        ax.set_ylabel("attribution")
        ax.set_title(labels[row] if labels is not None else f"sequence {i}", fontsize=9,
                     loc="left")
    axes[-1, 0].set_xlabel("position (nt)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.close(fig)  # detach from pyplot: the notebook shows the returned figure once
    return fig


def ic_matrix(pwm):
    """Letter heights of an information-content logo: probability x bits of the column."""
    p = np.asarray(pwm, dtype=float)
    p = p / np.clip(p.sum(1, keepdims=True), 1e-12, None)
    return p * information_content(p)[:, None]


def motif_logo(matrix, *, kind="ic", title=None, ax=None):
    """One motif logo.

    Parameters
    ----------
    matrix : (k, 4) array
        A probability PWM (``kind="ic"`` or ``"probability"``) or a contribution-weighted
        matrix (``kind="contribution"``, drawn as is, negative letters below the axis).
    kind : {"ic", "probability", "contribution"}
    title : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if kind not in ("ic", "probability", "contribution"):
        raise ValueError(f"kind must be 'ic', 'probability' or 'contribution', got {kind!r}")
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[1] != 4:
        raise ValueError(f"a motif matrix is (k, 4) with ACGT columns; got shape {m.shape}.")
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(2.5, 0.4 * len(m)), 1.8))
    else:
        fig = ax.figure
    heights = ic_matrix(m) if kind == "ic" else m
    _logo(heights, ax)
    ax.set_ylabel({"ic": "bits", "probability": "probability",
                   "contribution": "contribution"}[kind])
    if kind == "ic":
        ax.set_ylim(0, 2)
    ax.set_xticks(range(len(m)), [str(i + 1) for i in range(len(m))])
    if title:
        ax.set_title(title, fontsize=9)
    plt.close(fig)  # detach from pyplot: the notebook shows the returned figure once
    return fig


def motif_logos(motifs, *, table=None, max_motifs=10):
    """A grid of discovered motifs: information logo and contribution logo side by side.

    Parameters
    ----------
    motifs : list of Motif
    table : DataFrame, optional
        From :func:`~seqexpr.patterns.jaspar.motif_table`: each title gives the best match
        with its TF family, or why the motif has no trustworthy name.
    max_motifs : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    motifs = list(motifs)[:max_motifs]
    n = max(1, len(motifs))
    widest = max([m.width for m in motifs] + [6])
    fig, axes = plt.subplots(n, 2, figsize=(2 * max(3.0, 0.4 * widest) + 1, 1.9 * n),
                             squeeze=False)
    rows = {} if table is None else table.set_index("motif_id").to_dict("index")
    for row, m in enumerate(motifs):
        motif_logo(m.pwm, kind="ic", ax=axes[row, 0],
                   title=f"{m.motif_id} ({m.sign}) {m.consensus}, {m.n_seqlets} seqlets"
                         f"{_naming(rows.get(m.motif_id))}")
        motif_logo(m.cwm, kind="contribution", ax=axes[row, 1],
                   title=f"{m.motif_id}: contribution-weighted")
    if not motifs:
        axes[0, 0].text(0.5, 0.5, "no motifs found", ha="center", va="center")
        axes[0, 0].set_axis_off()
        axes[0, 1].set_axis_off()
    fig.tight_layout()
    plt.close(fig)  # detach from pyplot: the notebook shows the returned figure once
    return fig


def _naming(row):
    """A logo title's tail: the best match and its family, or the naming note."""
    if row is None:
        return ""
    if row["best_match_name"] and not row["naming_note"]:
        family = f", {row['best_match_family']}" if row["best_match_family"] else ""
        return (f"\n~ {row['best_match_name']} ({row['best_match_id']}{family}, "
                f"q={row['q_value']:.2g})")
    return f"\n{row['naming_note']}" if row["naming_note"] else ""


# -- in-silico experiments ------------------------------------------------------------------------
def plot_position_profile(profile, *, window=None, title="Insertion effect along the sequence",
                          ax=None):
    """Line plot of a :func:`~seqexpr.patterns.effects.position_profile` (mean ± sd band),
    with the window shaded."""
    own = ax is None
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 3))
    x = profile["position"].to_numpy()
    m = profile["effect_mean"].to_numpy(float)
    sd = profile["effect_sd"].fillna(0).to_numpy(float)
    ax.fill_between(x, m - sd, m + sd, color="tab:blue", alpha=0.2, label="± 1 sd")
    ax.plot(x, m, color="tab:blue", marker=".", label="mean effect")
    ax.axhline(0, color="grey", lw=0.8)
    if window is not None:
        ax.axvspan(window[0], window[1], color="tab:orange", alpha=0.2,
                   label=f"preferred window {window[0]}-{window[1]}")
    ax.set_xlabel("insertion start (nt from first real base)")
    ax.set_ylabel("change in prediction")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    if own:  # detach from pyplot: the notebook shows the returned figure once
        plt.close(fig)
    return fig


def plot_effects(effects, *, label="motif_id", effect="effect", sd="effect_sd",
                 title="Effect of inserting each motif", ax=None):
    """Horizontal bars of insertion effects with ± sd error bars.

    ``effects`` is a DataFrame with columns ``label``, ``effect``, ``sd`` (e.g. motifs.tsv),
    or a dict mapping names to :func:`~seqexpr.patterns.effects.insertion_effect` results.
    """
    if isinstance(effects, dict):
        effects = pd.DataFrame({label: list(effects),
                                effect: [r["effect"] for r in effects.values()],
                                sd: [r["effect_sd"] for r in effects.values()]})
    df = effects.reset_index(drop=True)
    own = ax is None
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(
        figsize=(6, 0.4 * len(df) + 1.2))
    vals = df[effect].to_numpy(float)
    ax.barh(np.arange(len(df)), vals, xerr=df[sd].fillna(0).to_numpy(float), capsize=3,
            color=np.where(vals >= 0, "tab:red", "tab:blue"))
    ax.set_yticks(np.arange(len(df)), df[label].astype(str))
    ax.invert_yaxis()
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("change in prediction on insertion (mean ± sd)")
    ax.set_title(title)
    fig.tight_layout()
    if own:  # detach from pyplot: the notebook shows the returned figure once
        plt.close(fig)
    return fig


def plot_cooperativity(result, *, names=("A", "B"), title=None, ax=None):
    """Bars of A alone, B alone, the additive expectation and both together."""
    own = ax is None
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5, 3.2))
    a, b = names
    labels = [f"{a} alone", f"{b} alone", f"{a} + {b} expected", f"{a} and {b} together"]
    vals = [result["effect_a"], result["effect_b"], result["expected_additive"],
            result["effect_ab"]]
    ax.bar(labels, vals, color=["tab:grey", "tab:grey", "tab:blue", "tab:red"])
    ax.errorbar(3, result["effect_ab"], yerr=result["interaction_sd"], color="k", capsize=4)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel("change in prediction")
    ax.set_title(title or f"{a} x {b}: interaction {result['interaction']:+.3g} "
                          f"(p = {result['p_value']:.2g}, spacing {result['spacing']} nt)")
    ax.tick_params(axis="x", labelrotation=20)
    fig.tight_layout()
    if own:  # detach from pyplot: the notebook shows the returned figure once
        plt.close(fig)
    return fig


def plot_position_map(table: pd.DataFrame, *, title=None):
    """The position x base effect map (``position_effects.csv`` rows of one target) as an
    effect logo (letters above the line help, below it hurt; height = effect) over a heatmap
    of the same numbers, positions labelled as in the table."""
    import logomaker

    bases = list(dict.fromkeys(table["base"]))
    wide = table.pivot(index="position", columns="base", values="effect")[bases]
    labels = table.drop_duplicates("position").set_index("position")["label"].loc[wide.index]
    length = len(wide)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(min(16.0, max(6.0, 0.45 * length + 2)), 5.2),
                                      sharex=True, gridspec_kw=dict(height_ratios=[1.3, 1]))
    logomaker.Logo(wide.reset_index(drop=True), ax=top, color_scheme="classic",
                   show_spines=False, flip_below=False)
    top.axhline(0, color="0.3", lw=0.8)
    top.set_ylabel("effect on the prediction\n(vs mean of 4 bases)")
    top.set_title(title or "What each base does at each position")
    lim = float(np.nanmax(np.abs(wide.to_numpy()))) or 1.0
    im = bottom.imshow(wide.to_numpy().T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                       extent=(-0.5, length - 0.5, len(bases) - 0.5, -0.5))
    bottom.set_yticks(range(len(bases)), bases)
    bottom.set_xticks(range(length), list(labels), rotation=90 if length > 30 else 0)
    if length > 60:  # label every tenth position of long maps
        for i, tick in enumerate(bottom.get_xticklabels()):
            tick.set_visible(i % 10 == 0)
    bottom.set_xlabel("position" + (" (relative to the landmark)" if list(labels) !=
                                    [str(p) for p in wide.index] else ""))
    fig.colorbar(im, ax=[top, bottom], shrink=0.6, label="effect")
    return fig
