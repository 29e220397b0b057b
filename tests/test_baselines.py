"""k-mer baselines: they find the planted motifs, stop honestly, save and load."""

import numpy as np

from seqexpr import baselines

ACT, REP = "TGACTCA", "CCGGAAGT"  # planted in conftest's toy data


def _canonical(k):
    rc = k.translate(str.maketrans("ACGT", "TGCA"))[::-1]
    return min(k, rc)


def _split(toy):
    n = len(toy["seqs"])
    tr, va = np.arange(0, int(0.8 * n)), np.arange(int(0.8 * n), n)
    seqs = np.array(toy["seqs"], dtype=object)
    return list(seqs[tr]), toy["y"][tr], list(seqs[va]), toy["y"][va]


def test_ridge_recovers_planted_motif_signs(toy):
    s_tr, y_tr, s_va, y_va = _split(toy)
    model = baselines.fit_ridge(s_tr, y_tr, ks=(4, 5, 6))
    w = baselines.ridge_coefficients(model)
    w.index = [_canonical(k) for k in w.index]  # whatever spelling kmers.py picks
    # 6-mers inside the activator TGACTCA raise, those inside the repressor CCGGAAGT lower
    act = [_canonical(ACT[i:i + 6]) for i in range(2)]
    rep = [_canonical(REP[i:i + 6]) for i in range(3)]
    assert all(w[k] > 0 for k in act) and all(w[k] < 0 for k in rep)
    assert set(w.index[:5]) & set(act + rep)  # among the strongest weights
    r = np.corrcoef(model.predict(s_va)[:, 0], y_va)[0, 1]
    assert r > 0.7
    assert model.params["alpha"][0] in model.params["alphas"]


def test_gbm_stops_on_validation_and_beats_the_mean(toy):
    s_tr, y_tr, s_va, y_va = _split(toy)
    model = baselines.fit_gbm(s_tr, y_tr, s_va, y_va, ks=(5, 6), n_features=200,
                              grid=({"learning_rate": 0.2, "max_leaf_nodes": 7},))
    chosen = model.params["per_target"][0]
    assert chosen["n_iter"] < 1000  # early stopping happened
    pred = model.predict(s_va)
    assert pred.shape == (len(s_va), 1)
    assert np.mean((pred[:, 0] - y_va) ** 2) < 0.6 * np.var(y_va)


def test_multi_target_and_save_load(toy, tmp_path):
    s_tr, y_tr, s_va, y_va = _split(toy)
    y2 = np.column_stack([y_tr, -y_tr])
    fitted = baselines.fit_baselines(s_tr, y2, s_va, np.column_stack([y_va, -y_va]),
                                     ks=(3, 4), n_features=50)
    assert set(fitted) == {"ridge_kmer", "gbm_kmer"}
    for name, model in fitted.items():
        pred = model.predict(s_va[:20])
        assert pred.shape == (20, 2)
        assert np.corrcoef(pred[:, 0], pred[:, 1])[0, 1] < -0.9  # the second task is mirrored
        baselines.save(model, tmp_path / name)
        again, prep = baselines.load(tmp_path / name)
        np.testing.assert_array_equal(again.predict(s_va[:20]), pred)
        assert prep["model"] == name and prep["ks"] == [3, 4]


def _dense_select(x, y, n_keep):
    """The k-mer selection as computed on one dense matrix before it was streamed."""
    xc, yc = x - x.mean(axis=0), y - y.mean(axis=0)
    r = np.abs(xc.T @ yc) / (np.sqrt((xc ** 2).sum(axis=0)) + 1e-12)[:, None] / (
        np.sqrt((yc ** 2).sum(axis=0)) + 1e-12)
    return np.sort(np.argsort(-r.max(axis=1), kind="stable")[:n_keep])


def test_streamed_ridge_matches_the_dense_fit(toy, monkeypatch):
    s_tr, y_tr, s_va, _ = _split(toy)
    y2 = np.column_stack([y_tr, 0.5 * y_tr + np.sin(np.arange(len(y_tr)))])
    for y in (y_tr, y2):
        dense = baselines.fit_ridge(s_tr, y, ks=(2, 3))
        monkeypatch.setattr(baselines, "DENSE_MAX_CELLS", 0)
        streamed = baselines.fit_ridge(s_tr, y, ks=(2, 3), chunk_size=37)
        monkeypatch.undo()
        assert streamed.params["alpha"] == dense.params["alpha"]
        np.testing.assert_allclose(streamed.predict(s_va), dense.predict(s_va), atol=1e-4)
        np.testing.assert_allclose(baselines.ridge_coefficients(streamed),
                                   baselines.ridge_coefficients(dense), atol=1e-4)
        assert streamed.params["rows"] == dict(used=len(s_tr), of=len(s_tr), seed=None)


def test_gbm_selection_streamed_equals_dense_and_sample_is_recorded(toy):
    s_tr, y_tr, s_va, y_va = _split(toy)
    grid = ({"learning_rate": 0.2, "max_leaf_nodes": 7},)
    full = baselines.fit_gbm(s_tr, y_tr, s_va, y_va, ks=(3, 4), n_features=40, grid=grid,
                             max_train=len(s_tr), chunk_size=29)
    x = baselines.KmerModel("x", ks=(3, 4)).features(s_tr)
    np.testing.assert_array_equal(full.columns, _dense_select(x, y_tr[:, None], 40))
    assert full.params["rows"] == dict(used=len(s_tr), of=len(s_tr), seed=None)
    m = len(s_tr) // 2
    part = baselines.fit_gbm(s_tr, y_tr, s_va, y_va, ks=(3, 4), n_features=40, grid=grid,
                             max_train=m, seed=5)
    assert part.params["rows"] == dict(used=m, of=len(s_tr), seed=5)
    assert part.params["valid_rows"] == dict(used=-(-m * len(s_va) // len(s_tr)),
                                             of=len(s_va), seed=5)
    rows = baselines.sample_rows(len(s_tr), m, 5)
    x_s = baselines.KmerModel("x", ks=(3, 4)).features([s_tr[i] for i in rows])
    np.testing.assert_array_equal(part.columns, _dense_select(x_s, y_tr[rows, None], 40))


def test_sample_rows_keeps_every_row_up_to_the_bound():
    np.testing.assert_array_equal(baselines.sample_rows(10, 10, seed=1), np.arange(10))
    rows = baselines.sample_rows(10, 4, seed=1)
    assert len(rows) == 4 and np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(rows, baselines.sample_rows(10, 4, seed=1))


def test_ridge_on_a_sample_records_it(toy):
    s_tr, y_tr, _, _ = _split(toy)
    model = baselines.fit_ridge(s_tr, y_tr, ks=(2, 3), max_train=100, seed=3)
    assert model.params["rows"] == dict(used=100, of=len(s_tr), seed=3)
