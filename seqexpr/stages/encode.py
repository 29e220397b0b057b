"""Stage 03_encode: one-hot with a padding policy and mask, the target transform, and a
leak-aware split; writes ``onehot.npy``, ``mask.npy``, ``targets.npy``, ``encoding.json``,
``splits.csv`` and ``split_report.json``. A leaky split is refused before anything is written."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqexpr import encode, splits, transforms
from seqexpr import runfolder as rf
from seqexpr._checks import option

NAME = "03_encode"
MEMORY_SHARE = 0.5  # the encoded arrays may take at most this share of the machine's memory


def run(run_dir, *, seed, length, pad, trim, flank_left, flank_right, unknown,
        target_transform, split_method, split_column, fractions, homology_k,
        max_kmer_fraction, leak_threshold, allow_leaky) -> dict:
    """Encode, transform and split the sequences 01_load wrote; the parameters are
    03_encode's parameters cell.

    Returns ``table`` (sequences.parquet), ``explore_found``, ``summary`` (the encoding),
    ``shape``, ``targets`` (names), ``y`` (measured values), ``spec`` (the fitted transform),
    ``transform`` (a table: target, transform, reason, modelled as), ``method``, ``column``,
    ``split`` (splits.csv) and ``report`` (split_report.json).

    Raises
    ------
    MemoryError
        Before encoding, when the padded arrays would exceed ``MEMORY_SHARE`` of the memory.
    splits.LeakySplitError
        When too many test sequences have a relative in train and not ``allow_leaky``.
    """
    rf.record_stage(run_dir, NAME, parameters=dict(locals()))
    rf.require(run_dir, rf.SEQUENCES, rf.LOAD_INFO, stage="01_load")
    table = pd.read_parquet(rf.run_path(run_dir, rf.SEQUENCES))
    load_info = rf.read_json(rf.run_path(run_dir, rf.LOAD_INFO))
    explore_path = rf.run_path(run_dir, rf.EXPLORE_INFO)
    explore_info = rf.read_json(explore_path) if explore_path.exists() else None
    seqs = table["sequence"].tolist()
    names = list(load_info["targets"])
    check_memory(table["length"].to_numpy(), length)

    onehot, mask = encode.encode(seqs, length=length, pad=pad, trim=trim,
                                 flank_left=flank_left, flank_right=flank_right)
    L = onehot.shape[1]
    summary = encode.encoding_summary(table["length"].to_numpy(), length=L, mask=mask,
                                      onehot=onehot)

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

    rf.write_npy(rf.run_path(run_dir, rf.ONEHOT), onehot)
    rf.write_npy(rf.run_path(run_dir, rf.MASK), mask)
    rf.write_npy(rf.run_path(run_dir, rf.TARGETS), targets)
    rf.write_json(rf.run_path(run_dir, rf.ENCODING), {
        "length": L, "pad": pad, "trim": trim, "unknown": float(unknown),
        "flank_left": flank_left, "flank_right": flank_right, "alphabet": encode.ALPHABET,
        "rna": bool(load_info.get("rna", False)), "targets": names,
        "target_transform": spec})
    rf.write_csv(rf.run_path(run_dir, rf.SPLITS), split_df, index=False)
    rf.write_json(rf.run_path(run_dir, rf.SPLIT_REPORT), report)
    return dict(table=table, explore_found=explore_info is not None, summary=summary,
                shape=onehot.shape, targets=names, y=y, spec=spec, transform=shown,
                method=method, column=column, split=split_df, report=report)


def check_memory(lengths: np.ndarray, length: int | None) -> None:
    """Refuse, before allocating, a window whose padded arrays would take more than
    ``MEMORY_SHARE`` of this machine's memory; ``lengths`` (n,) int in nt."""
    total = encode.total_memory()
    n = len(lengths)
    window = int(length or lengths.max(initial=0))
    need = encode.encoded_nbytes(lengths, window)
    if total is None or need <= MEMORY_SHARE * total:
        return
    fits = int(MEMORY_SHARE * total // (15 * n))  # 6 bytes a position, 9 more if padded
    suggest = max(1, min(int(np.percentile(lengths, 95)), fits))
    raise MemoryError(
        f"03_encode would need {need / 1e9:.1f} GB to encode {n:,} sequences in a "
        f"{window:,}-nt window (one-hot, mask and base codes: 6 bytes a position), more than "
        f"{MEMORY_SHARE:.0%} of this machine's {total / 1e9:.1f} GB; every sequence is padded "
        f"to the window, here {'the length parameter' if length else 'the longest sequence'} "
        f"(median length {np.median(lengths):g} nt). Trim the window with "
        f"{option('length', suggest)}, or drop the long records in 01_load with "
        f"{option('max_length', suggest)}.")


def check(run_dir) -> None:
    """Validate 03's files against 01's and each other; raises AssertionError."""
    table = pd.read_parquet(rf.run_path(run_dir, rf.SEQUENCES))
    encoding = rf.read_json(rf.run_path(run_dir, rf.ENCODING))
    names, L, n = encoding["targets"], encoding["length"], len(table)
    x = np.load(rf.run_path(run_dir, rf.ONEHOT), mmap_mode="r")
    assert x.shape == (n, L, 4) and x.dtype == np.uint8, f"onehot.npy is {x.shape} {x.dtype}"
    for start in range(0, n, 10_000):  # chunked: memory stays bounded on large libraries
        assert np.asarray(x[start:start + 10_000]).sum(-1).max(initial=0) <= 1, \
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
