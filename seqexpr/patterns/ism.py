"""In-silico mutagenesis (ISM): which bases of a sequence drive a model's prediction.

ISM is model-agnostic and exact: every single-base substitution at a real position is scored
with a forward pass, on any Keras backend or with a plain predict function. Attributions are 0
at masked positions; see :mod:`seqexpr.patterns.inputs` for the input conventions.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm  # text bars: no widget dependency, collapse cleanly in reports

from seqexpr.patterns.inputs import check_onehot, real_positions, scalar_predict

__all__ = ["ism", "ism_centered", "center_ism"]


def ism(predict_fn, x, *, mask=None, target=0, center=False, batch_size=512, progress=True):
    """In-silico mutagenesis: the prediction change of every single-base substitution.

    For each sequence the 3 substitutions at every real position are built with numpy and
    scored in batches of ``batch_size`` mutants (several sequences share a batch when L is
    small). Masked positions are not mutated and score 0.

    Parameters
    ----------
    predict_fn : keras.Model or callable
        A model, or a function mapping ``(m, L, 4) float32`` to ``(m,)`` or ``(m, T)``
        (e.g. ``bundle.predict``, which averages both strands).
    x : (n, L, 4) float32 or uint8
        One-hot sequences.
    mask : (n, L) uint8, optional
        1 for real bases, 0 for padding or flanks.
    target : int
        Output column explained.
    center : bool
        False: ``score[p, b] = f(x with b at p) - f(x)``, 0 at the observed base. True: the
        convention of :func:`center_ism` (the observed base carries the importance).
    batch_size : int
        Mutants per forward pass.
    progress : bool
        Show a progress bar.

    Returns
    -------
    (n, L, 4) float32
    """
    x = check_onehot(x)
    real = real_positions(x, mask)
    f = scalar_predict(predict_fn, target=target, batch_size=batch_size)
    n, length, _ = x.shape
    ref = f(x)
    todo = real[:, :, None] & (x < 0.5)  # substitutions to make: every non-observed base
    out = np.zeros((n, length, 4), np.float32)
    eye = np.eye(4, dtype=np.float32)
    # blocks of sequences holding ~64 batches of mutants keep the index arrays small
    per_block = max(1, 64 * batch_size // max(1, 3 * length))
    bar = tqdm(total=int(todo.sum()), unit="mutant", unit_scale=True, desc="ISM",
               disable=not progress)
    for lo in range(0, n, per_block):
        hi = min(n, lo + per_block)
        s, p, b = np.nonzero(todo[lo:hi])
        for c in range(0, len(s), batch_size):
            sc, pc, bc = s[c:c + batch_size], p[c:c + batch_size], b[c:c + batch_size]
            mutants = x[lo + sc]  # fancy indexing copies
            mutants[np.arange(len(sc)), pc] = eye[bc]
            out[lo + sc, pc, bc] = f(mutants) - ref[lo + sc]
            bar.update(len(sc))
    bar.close()
    return center_ism(out, x, mask=real) if center else out


def center_ism(scores, x, *, mask=None):
    """Re-express raw ISM so that the observed base carries the position's importance.

    At each real position the mean effect of the substitutions (the non-observed bases) is
    subtracted from all four entries. The observed base then scores ``-(mean effect of
    mutating it)``: positive where the observed base helps the prediction. The other bases
    score their effect relative to the average substitution. The four entries of a position
    sum to the observed base's score, so summing over bases projects centered ISM onto the
    observed sequence, as for gradient x input.

    Parameters
    ----------
    scores : (n, L, 4) float32
        Raw ISM from :func:`ism`.
    x : (n, L, 4) float32 or uint8
    mask : (n, L), optional

    Returns
    -------
    (n, L, 4) float32
    """
    x = check_onehot(x)
    scores = np.asarray(scores, np.float32)
    real = real_positions(x, mask)
    alt = real[:, :, None] & (x < 0.5)
    n_alt = alt.sum(-1, keepdims=True)
    mean_alt = (scores * alt).sum(-1, keepdims=True) / np.maximum(n_alt, 1)
    return np.where(real[:, :, None], scores - mean_alt, 0.0).astype(np.float32)


def ism_centered(predict_fn, x, **kwargs):
    """:func:`ism` with ``center=True``; see :func:`center_ism` for the convention."""
    return ism(predict_fn, x, center=True, **kwargs)
