"""Honest k-mer baselines: ridge regression and gradient boosting on k-mer counts.

Both read raw sequences (no padding, no one-hot), count k-mers with
``seqexpr.kmers.kmer_features`` and are tuned on the training and validation sets only:
ridge picks its penalty by efficient leave-one-out cross-validation on train (``RidgeCV``);
the gradient-boosted trees keep the k-mers most correlated with the target on train and stop
on the validation loss. A fitted baseline is a ``KmerModel`` whose ``predict(seqs)`` returns
``(n, T)`` on the modelled scale; ``save``/``load`` use a model folder with ``model.joblib`` and
``preprocessing.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from seqexpr.jsonio import atomic, write_json

BASELINES = ("ridge_kmer", "gbm_kmer")
DEFAULT_KS = (1, 2, 3, 4, 5, 6)
RIDGE_ALPHAS = np.logspace(-2, 5, 15)
# Small honest grid for the boosted trees; each setting stops early on validation.
GBM_GRID = ({"learning_rate": 0.1, "max_leaf_nodes": 15},
            {"learning_rate": 0.1, "max_leaf_nodes": 31, "l2_regularization": 1.0})


class KmerModel:
    """A fitted k-mer baseline: feature settings plus one scikit-learn estimator per target.

    Attributes
    ----------
    name : str
        ``"ridge_kmer"`` or ``"gbm_kmer"``.
    ks, gapped, canonical : k-mer settings passed to ``seqexpr.kmers.kmer_features``.
    columns : (F,) int array or None
        Feature columns kept (``gbm_kmer``); None keeps all.
    estimators : list
        One fitted estimator per target column (ridge: one multi-output estimator).
    params : dict
        Chosen hyperparameters, for the record.
    """

    def __init__(self, name, *, ks, gapped=(), canonical=True):
        self.name, self.ks, self.gapped = name, tuple(int(k) for k in ks), tuple(gapped)
        self.canonical = bool(canonical)
        self.columns, self.estimators, self.params, self.feature_names = None, [], {}, []

    def features(self, seqs):
        """K-mer counts ``(n, F)`` as a dense float32 array (selected columns only, if any)."""
        from seqexpr.kmers import kmer_features

        seqs = [s.upper().replace("U", "T") for s in seqs]
        x, names = kmer_features(seqs, self.ks, gapped=self.gapped, canonical=self.canonical)
        if not self.feature_names:
            self.feature_names = list(names)
        if self.columns is not None:
            x = x[:, self.columns]
        return x.toarray()

    def predict(self, seqs):
        """Predict ``(n, T) float32`` on the modelled scale for raw sequences."""
        out = []
        for i in range(0, len(seqs), 5000):  # bounded memory for the dense counts
            x = self.features(seqs[i:i + 5000])
            out.append(np.concatenate([np.asarray(e.predict(x), dtype=np.float32).reshape(
                len(x), -1) for e in self.estimators], axis=1))
        return np.concatenate(out) if out else np.zeros((0, len(self.estimators)), np.float32)

    def preprocessing(self):
        """What ``predict`` needs besides the estimators, as JSON-able dict."""
        return dict(kind="baseline", model=self.name, features="kmer_counts", ks=list(self.ks),
                    gapped=[list(g) for g in self.gapped], canonical=self.canonical,
                    n_features=len(self.feature_names) if self.columns is None
                    else int(len(self.columns)), params=self.params)


def _as_2d(y):
    y = np.asarray(y, dtype=np.float64)
    return y[:, None] if y.ndim == 1 else y


def fit_ridge(seqs_train, y_train, *, ks=DEFAULT_KS, gapped=(), canonical=True,
              alphas=RIDGE_ALPHAS):
    """Ridge regression on scaled k-mer counts, penalty chosen by leave-one-out CV on train.

    Parameters
    ----------
    seqs_train : sequence of str
    y_train : (n,) or (n, T) float
        Targets on the modelled scale (rows with NaN are dropped).
    ks, gapped, canonical : k-mer settings.
    alphas : array of float
        Penalty grid (log-spaced); the chosen one is in ``model.params["alpha"]``.

    Returns
    -------
    KmerModel
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = _as_2d(y_train)
    ok = np.isfinite(y).all(axis=1)
    model = KmerModel("ridge_kmer", ks=ks, gapped=gapped, canonical=canonical)
    # Dense: 1..6-mers are a few thousand columns; centring needs dense input anyway.
    x = model.features([s for s, k in zip(seqs_train, ok) if k])
    est = make_pipeline(StandardScaler(),
                        RidgeCV(alphas=np.asarray(alphas), alpha_per_target=y.shape[1] > 1))
    est.fit(x, y[ok])
    model.estimators = [est]
    alpha = est[-1].alpha_
    model.params = dict(alpha=np.atleast_1d(alpha).tolist(), alphas=[float(a) for a in alphas],
                        cv="leave-one-out (GCV) on train")
    return model


def _select(x, y, n_keep):
    """Columns of the ``n_keep`` k-mers most correlated (|r|, max over targets) with y."""
    xc = x - x.mean(axis=0)
    yc = y - y.mean(axis=0)
    sx = np.sqrt((xc ** 2).sum(axis=0)) + 1e-12
    sy = np.sqrt((yc ** 2).sum(axis=0)) + 1e-12
    r = np.abs(xc.T @ yc) / sx[:, None] / sy[None, :]
    score = r.max(axis=1)
    keep = np.sort(np.argsort(-score, kind="stable")[:n_keep])
    return keep


def fit_gbm(seqs_train, y_train, seqs_valid, y_valid, *, ks=DEFAULT_KS, gapped=(),
            canonical=True, n_features=1000, grid=GBM_GRID, max_iter=1000, seed=0, threads=1):
    """Gradient-boosted trees on the k-mers most correlated with the target on train.

    Each setting in ``grid`` trains with early stopping on the validation set (no
    improvement in 20 rounds); the setting with the lowest validation MSE is kept, per target.

    Parameters
    ----------
    seqs_train, seqs_valid : sequence of str
    y_train, y_valid : (n,) or (n, T) float
        On the modelled scale.
    n_features : int
        K-mer columns kept (by absolute correlation on train).
    grid : sequence of dict
        ``HistGradientBoostingRegressor`` settings to try.
    max_iter : int
        Most boosting rounds.
    seed : int
    threads : int
        OpenMP threads for the trees.

    Returns
    -------
    KmerModel
    """
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    y, yv = _as_2d(y_train), _as_2d(y_valid)
    model = KmerModel("gbm_kmer", ks=ks, gapped=gapped, canonical=canonical)
    x_all = model.features(seqs_train)
    ok = np.isfinite(y).all(axis=1)
    model.columns = _select(x_all[ok], y[ok], n_features)
    x = x_all[:, model.columns]
    xv = model.features(seqs_valid)
    chosen = []
    for j in range(y.shape[1]):
        okt, okv = np.isfinite(y[:, j]), np.isfinite(yv[:, j])
        best = None
        for setting in grid:
            # k-mer counts are small integers: 32 bins lose nothing and run much faster
            est = HistGradientBoostingRegressor(max_iter=max_iter, early_stopping=True,
                                                n_iter_no_change=20, random_state=seed,
                                                max_bins=32, **setting)
            # one OpenMP thread: on a shared, busy machine more threads run slower, not faster
            with threadpool_limits(threads, user_api="openmp"):
                est.fit(x[okt], y[okt, j], X_val=xv[okv], y_val=yv[okv, j])
            mse = float(np.mean((est.predict(xv[okv]) - yv[okv, j]) ** 2))
            if best is None or mse < best[0]:
                best = (mse, est, dict(setting, n_iter=int(est.n_iter_), valid_mse=mse))
        model.estimators.append(best[1])
        chosen.append(best[2])
    model.params = dict(n_features=int(len(model.columns)), selection="|pearson r| on train",
                        per_target=chosen, grid=list(grid), max_iter=max_iter,
                        early_stopping="validation set, 20 rounds")
    return model


def fit_baselines(seqs_train, y_train, seqs_valid, y_valid, *, names=BASELINES,
                  ks=DEFAULT_KS, canonical=True, n_features=1000, seed=0):
    """Fit the k-mer baselines named in ``names``; returns ``{name: KmerModel}``.

    ``ridge_kmer`` uses train only (leave-one-out CV); ``gbm_kmer`` uses train to fit and
    validation to stop. Neither sees the test set.
    """
    unknown = set(names) - set(BASELINES)
    if unknown:
        raise ValueError(f"unknown baselines {sorted(unknown)}; choose from {BASELINES}")
    out = {}
    if "ridge_kmer" in names:
        out["ridge_kmer"] = fit_ridge(seqs_train, y_train, ks=ks, canonical=canonical)
    if "gbm_kmer" in names:
        out["gbm_kmer"] = fit_gbm(seqs_train, y_train, seqs_valid, y_valid, ks=ks,
                                  canonical=canonical, n_features=n_features, seed=seed)
    return out


def save(model, out_dir, *, extra=None):
    """Write ``model.joblib`` and ``preprocessing.json`` (k-mer settings + ``extra``).

    The description goes first and comes back last, each file atomically, so an interrupted
    save never leaves a new model beside an old description."""
    import joblib

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "preprocessing.json").unlink(missing_ok=True)
    with atomic(out / "model.joblib") as tmp:
        joblib.dump(model, tmp)
    write_json(out / "preprocessing.json", {**model.preprocessing(), **(extra or {})})
    return out


def load(model_dir):
    """Load a baseline saved by :func:`save`; returns ``(KmerModel, preprocessing dict)``."""
    import joblib

    d = Path(model_dir)
    return joblib.load(d / "model.joblib"), json.loads((d / "preprocessing.json").read_text())


def ridge_coefficients(model, target=0):
    """Ridge weights per k-mer (on standardized counts) as a pandas Series, largest |w| first."""
    import pandas as pd

    if model.name != "ridge_kmer":
        raise ValueError(f"ridge_coefficients needs a ridge_kmer model, got {model.name}")
    coef = np.atleast_2d(model.estimators[0][-1].coef_)[target]
    s = pd.Series(coef, index=model.feature_names, name="weight")
    return s.reindex(s.abs().sort_values(ascending=False).index)
