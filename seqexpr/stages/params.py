"""Notebook parameters, declared once: in each notebook's cell tagged ``parameters``.

The CLI, the pipeline, the notebook tests and the stages all read that cell through
``declared``; ``PRESETS`` and the command-line map live here too, so that a new parameter is
one new line in one notebook. Besides the standard library it imports only
``seqexpr.runfolder`` and ``seqexpr.patterns.taxa`` (both light): the CLI imports it before
deciding whether TensorFlow is needed.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from seqexpr.patterns.taxa import tax_group_for
from seqexpr.runfolder import STAGE_FILES, project_root

NOTEBOOKS = tuple(STAGE_FILES)  # "01_load" ... "07_variants", in pipeline order
# Run only when asked (`run --with 07_variants`, or `--only` on a finished run folder): using
# the model (saturation maps, design) is a step beyond the analysis every run reports.
OPTIONAL = ("07_variants",)
DEFAULT_RUN = tuple(n for n in NOTEBOOKS if n not in OPTIONAL)
# parameters (besides the inputs) that name a file or folder: `-p variants_file v.csv`
PATH_PARAMETERS = ("variants_file", "model")

# Parameter sets that trade accuracy for speed. "quick" is for tests and smoke runs on a
# small demo (a few hundred sequences): every notebook finishes in well under a minute.
PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "quick": {
        # 02_explore
        "kmer_sizes": [4, 5],
        "top_kmers": 15,
        "max_points": 5000,
        # 04_model
        "n_seeds": 2,
        "deep_models": ["se_cnn"],
        "epochs": 4,
        "batch_size": 64,
        "filters": 16,
        "patience": 2,
        "ema": 0.9,
        "min_steps": 0,
        "baselines": ["ridge_kmer", "gbm_kmer"],
        "kmer_ks": [1, 2, 3, 4],
        "gbm_features": 200,
        "verbose": 0,
        # 05_evaluate
        "n_bootstrap": 200,
        # 06_patterns
        "n_sequences": 100,
        "n_check": 20,
        "ig_steps": 4,
        "ig_background": 2,
        "n_background": 30,
        "profile_step": 20,
        "n_logos": 2,
        "max_motifs": 5,
        "top_motifs": 5,
        "min_seqlets": 10,
        "n_pairs": 1,
        # 07_variants
        "n_saturation": 1,
        "n_truth": 60,
        "design_starts": 1,
        "design_steps": 2,
        "design_beam": 2,
        "max_candidates": 100,
    },
}


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


@lru_cache(maxsize=None)
def _declared(path: str) -> tuple[tuple[str, Any], ...]:
    if not Path(path).is_file():
        raise FileNotFoundError(f"no notebook {path}: the parameters live in the checkout's "
                                "notebooks/ (run from a clone of seqexpr)")
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{path}: expected one cell tagged 'parameters', found {len(cells)}")
    source = "".join(cells[0]["source"])
    try:
        body = ast.parse(source).body
    except SyntaxError as exc:
        raise ValueError(f"{path}, parameters cell line {exc.lineno}: not plain Python "
                         "(no magics or shell lines in the parameters cell)") from None
    out = []
    for node in body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            raise ValueError(f"{path}, parameters cell line {node.lineno}: only `name = value` "
                             "assignments belong in the parameters cell")
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            raise ValueError(f"{path}, parameters cell line {node.lineno}: the value of "
                             f"{node.targets[0].id!r} must be a literal (number, string, list, "
                             "dict, True/False/None)") from None
        out.append((node.targets[0].id, value))
    return tuple(out)


def declared(name: str, directory: str | Path | None = None) -> dict[str, Any]:
    """The parameters notebook ``name`` declares, with their default values, in cell order
    (from ``directory``, by default the checkout's ``notebooks/``)."""
    path = str(Path(directory or notebooks_dir()) / f"{name}.ipynb")
    return copy.deepcopy(dict(_declared(path)))  # callers may change the lists they get


def defaults(name: str, **given: Any) -> dict[str, Any]:
    """The notebook's defaults with ``given`` applied; an undeclared name is an error (a typo
    would otherwise be ignored)."""
    known = declared(name)
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise TypeError(f"{name} has no parameter {', '.join(map(repr, unknown))}; "
                        f"it declares {', '.join(known)}")
    return {**known, **given}


def from_namespace(namespace: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The values the notebook's parameters cell defined (or papermill injected): the
    notebook's ``globals()`` restricted to its stage's parameters.

    The names come from ``seqexpr.stages.<stage>.run``'s keywords (equal to the cell's names,
    in order: a test checks it), so a kernel need not find the notebook file itself.
    """
    stage = importlib.import_module(f"seqexpr.stages.{name.split('_', 1)[1]}")
    out = {k: namespace[k] for k in inspect.signature(stage.run).parameters}
    shadowed = [k for k, v in out.items() if callable(v) or type(v).__name__ == "module"]
    if shadowed:
        raise TypeError(f"{name}: the parameter(s) {', '.join(shadowed)} were overwritten by an "
                        "import or a function of the same name; import it under another name")
    return out


def for_notebook(name: str, parameters: Mapping[str, Any],
                 directory: str | Path | None = None) -> dict[str, Any]:
    """The subset of a flat run-wide dictionary that notebook ``name`` declares."""
    known = declared(name, directory)
    return {k: v for k, v in parameters.items() if k in known}


def undeclared(parameters: Mapping[str, Any], names=NOTEBOOKS) -> list[str]:
    """Keys that no notebook in ``names`` declares (``run_dir`` is always known)."""
    known = {"run_dir"}.union(*(declared(n) for n in names))
    return sorted(set(parameters) - known)


def value(text: str) -> Any:
    """A command-line value: JSON when it parses (numbers, lists, null, true), else the
    plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def run_parameters(*, target, fasta=None, expression=None, table=None, ground_truth=None,
                   extra=(), **columns: Any) -> dict[str, Any]:
    """The notebook parameters of one run, from the command line (or the notebook tests).

    The input paths stay an explicit None when not given: 01's own defaults point at the demo
    files, which must never leak into a run on real data. ``columns`` are 01's other inputs
    (``id_column``, ``rna``, ...), ``seed`` and 06's ``organism`` (checked here, so that a
    misspelt one fails before any stage runs); ``extra`` are ``(name, value)`` pairs that
    override anything.
    """
    if not table and not (fasta and expression):
        raise ValueError("give fasta and expression, or table")
    if table and (fasta or expression):
        raise ValueError("give either table or fasta/expression, not both")
    absolute = lambda p: str(Path(p).resolve()) if p else None  # noqa: E731
    targets = [target] if isinstance(target, str) else list(target)
    params = {
        "fasta": absolute(fasta), "expression": absolute(expression), "table": absolute(table),
        "ground_truth": absolute(ground_truth),
        "target": targets[0] if len(targets) == 1 else targets,
        "demo_if_missing": False,
        **{k: v for k, v in columns.items() if v is not None},
    }
    params.update(extra)
    for key in PATH_PARAMETERS:  # notebooks run in notebooks/: paths given here are made absolute
        if isinstance(params.get(key), str) and params[key] != "auto":
            params[key] = absolute(params[key])
    unknown = undeclared(params)
    if unknown:
        raise TypeError(f"no notebook declares {', '.join(map(repr, unknown))}; see the "
                        "parameters cells of notebooks/*.ipynb for the names")
    if "organism" in params:
        tax_group_for(params["organism"])  # raises ValueError naming the choices
    return params
