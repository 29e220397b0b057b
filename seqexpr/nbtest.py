"""Prepare the notebooks for nbval on a small demo: ``python -m seqexpr.nbtest build/nbval``.

nbval executes notebooks as they are, so this writes copies of ``notebooks/NN_*.ipynb`` into
the given folder with the small demo's paths and the ``quick`` preset injected by papermill
(without executing them). ``pytest --nbval-lax build/nbval`` then runs them in order, each
on the run folder the previous one filled. The committed notebooks stay untouched.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from seqexpr import pipeline

SMALL_DEMO = {"n": 600, "length": 200, "seed": 0}


def prepare(out: str | Path, *, n: int = SMALL_DEMO["n"], seed: int = 0) -> list[Path]:
    """Write the small demo and parameterized notebook copies into ``out``; return the copies."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from seqexpr import demo

    out = Path(out).resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    paths = demo.write_demo(out / "data", n=n, length=SMALL_DEMO["length"], seed=seed)
    params = {
        **pipeline.PRESETS["quick"],
        "run_dir": str(out / "run"),
        "fasta": str(Path(paths["fasta"]).resolve()),
        "expression": str(Path(paths["expression"]).resolve()),
        "ground_truth": str(Path(paths["ground_truth"]).resolve()),
        "target": "expression",
        "id_column": "id",
        "seed": seed,
        "demo_if_missing": False,
    }
    written = []
    for name in pipeline.NOTEBOOKS:
        src = pipeline.notebooks_dir() / f"{name}.ipynb"
        if not src.exists():
            continue
        nb = load_notebook_node(str(src))  # papermill's reader gives every cell its tags
        nb = parameterize_notebook(nb, pipeline.parameters_for(src, params))
        dst = out / f"{name}.ipynb"
        nbformat.write(nb, str(dst))
        written.append(dst)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", help="folder for the small demo and the notebook copies")
    ap.add_argument("--n", type=int, default=SMALL_DEMO["n"], help="demo size")
    args = ap.parse_args(argv)
    written = prepare(args.out, n=args.n)
    print(f"nbval: {len(written)} notebooks prepared in {Path(args.out).resolve()} "
          f"on a {args.n}-sequence demo")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
