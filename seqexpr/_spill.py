"""Hash-partitioned spill files: group far more (key, value) pairs than fit in memory.

The homology index and the relatives search both need "which sequences hold this k-mer"
for every k-mer of a library: n x L pairs, 1.4 GB of uint64 keys at 1 M x 200 nt. Chunks of
rows are hashed one at a time and their pairs appended, split by key, to ``n_parts`` files;
each file then holds every pair of its keys and is grouped on its own, so memory stays
O(chunk + part_size). With one part (small inputs) the pairs stay in memory.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["Spill", "n_parts_for", "chunk_rows", "check_room", "PART_SIZE", "DISK_SHARE"]

PART_SIZE = 2**21  # pairs grouped at a time: 16 MB of uint64 keys
DISK_SHARE = 0.9  # the most of the temporary folder's free space a spill may plan to use
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing spreads 2-bit k-mer codes evenly


def n_parts_for(total: int, part_size: int = PART_SIZE) -> int:
    """Parts needed so that ``total`` pairs come to about ``part_size`` a part."""
    return max(1, -(-int(total) // max(int(part_size), 1)))


def chunk_rows(chunk: int, lengths: np.ndarray) -> int:
    """Sequences hashed at a time: at most ``chunk``, and about 1 M nt for long sequences."""
    return min(chunk, max(1, 2**20 // max(int(lengths.max(initial=0)), 1)))


def _size(n_bytes: float) -> str:
    """``n_bytes`` in GB, MB or kB (a nearly full disk must not read "0.0 GB")."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes / 1e3:.0f} kB"


def check_room(n_bytes: int, what: str) -> None:
    """Refuse, before any work, to write ``n_bytes`` of temporary files (``what`` needs them)
    when they would take more than ``DISK_SHARE`` of the temporary folder's free space.

    The folder is Python's (``TMPDIR``, else ``/tmp``); where it is in memory (tmpfs), its
    free space is memory, and so is what the spill takes.
    """
    folder = tempfile.gettempdir()
    free = shutil.disk_usage(folder).free
    if n_bytes > DISK_SHARE * free:
        raise OSError(
            f"{what} needs about {_size(n_bytes)} of temporary files in {folder}, more than "
            f"{DISK_SHARE:.0%} of the {_size(free)} free there. Point TMPDIR at a folder with "
            f"more room (e.g. TMPDIR=/path/with/space python -m seqexpr run …) or free disk "
            f"space.")


class Spill:
    """Pairs (uint64 key, optional extra columns) appended by chunk, read back by part.

    Parameters
    ----------
    n_parts : int
        Number of parts; a key's part is a hash of the key modulo ``n_parts``, so all
        pairs of one key land in one part, in the order they were added.
    dtypes : sequence of numpy dtypes
        Dtypes of the extra columns that travel with each key (e.g. the row index).
    pairs : int, optional
        The most pairs that will be added; with more than one part, their files are checked
        against the temporary folder's free space first (:func:`check_room`), naming ``what``
        needs them.
    """

    def __init__(self, n_parts: int, dtypes=(), *, pairs=None, what="the k-mer index"):
        self.n_parts, self.dtypes = int(n_parts), [np.dtype(d) for d in dtypes]
        if self.n_parts > 1 and pairs is not None:
            check_room(self.file_bytes(pairs, self.dtypes), what)
        self._tmp = tempfile.TemporaryDirectory(prefix="seqexpr-spill-") \
            if self.n_parts > 1 else None
        self._memory = [[] for _ in range(1 + len(self.dtypes))]

    @staticmethod
    def file_bytes(pairs: int, dtypes=()) -> int:
        """Bytes the part files take for ``pairs`` pairs with extra columns of ``dtypes``."""
        return int(pairs) * (8 + sum(np.dtype(d).itemsize for d in dtypes))

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
        self._memory = None

    def _path(self, part: int, column: int) -> Path:
        return Path(self._tmp.name) / f"{part}_{column}.bin"

    def add(self, keys: np.ndarray, *columns: np.ndarray) -> None:
        """Append pairs: ``keys`` (m,) uint64 and one (m,) array per extra column."""
        arrays = [np.asarray(keys, np.uint64)] + [np.asarray(c, d) for c, d in
                                                   zip(columns, self.dtypes)]
        if self._tmp is None:
            for store, a in zip(self._memory, arrays):
                store.append(a)
            return
        part = ((arrays[0] * _GOLDEN) >> np.uint64(32)) % np.uint64(self.n_parts)
        if self.n_parts <= 2**16:
            part = part.astype(np.uint16)  # a stable sort of 16-bit keys is a radix sort
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(self.n_parts + 1))
        for j, a in enumerate(arrays):
            a = a[order]
            for p in np.flatnonzero(np.diff(bounds)):
                with open(self._path(p, j), "ab") as f:
                    a[bounds[p] : bounds[p + 1]].tofile(f)

    def read(self, part: int) -> list[np.ndarray]:
        """Every pair of one part, in the order added: [keys, *columns]."""
        dtypes = [np.dtype(np.uint64)] + self.dtypes
        if self._tmp is None:
            out = [np.concatenate(s) if s else np.zeros(0, d)
                   for s, d in zip(self._memory, dtypes)]
            self._memory = [[] for _ in dtypes]  # read once, like the files
            return out
        out = []
        for j, d in enumerate(dtypes):
            path = self._path(part, j)
            out.append(np.fromfile(path, d) if path.exists() else np.zeros(0, d))
            path.unlink(missing_ok=True)  # read once: free the disk as we go
        return out
