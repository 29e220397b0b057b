"""Prepare the notebooks for nbval on a small demo: ``python -m seqexpr.nbtest build/nbval``.

nbval executes notebooks as they are, so this writes copies of ``notebooks/NN_*.ipynb`` into
the given folder, cleaned of any outputs (``seqexpr.nbclean``), with the small demo's paths and
the ``quick`` preset injected by papermill (without executing them). ``pytest --nbval-lax
--nbval-current-env build/nbval`` then runs them in order on this Python, each on the run
folder the previous one filled. The committed notebooks stay untouched.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from seqexpr import nbclean
from seqexpr.stages import params as stage_params

SMALL_DEMO_N = 600  # sequences of the small demo the notebooks are tested on


def prepare(out: str | Path, *, n: int = SMALL_DEMO_N, seed: int = 0) -> list[Path]:
    """Write the small demo and parameterized notebook copies into ``out``; return the copies."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from seqexpr import demo

    out = Path(out).resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    paths = demo.write_demo(out / "data", n=n, seed=seed)
    params = {
        **stage_params.PRESETS["quick"],
        **stage_params.run_parameters(fasta=paths["fasta"], expression=paths["expression"],
                                      ground_truth=paths["ground_truth"], target="expression",
                                      id_column="id", seed=seed),
        "run_dir": str(out / "run"),
    }
    written = []
    for name in stage_params.NOTEBOOKS:
        src = stage_params.notebooks_dir() / f"{name}.ipynb"
        if not src.exists():
            continue
        dst = out / f"{name}.ipynb"
        dst.write_text(nbclean.clean_text(src.read_text(encoding="utf-8")), encoding="utf-8")
        nb = load_notebook_node(str(dst))  # papermill's reader gives every cell its tags
        nb = parameterize_notebook(nb, stage_params.for_notebook(name, params))
        nbformat.write(nb, str(dst))
        written.append(dst)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", help="folder for the small demo and the notebook copies")
    ap.add_argument("--n", type=int, default=SMALL_DEMO_N, help="demo size")
    args = ap.parse_args(argv)
    written = prepare(args.out, n=args.n)
    print(f"nbval: {len(written)} notebooks prepared in {Path(args.out).resolve()} "
          f"on a {args.n}-sequence demo")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
