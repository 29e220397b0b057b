"""seqexpr.composition: counts taken chunk by chunk equal those taken in one go."""

import numpy as np
import pandas as pd
import pytest

from seqexpr import composition


@pytest.fixture(scope="module")
def ragged():
    rng = np.random.default_rng(3)
    seqs = ["".join(rng.choice(list("ACGTN"), size=n, p=[0.24, 0.24, 0.24, 0.24, 0.04]))
            for n in rng.integers(0, 40, size=300)]
    return seqs + ["NNNN", ""]


def test_row_chunks_cover_every_row_once_in_order():
    lengths = np.array([5, 0, 12, 3, 3, 30, 1, 0])
    bounds = list(composition.row_chunks(lengths, max_bases=10))
    assert bounds[0][0] == 0 and bounds[-1][1] == lengths.size
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    assert all(lengths[lo:hi].sum() <= 10 + lengths[lo] for lo, hi in bounds)
    assert len(bounds) > 2
    assert list(composition.row_chunks([], max_bases=10)) == []


@pytest.mark.parametrize("max_bases", [1, 7, 100])
def test_chunked_counts_equal_one_pass(ragged, max_bases):
    one = {"max_bases": 10**9}
    few = {"max_bases": max_bases}
    np.testing.assert_array_equal(composition.gc_content(ragged, **few),
                                  composition.gc_content(ragged, **one))
    np.testing.assert_array_equal(composition.n_content(ragged, **few),
                                  composition.n_content(ragged, **one))
    for max_length in (None, 25):
        pd.testing.assert_frame_equal(
            composition.base_composition(ragged, max_length=max_length, **few),
            composition.base_composition(ragged, max_length=max_length, **one))


def test_counts_of_a_ragged_set_by_hand(ragged):
    gc = composition.gc_content(ragged, max_bases=7)
    acgt = [sum(c in "ACGT" for c in s) for s in ragged]
    expected = [sum(c in "GC" for c in s) / t if t else np.nan for s, t in zip(ragged, acgt)]
    np.testing.assert_allclose(gc, expected)
    comp = composition.base_composition(pd.Series(ragged), max_bases=7)
    assert comp["n"].iloc[0] == sum(len(s) > 0 for s in ragged)
    assert comp.loc[3, "N"] == pytest.approx(np.mean([s[3] == "N" for s in ragged if len(s) > 3]))
