"""Stage 02_explore: reads 01's files, writes explore.json and kmer_associations.csv, and
records exactly the parameters it was given."""

import json

import pandas as pd
import pytest

from seqexpr.stages import explore as explore_stage
from seqexpr.stages import params


def test_explore_stage_writes_and_checks_the_run_folder(toy_run):
    given = params.defaults("02_explore", run_dir=str(toy_run), kmer_sizes=[4, 5])
    res = explore_stage.run(**given)
    summary = json.loads((toy_run / "explore.json").read_text())
    assert summary["n"] == 600
    assert summary["suggested_transform"]["expression"]["name"] == "none"
    assert set(summary["duplicates"]) >= {"exact", "near"}
    assert summary["replicate_agreement"] is None and res["scaled_replicates"] is None
    csv = pd.read_csv(toy_run / "kmer_associations.csv")
    assert list(csv.columns)[:6] == ["kmer", "k", "n_with", "effect", "p", "q"]
    assert csv["q"].between(0, 1).all() and set(csv["k"]) == {4, 5}
    assert res["truth"] is None and res["planted_hits"] is None  # no ground truth here
    manifest = json.loads((toy_run / "manifest.json").read_text())
    assert manifest["stages"]["02_explore"]["parameters"] == given
    explore_stage.check(toy_run)


def test_explore_stage_names_missing_columns(toy_run):
    info = json.loads((toy_run / "load.json").read_text())
    info["replicates"] = ["rep1"]
    (toy_run / "load.json").write_text(json.dumps(info))
    with pytest.raises(KeyError, match="rep1"):
        explore_stage.read_inputs(toy_run)


def test_rna_counts_each_kmer_on_its_own_strand(toy_run):
    info = json.loads((toy_run / "load.json").read_text())
    given = params.defaults("02_explore", run_dir=str(toy_run), kmer_sizes=[4])
    assert given["kmer_canonical"] == "auto"
    explore_stage.run(**given)
    assert json.loads((toy_run / "explore.json").read_text())["kmers"]["canonical"] is True
    (toy_run / "load.json").write_text(json.dumps({**info, "rna": True}))
    explore_stage.run(**given)
    assert json.loads((toy_run / "explore.json").read_text())["kmers"]["canonical"] is False
    kmers = set(pd.read_csv(toy_run / "kmer_associations.csv")["kmer"])
    assert {"AAAA", "TTTT"} <= kmers  # a k-mer and its reverse complement, apart


def test_kmer_sample_is_recorded_and_stated(toy_run):
    given = params.defaults("02_explore", run_dir=str(toy_run), kmer_sizes=[4])
    assert given["max_sequences"] == 200_000
    explore_stage.run(**given)
    kmers = json.loads((toy_run / "explore.json").read_text())["kmers"]
    assert (kmers["n_used"], kmers["n_total"]) == (600, 600)
    explore_stage.run(**{**given, "max_sequences": 400, "seed": 1})
    kmers = json.loads((toy_run / "explore.json").read_text())["kmers"]
    assert (kmers["n_used"], kmers["n_total"], kmers["seed"]) == (400, 600, 1)
    assert kmers["note"] == "k-mer tests on a random sample of 400 of 600 sequences, seed 1"
    explore_stage.check(toy_run)
