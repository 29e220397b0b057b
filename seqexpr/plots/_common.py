"""Helpers shared by the plot modules of :mod:`seqexpr.plots`; draws nothing itself."""

from __future__ import annotations

import numpy as np

__all__ = ["subsample", "finite_histogram"]


def subsample(n: int, max_points: int | None, seed: int) -> np.ndarray:
    """Sorted row indices of at most ``max_points`` of ``n`` rows, a seeded random subset.

    Parameters
    ----------
    n : int
        Rows available.
    max_points : int or None
        Most rows kept; all of them when None or when ``n <= max_points``.
    seed : int
        Seed of the random choice.

    Returns
    -------
    (m,) int array
        ``np.arange(n)`` when nothing is dropped, else the chosen indices in increasing order.
    """
    if max_points is None or n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))


def finite_histogram(ax, values, title: str) -> None:
    """A 60-bin histogram of ``values`` (finite ones only) on ``ax``: sequences per value."""
    ax.hist(values[np.isfinite(values)], bins=60, color="#4477aa")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("value")
    ax.set_ylabel("sequences")
