"""seqexpr.bootstrap: intervals that cover, seeded and vectorized resampling, paired tests,
and the one definition of the regression metrics."""

import numpy as np
import pytest

from seqexpr import bootstrap as bs


def _bivariate(n, rho, rng):
    x = rng.standard_normal(n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    return x, y


def test_bootstrap_ci_covers_true_correlation_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    rho, hits = 0.6, 0
    for rep in range(40):
        x, y = _bivariate(150, rho, rng)
        res = bs.correlation_ci(y, x, n_bootstrap=300, seed=rep)
        hits += res["pearson_lo"] <= rho <= res["pearson_hi"]
        assert res["spearman_lo"] <= res["spearman"] <= res["spearman_hi"]
    assert hits >= 32, f"95% interval covered the true correlation only {hits}/40 times"

    widths = {}
    for n in (100, 1600):
        x, y = _bivariate(n, rho, rng)
        res = bs.correlation_ci(y, x, n_bootstrap=400, seed=1)
        widths[n] = res["pearson_hi"] - res["pearson_lo"]
    # the width falls like 1/sqrt(n): 16x the data, about a quarter of the width
    assert widths[1600] < 0.4 * widths[100]


def test_bootstrap_is_seeded_and_vectorized_over_models():
    rng = np.random.default_rng(3)
    x, y = _bivariate(200, 0.5, rng)
    preds = np.vstack([x, -x, x + rng.standard_normal(200)])
    a = bs.bootstrap_correlations(y, preds, n_bootstrap=50, seed=7, max_elements=1000)
    b = bs.bootstrap_correlations(y, preds, n_bootstrap=50, seed=7)
    assert a["pearson"].shape == (50, 3)
    np.testing.assert_allclose(a["pearson"], b["pearson"])  # chunking changes nothing
    np.testing.assert_allclose(a["pearson"][:, 1], -a["pearson"][:, 0])
    # weighted resamples give exactly what materialised resamples give, ties included
    from scipy.stats import rankdata
    yt, pt = np.round(y, 1), np.round(preds, 1)
    got = bs.bootstrap_correlations(yt, pt, n_bootstrap=30, seed=4)
    idx = bs.bootstrap_indices(200, n_bootstrap=30, seed=4)
    np.testing.assert_allclose(got["pearson"], bs.rowwise_pearson(pt[:, idx], yt[idx]).T)
    np.testing.assert_allclose(got["spearman"], bs.rowwise_pearson(
        rankdata(pt[:, idx], axis=-1), rankdata(yt[idx], axis=-1)).T, atol=1e-12)
    # one resample at a time draws the same indices as one draw of them all
    one = bs.bootstrap_correlations(yt, pt, n_bootstrap=30, seed=4, max_elements=1)
    np.testing.assert_allclose(one["pearson"], got["pearson"], rtol=1e-12)
    np.testing.assert_allclose(one["spearman"], got["spearman"], rtol=1e-12)
    with pytest.raises(ValueError, match="same sequences"):
        bs.bootstrap_correlations(y[:10], preds)


# -- paired comparisons ------------------------------------------------------------------------
def test_paired_bootstrap_detects_a_real_difference():
    rng = np.random.default_rng(1)
    y = rng.standard_normal(300)
    good, bad = y + rng.normal(0, 0.5, 300), y + rng.normal(0, 1.5, 300)
    res = bs.paired_bootstrap(y, good, bad, n_bootstrap=500, seed=0)
    assert res["delta"] > 0 and res["lo"] > 0
    assert res["p"] < 0.01
    flipped = bs.paired_bootstrap(y, bad, good, n_bootstrap=500, seed=0)
    assert flipped["delta"] == pytest.approx(-res["delta"]) and flipped["hi"] < 0


def test_paired_bootstrap_does_not_separate_equally_noisy_models():
    rng = np.random.default_rng(2)
    ps = []
    for rep in range(20):
        y = rng.standard_normal(200)
        a, b = y + rng.normal(0, 1, 200), y + rng.normal(0, 1, 200)
        ps.append(bs.paired_bootstrap(y, a, b, n_bootstrap=300, seed=rep)["p"])
    ps = np.array(ps)
    assert np.mean(ps < 0.05) <= 0.2, f"false positives: {np.sort(ps)}"
    assert np.median(ps) > 0.2


def test_regression_metrics_one_definition():
    y = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    m = bs.regression_metrics(y, np.array([1.0, 2.0, 3.0, 5.0, 1.0]))
    assert m["n"] == 4 and m["spearman"] == pytest.approx(1.0)
    assert 0.9 < m["pearson"] < 1 and m["rmse"] == pytest.approx(0.5)
    assert m["r2"] == pytest.approx(1 - 1 / 5)  # SSres 1, SStot 5: can go negative, never clipped
    assert np.isnan(bs.regression_metrics(y, np.ones(5))["pearson"])
