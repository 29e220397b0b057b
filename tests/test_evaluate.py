"""seqexpr.evaluate and stage 05_evaluate: scores per group, metrics.json, verdicts, ceilings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqexpr import evaluate as ev
from seqexpr.stages import evaluate as evaluate_stage
from seqexpr.stages import params


def _evaluate(run, n_bootstrap):
    return evaluate_stage.run(**params.defaults("05_evaluate", run_dir=str(run),
                                                n_bootstrap=n_bootstrap))


def make_predictions(run: Path, y, *, noise: dict, seed: int = 0, group_good: str | None = None):
    """Write 04_model's files (predictions.csv, metrics.json) with fake models of known quality.

    Each model is ``observed + N(0, sd)``; ``cnn@k`` seeds get independent noise and ``cnn`` is
    their mean. Adds a ``library`` group column (A/B) to sequences.parquet and marks some test
    sequences as having a relative in train. With ``group_good``, every model is exact on that
    library, so per-group metrics can be checked against the right rows.
    """
    rng = np.random.default_rng(seed)
    seqs = pd.read_parquet(run / "sequences.parquet")
    n = len(seqs)
    seqs["library"] = np.where(np.arange(n) % 3 == 0, "A", "B")
    seqs.to_parquet(run / "sequences.parquet", index=False)
    load = json.loads((run / "load.json").read_text())
    load["group_column"] = "library"
    (run / "load.json").write_text(json.dumps(load))
    splits = pd.read_csv(run / "splits.csv")
    splits["has_relative_in_train"] = np.arange(n) % 4 == 0
    splits.to_csv(run / "splits.csv", index=False)

    pred = pd.DataFrame({"id": seqs["id"], "split": splits["split"], "target": "expression",
                         "observed": y})
    exact = (seqs["library"] == group_good).to_numpy() if group_good else np.zeros(n, bool)
    for name, sd in noise.items():
        pred[name] = np.where(exact, y, y + rng.normal(0, sd, n))
    seeds = [c for c in noise if c.startswith("cnn@")]
    if seeds:
        pred["cnn"] = pred[seeds].mean(axis=1)
    pred.to_csv(run / "predictions.csv", index=False)
    models = {c: {"kind": "baseline" if c.endswith("_kmer") else "deep", "path": f"models/{c}",
                  "params": {}, "seed": 0, "train_seconds": 1.0} for c in ev.model_columns(pred)}
    test = pred[pred["split"] == "test"]
    r = {c: float(np.corrcoef(test[c], test["observed"])[0, 1]) for c in models}
    metrics = {"test": {"expression": {c: {"pearson": r[c]} for c in models}},
               "models": models, "best_deep_model": seeds[0] if seeds else None,
               "best_baseline": "ridge_kmer", "noise_ceiling": 0.95}
    (run / "metrics.json").write_text(json.dumps(metrics))
    return pred


# -- bootstrap intervals -----------------------------------------------------------------------
# -- run folder --------------------------------------------------------------------------------
NOISE = {"ridge_kmer": 0.6, "gbm_kmer": 0.8, "cnn@0": 0.2, "cnn@1": 0.25, "cnn@2": 0.3}


def test_per_group_metrics_use_the_right_rows(toy_run, toy):
    pred = make_predictions(toy_run, toy["y"], noise=NOISE, group_good="A")
    out = _evaluate(toy_run, 100)
    table = pd.read_csv(toy_run / "evaluation.csv")
    assert list(table.columns) == ev.EVAL_COLUMNS
    seqs = pd.read_parquet(toy_run / "sequences.parquet").set_index("id")
    test = pred[pred["split"] == "test"]
    lib = test["id"].map(seqs["library"])
    for group in ("A", "B"):
        rows = test[lib == group]
        got = table[(table["grouping"] == "library") & (table["group"] == group)
                    & (table["model"] == "ridge_kmer")].iloc[0]
        assert got["n"] == len(rows)
        err = rows["ridge_kmer"] - rows["observed"]
        r = np.corrcoef(rows["ridge_kmer"], rows["observed"])[0, 1]
        assert got["pearson"] == pytest.approx(r)
        assert got["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)))
    # every model is exact on library A, noisy on B
    a = table[(table["group"] == "A")]
    assert np.allclose(a["pearson"], 1.0) and np.allclose(a["rmse"], 0.0)
    assert (table[table["group"] == "B"]["pearson"] < 1.0).all()
    rel = table[(table["grouping"] == "has_relative_in_train") & (table["model"] == "cnn@0")]
    assert rel.set_index("group")["n"].sum() == len(test)
    related = pd.read_csv(toy_run / "splits.csv").set_index("id")["has_relative_in_train"]
    relatives = out["evaluation"]["targets"]["expression"]["relatives"]
    assert relatives["with"] == int(test["id"].map(related).sum())


def test_metrics_json_keeps_04_keys_and_gains_evaluation(toy_run, toy):
    make_predictions(toy_run, toy["y"], noise=NOISE)
    before = json.loads((toy_run / "metrics.json").read_text())
    out = _evaluate(toy_run, 100)
    after = json.loads((toy_run / "metrics.json").read_text())
    for key, value in before.items():
        assert after[key] == value
    e = after["evaluation"]
    assert e["best_deep_model"] == "cnn@0" and e["best_baseline"] == "ridge_kmer"
    t = e["targets"]["expression"]
    assert t["ranking"][0]["model"] in ("cnn", "cnn@0")  # seed mean or the least noisy seed
    assert {(c["a"], c["b"]) for c in t["comparisons"]} >= {("cnn@0", "ridge_kmer")}
    spread = t["seed_spread"][0]
    assert spread["name"] == "cnn" and spread["n_seeds"] == 3
    assert spread["min"] <= spread["mean"] <= spread["max"]
    assert t["ceiling"] == 0.95 and t["ceiling_source"] == "04_model"
    # running twice replaces the evaluation, keeps the rest
    _evaluate(toy_run, 50)
    again = json.loads((toy_run / "metrics.json").read_text())
    assert again["evaluation"]["n_bootstrap"] == 50 and again["models"] == before["models"]
    assert set(out["frame"].columns) >= {"gc", "has_relative_in_train", "library"}


def test_chunked_reads_give_the_whole_files_rows(toy_run, toy):
    pred = make_predictions(toy_run, toy["y"], noise=NOISE)
    got = evaluate_stage.read_predictions(toy_run / "predictions.csv", chunk_rows=7)
    want = pred[pred["split"].isin(["valid", "test"])]
    assert got["id"].tolist() == want["id"].tolist()
    np.testing.assert_array_equal(got[list(NOISE)].to_numpy(), want[list(NOISE)].to_numpy())
    ids = want["id"].to_numpy()[::3]
    gc = evaluate_stage.gc_by_id(toy_run / "sequences.parquet", ids, chunk_rows=7)
    assert sorted(gc.index) == sorted(ids)  # only the sequences asked for
    whole = ev.gc_content(toy["seqs"]).set_axis(toy["ids"])
    np.testing.assert_array_equal(gc.reindex(ids).to_numpy(), whole.reindex(ids).to_numpy())


def test_gc_content_in_chunks_equals_one_count():
    from seqexpr import composition
    seqs = ["ACGT", "GGGCC", "NNNN", "A", "ATATATATGC", "CG"]
    np.testing.assert_array_equal(ev.gc_content(seqs, chunk_bases=7).to_numpy(),
                                  composition.gc_content(seqs))
    assert ev.gc_content([]).empty


@pytest.mark.parametrize("noise, expected", [
    ({"ridge_kmer": 0.9, "cnn@0": 0.2}, "cnn@0 beats ridge_kmer"),
    ({"ridge_kmer": 0.2, "cnn@0": 0.9}, "ridge_kmer beats cnn@0"),
    ({"ridge_kmer": 0.5, "cnn@0": 0.5}, None),
])
def test_verdict_names_the_winner(toy_run, toy, noise, expected):
    make_predictions(toy_run, toy["y"], noise=noise, seed=5)
    out = _evaluate(toy_run, 300)
    text = out["verdicts"]["expression"]
    comp = out["evaluation"]["targets"]["expression"]["comparisons"][0]
    if expected is None:
        if comp["p"] >= 0.05:
            assert "not distinguishable" in text
    else:
        assert text.startswith(expected), text
        assert "ΔPearson" in text and "noise ceiling" in text


def test_ground_truth_and_replicates_give_the_ceiling(toy_run, toy):
    make_predictions(toy_run, toy["y"], noise=NOISE)
    (toy_run / "ground_truth.json").write_text(json.dumps({"noise_ceiling_pearson": 0.9}))
    out = _evaluate(toy_run, 50)
    assert out["evaluation"]["targets"]["expression"]["ceiling"] == 0.9
    rng = np.random.default_rng(0)
    truth = rng.standard_normal(5000)
    reps = pd.DataFrame({f"r{i}": truth + rng.normal(0, 1, 5000) for i in range(3)})
    c = ev.replicate_ceiling(reps)
    # one replicate: r = 0.5; mean of 3: reliability 0.75, ceiling sqrt(0.75)
    assert c["replicate_pearson"] == pytest.approx(0.5, abs=0.03)
    assert c["ceiling"] == pytest.approx(np.sqrt(0.75), abs=0.02)


def test_every_target_is_scored_on_its_own_rows():
    rng = np.random.default_rng(4)
    n = 120
    y1, y2 = rng.standard_normal(n), rng.standard_normal(n)
    y2[:20] = np.nan  # a target not measured for some sequences
    frame = pd.DataFrame({"id": np.tile([f"s{i}" for i in range(n)], 2), "split": "test",
                          "target": np.repeat(["leaf", "root"], n),
                          "observed": np.r_[y1, y2]})
    frame["m"] = np.r_[y1 + rng.normal(0, 0.1, n), -np.nan_to_num(y2)]  # good on leaf, bad on root
    table, boots = ev.evaluate_predictions(frame, n_bootstrap=50, progress=False)
    got = table.set_index("target")
    assert got.loc["leaf", "pearson"] > 0.9 and got.loc["root", "pearson"] == pytest.approx(-1.0)
    assert got.loc["leaf", "n"] == n and got.loc["root", "n"] == n - 20
    assert set(boots) == {"leaf", "root"}


def test_score_models_keeps_bootstrap_points_and_adds_r2_rmse():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    frame = pd.DataFrame({"observed": y, "good": y + rng.normal(0, 0.5, 200),
                          "bad": rng.normal(size=200)})
    table, _ = ev.score_models(frame, ["good", "bad"], n_bootstrap=50)
    good = table.set_index("model").loc["good"]
    assert good["pearson"] == pytest.approx(np.corrcoef(y, frame["good"])[0, 1])
    assert good["rmse"] == pytest.approx(np.sqrt(np.mean((y - frame["good"]) ** 2)))
    assert good["n"] == 200 and good["pearson_lo"] < good["pearson"] < good["pearson_hi"]


def test_verdict_says_when_a_baseline_saw_a_sample_of_the_training_rows():
    models_info = {"gbm_kmer": {"kind": "baseline",
                                "params": {"rows": {"used": 50_000, "of": 800_000, "seed": 0}}},
                   "ridge_kmer": {"kind": "baseline", "params": {"rows": {"used": 900,
                                                                           "of": 900}}}}
    sampled = ev._sampled(models_info, ["se_cnn", "gbm_kmer", "ridge_kmer"])
    assert sampled == {"gbm_kmer": {"used": 50_000, "of": 800_000, "seed": 0}}
    evaluation = {"n_bootstrap": 100, "sampled": sampled, "targets": {"y": {
        "n": 1000, "ranking": [{"model": "se_cnn", "pearson": 0.8}],
        "comparisons": [{"a": "se_cnn", "b": "gbm_kmer", "delta": 0.05, "lo": 0.02,
                         "hi": 0.08, "p": 0.01, "role": "deep_vs_baseline"}]}}}
    text = ev.verdict(evaluation, "y")
    assert text.startswith("se_cnn beats gbm_kmer")
    assert "gbm_kmer was fitted on a random sample of 50,000 of 800,000" in text
