"""_spill.py: every pair of a key comes back in one part, in the order added."""

import numpy as np
import pytest

from seqexpr._spill import Spill, n_parts_for


@pytest.mark.parametrize("n_parts", [1, 3, 8])
def test_parts_hold_whole_keys_in_order(n_parts):
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 50, 1000).astype(np.uint64)
    rows = np.arange(1000)
    with Spill(n_parts, [np.int64]) as spill:
        for lo in range(0, 1000, 128):
            spill.add(keys[lo : lo + 128], rows[lo : lo + 128])
        parts = [spill.read(p) for p in range(n_parts)]
    seen = [set(k.tolist()) for k, _ in parts]
    assert sum(map(len, seen)) == len(set(keys.tolist()))  # no key in two parts
    assert sorted(np.concatenate([r for _, r in parts]).tolist()) == rows.tolist()
    for k, r in parts:
        assert (np.diff(r) > 0).all() and np.array_equal(keys[r], k)


def test_parts_for_a_total():
    assert n_parts_for(0, 10) == 1 and n_parts_for(10, 10) == 1 and n_parts_for(11, 10) == 2
