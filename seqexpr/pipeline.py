"""Run the numbered notebooks in order with papermill and turn each into an HTML report.

Each notebook declares its own parameters (a cell tagged ``parameters``, read by
``seqexpr.stages.params``); the pipeline passes each one only the parameters it declares, so one
flat dictionary (``run_dir``, ``seed``, ``fasta``, ``epochs``, ...) serves the whole run.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, TextIO

from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpec

from seqexpr import runfolder
from seqexpr.stages import params as stage_params
from seqexpr.stages.params import DEFAULT_RUN, PRESETS


class PipelineError(RuntimeError):
    """A notebook failed; the message names the notebook, the cell and the error."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run during ``stage`` (recorded as ``interrupted`` in the manifest)."""

    def __init__(self, stage: str):
        super().__init__(stage)
        self.stage = stage


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
    notebooks: Iterable[str] = DEFAULT_RUN,
    preset: str = "default",
    source_dir: str | Path | None = None,
    progress: bool = True,
    command: str | None = None,
    no_input: bool = False,
) -> list[StageResult]:
    """Execute ``notebooks`` in order on one run folder, writing NN.ipynb and NN.html for each.

    The notebooks run on a kernel of this Python (``RunKernel``), whatever kernel their
    metadata names, so they see the packages the manifest records.

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
        Where the notebooks live; ``notebooks/`` of the checkout by default. Their outputs and
        metadata do not matter: papermill clears the outputs before running.
    progress : bool
        Print a line per stage and pass the notebooks' stderr (training epochs, progress bars)
        through to this process's stderr, indented.
    no_input : bool
        Reports without code cells (markdown, outputs and figures only), for sharing.

    Raises
    ------
    PipelineError
        When a notebook fails. Its executed notebook and partial HTML are still written.
    Interrupted
        On Ctrl-C; the manifest records the stage as ``interrupted``.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    out = Path(out).resolve()
    check_out(out, parameters)
    source_dir = Path(source_dir) if source_dir else stage_params.notebooks_dir()
    names = list(notebooks)
    missing = [n for n in names if not (source_dir / f"{n}.ipynb").exists()]
    if missing:
        raise FileNotFoundError(f"no notebook {', '.join(missing)} in {source_dir}")
    if names:  # e.g. `--only 04_model` on a new folder: say so before creating it
        runfolder.check_run_dir(out, names[0])
    out.mkdir(parents=True, exist_ok=True)

    merged = {**PRESETS[preset], **parameters, "run_dir": str(out)}
    started = time.time()
    runfolder.update_manifest(
        out,
        pipeline={
            "command": command or " ".join(sys.argv),
            "preset": preset,
            "parameters": merged,
            "notebooks": names,
            "no_input": no_input,
            "started": runfolder.now(),
            "status": "running",
        },
    )
    results: list[StageResult] = []
    with tempfile.TemporaryDirectory(prefix="seqexpr-kernel-") as sockets:
        for i, name in enumerate(names, 1):
            src = source_dir / f"{name}.ipynb"
            dst = out / f"{name}.ipynb"
            html = out / f"{name}.html"
            params = stage_params.for_notebook(name, merged, source_dir)
            if progress:
                print(f"[{i}/{len(names)}] {name}: running …", flush=True)
            t0 = time.time()
            runfolder.update_manifest(out, stages={name: {
                "parameters": params, "started": runfolder.now(), "finished": None,
                "duration_s": None, "status": "running"}})
            try:
                error = execute(src, dst, params, cwd=source_dir, sockets=sockets,
                                stderr=_Indented(sys.stderr) if progress else None)
            except KeyboardInterrupt:
                _finish(out, name, t0, started, "interrupted")
                if dst.exists():  # the cells that ran, in place of an earlier run's report
                    write_html(dst, html, no_input=no_input)
                raise Interrupted(name) from None
            seconds, status = time.time() - t0, "failed" if error else "ok"
            if dst.exists():
                write_html(dst, html, no_input=no_input)
            _finish(out, name, t0, started, status)
            results.append(StageResult(name, dst, html, seconds, status))
            if error is not None:
                raise PipelineError(_describe_failure(name, error, dst, html)) from None
            if progress:
                print(f"[{i}/{len(names)}] {name}: done in {seconds:.1f} s -> {html}", flush=True)
                summary = SUMMARIES.get(name)
                line = summary(out) if summary else None
                if line:
                    print(f"[{i}/{len(names)}] {name}: {line}", flush=True)
    runfolder.update_manifest(out, pipeline={
        "status": "ok", "finished": runfolder.now(), "duration_s": round(time.time() - started, 2)})
    return results


def _finish(out: Path, name: str, t0: float, started: float, status: str) -> None:
    """Record how ``name`` ended; a stage that did not end ``ok`` ends the run too."""
    ended = {"pipeline": {"status": f"{status} in {name}", "finished": runfolder.now(),
                          "duration_s": round(time.time() - started, 2)}} if status != "ok" else {}
    runfolder.update_manifest(out, stages={name: {
        "finished": runfolder.now(), "duration_s": round(time.time() - t0, 2), "status": status}},
        **ended)


def execute(src: Path, dst: Path, params: dict, *, cwd: Path, sockets: str,
            stderr: TextIO | None = None) -> Exception | None:
    """Run one notebook with papermill on a ``RunKernel``; return the error that stopped it
    (a failing cell, a dead kernel), or None.

    ``sockets`` is a private folder for the kernel's IPC sockets; ``stderr`` receives what the
    notebook writes to its stderr, as it comes.
    """
    import papermill
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError
    from traitlets.config import Config

    config = Config()
    if os.name == "posix":  # local sockets: no TCP ports, nothing sent in plain text
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(Path(sockets) / "kernel")
    try:
        papermill.execute_notebook(
            str(src), str(dst), parameters=params, cwd=str(cwd),
            kernel_name="python3",  # a name papermill needs; RunKernel starts this Python
            progress_bar=False, log_output=False, stderr_file=stderr,
            kernel_manager_class=RunKernel, config=config)
    except (PapermillExecutionError, DeadKernelError) as exc:
        return exc
    return None


class RunKernel(AsyncKernelManager):
    """The kernel the pipeline runs notebooks on: this Python, whatever kernel a notebook's
    metadata names (a ``python3`` kernelspec installed elsewhere could be another
    environment), shut down without the interrupt jupyter_client sends first (the idle kernel
    would log "KeyboardInterrupt caught in kernel" on the terminal)."""

    @property
    def kernel_spec(self) -> KernelSpec:
        if self._kernel_spec is None:
            from ipykernel.kernelspec import get_kernel_dict

            self._kernel_spec = KernelSpec(resource_dir="", **get_kernel_dict())
        return self._kernel_spec

    async def _async_interrupt_kernel(self) -> None:
        if not self.shutting_down:  # shutdown asks the kernel to stop; no SIGINT needed
            await super()._async_interrupt_kernel()


# "/path/io.py:131: UserWarning: message" and the echoed source line after it
_WARNING = re.compile(r"^\S+\.py:\d+: (\w*Warning): ([^\n]*)\n(?:[ \t]+[^\n]*(?:\n|$))?", re.M)


class _Indented:
    """Writes a notebook's stderr (epoch lines, progress bars, warnings) to ``stream``, each
    line indented under the stage's line; carriage-return redraws stay redraws, and a Python
    warning is shortened to ``warning: message`` (the HTML keeps it whole)."""

    def __init__(self, stream: TextIO, indent: str = "      "):
        self.stream, self.indent, self.at_start = stream, indent, True

    def write(self, text: str) -> None:
        text = _WARNING.sub(lambda m: f"{'warning' if m[1] == 'UserWarning' else m[1]}: "
                            f"{m[2]}\n", text)
        pieces = []
        for piece in re.split(r"([\r\n])", text):
            if piece in ("\r", "\n"):
                self.at_start = True
            elif piece and self.at_start:
                pieces.append(self.indent)
                self.at_start = False
            pieces.append(piece)
        self.stream.write("".join(pieces))
        self.stream.flush()

    def flush(self) -> None:
        self.stream.flush()


def load_summary(run_dir: str | Path) -> str | None:
    """One line of 01_load's counts (``load.json`` ``counts``: kept, dropped per reason)."""
    path = Path(run_dir) / runfolder.LOAD_INFO
    counts = runfolder.read_json(path).get("counts", {}) if path.exists() else {}
    if not isinstance(counts.get("kept"), int):
        return None
    dropped = counts.get("dropped") or {}
    total = counts["kept"] + sum(dropped.values())
    line = f"kept {counts['kept']:,} of {total:,} records; "
    if not dropped:
        return line + "nothing dropped"
    reasons = sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0]))
    return (line + "dropped " + ", ".join(f"{n:,} {reason}" for reason, n in reasons)
            + f" (see {runfolder.DROPPED})")


SUMMARIES = {"01_load": load_summary}  # a line printed after a stage, from its files


INPUT_PARAMETERS = ("fasta", "expression", "table", "ground_truth")


def check_out(out: Path, parameters: dict[str, Any]) -> None:
    """Refuse a run folder that could overwrite the user's files.

    ``out`` must be a new or empty folder, or a run folder of an earlier run (it holds a
    ``manifest.json`` that seqexpr wrote); and no input may sit where a stage writes.

    Raises
    ------
    ValueError
        Naming the folder or file at risk and what to do instead.
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder for the run, e.g. reports/NAME")
    if (out / runfolder.MANIFEST).exists():
        runfolder.read_manifest(out)  # refuses a manifest.json seqexpr did not write
    elif out.is_dir():
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
    # a refusal of the input is the message itself; anything else is located in the notebook
    what = (f"{name} refused the input: {evalue}" if ename == "InputError" else
            f"notebook {name} failed in {where}{first}: {ename}: {evalue}")
    return f"{what}\n  executed notebook: {notebook}\n  partial report:    {html}"


def write_html(notebook: str | Path, html: str | Path, *, no_input: bool = False) -> Path:
    """Convert an executed notebook into a self-contained HTML report (images embedded);
    ``no_input`` leaves the code cells out (markdown, outputs and figures stay)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if "outputs" in cell:
            cell.outputs = _tidy_streams(cell.outputs)
    exporter = HTMLExporter(exclude_input=no_input, exclude_input_prompt=no_input,
                            exclude_output_prompt=no_input)
    body, _ = exporter.from_notebook_node(nb)
    with runfolder.atomic(html) as tmp:
        tmp.write_text(body, encoding="utf-8")
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
