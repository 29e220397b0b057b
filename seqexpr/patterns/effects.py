"""In-silico experiments: insert a motif into background sequences and watch the prediction.

``insertion_effect`` measures what a motif does on its own, ``position_profile`` and
``preferred_window`` whether that depends on where it sits, ``cooperativity`` whether two
motifs together do more (or less) than the sum of each alone.

Insertions replace bases (the sequence length is kept) and only ever land on real positions.
Positions are offsets in nt from the first real base of each background, so they mean the same
thing whatever padding the encoding used. Effects are on the model's (modelled) scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from seqexpr.encode import IUPAC_BASES
from seqexpr.patterns.inputs import check_onehot, real_positions, scalar_predict

__all__ = ["motif_instances", "insertion_effect", "position_profile", "preferred_window",
           "cooperativity"]

_IUPAC = {**IUPAC_BASES, "U": "T"}


def motif_instances(motif, n, *, seed=0, pwm_mode="consensus"):
    """Draw ``n`` one-hot instances of a motif.

    Parameters
    ----------
    motif : str or (k, 4) array
        An IUPAC consensus (degenerate letters are drawn uniformly among their bases for each
        instance) or a PWM of ACGT frequencies or counts.
    n : int
    seed : int
    pwm_mode : {"consensus", "sample"}
        For a PWM: insert its argmax consensus, or draw each instance from the PWM's rows.

    Returns
    -------
    (n, k, 4) float32
    """
    if isinstance(motif, str):
        bad = [c for c in motif.upper() if c not in _IUPAC]
        if not motif or bad:
            raise ValueError(f"motif {motif!r} is not an IUPAC DNA string (bad letters: "
                             f"{''.join(bad) or 'empty'})")
        probs = np.array([[b in _IUPAC[c] for b in "ACGT"] for c in motif.upper()], float)
        mode = "sample"
    else:
        probs = np.asarray(motif, float)
        if probs.ndim != 2 or probs.shape[1] != 4 or (probs < 0).any() or len(probs) == 0:
            raise ValueError(f"a PWM motif must be a non-negative (k, 4) array, got shape "
                             f"{probs.shape}")
        if pwm_mode not in ("consensus", "sample"):
            raise ValueError(f"pwm_mode must be 'consensus' or 'sample', got {pwm_mode!r}")
        mode = pwm_mode
    eye = np.eye(4, dtype=np.float32)
    if mode == "consensus":
        return np.broadcast_to(eye[probs.argmax(1)], (n, len(probs), 4)).copy()
    probs = probs / probs.sum(1, keepdims=True)
    u = np.random.default_rng(seed).random((n, len(probs), 1))
    idx = np.minimum((u > probs.cumsum(1)).sum(-1), 3)
    return eye[idx]


def _consensus(motif):
    if isinstance(motif, str):
        return motif.upper()
    return "".join(np.array(list("ACGT"))[np.asarray(motif).argmax(1)])


def _setup(backgrounds, mask, n_samples, rng):
    """Backgrounds (float32), real-span start and length of each, after subsampling."""
    bg = check_onehot(backgrounds)
    real = real_positions(bg, mask)
    if len(bg) > n_samples:
        keep = np.sort(rng.choice(len(bg), n_samples, replace=False))
        bg, real = bg[keep], real[keep]
    if not real.any(1).all():
        raise ValueError("some backgrounds have no real positions; check the mask")
    start = real.argmax(1)
    length = real.shape[1] - real[:, ::-1].argmax(1) - start
    return bg, start, length


def _insert(bg, start, inst, ok):
    """Copies of bg[ok] with inst[ok] (k, 4) written from real-span offset start[ok]."""
    out = bg[ok].copy()
    k = inst.shape[1]
    out[np.arange(len(out))[:, None], start[ok][:, None] + np.arange(k)] = inst[ok]
    return out


def insertion_effect(predict_fn, backgrounds, motif, *, positions=None, both_strands=True,
                     n_samples=100, n_positions=5, mask=None, target=0, pwm_mode="consensus",
                     batch_size=1024, seed=0):
    """Mean change in prediction when a motif is written into background sequences.

    Parameters
    ----------
    predict_fn : keras.Model or callable
        ``(m, L, 4) float32 -> (m,)`` or ``(m, T)``.
    backgrounds : (m, L, 4) float32
        E.g. dinucleotide-shuffled or low-activity real sequences.
    motif : str or (k, 4) array
        IUPAC consensus or PWM; see :func:`motif_instances`. Each background gets one instance,
        used at every position (and reverse-complemented for the other strand).
    positions : sequence of int, optional
        Insertion starts, in nt from the first real base. Default: ``n_positions`` evenly
        spaced starts over the shortest background. A background too short for a position is
        skipped there.
    both_strands : bool
        Also insert the reverse complement.
    n_samples : int
        Backgrounds used (a random subset when more are given).
    mask : (m, L), optional
        Real positions of the backgrounds.
    target : int
    pwm_mode : {"consensus", "sample"}
    batch_size : int
    seed : int

    Returns
    -------
    dict
        ``effect`` (mean over backgrounds, positions and strands), ``effect_sd`` (sd of the
        single insertions), ``sem`` (standard error over backgrounds), ``n`` (insertions),
        ``per_position`` (DataFrame: position, effect_mean, effect_sd, n), ``per_strand``
        (``{"+": mean, "-": mean}``), ``effects`` ((backgrounds, positions, strands) array,
        NaN where skipped), ``positions``, ``motif_length``, ``consensus``.
    """
    rng = np.random.default_rng(seed)
    bg, start, length = _setup(backgrounds, mask, n_samples, rng)
    inst = motif_instances(motif, len(bg), seed=seed, pwm_mode=pwm_mode)
    k = inst.shape[1]
    if positions is None:
        top = int(length.min()) - k
        if top < 0:
            raise ValueError(f"motif of {k} nt is longer than the shortest background "
                             f"({int(length.min())} nt)")
        positions = np.unique(np.linspace(0, top, n_positions).round().astype(int))
    positions = np.atleast_1d(np.asarray(positions, int))
    strands = [inst, inst[:, ::-1, ::-1]] if both_strands else [inst]
    f = scalar_predict(predict_fn, target=target, batch_size=batch_size)
    base = f(bg)
    effects = np.full((len(bg), len(positions), len(strands)), np.nan)
    for j, pos in enumerate(positions):
        ok = (pos >= 0) & (pos + k <= length)
        if not ok.any():
            continue
        batch = np.concatenate([_insert(bg, start + pos, s, ok) for s in strands])
        pred = f(batch).reshape(len(strands), -1)
        effects[ok, j, :] = (pred - base[ok]).T
    if not np.isfinite(effects).any():
        raise ValueError(f"no position in {positions.tolist()} fits a {k}-nt motif into the "
                         "backgrounds; pass positions within the real sequence")
    flat = effects.reshape(len(bg), -1)
    per_bg = np.nanmean(flat, 1)
    per_bg = per_bg[np.isfinite(per_bg)]
    with np.errstate(invalid="ignore"):
        per_position = pd.DataFrame({
            "position": positions,
            "effect_mean": np.nanmean(effects, axis=(0, 2)),
            "effect_sd": _nansd(effects.transpose(1, 0, 2).reshape(len(positions), -1)),
            "n": np.isfinite(effects).sum((0, 2)),
        })
    per_position.attrs["motif_length"] = k
    strand_means = np.nanmean(effects, axis=(0, 1))
    return dict(
        effect=float(np.nanmean(effects)),
        effect_sd=float(_nansd(flat.reshape(1, -1))[0]),
        sem=float(per_bg.std(ddof=1) / np.sqrt(len(per_bg))) if len(per_bg) > 1 else np.nan,
        n=int(np.isfinite(effects).sum()),
        per_position=per_position,
        per_strand={"+": float(strand_means[0]),
                    "-": float(strand_means[1]) if both_strands else float("nan")},
        effects=effects, positions=positions, motif_length=k, consensus=_consensus(motif),
    )


def _nansd(a):
    """Sample sd of each row ignoring NaN (NaN where fewer than two values)."""
    cnt = np.isfinite(a).sum(1)
    mean = np.nansum(a, 1) / np.maximum(cnt, 1)
    ss = np.nansum((a - mean[:, None]) ** 2, 1)
    return np.where(cnt > 1, np.sqrt(ss / np.maximum(cnt - 1, 1)), np.nan)


def position_profile(predict_fn, backgrounds, motif, *, step=5, both_strands=True,
                     n_samples=50, mask=None, target=0, pwm_mode="consensus", batch_size=1024,
                     seed=0):
    """Insertion effect of a motif at every ``step``-th position along the sequence.

    Same parameters as :func:`insertion_effect`; positions run from 0 to the longest
    background's real length minus the motif length.

    Returns
    -------
    pandas.DataFrame
        ``position`` (insertion start, nt from the first real base), ``effect_mean``,
        ``effect_sd``, ``n``; ``attrs["motif_length"]`` holds the motif length.
    """
    real = real_positions(check_onehot(backgrounds), mask)
    span = real.shape[1] - real[:, ::-1].argmax(1) - real.argmax(1)
    k = motif_instances(motif, 1).shape[1]
    positions = np.arange(0, int(span.max()) - k + 1, max(1, int(step)))
    res = insertion_effect(predict_fn, backgrounds, motif, positions=positions,
                           both_strands=both_strands, n_samples=n_samples, mask=mask,
                           target=target, pwm_mode=pwm_mode, batch_size=batch_size, seed=seed)
    return res["per_position"]


def preferred_window(profile, *, min_fold=2.0, z=3.0, level=0.5, min_effect=0.0,
                     motif_length=None):
    """The stretch where a motif acts, if its effect clearly depends on position; else None.

    Let ``s`` be the profile signed so that the strongest effect is positive, ``peak`` its
    maximum and ``med`` its median over positions. A window is reported only when the peak
    is at least ``min_fold`` times the (positive part of the) median, its excess over the
    median is above ``min_effect`` (on the modelled scale), and both the peak and that excess
    exceed ``z`` standard errors. The window is the run of
    positions around the peak where ``s >= med + level * (peak - med)``.

    Parameters
    ----------
    profile : DataFrame
        From :func:`position_profile`.
    min_fold, z, level : float
    min_effect : float
        Smallest excess over the median worth reporting, e.g. a tenth of the target's sd.
    motif_length : int, optional
        Taken from ``profile.attrs["motif_length"]`` when omitted.

    Returns
    -------
    (start, end) or None
        ``[start, end)`` in nt from the first real base: from the first to the end of the
        last motif placement in the window.
    """
    prof = profile[np.isfinite(profile["effect_mean"]) & (profile["n"] > 0)]
    if len(prof) < 3:
        return None
    e = prof["effect_mean"].to_numpy(float)
    se = (prof["effect_sd"].fillna(0).to_numpy(float) / np.sqrt(prof["n"].to_numpy(float)))
    sign = np.sign(e[np.argmax(np.abs(e))]) or 1.0
    s = sign * e
    i = int(np.argmax(s))
    peak, med = s[i], float(np.median(s))
    se_med = float(np.median(se))
    clear = (peak >= min_fold * max(med, 0.0) and peak > z * se[i]
             and peak - med > z * np.hypot(se[i], se_med) and peak - med > max(min_effect, 0))
    if not clear:
        return None
    strong = s >= med + level * (peak - med)
    lo = i
    while lo > 0 and strong[lo - 1]:
        lo -= 1
    hi = i
    while hi < len(s) - 1 and strong[hi + 1]:
        hi += 1
    k = motif_length or profile.attrs.get("motif_length", 1)
    pos = prof["position"].to_numpy(int)
    return int(pos[lo]), int(pos[hi] + k)


def cooperativity(predict_fn, backgrounds, motif_a, motif_b, *, spacing=5, position=None,
                  n_samples=100, mask=None, target=0, pwm_mode="consensus", batch_size=1024,
                  seed=0):
    """Whether two motifs together change the prediction by more than the sum of each alone.

    Motif A is written at ``position`` and motif B ``spacing`` nt after A's end, into the same
    backgrounds; per background ``interaction = f(AB) - f(A) - f(B) + f(none)``.

    Parameters
    ----------
    predict_fn : keras.Model or callable
    backgrounds : (m, L, 4) float32
    motif_a, motif_b : str or (k, 4) array
        As for :func:`insertion_effect` (orientation as given).
    spacing : int
        Gap in nt between the end of A and the start of B.
    position : int, optional
        Start of A in nt from the first real base; default centres the pair in the shortest
        background. Backgrounds too short for the pair are skipped.
    n_samples, mask, target, pwm_mode, batch_size, seed
        As for :func:`insertion_effect`.

    Returns
    -------
    dict
        ``effect_a``, ``effect_b``, ``effect_ab`` (mean changes), ``expected_additive``
        (effect_a + effect_b), ``interaction`` (mean), ``interaction_sd``, ``p_value``
        (two-sided one-sample t-test of the per-background interactions against 0), ``n``,
        ``spacing``, ``position``.
    """
    rng = np.random.default_rng(seed)
    bg, start, length = _setup(backgrounds, mask, n_samples, rng)
    a = motif_instances(motif_a, len(bg), seed=seed, pwm_mode=pwm_mode)
    b = motif_instances(motif_b, len(bg), seed=seed + 1, pwm_mode=pwm_mode)
    total = a.shape[1] + int(spacing) + b.shape[1]
    if position is None:
        position = max(0, (int(length.min()) - total) // 2)
    ok = (position >= 0) & (position + total <= length)
    if spacing < 0 or not ok.any():
        raise ValueError(f"motifs of {a.shape[1]} and {b.shape[1]} nt with spacing {spacing} "
                         f"do not fit at position {position} of any background")
    bg, start, a, b = bg[ok], start[ok], a[ok], b[ok]
    every = np.ones(len(bg), bool)
    with_a = _insert(bg, start + position, a, every)
    with_b = _insert(bg, start + position + a.shape[1] + spacing, b, every)
    with_ab = _insert(with_a, start + position + a.shape[1] + spacing, b, every)
    f = scalar_predict(predict_fn, target=target, batch_size=batch_size)
    f0, fa, fb, fab = f(np.concatenate([bg, with_a, with_b, with_ab])).reshape(4, -1)
    inter = fab - fa - fb + f0
    sd = float(inter.std(ddof=1)) if len(inter) > 1 else float("nan")
    scale = max(1.0, float(np.abs(np.concatenate([fa, fb, fab]) - np.tile(f0, 3)).max()))
    if len(inter) > 1 and sd > 1e-9 * scale:
        p = float(stats.ttest_1samp(inter, 0.0).pvalue)
    else:  # no spread: the interaction is exactly what it is
        p = 1.0 if abs(inter.mean()) <= 1e-6 * scale else 0.0
    effect_a, effect_b = float((fa - f0).mean()), float((fb - f0).mean())
    return dict(effect_a=effect_a, effect_b=effect_b, effect_ab=float((fab - f0).mean()),
                expected_additive=effect_a + effect_b, interaction=float(inter.mean()),
                interaction_sd=sd, p_value=p, n=int(len(inter)), spacing=int(spacing),
                position=int(position))
