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
