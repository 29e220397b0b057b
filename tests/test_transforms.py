"""transforms.py: each transform round-trips, specs are JSON, offsets and ranks behave."""

import json

import numpy as np
import pytest

from seqexpr import transforms


@pytest.fixture()
def y():
    return np.random.default_rng(0).lognormal(1.0, 1.0, 500)


@pytest.mark.parametrize("name", transforms.NAMES)
def test_round_trip_through_json(name, y):
    spec = json.loads(json.dumps(transforms.to_dict(transforms.fit(name, y))))
    z = transforms.apply(spec, y)
    assert np.isfinite(z).all()
    np.testing.assert_allclose(transforms.inverse(spec, z), y, rtol=1e-9, atol=1e-9)


def test_log_is_natural_and_adds_an_offset_only_when_needed(y):
    assert transforms.fit("log", y) == {"name": "log", "offset": 0.0}
    np.testing.assert_allclose(transforms.apply({"name": "log", "offset": 0.0}, [np.e]), [1.0])
    spec = transforms.fit("log", np.array([-2.0, -1.0, 0.0, 3.0]))
    assert spec["offset"] == pytest.approx(2.5)  # -min + half the smallest gap above min
    z = transforms.apply(spec, [-2.0, -1.0, 0.0, 3.0])
    assert np.isfinite(z).all() and (np.diff(z) > 0).all()
    assert np.isnan(transforms.apply(spec, [-10.0])).all()  # outside the fitted domain


def test_log1p_refuses_values_at_or_below_minus_one():
    with pytest.raises(ValueError, match="log1p"):
        transforms.fit("log1p", np.array([-1.0, 0.0, 1.0]))


def test_rank_gives_normal_scores_with_ties_sharing_a_score():
    y = np.array([5.0, 1.0, 3.0, 3.0, 100.0])
    spec = transforms.fit("rank", y)
    z = transforms.apply(spec, y)
    assert z[2] == z[3]
    assert list(np.argsort(z[[1, 2, 0, 4]])) == [0, 1, 2, 3]  # order kept
    big = np.random.default_rng(1).exponential(size=20000)
    zb = transforms.apply(transforms.fit("rank", big), big)
    assert abs(zb.mean()) < 0.01 and abs(zb.std() - 1) < 0.02  # skewed in, normal out


def test_rank_thins_knots_but_still_inverts(y):
    spec = transforms.fit("rank", y, max_knots=50)
    assert len(spec["values"]) == 50
    z = transforms.apply(spec, y)
    np.testing.assert_allclose(transforms.inverse(spec, z), y, rtol=1e-9)


def test_per_column_specs_for_a_target_matrix(y):
    Y = np.column_stack([y, y - 10])
    spec = transforms.fit(["log", "standardize"], Y)
    assert spec["name"] == "mixed" and len(spec["columns"]) == 2
    Z = transforms.apply(spec, Y)
    assert abs(Z[:, 1].mean()) < 1e-9
    np.testing.assert_allclose(transforms.inverse(spec, Z), Y)
    with pytest.raises(ValueError, match="2 target columns"):
        transforms.apply(spec, y[:, None])


def test_unknown_name_is_refused(y):
    with pytest.raises(ValueError, match="unknown target transform"):
        transforms.fit("boxcox", y)


def test_suggest_transform():
    rng = np.random.default_rng(0)
    assert transforms.suggest_transform(rng.lognormal(0, 1, 3000))[0] == "log"
    name, reason = transforms.suggest_transform(rng.normal(5, 1, 3000))
    assert name == "none" and reason.endswith(".")
    counts = rng.negative_binomial(1, 0.2, 3000).astype(float)
    assert transforms.suggest_transform(counts)[0] == "log1p"
    assert transforms.suggest_transform(rng.standard_t(1.5, 3000))[0] == "rank"
    assert transforms.suggest_transform(np.r_[np.nan, rng.lognormal(0, 1, 500)])[0] == "log"


def test_choose_without_explore_asks_suggest_transform():
    rng = np.random.default_rng(1)
    y = np.column_stack([rng.lognormal(0, 1, 2000), rng.normal(0, 1, 2000)])
    names, reasons = transforms.choose("auto", ["a", "b"], y, explore_info=None)
    assert names == ["log", "none"] and all(r.startswith("suggest_transform:") for r in reasons)
