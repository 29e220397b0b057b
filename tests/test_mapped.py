"""seqexpr._mapped: rows of a memory-mapped array come out as in-memory copies."""

import numpy as np

from seqexpr._mapped import take


def test_take_copies_rows_out_of_the_map_whatever_the_index(tmp_path):
    data = np.arange(40, dtype=np.uint8).reshape(10, 4)
    np.save(tmp_path / "a.npy", data)
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    for rows in (np.array([7, 2, 2]), slice(1, 4), 5, [0]):
        got = take(mapped, rows)
        np.testing.assert_array_equal(got, data[rows])
        assert type(got) is np.ndarray and not np.shares_memory(got, mapped)
        assert got.flags.c_contiguous
    np.testing.assert_array_equal(take(data, [1, 0]), data[[1, 0]])  # plain arrays too
    np.testing.assert_array_equal(mapped, data)  # the file reads the same after release
