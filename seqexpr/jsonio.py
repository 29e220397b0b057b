"""Files as seqexpr writes them: replaced atomically, and JSON indented with NumPy values
converted."""

from __future__ import annotations

import datetime as _dt
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


@contextmanager
def atomic(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; when the block ends without error it
    replaces ``path`` in one rename, so no reader (and no interrupted run) ever sees half a file.

    The temporary name keeps the suffix (``np.save`` and Keras look at it) and starts with a dot.
    On any exception, Ctrl-C included, the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial{path.suffix}")
    try:
        yield tmp
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_csv(path: str | os.PathLike, frame, **to_csv: Any) -> Path:
    """Write a pandas ``frame`` as CSV (``to_csv`` keywords passed on), atomically."""
    path = Path(path)
    with atomic(path) as tmp:
        frame.to_csv(tmp, **to_csv)
    return path


def write_npy(path: str | os.PathLike, array) -> Path:
    """Write ``array`` as ``.npy``, atomically."""
    import numpy as np

    path = Path(path)
    with atomic(path) as tmp:
        np.save(tmp, array)
    return path


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (NumPy scalars and arrays converted), atomically; returns
    the path."""
    path = Path(path)
    with atomic(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=_json_default, allow_nan=True) + "\n")
    return path


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, (_dt.datetime, _dt.date)):
        return o.isoformat()
    raise TypeError(f"cannot write {type(o).__name__} to JSON")
