"""Run the numbered notebooks in order with papermill and turn each into an HTML report.

Each notebook declares its own parameters (a cell tagged ``parameters``, read by
``seqexpr.stages.params``); the pipeline passes each one only the parameters it declares, so one
flat dictionary (``run_dir``, ``seed``, ``fasta``, ``epochs``, ...) serves the whole run.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from seqexpr import runfolder
from seqexpr.stages import params as stage_params
from seqexpr.stages.params import NOTEBOOKS, PRESETS


class PipelineError(RuntimeError):
    """A notebook failed; the message names the notebook, the cell and the error."""


@dataclass
class StageResult:
    name: str
    notebook: Path
    html: Path
    seconds: float
    status: str


def run(
    parameters: dict[str, Any],
    out: str | Path,
    *,
    notebooks: Iterable[str] = NOTEBOOKS,
    preset: str = "default",
    source_dir: str | Path | None = None,
    kernel_name: str = "python3",
    progress: bool = True,
    command: str | None = None,
) -> list[StageResult]:
    """Execute ``notebooks`` in order on one run folder, writing NN.ipynb and NN.html for each.

    Parameters
    ----------
    parameters : dict
        Flat parameter dictionary; each notebook receives the keys it declares. ``run_dir``
        is set to ``out`` (absolute).
    out : path
        The run folder; created if missing.
    notebooks : iterable of str
        Notebook names (without ``.ipynb``) to run, in order.
    preset : {"default", "quick"}
        Parameter values applied first, then overridden by ``parameters``.
    source_dir : path, optional
        Where the notebooks live; ``notebooks/`` of the checkout by default.

    Raises
    ------
    PipelineError
        When a notebook fails. Its executed notebook and partial HTML are still written.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    out = Path(out).resolve()
    check_out(out, parameters)
    out.mkdir(parents=True, exist_ok=True)
    source_dir = Path(source_dir) if source_dir else stage_params.notebooks_dir()
    names = list(notebooks)
    missing = [n for n in names if not (source_dir / f"{n}.ipynb").exists()]
    if missing:
        raise FileNotFoundError(f"no notebook {', '.join(missing)} in {source_dir}")

    merged = {**PRESETS[preset], **parameters, "run_dir": str(out)}
    started = time.time()
    runfolder.update_manifest(
        out,
        pipeline={
            "command": command or " ".join(sys.argv),
            "preset": preset,
            "parameters": merged,
            "notebooks": names,
            "started": runfolder.now(),
            "status": "running",
        },
    )
    results: list[StageResult] = []
    for i, name in enumerate(names, 1):
        src = source_dir / f"{name}.ipynb"
        dst = out / f"{name}.ipynb"
        html = out / f"{name}.html"
        params = stage_params.for_notebook(name, merged, source_dir)
        if progress:
            print(f"[{i}/{len(names)}] {name}: running …", flush=True)
        t0 = time.time()
        t_start = runfolder.now()
        error: Exception | None = None
        try:
            papermill.execute_notebook(
                str(src), str(dst), parameters=params, cwd=str(source_dir),
                kernel_name=kernel_name, progress_bar=progress, log_output=False,
            )
        except PapermillExecutionError as exc:
            error = exc
        seconds = time.time() - t0
        status = "failed" if error else "ok"
        if dst.exists():
            write_html(dst, html)
        runfolder.update_manifest(
            out,
            stages={name: {"parameters": params, "started": t_start, "finished": runfolder.now(),
                           "duration_s": round(seconds, 2), "status": status}},
        )
        results.append(StageResult(name, dst, html, seconds, status))
        if error is not None:
            runfolder.update_manifest(out, pipeline={
                "status": f"failed in {name}", "finished": runfolder.now(),
                "duration_s": round(time.time() - started, 2)})
            raise PipelineError(_describe_failure(name, error, dst, html)) from None
        if progress:
            print(f"[{i}/{len(names)}] {name}: done in {seconds:.1f} s -> {html}", flush=True)
    runfolder.update_manifest(out, pipeline={
        "status": "ok", "finished": runfolder.now(), "duration_s": round(time.time() - started, 2)})
    return results


INPUT_PARAMETERS = ("fasta", "expression", "table", "ground_truth")


def check_out(out: Path, parameters: dict[str, Any]) -> None:
    """Refuse a run folder that could overwrite the user's files.

    ``out`` must be a new or empty folder, or a run folder of an earlier run (it holds
    ``manifest.json``); and no input may sit where a stage writes.

    Raises
    ------
    ValueError
        Naming the folder or file at risk and what to do instead.
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder for the run, e.g. reports/NAME")
    if out.is_dir() and not (out / runfolder.MANIFEST).exists():
        theirs = sorted(p.name for p in out.iterdir())
        if theirs:
            shown = ", ".join(theirs[:3]) + (f" and {len(theirs) - 3} more" if len(theirs) > 3
                                             else "")
            raise ValueError(
                f"--out {out} already holds files that are not a seqexpr run's ({shown}); a "
                "run writes only into a new or empty folder or an earlier run folder, so that "
                "nothing of yours is overwritten. Give a new folder, e.g. --out reports/NAME.")
    written = {out / name for files in runfolder.STAGE_FILES.values() for name in files}
    written |= {out / runfolder.MANIFEST, out / runfolder.GROUND_TRUTH_SITES}
    for key in INPUT_PARAMETERS:
        path = parameters.get(key)
        if path and (Path(path).resolve() in written
                     or (out / runfolder.MODELS_DIR) in Path(path).resolve().parents):
            raise ValueError(f"the input {key}={path} sits where the run in {out} writes its "
                             "own files and would be overwritten; move it out of the run folder "
                             "or give another --out.")


def _describe_failure(name: str, error: Exception, notebook: Path, html: Path) -> str:
    index = getattr(error, "cell_index", None)
    ename = getattr(error, "ename", type(error).__name__)
    evalue = getattr(error, "evalue", str(error))
    source = (getattr(error, "source", "") or "").strip().splitlines()
    first = f" `{source[0][:80]}`" if source else ""
    where = f"cell {index + 1}" if isinstance(index, int) else "a cell"
    return (
        f"notebook {name} failed in {where}{first}: {ename}: {evalue}\n"
        f"  executed notebook: {notebook}\n  partial report:    {html}"
    )


def write_html(notebook: str | Path, html: str | Path) -> Path:
    """Convert an executed notebook into a self-contained HTML report (images embedded)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if "outputs" in cell:
            cell.outputs = _tidy_streams(cell.outputs)
    exporter = HTMLExporter()
    body, _ = exporter.from_notebook_node(nb)
    Path(html).write_text(body, encoding="utf-8")
    return Path(html)


def _tidy_streams(outputs: list) -> list:
    """Join consecutive outputs of one stream (each progress-bar redraw arrives as its own
    output) and keep only their last state."""
    tidy: list = []
    for out in outputs:
        if (out.get("output_type") == "stream" and tidy
                and tidy[-1].get("output_type") == "stream" and tidy[-1]["name"] == out["name"]):
            tidy[-1]["text"] += out["text"]
        else:
            tidy.append(out)
    for out in tidy:
        if out.get("output_type") == "stream":
            out["text"] = collapse_carriage_returns(out["text"])
    return tidy


def collapse_carriage_returns(text: str) -> str:
    """Keep what a terminal would show: on each line, only the text after its last carriage
    return (progress bars redraw themselves with ``\r``; a report needs only their last state)."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))
