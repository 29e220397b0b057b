"""The run folder: the only interface between notebooks.

Each stage reads what earlier stages wrote in one folder and adds its own files. The file
names live here, once; docs/run_folder.md describes each file's columns and keys.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from seqexpr.jsonio import atomic, read_json, write_csv, write_json, write_npy

# -- file names (relative to the run folder) ---------------------------------------------
MANIFEST = "manifest.json"
SEQUENCES = "sequences.parquet"  # 01_load: id, sequence, length, targets, carried columns
LOAD_INFO = "load.json"  # 01_load: targets, replicate/group/split columns, counts
DROPPED = "dropped.csv"  # 01_load: id, source, line, reason, detail
PROBLEMS = "problems.csv"  # 01_load, when it refuses: id, source, line, reason, detail, policy
GROUND_TRUTH = "ground_truth.json"  # 01_load copies the demo's ground truth here, if given
GROUND_TRUTH_SITES = "ground_truth_sites.csv"  # its sites, unless it names another file
EXPLORE_INFO = "explore.json"  # 02_explore: summary figures and the suggested transform
KMER_ASSOC = "kmer_associations.csv"  # 02_explore: k-mer, k, effect, p, q
ONEHOT = "onehot.npy"  # 03_encode: (n, L, 4) uint8, rows in sequences.parquet order
MASK = "mask.npy"  # 03_encode: (n, L) uint8, 1 = real base, 0 = padding or flank
TARGETS = "targets.npy"  # 03_encode: (n, T) float32, on the modelled (transformed) scale
ENCODING = "encoding.json"  # 03_encode: length, padding, unknown, flanks, target transform
SPLITS = "splits.csv"  # 03_encode: id, split, cluster, has_relative_in_train
SPLIT_REPORT = "split_report.json"  # 03_encode: method, seed, counts, leakage audit
MODELS_DIR = "models"  # 04_model: one folder per saved model
PREDICTIONS = "predictions.csv"  # 04_model: id, split, target, observed, one column per model
METRICS = "metrics.json"  # 04_model writes "test"; 05_evaluate adds "evaluation"
HISTORY = "history.csv"  # 04_model: model, seed, epoch, loss, val_loss, lr
EVALUATION = "evaluation.csv"  # 05_evaluate: one row per model (and group) with intervals
ATTRIBUTIONS = "attributions.npz"  # 06_patterns
MOTIFS = "motifs.tsv"  # 06_patterns: one row per discovered motif
POSITION_EFFECTS = "position_effects.csv"  # 06_patterns, aligned libraries: position x base
SATURATION = "saturation.csv"  # 07_variants: every single-base change of the mapped sequences
EFFECTS = "effects.csv"  # 07_variants, given a variants file: one row per variant and target
VARIANT_TRUTH = "variant_truth.csv"  # 07_variants, demo: predicted against true effects
DESIGNS = "designs.csv"  # 07_variants: one row per design
DESIGNS_FASTA = "designs.fa"  # 07_variants: the designed sequences
DESIGN_TRAJECTORIES = "design_trajectories.csv"  # 07_variants: each design's path, step by step
VARIANTS_INFO = "variants.json"  # 07_variants: model, truth agreement, design settings

# The files each stage writes, stages in pipeline order. ``models/`` is not listed: 04 reuses a
# saved model only when its training-data fingerprint matches, so it is a safe cache to keep.
STAGE_FILES = {
    "01_load": (SEQUENCES, LOAD_INFO, DROPPED, PROBLEMS, GROUND_TRUTH),
    "02_explore": (EXPLORE_INFO, KMER_ASSOC),
    "03_encode": (ONEHOT, MASK, TARGETS, ENCODING, SPLITS, SPLIT_REPORT),
    "04_model": (PREDICTIONS, METRICS, HISTORY),
    "05_evaluate": (EVALUATION,),
    "06_patterns": (ATTRIBUTIONS, MOTIFS, POSITION_EFFECTS),
    "07_variants": (SATURATION, EFFECTS, VARIANT_TRUTH, DESIGNS, DESIGNS_FASTA,
                    DESIGN_TRAJECTORIES, VARIANTS_INFO),
}
# 01_load's files, which every later stage reads: a run folder without them is not one yet.
LOADED = (SEQUENCES, LOAD_INFO)
# The earlier stages whose files each stage reads.
STAGE_READS = {
    "01_load": (),
    "02_explore": ("01_load",),
    "03_encode": ("01_load", "02_explore"),
    "04_model": ("01_load", "03_encode"),
    "05_evaluate": ("01_load", "02_explore", "03_encode", "04_model"),
    "06_patterns": ("01_load", "03_encode", "04_model"),
    "07_variants": ("01_load", "03_encode", "04_model", "06_patterns"),
}


def downstream(stage: str) -> list[str]:
    """The stages that read, directly or through others, what ``stage`` writes."""
    if stage not in STAGE_FILES:
        raise ValueError(f"unknown stage {stage!r}; stages are {list(STAGE_FILES)}")
    found: list[str] = []
    for name, reads in STAGE_READS.items():  # pipeline order: a reader comes after its inputs
        if stage in reads or any(r in found for r in reads):
            found.append(name)
    return found


def project_root() -> Path:
    """The checkout's root (the folder holding pyproject.toml), or the working directory."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def run_path(run_dir: str | os.PathLike, name: str = "") -> Path:
    """Absolute path of ``name`` inside ``run_dir``."""
    return (Path(run_dir) / name).resolve() if name else Path(run_dir).resolve()


def require(run_dir: str | os.PathLike, *names: str, stage: str = "an earlier notebook") -> None:
    """Fail with a clear message if a file an earlier stage should have written is missing."""
    missing = [n for n in names if not (Path(run_dir) / n).exists()]
    if missing:
        raise FileNotFoundError(
            f"run folder {Path(run_dir).resolve()} lacks {', '.join(missing)}: run {stage} "
            "on this folder first (or `python -m seqexpr run`, which runs every stage in order)."
        )


def read_sequences(run_dir: str | os.PathLike, *, columns=None, batch: int = 8192):
    """``sequences.parquet`` as a DataFrame of its other ``columns`` (None: all but the
    sequence), and the sequences as one list of str, read ``batch`` rows at a time: no second
    full copy of them is held.

    The sequences are read last, after every other column, so that their strings sit together
    in memory: deleting the list then gives the memory back (04 does, after its baselines).
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = run_path(run_dir, SEQUENCES)
    seqs: list[str] = []
    with pq.ParquetFile(path) as parquet:
        if columns is None:
            columns = [c for c in parquet.schema_arrow.names if c != "sequence"]
        table = pd.read_parquet(path, columns=list(columns))
        for part in parquet.iter_batches(batch_size=batch, columns=["sequence"]):
            seqs.extend(part.column(0).to_pylist())
    pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed pages otherwise
    return table, seqs


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# -- manifest ------------------------------------------------------------------------------
_PACKAGES = (
    "seqexpr numpy pandas pyarrow scipy biopython scikit-learn matplotlib seaborn tensorflow "
    "keras papermill nbconvert pyjaspar logomaker memelite"
).split()


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages whose behaviour shapes a result."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(root: str | os.PathLike | None = None) -> str | None:
    """The checkout's commit (with ``-dirty`` when there are uncommitted changes), if any."""
    root = Path(root) if root else project_root()
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        if not sha:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, timeout=10,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


# Keys every manifest seqexpr writes starts with: a manifest.json without them is not ours.
MANIFEST_KEYS = ("created", "packages")


def read_manifest(run_dir: str | os.PathLike) -> dict:
    """The run's manifest.json, or ``{}`` when the folder has none yet.

    Raises
    ------
    ValueError
        When the folder holds a ``manifest.json`` that seqexpr did not write (not JSON, or
        without the keys every manifest starts with): the folder is not a run folder.
    """
    path = Path(run_dir) / MANIFEST
    if not path.exists():
        return {}
    try:
        manifest = read_json(path)
        why = f"it lacks the keys {', '.join(MANIFEST_KEYS)} that seqexpr writes first"
    except (OSError, ValueError) as exc:  # not a file, not text, not JSON
        manifest, why = None, f"it cannot be read as JSON: {exc}"
    if isinstance(manifest, dict) and all(k in manifest for k in MANIFEST_KEYS):
        return manifest
    raise ValueError(
        f"{path.resolve()} is not a manifest seqexpr wrote ({why}), so {path.parent.resolve()} "
        "is not a run folder and seqexpr will not write into it. Choose another run folder "
        "(--out, or run_dir in a notebook), or move that file away if the folder is yours.")


def update_manifest(run_dir: str | os.PathLike, **fields: Any) -> dict:
    """Merge ``fields`` into the run's manifest.json (nested dicts are merged, not replaced)."""
    manifest = read_manifest(run_dir)
    if not manifest:
        manifest.update(
            created=now(), seqexpr_version=package_versions()["seqexpr"],
            git_commit=git_commit(), packages=package_versions(),
            keras_backend=os.environ.get("KERAS_BACKEND", "tensorflow"),
        )
    _merge(manifest, fields)
    write_json(Path(run_dir) / MANIFEST, manifest)
    return manifest


def _merge(into: dict, new: dict) -> None:
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v


def invalidate_after(run_dir: str | os.PathLike, stage: str) -> list[str]:
    """Remove what the stages downstream of ``stage`` wrote (their files, executed notebooks
    and reports) and their manifest entries: ``stage`` is about to change their inputs, and a
    run folder must never mix the outputs of two runs. Returns the names removed."""
    later = downstream(stage)
    run = Path(run_dir)
    removed = []
    for name in later:
        for f in (*STAGE_FILES[name], f"{name}.ipynb", f"{name}.html"):
            if (run / f).is_file():
                (run / f).unlink()
                removed.append(f)
    manifest = read_manifest(run)
    stages = manifest.get("stages", {})
    if any(name in stages for name in later):
        manifest["stages"] = {k: v for k, v in stages.items() if k not in later}
        write_json(run / MANIFEST, manifest)
    return removed


def check_run_dir(run_dir: str | os.PathLike, stage: str) -> None:
    """Refuse a ``run_dir`` that ``stage`` cannot work on, before anything is written there.

    01_load may create its folder; a later stage needs an existing run folder that 01_load
    filled (a typo in ``run_dir`` must not leave a new folder with a manifest behind).

    Raises
    ------
    FileNotFoundError, NotADirectoryError, ValueError
        Naming the folder and what to do instead.
    """
    run = Path(run_dir).resolve()
    if run.exists() and not run.is_dir():
        raise NotADirectoryError(f"run folder {run} is a file; give the folder of the run, "
                                 "e.g. reports/NAME")
    read_manifest(run)  # refuses a folder whose manifest.json is someone else's
    if not STAGE_READS.get(stage):
        return
    if not run.is_dir():
        raise FileNotFoundError(
            f"run folder {run} does not exist, and {stage} works on a folder that 01_load "
            "filled: check the path (a typo in run_dir or --out?), or run 01_load on it first.")
    require(run, *LOADED, stage="01_load")


def record_stage(run_dir: str | os.PathLike, stage: str, parameters: dict, **extra: Any) -> None:
    """Record a stage's parameters in the manifest before it computes (so a failed stage is
    recorded too), after checking ``run_dir`` (``check_run_dir``) and removing what later
    stages wrote (``invalidate_after``). Each ``seqexpr.stages`` module calls it first thing
    in ``run``."""
    check_run_dir(run_dir, stage)
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    invalidate_after(run_dir, stage)
    update_manifest(
        run_dir, stages={stage: {"parameters": dict(parameters), "recorded": now(), **extra}}
    )
