"""Atomic writes: an interrupted write leaves the old file whole and no partial file behind."""

import numpy as np
import pytest

from seqexpr.jsonio import atomic, read_json, write_json


def test_atomic_replaces_the_file_only_when_the_block_ends(tmp_path):
    path = tmp_path / "onehot.npy"
    np.save(path, np.zeros(3))
    with atomic(path) as tmp:
        np.save(tmp, np.ones(5))
        assert np.load(path).shape == (3,)  # readers still see the old file meanwhile
    assert np.load(path).shape == (5,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["onehot.npy"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_an_interrupted_write_leaves_the_old_file_and_no_partial_file(tmp_path, error):
    path = tmp_path / "predictions.csv"
    path.write_text("id,se_cnn\na,1\n")
    with pytest.raises(error):
        with atomic(path) as tmp:
            tmp.write_text("id,se_cnn\nb,")  # half written when the interrupt comes
            raise error()
    assert path.read_text() == "id,se_cnn\na,1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.csv"]


def test_write_json_round_trips_numpy_values(tmp_path):
    path = write_json(tmp_path / "sub" / "m.json", {"n": np.int64(3), "x": np.arange(2)})
    assert read_json(path) == {"n": 3, "x": [0, 1]}


def test_table_and_array_writers_go_through_the_atomic_path(tmp_path):
    import pandas as pd

    from seqexpr.jsonio import write_csv, write_npy

    frame = pd.DataFrame({"id": ["a", "b"], "x": [1.5, 2.0]})
    assert pd.read_csv(write_csv(tmp_path / "t.tsv", frame, sep="\t", index=False),
                       sep="\t").equals(frame)
    assert np.load(write_npy(tmp_path / "a.npy", np.arange(3))).tolist() == [0, 1, 2]
    class Broken:  # fails while being converted, after the temporary file was opened
        def __array__(self, dtype=None, copy=None):
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_npy(tmp_path / "a.npy", Broken())
    assert np.load(tmp_path / "a.npy").tolist() == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "t.tsv"]
