"""Honest k-mer baselines: ridge regression and gradient boosting on k-mer counts.

Both read raw sequences (no padding, no one-hot), count k-mers with
``seqexpr.kmers.kmer_features`` and are tuned on the training and validation sets only:
ridge picks its penalty by efficient leave-one-out cross-validation on train (``RidgeCV``);
the gradient-boosted trees keep the k-mers most correlated with the target on train and stop
on the validation loss. A fitted baseline is a ``KmerModel`` whose ``predict(seqs)`` returns
``(n, T)`` on the modelled scale; ``save``/``load`` use a model folder with ``model.joblib`` and
``preprocessing.json``.

Memory stays bounded at any number of sequences: k-mer counts are built in blocks of
``CHUNK`` rows; both baselines fit on at most ``max_train`` training rows (a seeded random
sample above that, recorded in ``params["rows"]``; all rows, in order, below it); ridge holds
one dense matrix only up to ``DENSE_MAX_CELLS`` (as scikit-learn's ``RidgeCV``) and beyond that
streams exact normal equations (:mod:`seqexpr.kmer_ridge`); the trees' feature selection is
streamed, and only the kept columns of the sampled rows are held (float64, as the trees need).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from seqexpr.jsonio import atomic, write_json
from seqexpr.kmers import sample_rows

BASELINES = ("ridge_kmer", "gbm_kmer")
DEFAULT_KS = (1, 2, 3, 4, 5, 6)
RIDGE_ALPHAS = np.logspace(-2, 5, 15)
# Small honest grid for the boosted trees; each setting stops early on validation.
GBM_GRID = ({"learning_rate": 0.1, "max_leaf_nodes": 15},
            {"learning_rate": 0.1, "max_leaf_nodes": 31, "l2_regularization": 1.0})
CHUNK = 4096  # rows per block of k-mer counts: (4096, 2772) float64 is 90 MB
# rows x columns up to which ridge fits one dense matrix (scikit-learn's RidgeCV, ~1 GB at the
# bound: ~12,000 rows of 1..6-mers); above, the streamed normal equations of kmer_ridge
DENSE_MAX_CELLS = 2**25


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

    def _names(self):
        from seqexpr.kmers import kmer_feature_names

        if not self.feature_names:
            self.feature_names = kmer_feature_names(self.ks, gapped=self.gapped,
                                                    canonical=self.canonical)
        return self.feature_names

    def feature_chunks(self, seqs, *, chunk_size=CHUNK, desc=None):
        """Yield ``(start, x)``: k-mer counts of rows ``start:start + m`` as CSR float32
        ``(m, F)`` (selected columns only, if any), blocks of ``chunk_size`` rows in order."""
        from seqexpr.kmers import kmer_feature_chunks

        self._names()
        bar = tqdm(range(0, len(seqs), chunk_size), desc=desc or self.name,
                   disable=len(seqs) <= 25 * chunk_size)
        for start in bar:  # upper-cased a block at a time: no second copy of the library
            for _, x in kmer_feature_chunks(_dna(seqs[start:start + chunk_size]), self.ks,
                                            gapped=self.gapped, canonical=self.canonical,
                                            chunk_size=chunk_size):
                yield start, (x if self.columns is None else x[:, self.columns])

    def features(self, seqs, *, dtype=np.float32, chunk_size=CHUNK):
        """K-mer counts ``(n, F)`` as a dense array (selected columns only, if any), filled
        block by block."""
        n_cols = len(self._names()) if self.columns is None else len(self.columns)
        out = np.empty((len(seqs), n_cols), dtype=dtype)
        for start, x in self.feature_chunks(seqs, chunk_size=chunk_size):
            out[start:start + x.shape[0]] = x.toarray()
        return out

    def predict(self, seqs, *, chunk_size=CHUNK):
        """Predict ``(n, T) float32`` on the modelled scale for raw sequences."""
        out = []
        for _, x in self.feature_chunks(seqs, chunk_size=chunk_size, desc="predict"):
            x = x.toarray()  # bounded memory for the dense counts
            out.append(np.concatenate([np.asarray(e.predict(x), dtype=np.float32).reshape(
                len(x), -1) for e in self.estimators], axis=1))
        return np.concatenate(out) if out else np.zeros((0, len(self.estimators)), np.float32)

    def preprocessing(self):
        """What ``predict`` needs besides the estimators, as JSON-able dict."""
        return dict(kind="baseline", model=self.name, features="kmer_counts", ks=list(self.ks),
                    gapped=[list(g) for g in self.gapped], canonical=self.canonical,
                    n_features=len(self.feature_names) if self.columns is None
                    else int(len(self.columns)), params=self.params)


def _dna(seqs):
    """Upper case, ``U`` read as ``T``: the strings ``kmer_features`` counts."""
    return [s.upper().replace("U", "T") for s in seqs]


def _rows_record(rows, n, seed, used=None):
    """What ``params["rows"]`` says about a sample: used (``used``, or every sampled row) of
    total, and the seed if sampled."""
    return dict(used=int(len(rows) if used is None else used), of=int(n),
                seed=int(seed) if len(rows) < n else None)


def training_fingerprint(seqs, y):
    """SHA-256 (first 16 hex digits) of training sequences and their targets, hashed in blocks
    (the k-mer baselines read sequences, not the one-hot array)."""
    h = hashlib.sha256()
    y = np.asarray(y, dtype=np.float32)
    for start in range(0, len(seqs), CHUNK):
        h.update("\n".join(seqs[start:start + CHUNK]).encode() + b"\n")
        h.update(np.ascontiguousarray(y[start:start + CHUNK]).tobytes())
    return h.hexdigest()[:16]


def _as_2d(y):
    y = np.asarray(y, dtype=np.float64)
    return y[:, None] if y.ndim == 1 else y


def fit_ridge(seqs_train, y_train, *, ks=DEFAULT_KS, gapped=(), canonical=True,
              alphas=RIDGE_ALPHAS, max_train=None, seed=0, chunk_size=CHUNK):
    """Ridge regression on scaled k-mer counts, penalty chosen by leave-one-out CV on train.

    Parameters
    ----------
    seqs_train : sequence of str
    y_train : (n,) or (n, T) float
        Targets on the modelled scale (rows with NaN are dropped).
    ks, gapped, canonical : k-mer settings.
    alphas : array of float
        Penalty grid (log-spaced); the chosen one is in ``model.params["alpha"]``.
    max_train : int, optional
        Fit on a random sample of this many training rows (seeded by ``seed``) when there
        are more; recorded in ``model.params["rows"]``.
    chunk_size : int
        Rows per block of k-mer counts when the fit is streamed (above ``DENSE_MAX_CELLS``).

    Returns
    -------
    KmerModel
    """
    y = _as_2d(y_train)
    rows = sample_rows(len(y), max_train, seed)
    y_s = y[rows]
    ok = np.isfinite(y_s).all(axis=1)
    model = KmerModel("ridge_kmer", ks=ks, gapped=gapped, canonical=canonical)
    seqs = [seqs_train[i] for i, k in zip(rows, ok) if k]
    if len(seqs) * len(model._names()) <= DENSE_MAX_CELLS:
        est = _dense_ridge(model.features(seqs), y_s[ok], alphas)
        alpha = est[-1].alpha_
    else:
        from seqexpr.kmer_ridge import fit_streamed_ridge

        est = fit_streamed_ridge(lambda: model.feature_chunks(seqs, chunk_size=chunk_size,
                                                              desc="ridge_kmer"),
                                 y_s[ok], alphas, alpha_per_target=y.shape[1] > 1)
        alpha = est.alpha_
    model.estimators = [est]
    model.params = dict(alpha=np.atleast_1d(alpha).tolist(), alphas=[float(a) for a in alphas],
                        cv="leave-one-out (GCV) on train",
                        rows=_rows_record(rows, len(y), seed, used=len(seqs)))
    return model


def _dense_ridge(x, y, alphas):
    """scikit-learn's StandardScaler + RidgeCV on one dense matrix (small data)."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    est = make_pipeline(StandardScaler(),
                        RidgeCV(alphas=np.asarray(alphas), alpha_per_target=y.shape[1] > 1))
    return est.fit(x, y)


def _select(chunks, y, n_keep):
    """Columns of the ``n_keep`` k-mers most correlated (|r|, max over targets) with y
    ``(n, T)``, from column sums streamed over ``chunks`` (``(start, x)`` blocks of rows)."""
    yc = y - y.mean(axis=0)
    s1 = s2 = sxy = None
    for start, x in chunks:
        x = x.astype(np.float64)
        if s1 is None:
            s1, s2, sxy = (np.zeros(x.shape[1]), np.zeros(x.shape[1]),
                           np.zeros((x.shape[1], y.shape[1])))
        s1 += np.asarray(x.sum(axis=0)).ravel()
        s2 += np.asarray(x.multiply(x).sum(axis=0)).ravel()
        sxy += x.T @ yc[start:start + x.shape[0]]
    mean = s1 / len(y)
    ss = s2 - s1 * mean  # sum of squared deviations; exact 0 for a constant column of counts
    sx = np.sqrt(np.maximum(ss, 0.0)) + 1e-12
    sy = np.sqrt((yc ** 2).sum(axis=0)) + 1e-12
    r = np.abs(sxy - mean[:, None] * yc.sum(axis=0)) / sx[:, None] / sy[None, :]
    r[ss <= 0] = 0.0  # a constant column correlates with nothing
    score = r.max(axis=1)
    keep = np.sort(np.argsort(-score, kind="stable")[:n_keep])
    return keep


def fit_gbm(seqs_train, y_train, seqs_valid, y_valid, *, ks=DEFAULT_KS, gapped=(),
            canonical=True, n_features=1000, grid=GBM_GRID, max_iter=1000, seed=0, threads=1,
            max_train=None, chunk_size=CHUNK):
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
        Seeds the trees and the row samples.
    threads : int
        OpenMP threads for the trees.
    max_train : int, optional
        Fit (and select k-mers) on a random sample of this many training rows when there are
        more, and stop on the same fraction of validation rows; recorded in
        ``model.params["rows"]`` and ``["valid_rows"]``. Memory: ~9 bytes per sampled row
        and kept k-mer (float64 counts plus the trees' binned copy).
    chunk_size : int
        Rows per block of k-mer counts.

    Returns
    -------
    KmerModel
    """
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    y, yv = _as_2d(y_train), _as_2d(y_valid)
    rows = sample_rows(len(y), max_train, seed)
    rows_v = sample_rows(len(yv), None if len(rows) == len(y)
                         else -(-len(rows) * len(yv) // len(y)), seed)
    seqs, y, seqs_v, yv = ([seqs_train[i] for i in rows], y[rows],
                           [seqs_valid[i] for i in rows_v], yv[rows_v])
    model = KmerModel("gbm_kmer", ks=ks, gapped=gapped, canonical=canonical)
    ok = np.isfinite(y).all(axis=1)
    model.columns = _select(model.feature_chunks([s for s, k in zip(seqs, ok) if k],
                                                 chunk_size=chunk_size, desc="gbm_kmer select"),
                            y[ok], n_features)
    # float64, the trees' input dtype: they would otherwise copy it
    x = model.features(seqs, dtype=np.float64, chunk_size=chunk_size)
    xv = model.features(seqs_v, dtype=np.float64, chunk_size=chunk_size)
    chosen = []
    for j in range(y.shape[1]):
        okt, okv = np.isfinite(y[:, j]), np.isfinite(yv[:, j])
        x_t, xv_t = (x if okt.all() else x[okt]), (xv if okv.all() else xv[okv])
        best = None
        for setting in grid:
            # k-mer counts are small integers: 32 bins lose nothing and run much faster
            est = HistGradientBoostingRegressor(max_iter=max_iter, early_stopping=True,
                                                n_iter_no_change=20, random_state=seed,
                                                max_bins=32, **setting)
            # one OpenMP thread: on a shared, busy machine more threads run slower, not faster
            with threadpool_limits(threads, user_api="openmp"):
                est.fit(x_t, y[okt, j], X_val=xv_t, y_val=yv[okv, j])
            mse = float(np.mean((est.predict(xv_t) - yv[okv, j]) ** 2))
            if best is None or mse < best[0]:
                best = (mse, est, dict(setting, n_iter=int(est.n_iter_), valid_mse=mse))
        model.estimators.append(best[1])
        chosen.append(best[2])
    model.params = dict(n_features=int(len(model.columns)), selection="|pearson r| on train",
                        per_target=chosen, grid=list(grid), max_iter=max_iter,
                        early_stopping="validation set, 20 rounds",
                        rows=_rows_record(rows, len(y_train), seed),
                        valid_rows=_rows_record(rows_v, len(y_valid), seed))
    return model


def fit_baselines(seqs_train, y_train, seqs_valid, y_valid, *, names=BASELINES,
                  ks=DEFAULT_KS, canonical=True, n_features=1000, seed=0, max_train=None):
    """Fit the k-mer baselines named in ``names``; returns ``{name: KmerModel}``.

    ``ridge_kmer`` uses train only (leave-one-out CV); ``gbm_kmer`` uses train to fit and
    validation to stop. Neither sees the test set. Each fits on at most ``max_train``
    training rows (a seeded sample above that; see :func:`fit_gbm`).
    """
    unknown = set(names) - set(BASELINES)
    if unknown:
        raise ValueError(f"unknown baselines {sorted(unknown)}; choose from {BASELINES}")
    out = {}
    if "ridge_kmer" in names:
        out["ridge_kmer"] = fit_ridge(seqs_train, y_train, ks=ks, canonical=canonical,
                                      max_train=max_train, seed=seed)
    if "gbm_kmer" in names:
        out["gbm_kmer"] = fit_gbm(seqs_train, y_train, seqs_valid, y_valid, ks=ks,
                                  canonical=canonical, n_features=n_features, seed=seed,
                                  max_train=max_train)
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
    est = model.estimators[0]  # a StandardScaler + RidgeCV pipeline, or a StreamedRidge
    coef = np.atleast_2d((est[-1] if hasattr(est, "steps") else est).coef_)[target]
    s = pd.Series(coef, index=model.feature_names, name="weight")
    return s.reindex(s.abs().sort_values(ascending=False).index)
