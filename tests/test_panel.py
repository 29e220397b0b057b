"""The accuracy panel: its datasets differ from the demo, real data keep their checks, and a
row says honestly who won."""

import numpy as np
import pytest

from seqexpr import demo, demo_truth, panel


def test_synthetic_sets_differ_from_the_demo_on_purpose():
    demo_motifs = {m["jaspar_id"] for m in demo.MOTIFS}
    lengths, sizes, ceilings = set(), set(), set()
    for name, cfg in panel.SYNTHETIC.items():
        assert not demo_motifs & {m["jaspar_id"] for m in cfg["motifs"]}, name
        lengths.add(cfg["length"])
        sizes.add(cfg["n"])
        ceilings.add(cfg["noise_ceiling"])
    assert min(lengths) <= 100 and max(lengths) >= 1000
    assert min(sizes) <= 3000 and max(sizes) >= 50000
    assert len(ceilings) >= 3
    assert len(panel.SYNTHETIC) >= 5 and set(panel.HELD_OUT) <= set(panel.PANEL)


def test_spacing_rule_counts_only_close_pairs():
    sites = panel.pd.DataFrame({"row": [0, 0, 1, 1, 2], "motif": ["A", "B", "A", "B", "A"],
                                "start": [10, 30, 10, 90, 5], "active": True})
    close = demo_truth.pairs_within(sites, "A", "B", 25, 3)
    assert close.tolist() == [True, False, False]


def test_make_demo_takes_another_grammar():
    motifs = [panel._motif("SOX2", -0.8, presence=0.5), panel._motif("NFYA", 1.0, presence=0.5)]
    frame, sites, truth = demo.make_demo(n=400, length=120, seed=2, motifs=motifs, pairs=[
        dict(a="SOX2", b="NFYA", interaction=0.5, max_spacing=20)], gc_effect=0.0)
    assert [m["name"] for m in truth["motifs"]] == ["SOX2", "NFYA"]
    assert truth["gc_effect"] == 0.0 and truth["pairs"][0]["max_spacing"] == 20
    np.testing.assert_allclose(demo_truth.true_signal(frame["sequence"], truth), frame["signal"])
    has_sox2 = frame["id"].isin(sites.loc[sites["motif"] == "SOX2", "id"])
    assert frame.loc[has_sox2, "signal"].mean() < frame.loc[~has_sox2, "signal"].mean()
    with pytest.raises(ValueError, match="names a motif"):
        demo.make_demo(n=50, length=100, motifs=motifs, pairs=[dict(a="X", b="NFYA",
                                                                    interaction=1)])


def test_real_dataset_holds_out_whole_groups(tmp_path):
    folder = tmp_path / "urtecho2019_ecoli_sigma70"
    folder.mkdir()
    rng = np.random.default_rng(0)
    ids, fa = [], []
    for g in range(10):
        bg = "".join(rng.choice(list("ACGT"), 60))
        for v in range(30):
            core = "".join(rng.choice(list("ACGT"), 20))
            ids.append(f"var{v}_core_bg{g}00:{g}60")
            fa.append(f">{ids[-1]}\n{bg}{core}\n")
    ids.append("neg_control_1:61")
    fa.append(">neg_control_1:61\n" + "".join(rng.choice(list("ACGT"), 80)) + "\n")
    (folder / "promoters.fa").write_text("".join(fa))
    y = rng.lognormal(size=len(ids))
    (folder / "expression.csv").write_text("id,RNA_exp_average\n" + "".join(
        f"{i},{v}\n" for i, v in zip(ids, y)))
    ds = panel.prepare("urtecho_ecoli", datasets_dir=tmp_path)
    assert ds.kind == "real" and ds.info["split"] == "column" and ds.held_out
    groups = np.array([i.rsplit("_", 1)[-1] for i in ids])
    for g in np.unique(groups):  # a background sits in one split only
        assert len(set(ds.split[groups == g])) == 1
    assert ds.info["transform"] == "log"
    with pytest.raises(FileNotFoundError, match="datasets_dir"):
        panel.prepare("zrimec_yeast", datasets_dir=tmp_path)


def test_panel_row_compares_the_ensemble_with_the_best_baseline():
    ds = panel.prepare("syn_small_short", scale=0.2)
    base = panel.fit_baselines(ds)
    te = ds.idx["test"]
    truth = ds.y.copy()
    noisy = truth + np.random.default_rng(1).normal(0, 2 * truth.std(), len(truth))
    deep = dict(pred=truth, per_seed=[truth, truth], epochs=[1, 1], seconds=0.0)
    row = panel.score(ds, deep, base, n_bootstrap=200)
    assert row["deep_pearson"] == pytest.approx(1.0)
    assert row["delta_lo"] > 0 and row["best_baseline"] in ("ridge_kmer", "gbm_kmer")
    bad = panel.score(ds, dict(deep, pred=noisy, per_seed=[noisy]), base, n_bootstrap=200)
    assert bad["delta_hi"] < 0
    tab = panel.table([row, bad])
    assert tab["wins"].tolist() == ["yes", "no"] and len(te) == row["n_test"]


def test_learning_curve_lists_each_share_smallest_first():
    def row(scale, n, deep, gbm, lo, hi):
        return dict(dataset="syn_small_short", held_out=False, scale=scale, n_train=n,
                    length=100, deep_pearson=deep, deep_spearman=deep, gbm_kmer_pearson=gbm,
                    ridge_kmer_pearson=gbm - 0.05, best_baseline="gbm_kmer", delta=deep - gbm,
                    delta_lo=lo, delta_hi=hi, of_ceiling=deep / 0.9, deep_seconds=1.0)

    rows = [row(1.0, 2400, 0.86, 0.85, -0.01, 0.03), row(0.3, 720, 0.76, 0.88, -0.17, -0.07)]
    curve = panel.learning_curve(rows)
    assert curve["share"].tolist() == ["30%", "100%"]
    assert curve["n_train"].tolist() == [720, 2400]
    assert curve["delta [95% CI]"].tolist() == ["-0.120 [-0.170, -0.070]",
                                                "+0.010 [-0.010, +0.030]"]
    assert panel.table(rows)["share"].tolist() == ["100%", "30%"]
