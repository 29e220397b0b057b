"""Dinucleotide shuffles of one-hot sequences, e.g. as references for integrated gradients.

Only real positions are shuffled (see :mod:`seqexpr.patterns.inputs` for the conventions);
padding and flanks stay where they are.
"""

from __future__ import annotations

import numpy as np

from seqexpr.patterns.inputs import check_onehot, real_positions

__all__ = ["dinuc_shuffle"]


def dinuc_shuffle(x, *, n=1, seed=0, mask=None):
    """Shuffle one-hot sequences keeping their dinucleotide counts exactly.

    A random Eulerian walk through the graph of observed dinucleotides (Altschul & Erickson
    1985): the last exit from each base is drawn so that those exits form a tree towards the
    final base, the other exits are put in random order, and the walk is done for all
    shuffles at once. Only real positions are shuffled (first and last real base are kept);
    padding and flanks stay in place. Unknown bases (rows that are not one-hot) are shuffled
    as a fifth letter.

    Parameters
    ----------
    x : (L, 4) or (m, L, 4) float32 or uint8
    n : int
        Shuffles per sequence.
    seed : int
    mask : (L,) or (m, L), optional
        Real positions; rows with any non-zero value when omitted.

    Returns
    -------
    (n, L, 4) float32 for one sequence, (m, n, L, 4) float32 for a batch.
    """
    single = np.ndim(x) == 2
    x = check_onehot(np.asarray(x)[None] if single else x)
    if mask is not None and single:
        mask = np.asarray(mask)[None]
    real = real_positions(x, mask)
    m, length, _ = x.shape
    rng = np.random.default_rng(seed)
    onehot = x.max(-1) >= 0.5
    codes = np.where(onehot, x.argmax(-1), 4)
    order = np.argsort(~real, axis=1, kind="stable")  # real positions first, in order
    lengths = real.sum(1)
    compact = np.take_along_axis(codes, order, 1)
    walked = _euler_walk(np.repeat(compact, n, 0), np.repeat(lengths, n), rng)
    unknown = x[real & ~onehot]
    lut = np.vstack([np.eye(4, dtype=np.float32),
                     unknown[:1] if len(unknown) else np.zeros((1, 4), np.float32)])
    out = np.repeat(x, n, 0)
    b, j = np.nonzero(np.arange(length)[None] < np.repeat(lengths, n)[:, None])
    out[b, np.repeat(order, n, 0)[b, j]] = lut[walked[b, j]]
    out = out.reshape(m, n, length, 4)
    return out[0] if single else out


def _euler_walk(seqs, lengths, rng, k=5, max_tries=10_000):
    """Random Eulerian walks over each row's dinucleotide edges; (B, L) int codes < k."""
    nb, length = seqs.shape
    if length < 3:
        return seqs.copy()
    rows = np.arange(nb)
    last = seqs[rows, np.maximum(lengths - 1, 0)]
    src = np.where(np.arange(length - 1)[None] < (lengths - 1)[:, None], seqs[:, :-1], k)
    dst = seqs[:, 1:]
    is_src = src[:, :, None] == np.arange(k)  # (B, E, k)
    chosen = np.full((nb, k), -1)
    todo = rows
    for _ in range(max_tries):  # draw last exits until they form a tree towards the last base
        keys = np.where(is_src[todo], rng.random((len(todo), length - 1, 1)), -1.0)
        pick = keys.argmax(1)  # (b, k) a random exit edge per base
        has = keys.max(1) >= 0
        root = last[todo][:, None]
        nxt = np.where(has, np.take_along_axis(dst[todo], pick, 1), root)
        nxt[np.arange(len(todo)), last[todo]] = last[todo]
        node = np.broadcast_to(np.arange(k), nxt.shape)
        for _ in range(k):
            node = np.take_along_axis(nxt, node, 1)
        ok = (node == root).all(1)
        pick = np.where(has, pick, -1)
        pick[np.arange(len(todo)), last[todo]] = -1
        chosen[todo[ok]] = pick[ok]
        todo = todo[~ok]
        if not len(todo):
            break
    else:
        raise RuntimeError("dinucleotide shuffle did not converge; please report this input")
    keys = rng.random((nb, length - 1))
    b, v = np.nonzero(chosen >= 0)
    keys[b, chosen[b, v]] = 2.0  # the tree edge is each base's last exit
    perm = np.argsort(src * 4.0 + keys, axis=1)
    out_dst = np.take_along_axis(dst, perm, 1)
    offset = np.cumsum(is_src.sum(1), 1) - is_src.sum(1)  # (B, k) first exit of each base
    used = np.zeros((nb, k), np.int64)
    out = seqs.copy()
    cur = seqs[:, 0].copy()
    for t in range(1, length):  # one step of all walks at a time
        r = rows[t < lengths]
        if not len(r):
            break
        c = cur[r]
        nxt = out_dst[r, offset[r, c] + used[r, c]]
        used[r, c] += 1
        out[r, t] = nxt
        cur[r] = nxt
    return out
