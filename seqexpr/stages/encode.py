"""Stage 03_encode: one-hot with a padding policy and mask, the target transform, and a
leak-aware split; writes ``onehot.npy``, ``mask.npy``, ``targets.npy``, ``encoding.json``,
``splits.csv`` and ``split_report.json``. A leaky split is refused before anything is written.

The one-hot and mask arrays are written a block of rows at a time (``encode.encode_chunks``),
never held whole in memory, so their size is bounded by the disk, not the memory."""

from __future__ import annotations

import shutil
from contextlib import ExitStack

import numpy as np
import pandas as pd

from seqexpr import encode, splits, transforms
from seqexpr import runfolder as rf
from seqexpr._checks import option

NAME = "03_encode"
DISK_SHARE = 0.9  # the encoded arrays may take at most this share of the run folder's free disk


def run(run_dir, *, seed, length, pad, trim, flank_left, flank_right, unknown,
        target_transform, split_method, split_column, fractions, homology_k,
        max_kmer_fraction, leak_threshold, allow_leaky) -> dict:
    """Encode, transform and split the sequences 01_load wrote; the parameters are
    03_encode's parameters cell.

    Returns ``table`` (sequences.parquet without its sequence column), ``explore_found``,
    ``summary`` (the encoding), ``shape``, ``targets`` (names), ``y`` (measured values),
    ``spec`` (the fitted transform), ``transform`` (a table: target, transform, reason,
    modelled as), ``method``, ``column``, ``split`` (splits.csv) and ``report``
    (split_report.json).

    The split is made before the arrays are written, so a refused split writes nothing.

    Raises
    ------
    ValueError
        Before the split, for a window ``encode`` refuses (length under 1, unknown pad/trim).
    OSError
        Before the split, when the padded arrays would take more than ``DISK_SHARE`` of the
        free disk.
    splits.LeakySplitError
        When too many test sequences have a relative in train and not ``allow_leaky``.
    """
    rf.record_stage(run_dir, NAME, parameters=dict(locals()))
    rf.require(run_dir, rf.SEQUENCES, rf.LOAD_INFO, stage="01_load")
    table, seqs = rf.read_sequences(run_dir)
    load_info = rf.read_json(rf.run_path(run_dir, rf.LOAD_INFO))
    explore_path = rf.run_path(run_dir, rf.EXPLORE_INFO)
    explore_info = rf.read_json(explore_path) if explore_path.exists() else None
    names = list(load_info["targets"])
    lengths = table["length"].to_numpy()
    L = int(lengths.max(initial=0)) if length is None else int(length)
    encode.check_window(L if len(seqs) else None, pad=pad, trim=trim)
    check_disk(run_dir, lengths, length)

    y = table[names].to_numpy(np.float64)
    chosen, reasons = transforms.choose(target_transform, names, y, explore_info)
    spec = transforms.to_dict(transforms.fit(chosen, y))
    targets = transforms.apply(spec, y).astype(np.float32)
    shown = pd.DataFrame({"target": names, "transform": chosen, "reason": reasons,
                          "modelled as": transforms.describe(spec).split("; ")})

    method, column = splits.resolve_method(split_method, split_column, load_info)
    groups = table[column].tolist() if column else None
    split_df, report = splits.make_splits(
        table["id"].tolist(), seqs, method=method, groups=groups, fractions=fractions,
        seed=seed, k=homology_k, max_kmer_fraction=max_kmer_fraction, threshold=leak_threshold)
    report.update(split_column=column, allow_leaky=allow_leaky)
    splits.check_leakage(report, allow_leaky=allow_leaky)  # refuses before any file is written

    n_unknown = write_encoded(run_dir, seqs, length=L, pad=pad, trim=trim,
                              flank_left=flank_left, flank_right=flank_right)
    summary = encode.encoding_summary(lengths, length=L, unknown=n_unknown)
    rf.write_npy(rf.run_path(run_dir, rf.TARGETS), targets)
    rf.write_json(rf.run_path(run_dir, rf.ENCODING), {
        "length": L, "pad": pad, "trim": trim, "unknown": float(unknown),
        "flank_left": flank_left, "flank_right": flank_right, "alphabet": encode.ALPHABET,
        "rna": bool(load_info.get("rna", False)), "targets": names,
        "target_transform": spec})
    rf.write_csv(rf.run_path(run_dir, rf.SPLITS), split_df, index=False)
    rf.write_json(rf.run_path(run_dir, rf.SPLIT_REPORT), report)
    return dict(table=table, explore_found=explore_info is not None, summary=summary,
                shape=(len(seqs), L, 4), targets=names, y=y, spec=spec, transform=shown,
                method=method, column=column, split=split_df, report=report)


def write_encoded(run_dir, seqs, *, length: int, chunk: int | None = None,
                  **placement) -> np.ndarray:
    """Write ``onehot.npy`` ``(n, L, 4) uint8`` and ``mask.npy`` ``(n, L) uint8`` a block of
    ``chunk`` rows at a time (``encode.encode_chunks``, whose keywords ``placement`` passes
    on); returns the unknown bases per sequence, ``(n,) int64``.

    Each block is appended to the file behind the header ``open_memmap`` wrote, not through
    the map: pages of a map would count as this process's memory until it is closed.
    """
    n = len(seqs)
    unknown = np.zeros(n, np.int64)
    with ExitStack() as stack:
        files = []
        for name, shape in ((rf.ONEHOT, (n, length, 4)), (rf.MASK, (n, length))):
            tmp = stack.enter_context(rf.atomic(rf.run_path(run_dir, name)))
            offset = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8,
                                               shape=shape).offset  # header; map dropped
            files.append(stack.enter_context(open(tmp, "r+b")))
            files[-1].seek(offset)
        for start, onehot, mask in encode.encode_chunks(seqs, length=length, chunk=chunk,
                                                        **placement):
            files[0].write(onehot.data)
            files[1].write(mask.data)
            unknown[start : start + len(mask)] = encode.unknown_bases(onehot, mask)
    return unknown


def free_disk(run_dir) -> int:
    """Bytes free on the disk that holds ``run_dir``."""
    return shutil.disk_usage(run_dir).free


def check_disk(run_dir, lengths: np.ndarray, length: int | None) -> None:
    """Refuse, before any work, a window whose padded arrays would take more than
    ``DISK_SHARE`` of the free disk; ``lengths`` (n,) int in nt. Memory is no limit: the
    arrays are written a block at a time."""
    n = len(lengths)
    window = int(length or lengths.max(initial=0))
    need = 5 * n * window  # one-hot (4 bytes a position) and mask (1)
    free = free_disk(run_dir)
    if need <= DISK_SHARE * free:
        return
    fits = int(DISK_SHARE * free // (5 * n))
    suggest = max(1, min(int(np.percentile(lengths, 95)), fits))
    raise OSError(
        f"03_encode would write {need / 1e9:.1f} GB to encode {n:,} sequences in a "
        f"{window:,}-nt window (onehot.npy and mask.npy: 5 bytes a position), more than "
        f"{DISK_SHARE:.0%} of the {free / 1e9:.1f} GB free on the run folder's disk; every "
        f"sequence is padded to the window, here "
        f"{'the length parameter' if length else 'the longest sequence'} (median length "
        f"{np.median(lengths):g} nt). Trim the window with {option('length', suggest)}, drop "
        f"the long records in 01_load with {option('max_length', suggest)}, or free disk space.")


def check(run_dir) -> None:
    """Validate 03's files against 01's and each other; raises AssertionError."""
    encoding = rf.read_json(rf.run_path(run_dir, rf.ENCODING))
    names, L = encoding["targets"], encoding["length"]
    table = pd.read_parquet(rf.run_path(run_dir, rf.SEQUENCES), columns=["id", *names])
    n = len(table)
    path = rf.run_path(run_dir, rf.ONEHOT)
    x = np.load(path, mmap_mode="r")
    assert x.shape == (n, L, 4) and x.dtype == np.uint8, f"onehot.npy is {x.shape} {x.dtype}"
    del x
    for start in range(0, n, 10_000):  # each block through its own map, dropped with it, so
        block = np.load(path, mmap_mode="r")[start:start + 10_000]  # memory stays bounded
        assert block.sum(-1, dtype=np.uint8).max(initial=0) <= 1, \
            "onehot.npy has a position with several bases"
    assert np.load(rf.run_path(run_dir, rf.MASK), mmap_mode="r").shape == (n, L)
    t = np.load(rf.run_path(run_dir, rf.TARGETS))
    y = table[names].to_numpy(np.float64)
    assert t.shape == (n, len(names)) and t.dtype == np.float32, f"targets.npy is {t.shape}"
    assert np.isfinite(t).all() or np.isnan(y).any(), "the transform made non-finite targets"
    np.testing.assert_allclose(transforms.inverse(encoding["target_transform"], t), y,
                               rtol=1e-4, atol=1e-4)
    s = pd.read_csv(rf.run_path(run_dir, rf.SPLITS))
    assert list(s.columns) == ["id", "split", "cluster", "has_relative_in_train"]
    assert s["id"].astype(str).tolist() == table["id"].astype(str).tolist(), \
        "splits.csv is not in sequences.parquet order"
    assert set(s["split"]) <= {"train", "valid", "test"} and (s["split"] == "train").any()
    assert (s["split"] == "test").any(), "the test split is empty: see the split notes"
    report = rf.read_json(rf.run_path(run_dir, rf.SPLIT_REPORT))
    assert report["allow_leaky"] or not report["leaky"], "a leaky split was written"
