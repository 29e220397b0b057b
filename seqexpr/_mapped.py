"""Reading rows of memory-mapped arrays without keeping the file in this process's memory.

Pages of a memory map that have been read count as the process's resident memory until the
map is closed: reading a million-row ``onehot.npy`` (800 MB) block by block through one map
ends with all 800 MB resident, however small the blocks. ``take`` copies the rows out and
tells the kernel the mapped pages are no longer needed (they stay in the page cache, so
reading them again costs no disk access).
"""

from __future__ import annotations

import mmap

import numpy as np


def take(array, rows) -> np.ndarray:
    """``array[rows]`` as an in-memory array; when ``array`` is memory-mapped
    (``np.load(..., mmap_mode="r")``), its pages are released afterwards."""
    out = np.asarray(array[rows])
    if np.may_share_memory(out, array):  # a slice or a single row: a view of the map
        out = out.copy()
    release(array)
    return np.ascontiguousarray(out)


def release(array) -> None:
    """Drop the pages of ``array``'s memory map from this process's resident memory; nothing
    for an in-memory array, or where the platform has no ``madvise``."""
    mapped = getattr(array, "_mmap", None)  # numpy.memmap's map (a view shares its base's)
    read_only = getattr(array, "mode", None) == "r"  # copy-on-write pages would be lost
    if mapped is not None and read_only and hasattr(mapped, "madvise") and \
            hasattr(mmap, "MADV_DONTNEED"):
        mapped.madvise(mmap.MADV_DONTNEED)


__all__ = ["take", "release"]
