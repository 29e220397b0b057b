"""Logos (logomaker): attribution along sequences, and motifs as information or contribution.

Every function returns a matplotlib Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .discovery import information_content


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


def motif_logos(motifs, *, matches=None, max_motifs=10):
    """A grid of discovered motifs: information logo and contribution logo side by side.

    Parameters
    ----------
    motifs : list of Motif
    matches : DataFrame, optional
        From :func:`~seqexpr.patterns.jaspar.match_motifs`; the best match is named in the
        title.
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
    for row, m in enumerate(motifs):
        name = ""
        if matches is not None and len(matches):
            best = matches[(matches["query"] == m.motif_id) & (matches["rank"] == 1)]
            if len(best):
                b = best.iloc[0]
                name = f" ~ {b['name']} ({b['jaspar_id']}, q={b['q_value']:.2g})"
        motif_logo(m.pwm, kind="ic", ax=axes[row, 0],
                   title=f"{m.motif_id} ({m.sign}) {m.consensus}, {m.n_seqlets} seqlets{name}")
        motif_logo(m.cwm, kind="contribution", ax=axes[row, 1],
                   title=f"{m.motif_id}: contribution-weighted")
    if not motifs:
        axes[0, 0].text(0.5, 0.5, "no motifs found", ha="center", va="center")
        axes[0, 0].set_axis_off()
        axes[0, 1].set_axis_off()
    fig.tight_layout()
    plt.close(fig)  # detach from pyplot: the notebook shows the returned figure once
    return fig
