"""Command line: ``python -m seqexpr {run,predict,variants,design,demo}``.

Examples
--------
python -m seqexpr demo --out data/demo
python -m seqexpr run --fasta data/demo/demo.fa --expression data/demo/demo_expression.csv \\
    --id-column id --target expression --out reports/demo
python -m seqexpr run --table yeast.csv --sequence-column sequence --target expression \\
    --split-column split --out reports/yeast
python -m seqexpr predict --model reports/demo/models/se_cnn --fasta new.fa --out preds.csv
python -m seqexpr variants --model reports/demo/models/se_cnn --pairs pairs.csv --out effects.csv
python -m seqexpr design --model reports/demo/models/se_cnn --fasta starts.fa --out designs
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from seqexpr.stages import params as stage_params


MODEL_HELP = "a model folder, e.g. reports/demo/models/se_cnn (the seed ensemble)"


def build_parser() -> argparse.ArgumentParser:
    try:  # the defaults shown below are the notebooks' own
        load, patterns = (stage_params.declared(n) for n in ("01_load", "06_patterns"))
    except FileNotFoundError:  # installed without the notebooks: `predict` and `demo` still work
        load, patterns = {}, {}
    p = argparse.ArgumentParser(prog="python -m seqexpr", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run the notebooks in order and write HTML reports",
                       description="Run every notebook (load, explore, encode, model, evaluate, "
                       "patterns) on one dataset; reports and files go to --out.")
    src = r.add_argument_group("input (a FASTA plus a table, or one table with sequences)")
    src.add_argument("--fasta", help="FASTA of sequences (plain or .gz)")
    src.add_argument("--expression", help="expression table (CSV, TSV or Parquet) joined on --id-column")
    src.add_argument("--table", help="one table holding ids, sequences and targets")
    src.add_argument("--id-column",
                     help=f"id column of the table (default: {load.get('id_column', 'as 01_load')})")
    src.add_argument("--sequence-column",
                     help="sequence column of --table (default: "
                     f"{load.get('sequence_column', 'as 01_load')})")
    src.add_argument("--target", nargs="+", required=True,
                     help="target column(s); several give a multi-task model")
    src.add_argument("--replicate-columns", nargs="*", default=None,
                     help="replicate measurement columns (default: columns named like *rep*)")
    src.add_argument("--group-column", help="a grouping column (chromosome, library, species)")
    src.add_argument("--split-column", help="a column that fixes train/valid/test or folds")
    src.add_argument("--rna", action="store_true", help="accept U as T")
    src.add_argument("--ground-truth", help="ground_truth.json of a demo dataset")
    r.add_argument("--out", required=True, help="run folder, e.g. reports/NAME")
    r.add_argument("--organism",
                   help="name motifs after this taxon's JASPAR matrices: human, mouse, yeast, "
                   "fly, worm, arabidopsis, a JASPAR group (vertebrates, insects, nematodes, "
                   "plants, fungi, urochordates) or all; for ecoli/bacteria (no JASPAR "
                   "matrices) motifs are left unnamed (default: "
                   f"{patterns.get('organism', 'as 06_patterns')})")
    r.add_argument("--seed", type=int,
                   help="one seed for every stage: demo data, subsamples, the split, the first "
                   "training seed, bootstraps and the sequences explained (default: "
                   f"{load.get('seed', 'as 01_load')})")
    r.add_argument("--preset", default="default", choices=sorted(stage_params.PRESETS),
                   help="quick: tiny models and few sequences, for smoke runs")
    r.add_argument("--only", nargs="+", metavar="NOTEBOOK",
                   help="run only these notebooks (e.g. 01_load 02_explore; 07_variants on a "
                   "finished run folder)")
    r.add_argument("--with", dest="also", nargs="+", default=[], metavar="NOTEBOOK",
                   choices=stage_params.OPTIONAL,
                   help="also run these optional notebooks after the others: 07_variants "
                   "(saturation maps, variant effects, sequence design)")
    r.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   help="any notebook parameter, e.g. -p epochs 20 -p deep_models '[\"cnn\"]'")
    r.add_argument("--no-input", action="store_true",
                   help="reports without code cells (text, tables and figures), for sharing")

    from seqexpr.encode import MAX_UNKNOWN  # numpy only: --help stays quick

    pr = sub.add_parser(
        "predict", help="score new sequences with a saved model folder",
        description="Score every record of --fasta with the model in --model, encoded as in "
        "training. A sequence outside the training data is scored and flagged in the 'flag' "
        "column, which says what was done: length outside the training range (padded, or "
        "trimmed to the model input at the recorded end; for k-mer models, counts outside the "
        "training range) or more than "
        f"{MAX_UNKNOWN * 100:.0f}% N/non-ACGT bases; the terminal gets one line with the "
        "counts. Flagged sequences are scored rather than refused so that one odd record does "
        "not cost the batch and every record keeps its row, its prediction labelled as an "
        "extrapolation; --strict refuses the file instead. An empty record or a non-IUPAC "
        "character always refuses it.")
    pr.add_argument("--model", required=True, help=MODEL_HELP)
    pr.add_argument("--fasta", required=True, help="FASTA of sequences to score")
    pr.add_argument("--out", required=True,
                    help="CSV file to write (id, predictions, flag), in an existing folder")
    pr.add_argument("--strict", action="store_true",
                    help="refuse the file if any sequence is flagged, instead of scoring it")

    v = sub.add_parser(
        "variants", help="predict the effect of sequence changes with a saved model folder",
        description="Score variants: pairs of reference and alternative sequences (--pairs), "
        "or VCF-style edits (--variants: id, position, ref, alt; 1-based, on the + strand) of "
        "the records of --fasta, or every single-base change of each --fasta record "
        "(--saturation). Writes one row per variant and target: ref_pred, alt_pred, delta "
        "(modelled scale), delta_sd (the spread across a seed ensemble's members), the "
        "measured scale where the target transform has an inverse, and a note when the model's "
        "padding or trimming treats the pair specially (a change of length, an edit outside "
        "the model's input).")
    v.add_argument("--model", required=True, help=MODEL_HELP)
    given = v.add_mutually_exclusive_group(required=True)
    given.add_argument("--pairs", help="table of variant_id, ref_sequence, alt_sequence")
    given.add_argument("--variants", help="table of id, position, ref, alt against --fasta")
    given.add_argument("--saturation", action="store_true",
                       help="every single-base change of each --fasta record, with a heatmap "
                       "and a logo per record beside --out")
    v.add_argument("--fasta", help="reference sequences for --variants or --saturation")
    v.add_argument("--out", required=True, help="CSV file to write, in an existing folder")

    g = sub.add_parser(
        "design", help="evolve sequences toward a goal with a saved model folder",
        description="In-silico evolution: from each --fasta record, a beam search over "
        "single-base changes (and insertions of --motif) toward the goal, penalised by the "
        "seeds' disagreement so that designs stay where the model can be trusted. Writes "
        "designs.fa, designs.csv, design_trajectories.csv and design_trajectories.png to --out.")
    g.add_argument("--model", required=True, help=MODEL_HELP)
    g.add_argument("--fasta", required=True, help="starting sequences")
    g.add_argument("--out", required=True, help="folder for the designs")
    g.add_argument("--goal", default="maximize",
                   help="maximize, minimize, or a value to reach on the modelled scale")
    g.add_argument("--target", help="target to design for (default: the model's first)")
    g.add_argument("--designs", type=int, default=1, help="designs per start (at most --beam)")
    g.add_argument("--steps", type=int, default=20, help="most search steps")
    g.add_argument("--beam", type=int, default=4, help="sequences kept per step")
    g.add_argument("--max-edits", type=int, default=10, help="most bases changed per design")
    g.add_argument("--fixed", nargs="+", default=[], metavar="RANGE",
                   help="1-based positions that must not change, e.g. 1-20 181-200")
    g.add_argument("--avoid", nargs="+", default=[], metavar="SITE",
                   help="IUPAC sites no design may hold on either strand, e.g. GAATTC GGTCTC")
    g.add_argument("--gc", nargs=2, type=float, metavar=("MIN", "MAX"),
                   help="G+C fraction range every design must keep")
    g.add_argument("--motif", nargs="+", default=[], metavar="SEQ",
                   help="sites the search may write in one move, e.g. TGACTCA")
    g.add_argument("--disagreement", type=float, default=1.0,
                   help="penalty per unit of the seeds' SD (0: none)")
    g.add_argument("--max-candidates", type=int,
                   help="score at most this many candidates per step (a seeded sample)")
    g.add_argument("--seed", type=int, default=0)

    d = sub.add_parser("demo", help="write the built-in demo dataset")
    d.add_argument("--out", default="data/demo", help="folder (default data/demo)")
    d.add_argument("--n", type=int, default=None,
                   help="number of sequences (default: seqexpr.demo.DEMO_N)")
    d.add_argument("--length", type=int, default=None,
                   help="sequence length in nt (default: seqexpr.demo.DEMO_LENGTH)")
    d.add_argument("--seed", type=int, default=0)
    return p


def run_parameters(args: argparse.Namespace) -> dict:
    """Map ``run`` arguments onto notebook parameters (``stages.params.run_parameters``)."""
    try:
        return stage_params.run_parameters(
            fasta=args.fasta, expression=args.expression, table=args.table,
            ground_truth=args.ground_truth, target=args.target, id_column=args.id_column,
            sequence_column=args.sequence_column, replicate_columns=args.replicate_columns,
            group_column=args.group_column, split_column=args.split_column, rna=args.rna,
            seed=args.seed, organism=args.organism,
            extra=[(k, stage_params.value(v)) for k, v in args.param])
    except (ValueError, TypeError, FileNotFoundError) as exc:
        raise SystemExit(f"seqexpr run: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from seqexpr import demo

        paths = demo.write_demo(args.out, n=args.n, length=args.length, seed=args.seed)
        for key, path in paths.items():
            print(f"{key:>12}: {path}")
        return 0
    if args.command == "predict":
        from seqexpr import scoring

        try:
            scoring.predict_fasta(args.model, args.fasta, args.out, strict=args.strict)
        except (ValueError, OSError) as exc:  # bad input: say what, not a traceback
            print(f"seqexpr predict: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command in ("variants", "design"):
        from seqexpr import use

        try:
            (use.variants_command if args.command == "variants" else use.design_command)(args)
        except (ValueError, OSError) as exc:  # bad input: say what, not a traceback
            print(f"seqexpr {args.command}: {exc}", file=sys.stderr)
            return 1
        return 0
    from seqexpr import pipeline

    params = run_parameters(args)
    command = "python -m seqexpr " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    try:
        results = pipeline.run(params, args.out, preset=args.preset,
                               notebooks=args.only or [*stage_params.DEFAULT_RUN, *args.also],
                               command=command,
                               no_input=args.no_input)
    except (pipeline.PipelineError, ValueError, OSError) as exc:
        print(f"seqexpr run: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:  # Ctrl-C: one line, not papermill's traceback
        during = f" during {exc.stage}" if isinstance(exc, pipeline.Interrupted) else ""
        print(f"seqexpr run: interrupted{during}; the run folder keeps what finished; rerun "
              "the command to continue", file=sys.stderr)
        return 130
    total = sum(r.seconds for r in results)
    print(f"done in {total:.0f} s; reports in {Path(args.out).resolve()}:")
    for r in results:
        print(f"  {r.html.name}  ({r.seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
