"""One-hot encoding of DNA with an explicit, recorded padding policy and a mask.

Everything is vectorized over the batch: the joined sequences are read as bytes with
``np.frombuffer`` and mapped through a 256-entry lookup table; sequences of different
lengths are handled one length at a time (a loop over distinct lengths, never over bases).

Conventions (recorded in ``encoding.json`` by 03_encode):

* bases in ``ACGT`` order; ``U`` reads as ``T``; lower case is accepted;
* ``N`` and every other IUPAC code is an all-zero row in the uint8 array;
  :func:`to_float` can turn those rows into 0.25 each (``unknown=0.25``);
* ``pad`` says where padding goes (``"right"``: sequence at the left), ``trim`` which end is
  cut from a sequence longer than ``length``, ``"center"`` splits either evenly (the extra
  base, if any, goes to the right);
* with ``flank_left`` / ``flank_right``, padding is filled with the real constant vector
  sequence adjacent to the insert (the flank's bases nearest the insert) instead of zeros;
* ``mask`` is 1 exactly where a base of the input sequence sits (N included), 0 on padding
  and added flank.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
from tqdm import tqdm

ALPHABET = "ACGT"
#: A sequence with more than this share of N / other non-ACGT bases is flagged as N-rich by
#: ``predict`` (here, not in ``bundle``, so that the command line's help stays cheap).
MAX_UNKNOWN = 0.1
PAD_CHOICES = ("right", "left", "center")
TRIM_CHOICES = ("right", "left", "center")
#: Bytes one block of :func:`encode_chunks` may take at its peak, at about 15 bytes a position
#: (base codes, mask, one-hot, and the gather index when lengths differ).
CHUNK_BYTES = 32 * 2**20

# byte -> base index (0-3: A, C, G, T; U read as T; either case), 4 for anything else (N, IUPAC,
# gaps, padding): the one byte table, used by the one-hot encoder and the k-mer counters
BASE_CODE = np.full(256, 4, np.uint8)
for _i, _b in enumerate("ACGT"):
    BASE_CODE[ord(_b)] = BASE_CODE[ord(_b.lower())] = _i
BASE_CODE[ord("U")] = BASE_CODE[ord("u")] = 3
# base index -> one-hot row, stored as one uint32 per row so a gather moves 4 bytes at once
_ROWS = np.zeros((5, 4), np.uint8)
_ROWS[np.arange(4), np.arange(4)] = 1
_ROWS32 = _ROWS.view(np.uint32).ravel()
_TRANSLATE = bytes(BASE_CODE.tolist())  # bytes.translate maps a whole batch at C speed

# IUPAC DNA codes and the bases each stands for: the one table of their meanings
IUPAC_BASES = {"A": "A", "C": "C", "G": "G", "T": "T", "R": "AG", "Y": "CT", "S": "CG", "W": "AT",
               "K": "GT", "M": "AC", "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT"}

_IUPAC_COMPLEMENT = str.maketrans(
    "ACGTUNRYKMSWBDHVacgtunrykmswbdhv-.", "TGCAANYRMKSWVHDBtgcaanyrmkswvhdb-."
)


def _as_bytes(seqs: Sequence[str]) -> tuple[bytes, np.ndarray]:
    """Join the sequences as ASCII bytes; return them and the (n,) int64 lengths."""
    if isinstance(seqs, str):
        raise TypeError("encode expects a list of sequences, not one string: wrap it in [ ]")
    seqs = list(seqs)
    lengths = np.fromiter((len(s) for s in seqs), np.int64, len(seqs))
    try:
        joined = "".join(seqs).encode("ascii")
    except UnicodeEncodeError as err:  # find the culprit for the message
        bad = next(i for i, s in enumerate(seqs) if not s.isascii())
        raise ValueError(
            f"sequence {bad} contains a non-ASCII character ({err.object[err.start]!r}); "
            "sequences must be IUPAC DNA/RNA letters: clean them in 01_load"
        ) from None
    return joined, lengths


def _placement(n_in: int, length: int, pad: str, trim: str) -> tuple[int, int, int]:
    """(source start, count, destination start) for a sequence of ``n_in`` nt in ``length``."""
    if n_in >= length:
        cut = n_in - length
        src = {"right": 0, "left": cut, "center": cut // 2}[trim]
        return src, length, 0
    room = length - n_in
    dst = {"right": 0, "left": room, "center": room // 2}[pad]
    return 0, n_in, dst


def check_window(length: int | None, *, pad: str = "right", trim: str = "right") -> None:
    """Raise ValueError for a window :func:`encode` refuses: ``length`` under 1 nt (None is
    not checked) or an unknown ``pad`` / ``trim``."""
    if pad not in PAD_CHOICES:
        raise ValueError(f"pad={pad!r} is not one of {PAD_CHOICES}")
    if trim not in TRIM_CHOICES:
        raise ValueError(f"trim={trim!r} is not one of {TRIM_CHOICES}")
    if length is not None and int(length) < 1:
        raise ValueError(f"length={length}: the encoded window needs at least 1 nt")


def encode_codes(
    seqs: Sequence[str],
    *,
    length: int | None = None,
    pad: str = "right",
    trim: str = "right",
    flank_left: str = "",
    flank_right: str = "",
) -> tuple[np.ndarray, np.ndarray]:
    """Place sequences in a fixed-length window as base codes (0-3 = ACGT, 4 = N/pad).

    Same arguments as :func:`encode`; returns ``codes (n, L) uint8`` and ``mask (n, L)
    uint8``. Useful where a one-hot array would be too large (k-mer hashing).
    """
    joined, lengths = _as_bytes(seqs)
    n = len(lengths)
    if length is None:
        length = int(lengths.max()) if n else 0
    length = int(length)
    check_window(length if n else None, pad=pad, trim=trim)
    raw = np.frombuffer(joined.translate(_TRANSLATE), np.uint8)
    if n and (lengths == length).all():  # fast path: nothing to place
        return raw.reshape(n, length), np.ones((n, length), np.uint8)

    fl = BASE_CODE[np.frombuffer(flank_left.encode("ascii"), np.uint8)]
    fr = BASE_CODE[np.frombuffer(flank_right.encode("ascii"), np.uint8)]
    codes = np.full((n, length), 4, np.uint8)
    mask = np.zeros((n, length), np.uint8)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if n else lengths
    for n_in in np.unique(lengths):  # one pass per distinct length, not per sequence
        rows = np.flatnonzero(lengths == n_in)
        src, count, dst = _placement(int(n_in), length, pad, trim)
        if count:
            idx = (starts[rows] + src)[:, None] + np.arange(count)
            codes[rows, dst : dst + count] = raw[idx]
            mask[rows, dst : dst + count] = 1
        if dst and len(fl):  # left padding: the flank's bases nearest the insert
            take = min(dst, len(fl))
            codes[rows, dst - take : dst] = fl[len(fl) - take :]
        right = length - dst - count
        if right and len(fr):
            take = min(right, len(fr))
            codes[rows, dst + count : dst + count + take] = fr[:take]
    return codes, mask


def encode(
    seqs: Sequence[str],
    *,
    length: int | None = None,
    pad: str = "right",
    trim: str = "right",
    flank_left: str = "",
    flank_right: str = "",
) -> tuple[np.ndarray, np.ndarray]:
    """One-hot encode DNA strings as ``(n, L, 4) uint8`` (ACGT order) with a ``(n, L)`` mask.

    Parameters
    ----------
    seqs : sequence of str
        DNA (or RNA: ``U`` reads as ``T``); any case. N and other IUPAC codes become
        all-zero rows.
    length : int, optional
        Window length L in nt; the longest sequence when omitted.
    pad : {"right", "left", "center"}
        Where padding goes for a sequence shorter than L (``"right"`` keeps the sequence at
        the left, like a 5' anchor).
    trim : {"right", "left", "center"}
        Which end is cut from a sequence longer than L.
    flank_left, flank_right : str
        Constant vector sequence upstream / downstream of the insert. When given, padding is
        filled with the flank's bases nearest the insert (padding beyond the flank stays
        all-zero) instead of zeros: models then see real context, not N.

    Returns
    -------
    onehot : (n, L, 4) uint8
    mask : (n, L) uint8
        1 where a base of the input sits, 0 on padding and added flank.

    Examples
    --------
    >>> x, m = encode(["ACG", "T"], length=3)
    >>> m.tolist()
    [[1, 1, 1], [1, 0, 0]]
    """
    codes, mask = encode_codes(
        seqs, length=length, pad=pad, trim=trim, flank_left=flank_left, flank_right=flank_right
    )
    onehot = _ROWS32[codes].view(np.uint8).reshape(*codes.shape, 4)
    return onehot, mask


def encode_chunks(
    seqs: Sequence[str],
    *,
    length: int | None = None,
    pad: str = "right",
    trim: str = "right",
    flank_left: str = "",
    flank_right: str = "",
    chunk: int | None = None,
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Encode consecutive blocks of rows; yield ``(start, onehot, mask)`` for each.

    Same arguments as :func:`encode`, plus ``chunk``, the rows in a block (by default as many
    as fit in ``CHUNK_BYTES`` in the window, at least one). The blocks, stacked, equal
    ``encode(seqs, ...)``; memory stays O(chunk x L) whatever the number of sequences.

    Yields
    ------
    start : int
        Index of the block's first sequence in ``seqs``.
    onehot : (rows, L, 4) uint8
    mask : (rows, L) uint8
    """
    if isinstance(seqs, str):
        raise TypeError("encode expects a list of sequences, not one string: wrap it in [ ]")
    n = len(seqs)
    if length is None:
        length = max((len(s) for s in seqs), default=0)
    rows = int(chunk or max(1, CHUNK_BYTES // (15 * max(int(length), 1))))
    for start in tqdm(range(0, n, rows), desc="one-hot encoding", disable=n <= 4 * rows):
        onehot, mask = encode(seqs[start : start + rows], length=length, pad=pad, trim=trim,
                              flank_left=flank_left, flank_right=flank_right)
        yield start, onehot, mask


def unknown_bases(onehot: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Unknown bases (all-zero rows at real positions) per sequence: ``(n,) int64``, from
    ``onehot (n, L, 4)`` and ``mask (n, L)``."""
    onehot = np.ascontiguousarray(onehot)
    empty = onehot.view(np.uint32).reshape(onehot.shape[:-1]) == 0  # a position's 4 bytes at once
    return (empty & np.asarray(mask).astype(bool)).sum(axis=1, dtype=np.int64)


def resolve_rc_augment(rc_augment, encoding):
    """``True``/``False`` as given; ``"auto"``: off for RNA (one strand exists), else on.

    ``encoding`` is the run's ``encoding.json`` (its ``rna`` flag). Oriented DNA constructs
    (native genes with promoter, UTRs and terminator in order) should pass ``False``.
    """
    if rc_augment == "auto":
        return not bool(encoding.get("rna", False))
    if isinstance(rc_augment, str):
        raise ValueError(f'rc_augment must be True, False or "auto", got {rc_augment!r}')
    return bool(rc_augment)


def to_float(
    onehot: np.ndarray, mask: np.ndarray | None = None, *, unknown: float = 0.0
) -> np.ndarray:
    """Cast a one-hot batch to float32, optionally filling unknown bases with ``unknown``.

    Parameters
    ----------
    onehot : (..., L, 4) uint8
    mask : (..., L) uint8, optional
        Where real bases sit; all-zero rows are filled only there (padding stays zero).
        Without a mask every all-zero row counts as an unknown base.
    unknown : float
        Value for each of the 4 channels of an unknown base (0.25 = uniform); 0 keeps zeros.

    Returns
    -------
    (..., L, 4) float32
    """
    x = np.asarray(onehot).astype(np.float32)
    if unknown:
        empty = ~np.asarray(onehot).any(axis=-1)
        if mask is not None:
            empty &= np.asarray(mask).astype(bool)
        x[empty] = np.float32(unknown)
    return x


def reverse_complement(x: np.ndarray) -> np.ndarray:
    """Reverse-complement a ``(..., L, 4)`` array (one-hot or attributions, ACGT order).

    Flips the length axis and the base axis (A<->T, C<->G); returns a contiguous copy.
    """
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[-1] != 4:
        raise ValueError(f"expected an array shaped (..., L, 4), got {x.shape}")
    return np.ascontiguousarray(x[..., ::-1, ::-1])


def reverse_complement_str(seq: str) -> str:
    """Reverse complement of an IUPAC DNA string (case kept; ``U`` pairs like ``T``)."""
    return seq.translate(_IUPAC_COMPLEMENT)[::-1]


def decode(onehot: np.ndarray, mask: np.ndarray | None = None) -> list[str]:
    """Turn ``(n, L, 4)`` one-hot rows back into strings (all-zero rows read as ``N``).

    With ``mask``, positions where the mask is 0 (padding, added flank) are dropped, so
    ``decode(*encode(seqs)) == seqs`` for upper-case ACGTN sequences.
    """
    x = np.asarray(onehot)
    if x.ndim == 2:
        x = x[None]
    hot = x.any(axis=-1)
    idx = np.where(hot, x.argmax(axis=-1), 4).astype(np.uint8)
    letters = np.frombuffer(b"ACGTN", np.uint8)[idx]
    if mask is None:
        return [row.tobytes().decode() for row in letters]
    keep = np.asarray(mask).reshape(letters.shape).astype(bool)
    return [row[k].tobytes().decode() for row, k in zip(letters, keep)]


def length_summary(lengths) -> dict:
    """``{"min": int, "median": float, "max": int}`` of sequence lengths in nt (zeros when
    there are none): the form ``load.json``, ``encoding.json`` and model folders record."""
    lengths = np.asarray(lengths, np.int64)
    if not len(lengths):
        return {"min": 0, "median": 0.0, "max": 0}
    return {"min": int(lengths.min()), "median": float(np.median(lengths)),
            "max": int(lengths.max())}


def encoding_summary(
    lengths: Sequence[int] | np.ndarray,
    *,
    length: int,
    mask: np.ndarray | None = None,
    onehot: np.ndarray | None = None,
    unknown: np.ndarray | None = None,
) -> dict:
    """Figures for the report: how many sequences were padded, trimmed, and unknown bases.

    Parameters
    ----------
    lengths : (n,) int
        Input lengths in nt.
    length : int
        The window length L.
    mask, onehot : optional
        The encoded batch, to count unknown (all-zero) bases at real positions.
    unknown : (n,) int, optional
        Those counts per sequence (:func:`unknown_bases`), in place of ``mask`` and
        ``onehot`` when the batch was encoded a block at a time.
    """
    lengths = np.asarray(lengths, np.int64)
    out = {
        "n": int(len(lengths)),
        "length": int(length),
        "input_lengths": length_summary(lengths),
        "n_padded": int((lengths < length).sum()),
        "n_trimmed": int((lengths > length).sum()),
        "nt_trimmed": int(np.clip(lengths - length, 0, None).sum()),
    }
    if unknown is None and mask is not None and onehot is not None:
        unknown = unknown_bases(onehot, mask)
    if unknown is not None:
        out["unknown_bases"] = int(np.sum(unknown))
        out["sequences_with_unknown"] = int(np.count_nonzero(unknown))
    return out


__all__ = [
    "ALPHABET", "BASE_CODE", "CHUNK_BYTES", "IUPAC_BASES", "MAX_UNKNOWN", "check_window",
    "encode", "encode_chunks", "encode_codes", "length_summary", "to_float", "unknown_bases",
    "reverse_complement", "reverse_complement_str", "decode", "encoding_summary",
]
