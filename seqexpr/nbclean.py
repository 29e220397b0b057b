"""Strip what running a notebook adds, so ``notebooks/`` stays the template the pipeline runs:
``python -m seqexpr.nbclean notebooks/*.ipynb``.

Running cells in JupyterLab saves outputs, execution counts and the kernel's metadata into a
notebook. ``clean`` removes them (and papermill's metadata) and puts back the project's kernel.
With file names the command cleans them in place; without, it reads a notebook on stdin and
writes the cleaned one to stdout: the git ``clean`` filter that ``make venv`` sets up for
``notebooks/*.ipynb`` (``.gitattributes``), so that outputs never reach a commit.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# The kernel `make lab` installs: the project's .venv.
KERNELSPEC = {"display_name": "seqexpr (.venv)", "language": "python", "name": "seqexpr"}
CELL_KEYS = ("execution", "papermill", "scrolled", "collapsed")  # added by running or viewing
NOTEBOOK_KEYS = ("papermill", "widgets")


def clean(nb: dict) -> dict:
    """Remove outputs, execution counts and run metadata from ``nb`` (a v4 notebook as a dict
    or NotebookNode, changed in place and returned); cell sources and tags are kept."""
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        for key in CELL_KEYS:
            cell.get("metadata", {}).pop(key, None)
    for key in NOTEBOOK_KEYS:
        nb["metadata"].pop(key, None)
    nb["metadata"]["kernelspec"] = dict(KERNELSPEC)
    nb["metadata"]["language_info"] = {"name": "python"}
    return nb


def clean_text(text: str) -> str:
    """``clean`` on a notebook's JSON text, written as nbformat writes notebooks (plain
    ``json``: a git filter runs on every ``git status`` and must start fast)."""
    nb = clean(json.loads(text))
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="*", help="notebooks to clean in place (none: a filter "
                    "from stdin to stdout)")
    args = ap.parse_args(argv)
    if not args.notebooks:
        sys.stdout.write(clean_text(sys.stdin.read()))
        return 0
    for name in args.notebooks:
        path = Path(name)
        text = path.read_text(encoding="utf-8")
        cleaned = clean_text(text)
        if cleaned != text:
            path.write_text(cleaned, encoding="utf-8")
            print(f"cleaned {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
