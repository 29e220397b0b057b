"""Ridge regression on standardized features streamed in blocks of rows, penalty chosen by
exact leave-one-out error, in memory independent of the number of rows.

The same estimator as scikit-learn's ``make_pipeline(StandardScaler(), RidgeCV(alphas))``
(efficient leave-one-out, intercept unpenalized), computed from sufficient statistics: one
pass accumulates ``X^T X``, ``X^T y`` and column sums (float64; k-mer counts are integers, so
these sums are exact), the standardized covariance is diagonalized once, and a second pass
computes every row's leave-one-out residual ``e_i / (1 - h_ii)`` for all penalties at once
(``h_ii`` the row's leverage, from its projection on the eigenvectors). Memory: a few
``(F, F)`` and ``(block, F)`` float64 arrays; time: two passes, each O(n F^2).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg.blas import dsyrk


class StreamedRidge:
    """Fitted ridge on standardized features; ``predict`` takes raw (dense or sparse) rows.

    Attributes
    ----------
    alpha_ : float or (T,) float
        Chosen penalty (per target when fitted with ``alpha_per_target`` and T > 1).
    coef_ : (F,) or (T, F) float64
        Weights on standardized features (like ``RidgeCV.coef_`` after ``StandardScaler``).
    intercept_ : (T,) float64
        Prediction at the mean row (the targets' training mean).
    mean_, scale_ : (F,) float64
        Column means and standard deviations (1 for constant columns) of the training rows.
    """

    def __init__(self, alpha, coef, intercept, mean, scale):
        self.alpha_, self.coef_, self.intercept_ = alpha, coef, intercept
        self.mean_, self.scale_ = mean, scale

    def predict(self, x):
        """``(n, T)`` float64 predictions for raw features ``x`` ``(n, F)``."""
        w = np.atleast_2d(self.coef_) / self.scale_  # (T, F) on the raw counts
        return np.asarray(x @ w.T) + (self.intercept_ - w @ self.mean_)


def _dense(x):
    return x.toarray().astype(np.float64) if hasattr(x, "toarray") else np.asarray(x, np.float64)


def _constant(var, mean, n):
    """Columns scikit-learn's StandardScaler treats as constant (scale 1)."""
    eps = np.finfo(np.float64).eps
    return var <= n * eps * var + (n * mean * eps) ** 2


def _moments(chunks, yc):
    """Pass 1: ``n, column sums, X^T X, X^T yc`` (float64) over ``chunks`` of raw features."""
    gram = xty = sums = None
    for start, x in chunks():
        d = _dense(x)
        if gram is None:
            p = d.shape[1]
            gram, xty, sums = (np.zeros((p, p)), np.zeros((p, yc.shape[1])), np.zeros(p))
        # upper triangle of d^T d; d.T is Fortran-ordered, so BLAS reads it without a copy
        gram = dsyrk(1.0, d.T, beta=1.0, c=gram, overwrite_c=1)
        xty += d.T @ yc[start:start + len(d)]
        sums += d.sum(axis=0)
    low = np.tril_indices(len(gram), -1)
    gram[low] = gram.T[low]  # in place: (F, F) float64 is 61 MB for 1..6-mers
    return sums, gram, xty


def fit_streamed_ridge(chunks, y, alphas, *, alpha_per_target=False):
    """Fit ridge with the leave-one-out choice of penalty from two passes over ``chunks``.

    Parameters
    ----------
    chunks : callable
        ``chunks()`` yields ``(start, x)``: raw features ``(m, F)`` (dense or sparse) of rows
        ``start:start + m``, in order, covering all rows of ``y``; called twice.
    y : (n, T) float
        Targets, finite.
    alphas : (A,) float
        Penalties; ties keep the first (as ``RidgeCV``).
    alpha_per_target : bool
        Choose the penalty per target (else by the error summed over targets).

    Returns
    -------
    StreamedRidge
    """
    y = np.asarray(y, dtype=np.float64)
    n, alphas = len(y), np.asarray(alphas, dtype=np.float64)
    y_mean = y.mean(axis=0)
    yc = y - y_mean
    sums, corr, xty = _moments(chunks, yc)
    mean = sums / n
    corr -= n * np.outer(mean, mean)  # centered X^T X, then scaled: in place
    var = np.maximum(np.diag(corr) / n, 0.0)
    scale = np.where(_constant(var, mean, n), 1.0, np.sqrt(var))
    corr /= np.outer(scale, scale)
    zty = (xty - np.outer(mean, yc.sum(axis=0))) / scale[:, None]
    eigvals, vecs = np.linalg.eigh(corr)
    del corr
    inv = 1.0 / (eigvals[:, None] + alphas[None, :])  # (F, A)
    proj = vecs.T @ zty  # (F, T)
    coefs = vecs @ (proj[:, None, :] * inv[:, :, None]).reshape(len(proj), -1)  # (F, A*T)
    sq = np.zeros((len(alphas), y.shape[1]))
    for start, x in chunks():  # pass 2: leave-one-out residuals of every row, all alphas
        z = _dense(x)
        z -= mean
        z /= scale
        fit = (z @ coefs).reshape(len(z), len(alphas), -1)
        z = z @ vecs
        lev = np.square(z, out=z) @ inv + 1.0 / n  # (m, A), the intercept's share included
        loo = (yc[start:start + len(z), None, :] - fit) / (1.0 - lev)[:, :, None]
        sq += (loo ** 2).sum(axis=0)
    coefs = coefs.reshape(len(proj), len(alphas), -1)
    if alpha_per_target and y.shape[1] > 1:
        best = np.argmin(sq, axis=0)
        coef = np.stack([coefs[:, a, t] for t, a in enumerate(best)])
        alpha = alphas[best]
    else:
        best = int(np.argmin(sq.sum(axis=1)))
        coef, alpha = coefs[:, best, :].T, float(alphas[best])
    coef = coef[0] if y.shape[1] == 1 else coef
    return StreamedRidge(alpha, coef, y_mean, mean, scale)
