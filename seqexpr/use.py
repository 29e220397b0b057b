"""The commands that use a saved model: ``python -m seqexpr variants`` and ``design``.

Each reads its inputs through :mod:`seqexpr.variant_files` / :mod:`seqexpr.io`, scores with
:mod:`seqexpr.variants` or searches with :mod:`seqexpr.design`, writes its tables and figures,
and prints what it did on the terminal.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from seqexpr import design, variant_files, variants
from seqexpr._checks import InputError
from seqexpr.bundle import load_bundle
from seqexpr.design_rules import parse_goal
from seqexpr.io import read_fasta
from seqexpr.jsonio import atomic, write_csv
from seqexpr.scoring import check_output

MAX_FIGURES = 20  # saturation maps drawn per call; the table holds every record


def variants_command(args) -> pd.DataFrame:
    """``python -m seqexpr variants``: score --pairs, --variants of --fasta, or every single-base
    change of each --fasta record (--saturation); write --out. Returns the effects table."""
    out = check_output(args.out)
    if (args.variants or args.saturation) and not args.fasta:
        raise ValueError(f"--{'variants' if args.variants else 'saturation'} needs --fasta, the "
                         "reference sequences")
    b = load_bundle(args.model)
    rna = bool(b.preprocessing.get("rna"))
    print(b.describe())
    if args.pairs:
        table = variant_files.read_pairs(args.pairs, rna=rna)
    elif args.variants:
        table = variant_files.read_variants(args.fasta, args.variants, rna=rna)
    else:
        return _saturation(b, args.fasta, out, rna)
    effects = variants.score_variants(b, table)
    write_csv(out, effects, index=False, float_format="%.6g")
    noted = effects.drop_duplicates("variant_id")["note"].astype(bool).sum()
    print(f"scored {len(table)} variants ({_kinds(table)}); wrote {out}"
          + (f"; {noted} carry a note (see its note column)" if noted else ""))
    return effects


def _kinds(table) -> str:
    return ", ".join(f"{n} {k}" for k, n in table["kind"].value_counts().items())


def _saturation(b, fasta, out, rna) -> pd.DataFrame:
    import matplotlib.pyplot as plt

    from seqexpr.plots.variants import plot_saturation

    recs = read_fasta(fasta, rna=rna)
    parts, drawn = [], 0
    for i, r in enumerate(recs.itertuples()):
        sat = variants.saturation(b, r.id, r.sequence)
        if sat.attrs["skipped"]:
            print(f"{r.id}: {len(sat.attrs['skipped'])} position(s) hold no A/C/G/T base (N or "
                  "another IUPAC code) and were not mutated"
                  + ("" if len(sat) else ": nothing to map"))
        if not len(sat):
            continue
        parts.append(sat)
        if drawn < MAX_FIGURES:
            delta, sd, ref = variants.saturation_matrix(sat)
            fig = plot_saturation(delta, ref, sd=sd, title=f"{r.id}: every single-base change "
                                  f"({sat['target'].iloc[0]})")
            with atomic(out.with_name(f"{out.stem}_{i + 1}_{_safe(r.id)}.png")) as tmp:
                fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
            plt.close(fig)
            drawn += 1
    if not parts:
        raise ValueError(f"{fasta}: no record holds an A/C/G/T base to mutate")
    table = pd.concat(parts, ignore_index=True)
    write_csv(out, table, index=False, float_format="%.6g")
    print(f"scored every single-base change of {len(parts)} sequence(s) ({len(table)} rows); "
          f"wrote {out} and {drawn} map(s) beside it ({out.stem}_<n>_<id>.png)"
          + (f"; maps for the first {MAX_FIGURES} only" if len(parts) > MAX_FIGURES else ""))
    return table


def _safe(name) -> str:
    """A record id as a file-name part."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))


def design_command(args) -> pd.DataFrame:
    """``python -m seqexpr design``: evolve each --fasta record toward --goal; write the designs,
    their trajectories and a figure into --out. Returns the designs table."""
    import matplotlib.pyplot as plt

    from seqexpr.plots.design import plot_trajectories

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out.resolve()} is a file; give a folder for the designs")
    b = load_bundle(args.model)
    print(b.describe())
    target = b.targets[0] if args.target is None else args.target
    if target not in b.targets:
        raise ValueError(f"--target {target!r} is not one of the model's targets {b.targets}")
    recs = read_fasta(args.fasta, rna=bool(b.preprocessing.get("rna")))
    goal = parse_goal(args.goal)
    line_of = dict(zip(recs["id"], recs["line"]))
    try:
        result = design.design(
            lambda seqs: b.predict_sequences(seqs, members=True), list(recs["sequence"]),
            start_ids=list(recs["id"]), goal=args.goal, target=b.targets.index(target),
            n_designs=args.designs, steps=args.steps, max_edits=args.max_edits, beam=args.beam,
            fixed=args.fixed, avoid=args.avoid, gc_range=args.gc, motifs=args.motif,
            disagreement=args.disagreement, max_candidates=args.max_candidates, seed=args.seed)
    except InputError as exc:  # a start refused: say where it is in the FASTA
        if exc.record not in line_of:
            raise
        raise InputError(f"{Path(args.fasta).name} line {line_of[exc.record]}: {exc}",
                         file=args.fasta, line=line_of[exc.record], record=exc.record) from None
    out.mkdir(parents=True, exist_ok=True)
    paths = design.write_designs(result, out)
    write_csv(out / "design_trajectories.csv", result.trajectories, index=False,
              float_format="%.6g")
    fig = plot_trajectories(result.trajectories, goal=goal[1])
    with atomic(out / "design_trajectories.png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
    d = result.designs
    gain = (d["predicted"] - d["start_predicted"]).mean()
    print(f"{len(d)} design(s) from {len(recs)} start(s): mean change {gain:+.3g} ({target}, "
          f"modelled scale) with {d['n_edits'].mean():.1f} edits on average; wrote "
          f"{', '.join(str(p) for p in paths.values())} and the trajectories in {out}")
    return d
