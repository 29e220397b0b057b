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


def _free_space(monkeypatch, tmp_path, free):
    """The temporary folder is ``tmp_path`` with ``free`` bytes free."""
    import shutil
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**12, 0, free))


def test_a_spill_too_big_for_the_temporary_folder_is_refused_before_writing(monkeypatch, tmp_path):
    _free_space(monkeypatch, tmp_path, free=10**6)
    with pytest.raises(OSError, match=r"the test needs about 1\.6 MB of temporary files in "
                                      r".*of the 1\.0 MB free there\. Point TMPDIR"):
        Spill(2, [np.int64], pairs=10**5, what="the test")  # 1.6 MB of pairs
    assert list(tmp_path.iterdir()) == []
    with Spill(2, [np.int64], pairs=10**4):  # 160 kB fits
        pass
    with Spill(1, [np.int64], pairs=10**9):  # one part stays in memory: no files, no check
        pass


def test_the_homology_index_checks_the_temporary_folder_first(monkeypatch, tmp_path):
    from seqexpr import homology

    _free_space(monkeypatch, tmp_path, free=10**4)
    seqs = ["".join(np.random.default_rng(i).choice(list("ACGT"), 60)) for i in range(50)]
    with pytest.raises(OSError, match="the homology split's k-mer index needs"):
        homology.kmer_index(seqs, k=8, part_size=500)
    homology.kmer_index(seqs, k=8)  # one part: nothing spilled, nothing checked


def test_the_relatives_search_checks_the_temporary_folder_first(monkeypatch, tmp_path):
    from seqexpr import duplicates

    _free_space(monkeypatch, tmp_path, free=10**4)
    seqs = ["".join(np.random.default_rng(i).choice(list("ACGT"), 60)) for i in range(50)]
    with pytest.raises(OSError, match=r"the search for relatives \(shared k-mers\) needs about "
                                      r"48 kB .* of the 10 kB free"):  # 16 bytes a pair
        duplicates.relatives(seqs, part_size=500)
    duplicates.relatives(seqs)


def test_the_homology_estimate_is_the_hash_cache_it_writes():
    """Chunks are as wide as their longest sequence: one long sequence widens its chunk."""
    from seqexpr import homology
    from seqexpr.encode import encode_codes

    rng = np.random.default_rng(0)
    lengths = np.array([40, 40, 900, 40, 40, 40, 40, 12, 3])
    seqs = ["".join(rng.choice(list("ACGT"), n)) for n in lengths]
    written = 0
    for lo in range(0, len(seqs), 2):  # as kmer_index hashes them, 2 rows a chunk
        codes, mask = encode_codes(seqs[lo:lo + 2])
        written += homology._canonical_kmers(codes, 8, None, mask).nbytes
    assert homology._cache_bytes(lengths, 2, 8) == written > 8 * lengths.sum()
