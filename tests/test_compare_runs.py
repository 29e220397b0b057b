"""benchmarks/compare_runs.py: the before/after check of a refactor sees real differences
and ignores what differs between any two runs (timings, paths, versions)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd

_spec = importlib.util.spec_from_file_location(
    "compare_runs", Path(__file__).resolve().parents[1] / "benchmarks" / "compare_runs.py")
compare_runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_runs)


def _run(folder, *, pearson=0.81, seconds=12.0, motif="GATA1", seq="/a/run1/demo.fa"):
    folder.mkdir()
    (folder / "metrics.json").write_text(json.dumps(
        {"models": {"se_cnn": {"pearson": pearson, "train_seconds": seconds}},
         "parameters": {"fasta": seq}, "created": str(seconds)}))
    pd.DataFrame({"motif": [motif], "effect": [0.5]}).to_csv(folder / "motifs.tsv", sep="\t",
                                                             index=False)
    np.save(folder / "targets.npy", np.array([pearson], dtype=np.float32))
    return folder


def test_same_results_despite_timings_and_paths(tmp_path):
    a = _run(tmp_path / "a")
    b = _run(tmp_path / "b", seconds=99.0, seq="/other/clone/demo.fa")
    for name in ("metrics.json", "motifs.tsv", "targets.npy"):
        assert compare_runs.compare_file(a / name, b / name, 0.0) is None


def test_changed_numbers_and_names_are_reported(tmp_path):
    a = _run(tmp_path / "a")
    b = _run(tmp_path / "b", pearson=0.8101, motif="TBP")
    assert "pearson" in compare_runs.compare_file(a / "metrics.json", b / "metrics.json", 0.0)
    assert compare_runs.compare_file(a / "metrics.json", b / "metrics.json", 1e-3) is None
    assert "TBP" in compare_runs.compare_file(a / "motifs.tsv", b / "motifs.tsv", 0.0)
    assert "max absolute difference" in compare_runs.compare_file(a / "targets.npy",
                                                                  b / "targets.npy", 0.0)
