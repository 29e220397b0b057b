"""Target transforms with exact inverses, stored as JSON-able specs.

A spec is a plain dict: ``{"name": ..., <fitted parameters>}``. ``fit`` learns it from the
measured targets, ``apply`` maps measurements to the modelled scale, ``inverse`` maps model
outputs back to measurements. For a ``(n, T)`` matrix the spec holds one sub-spec per column
under ``"columns"`` (so each target can have its own transform).

Transforms (natural logarithms throughout):

``none``
    y.
``log``
    ln(y + offset). ``offset`` is 0 when every value is positive; otherwise it is
    ``-min(y) + eps`` with ``eps`` half the smallest positive gap above the minimum, so the
    smallest value stays finite. Values at or below ``-offset`` map to NaN.
``log1p``
    ln(1 + y); needs y > -1.
``standardize``
    (y - mean) / sd.
``rank``
    Normal scores: the mid-rank quantile ``(rank - 0.5) / n`` of each value passed through
    the standard normal quantile function. The fitted knots (distinct values and their
    scores, thinned to at most ``max_knots``) are stored; ``apply`` and ``inverse``
    interpolate linearly between them and clamp outside the fitted range.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import stats
from scipy.special import ndtri

NAMES = ("none", "log", "log1p", "standardize", "rank")


def fit(name: str | Sequence[str], y: np.ndarray, *, max_knots: int = 2001) -> dict:
    """Fit a target transform to measurements.

    Parameters
    ----------
    name : str or list of str
        One of ``"none"``, ``"log"``, ``"log1p"``, ``"standardize"``, ``"rank"``; a list
        gives one name per column of a 2-D ``y``.
    y : (n,) or (n, T) float
        Measured targets; NaN values are ignored when fitting.
    max_knots : int
        Most (value, score) pairs a ``rank`` spec stores.

    Returns
    -------
    dict
        A JSON-able spec for :func:`apply` and :func:`inverse`.
    """
    y = np.asarray(y, np.float64)
    if y.ndim == 2:
        names = [name] * y.shape[1] if isinstance(name, str) else list(name)
        if len(names) != y.shape[1]:
            raise ValueError(f"{len(names)} transform names for {y.shape[1]} target columns")
        cols = [fit(nm, y[:, j], max_knots=max_knots) for j, nm in enumerate(names)]
        top = names[0] if len(set(names)) == 1 else "mixed"
        return {"name": top, "columns": cols}
    if y.ndim != 1:
        raise ValueError(f"y must be (n,) or (n, T), got shape {y.shape}")
    if not isinstance(name, str) or name not in NAMES:
        raise ValueError(f"unknown target transform {name!r}; choose one of {NAMES}")
    v = y[np.isfinite(y)]
    if name != "none" and len(v) == 0:
        raise ValueError(f"cannot fit {name!r}: no finite target values")
    if name == "none":
        return {"name": "none"}
    if name == "log":
        lo = float(v.min())
        if lo > 0:
            return {"name": "log", "offset": 0.0}
        gaps = v[v > lo] - lo
        eps = 0.5 * float(gaps.min()) if len(gaps) else 1.0
        return {"name": "log", "offset": -lo + eps}
    if name == "log1p":
        if v.min() <= -1:
            raise ValueError(
                f"log1p needs targets > -1 but the smallest is {v.min():g}; "
                'use "log" (it adds an offset) or "rank"'
            )
        return {"name": "log1p"}
    if name == "standardize":
        sd = float(v.std())
        return {"name": "standardize", "mean": float(v.mean()), "sd": sd if sd > 0 else 1.0}
    # rank -> normal scores on distinct values (ties share their mid-rank)
    values, counts = np.unique(v, return_counts=True)
    mid = (np.cumsum(counts) - counts / 2.0) / len(v)
    scores = ndtri(mid)
    if len(values) > max_knots:
        keep = np.unique(np.linspace(0, len(values) - 1, max_knots).round().astype(int))
        values, scores = values[keep], scores[keep]
    return {"name": "rank", "values": values.tolist(), "scores": scores.tolist()}


def _columns(spec: dict, y: np.ndarray, fn) -> np.ndarray:
    if y.ndim != 2 or y.shape[1] != len(spec["columns"]):
        raise ValueError(
            f"the transform was fitted on {len(spec['columns'])} target columns; "
            f"got an array shaped {y.shape}"
        )
    return np.stack([fn(c, y[:, j]) for j, c in enumerate(spec["columns"])], axis=1)


def apply(spec: dict, y: np.ndarray) -> np.ndarray:
    """Map measurements to the modelled scale; returns float64 of ``y``'s shape."""
    y = np.asarray(y, np.float64)
    if "columns" in spec:
        return _columns(spec, y, apply)
    name = spec["name"]
    with np.errstate(invalid="ignore", divide="ignore"):
        if name == "none":
            return y.copy()
        if name == "log":
            z = y + spec["offset"]
            return np.where(z > 0, np.log(z), np.nan)
        if name == "log1p":
            return np.where(y > -1, np.log1p(y), np.nan)
        if name == "standardize":
            return (y - spec["mean"]) / spec["sd"]
        if name == "rank":
            out = np.interp(y, spec["values"], spec["scores"])
            return np.where(np.isnan(y), np.nan, out)
    raise ValueError(f"unknown target transform {name!r} in spec {spec}")


def inverse(spec: dict, y: np.ndarray) -> np.ndarray:
    """Map values on the modelled scale back to measurements; float64 of ``y``'s shape."""
    y = np.asarray(y, np.float64)
    if "columns" in spec:
        return _columns(spec, y, inverse)
    name = spec["name"]
    if name == "none":
        return y.copy()
    if name == "log":
        return np.exp(y) - spec["offset"]
    if name == "log1p":
        return np.expm1(y)
    if name == "standardize":
        return y * spec["sd"] + spec["mean"]
    if name == "rank":
        out = np.interp(y, spec["scores"], spec["values"])
        return np.where(np.isnan(y), np.nan, out)
    raise ValueError(f"unknown target transform {name!r} in spec {spec}")


def has_inverse(spec: dict) -> bool:
    """Whether model outputs on this spec's scale can be mapped back to measurements."""
    try:
        out = inverse(spec, np.zeros((1, len(spec.get("columns", [0])))))
        return bool(np.isfinite(out).all())
    except (ValueError, KeyError, TypeError):
        return False


def to_dict(spec: dict) -> dict:
    """A JSON-able copy of a spec (NumPy scalars and arrays become Python numbers/lists)."""
    if isinstance(spec, dict):
        return {str(k): to_dict(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple, np.ndarray)):
        return [to_dict(v) for v in (spec.tolist() if isinstance(spec, np.ndarray) else spec)]
    if isinstance(spec, np.generic):
        return spec.item()
    return spec


def describe(spec: dict) -> str:
    """One line saying what a spec does, for reports."""
    if "columns" in spec:
        return "; ".join(describe(c) for c in spec["columns"])
    name = spec["name"]
    if name == "log":
        off = spec["offset"]
        return f"ln(y + {off:g})" if off else "ln(y)"
    return {"none": "y (untransformed)", "log1p": "ln(1 + y)",
            "standardize": f"(y - {spec.get('mean', 0):.4g}) / {spec.get('sd', 1):.4g}",
            "rank": f"normal scores of ranks ({len(spec.get('values', []))} knots)"}[name]


def choose(target_transform: str | Sequence[str], targets: Sequence[str], y: np.ndarray,
           explore_info: dict | None = None) -> tuple[list[str], list[str]]:
    """Pick one transform name per target, with the reason, for 03_encode.

    ``target_transform="auto"`` takes 02_explore's ``suggested_transform`` for each target
    (from ``explore_info``, the parsed explore.json), else asks
    :func:`suggest_transform` on the values.
    A name (or a list with one name per target) is used as given.

    Returns
    -------
    names, reasons : list of str, one per target
    """
    targets = list(targets)
    y = np.asarray(y, np.float64).reshape(len(y), -1)
    if target_transform != "auto":
        names = [target_transform] * len(targets) if isinstance(target_transform, str) \
            else list(target_transform)
        if len(names) != len(targets):
            raise ValueError(f"{len(names)} transform names for {len(targets)} targets {targets}")
        return names, ["chosen by the user"] * len(targets)
    suggested = (explore_info or {}).get("suggested_transform") or {}
    names, reasons = [], []
    for j, t in enumerate(targets):
        s = suggested.get(t)
        if isinstance(s, dict) and s.get("name", s.get("transform")):
            names.append(s.get("name", s.get("transform")))
            reasons.append("02_explore: " + str(s.get("reason", "")))
        elif isinstance(s, str):
            names.append(s)
            reasons.append("02_explore suggestion")
        else:
            name, reason = suggest_transform(y[:, j])
            names.append(name)
            reasons.append(f"suggest_transform: {reason}")
    return names, reasons


def suggest_transform(y, *, skew_threshold: float = 1.0, ratio_threshold: float = 20.0,
                      outlier_z: float = 6.0) -> tuple[str, str]:
    """Suggest how to transform a target before modelling it.

    Rules, in order: strictly positive, skewed (skewness > ``skew_threshold``) and spanning
    a wide range (max/min > ``ratio_threshold``) -> ``"log"``; non-negative with zeros and
    skewed -> ``"log1p"``; heavy outliers otherwise (more than 0.1 % of values beyond
    ``outlier_z`` robust SDs from the median, or |skewness| > 2) -> ``"rank"``; else ``"none"``.

    Parameters
    ----------
    y : (n,) float
        Measured target; NaN values are ignored.

    Returns
    -------
    name : str
        ``"none"``, ``"log"``, ``"log1p"`` or ``"rank"``.
    reason : str
        One plain sentence saying why.
    """
    y = np.asarray(y, dtype=np.float64)
    v = y[np.isfinite(y)]
    if v.size < 3 or np.ptp(v) == 0:
        return "none", f"Only {v.size} distinct finite values to judge from, so none is applied."
    skew = float(stats.skew(v))
    lo, hi = float(v.min()), float(v.max())
    if lo > 0 and skew > skew_threshold and hi / lo > ratio_threshold:
        after = float(stats.skew(np.log(v)))
        return "log", (f"Values are all positive, right-skewed (skewness {skew:.2f}) and span "
                       f"a {hi / lo:.0f}-fold range, so a log makes them closer to symmetric "
                       f"(skewness {after:.2f} after).")
    if lo >= 0 and (v == 0).any() and skew > skew_threshold:
        return "log1p", (f"Values are non-negative with {(v == 0).sum()} zeros and right-skewed "
                         f"(skewness {skew:.2f}), so log(1 + y) compresses the tail and keeps "
                         "the zeros finite.")
    med = np.median(v)
    mad = 1.4826 * np.median(np.abs(v - med))
    z = np.abs(v - med) / mad if mad > 0 else np.zeros_like(v)
    frac_out = float((z > outlier_z).mean())
    if frac_out > 0.001 or abs(skew) > 2:
        return "rank", (f"{frac_out:.1%} of values lie beyond {outlier_z:g} robust SDs "
                        f"(skewness {skew:.2f}) and a log does not apply, so normal scores of "
                        "ranks keep outliers from dominating the loss.")
    return "none", (f"Values are roughly symmetric (skewness {skew:.2f}) without heavy "
                    "outliers, so they can be modelled as they are.")


def modelled_scale(y, name: str) -> np.ndarray:
    """``y`` on the scale a model would see after transform ``name``: (n,) float64."""
    y = np.asarray(y, dtype=np.float64)
    return apply(fit(name, y), y)


__all__ = ["NAMES", "fit", "apply", "inverse", "has_inverse", "to_dict", "describe", "choose",
           "suggest_transform", "modelled_scale"]
