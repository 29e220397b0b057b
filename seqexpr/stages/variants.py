"""Stage 07_variants: use the model. Saturation mutagenesis of the highest- and lowest-predicted
test sequences, the effects of a variants file when one is given, a small design run, and on
the demo the same checked against the true signal. Scores with the seed ensemble of the best
deep model (``models/<name>/``), so every effect and design carries the seeds' spread.

Writes ``saturation.csv``, ``effects.csv`` (when a variants file is given),
``variant_truth.csv`` (demo), ``designs.fa``, ``designs.csv``, ``design_trajectories.csv``
and ``variants.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from seqexpr import design as designer
from seqexpr import runfolder as rf
from seqexpr import variant_files, variants
from seqexpr.bundle import load_bundle
from seqexpr.design_rules import Rules, parse_goal

NAME = "07_variants"


def run(run_dir, *, seed, model, target, n_saturation, variants_file, n_truth, design_starts,
        design_goal, design_steps, design_beam, max_candidates, max_edits, fixed_flank, avoid,
        gc_range, insert_motifs, disagreement) -> dict:
    """Score, map and design with a saved model; the parameters are 07_variants' parameters
    cell. Returns the tables the notebook shows (see the keys at the end)."""
    rf.record_stage(run_dir, NAME, parameters=dict(locals()))
    if n_saturation < 1 or design_starts < 1:
        raise ValueError("n_saturation and design_starts must be at least 1 (sequences mapped "
                         f"and designed from), got {n_saturation} and {design_starts}")
    d = read_inputs(run_dir, model, target)
    b, t = d["bundle"], d["target"]
    print(f"{b.describe()}; target {t!r}", flush=True)
    order = d["test"].sort_values("predicted", kind="stable")
    n_top = (n_saturation + 1) // 2
    mapped = pd.concat([order.iloc[::-1][:n_top], order.iloc[:n_saturation - n_top]])
    sat = pd.concat([variants.saturation(b, r.id, r.sequence) for r in mapped.itertuples()],
                    ignore_index=True)
    rf.write_csv(rf.run_path(run_dir, rf.SATURATION), sat, index=False, float_format="%.6g")
    effects = _score_file(run_dir, b, variants_file, d["sequences"])

    truth = d["truth"]
    truth_table = agreement = None
    if truth is not None:
        truth_table, agreement = _truth_check(b, t, d["test"], d["sites"], truth, n_truth, seed)
        rf.write_csv(rf.run_path(run_dir, rf.VARIANT_TRUTH), truth_table, index=False,
                     float_format="%.6g")

    goal = parse_goal(design_goal)  # ("maximize" | "minimize" | "value", value or None)
    starts = _design_starts(order, goal, design_starts, Rules(avoid, gc_range, max_edits),
                            min_length=2 * fixed_flank + 1)
    motifs = _insertion_motifs(run_dir, goal[0]) if insert_motifs == "auto" else list(insert_motifs)
    result = _design(b, starts, truth, goal=design_goal, target=b.targets.index(t),
                     steps=design_steps, beam=design_beam, max_candidates=max_candidates,
                     max_edits=max_edits, fixed_flank=fixed_flank, avoid=avoid,
                     gc_range=gc_range, motifs=motifs, disagreement=disagreement, seed=seed)
    designer.write_designs(result, rf.run_path(run_dir))
    rf.write_csv(rf.run_path(run_dir, rf.DESIGN_TRAJECTORIES), result.trajectories,
                 index=False, float_format="%.6g")
    summary = dict(model=str(b.path), kind=b.preprocessing.get("kind"),
                   seeds=b.preprocessing.get("seed"), target=t,
                   saturation=list(mapped["id"]), truth=agreement,
                   design=dict(settings=result.settings, **_design_summary(result.designs)))
    rf.write_json(rf.run_path(run_dir, rf.VARIANTS_INFO), summary)
    return dict(bundle=b, target=t, mapped=mapped, saturation=sat, effects=effects,
                truth_table=truth_table, agreement=agreement, designs=result.designs,
                trajectories=result.trajectories, motifs=motifs, goal=goal, summary=summary)


def _score_file(run_dir, b, variants_file, sequences):
    """``effects.csv`` for a variants file (pairs, or VCF-style edits of the run's sequences);
    None, and no file, without one."""
    rf.run_path(run_dir, rf.EFFECTS).unlink(missing_ok=True)  # an earlier run's file
    if not variants_file:
        return None
    refs = sequences.assign(line=np.arange(1, len(sequences) + 1))
    refs.attrs["source"] = f"{rf.SEQUENCES} (this run's sequences; line = row)"
    table = variant_files.read_either(variants_file, refs, rna=bool(b.preprocessing.get("rna")))
    effects = variants.score_variants(b, table)
    rf.write_csv(rf.run_path(run_dir, rf.EFFECTS), effects, index=False, float_format="%.6g")
    return effects


def read_inputs(run_dir, model, target) -> dict:
    """The model folder (``"auto"``: the best deep model's seed ensemble), the target, the
    run's sequences, the test split with the model's predictions, and the demo's truth."""
    run = Path(run_dir)
    seqs = pd.read_parquet(rf.run_path(run, rf.SEQUENCES), columns=["id", "sequence"])
    metrics = rf.read_json(rf.run_path(run, rf.METRICS))
    column = metrics.get("deep_ensemble")
    auto = model == "auto"
    if auto:
        if not column:
            raise ValueError(f"{run} has no deep model to score with (04_model trained none); "
                             "pass model='path/to/a/model/folder'")
        info = metrics["models"][column]
        if "folder" in info:
            model = rf.run_path(run, info["folder"])
        elif isinstance(info["path"], str):  # one seed: its own folder
            model = rf.run_path(run, info["path"])
        else:
            raise ValueError(f"{run}'s 04_model predates seed-ensemble folders: rerun 04_model "
                             "(it reuses the trained seeds) or pass model='path/to/a/model/folder'")
    b = load_bundle(model)
    target = b.targets[0] if target is None else target
    if target not in b.targets:
        raise ValueError(f"target {target!r} is not one of the model's targets {b.targets}")
    pred = pd.read_csv(rf.run_path(run, rf.PREDICTIONS))
    test = pred[(pred["split"] == "test") & (pred["target"] == target)]
    if auto:  # 04's predictions of that ensemble
        test = test.assign(predicted=test[column])
    else:  # another model: score the test split with it
        test = test.merge(seqs, on="id")
        test = test.assign(predicted=b.predict_sequences(test["sequence"].tolist())[
            :, b.targets.index(target)])
    test = test[["id", "observed", "predicted"]].merge(seqs, on="id")
    truth_path = rf.run_path(run, rf.GROUND_TRUTH)
    truth = sites = None
    if truth_path.exists():
        truth = json.loads(truth_path.read_text())
        sites = pd.read_csv(rf.run_path(run, truth.get("sites_file", rf.GROUND_TRUTH_SITES)))
    return dict(bundle=b, target=target, sequences=seqs, test=test, truth=truth, sites=sites)


def _truth_check(b, target, test, sites, truth, n_truth, seed):
    """Planted-site knockouts and neutral changes in test sequences, scored and compared with
    their true effects."""
    table = variants.truth_variants(test["sequence"], test["id"], sites, truth,
                                    n_knockouts=n_truth * 2 // 3,
                                    n_neutral=n_truth - n_truth * 2 // 3, seed=seed)
    scored = variants.score_variants(b, table)
    scored = scored[scored["target"] == target]
    table = table.drop(columns=["ref_sequence", "alt_sequence"]).assign(
        predicted_delta=scored["delta"].to_numpy(), delta_sd=scored["delta_sd"].to_numpy())
    return table, variants.truth_agreement(table["predicted_delta"], table["true_delta"])


def _design_starts(order, goal, n, rules, *, min_length):
    """The ``n`` test sequences furthest from the goal (``parse_goal``'s pair: the lowest
    predicted to raise, the highest to lower, the furthest from a value to reach) among those
    of plain A/C/G/T that keep the rules (no avoided site, GC in range) and have a base
    between their fixed flanks (``min_length``)."""
    kind, value = goal
    if kind == "maximize":
        ranked = order
    elif kind == "minimize":
        ranked = order.iloc[::-1]
    else:
        ranked = order.iloc[np.argsort(-np.abs(order["predicted"].to_numpy() - value))]
    ok = [len(s) >= min_length and rules.allow(s) for s in ranked["sequence"]]
    if not any(ok):
        raise ValueError("no test sequence keeps the design rules (avoid sites, gc_range, "
                         f"A/C/G/T only, {min_length} nt or longer) to start from; loosen "
                         "avoid or gc_range, or narrow fixed_flank")
    return ranked[ok].iloc[:n]


def _insertion_motifs(run_dir, kind, top=3):
    """Consensus strings of 06's motifs that push toward the goal (activators to raise,
    repressors to lower; both to reach a value); none when 06 has not run."""
    path = rf.run_path(run_dir, rf.MOTIFS)
    if not path.exists():
        return []
    motifs = pd.read_csv(path, sep="\t")
    if kind != "value":
        motifs = motifs[motifs["sign"] == ("+" if kind == "maximize" else "-")]
    pwms = [np.asarray(json.loads(p)) for p in motifs["pwm"][:top]]
    return ["".join("ACGT"[i] for i in pwm.argmax(1)) for pwm in pwms]


def _design(b, starts, truth, *, fixed_flank, seed, **options):
    """Design from each start in turn (its fixed flanks follow its length): one
    ``DesignResult`` whose designs carry their start and, on the demo, the true signals."""
    def members(seqs):
        return b.predict_sequences(seqs, members=True)

    parts = []
    for k, r in enumerate(starts.itertuples()):  # start k samples with its own seed, seed + k
        n = len(r.sequence)
        fixed = [f"1-{fixed_flank}", f"{n - fixed_flank + 1}-{n}"] if fixed_flank else []
        parts.append(designer.design(members, [r.sequence], start_ids=[r.id], fixed=fixed,
                                     seed=seed + k, **options))
    designs = pd.concat([p.designs for p in parts], ignore_index=True)
    designs["start_sequence"] = designs["start_id"].map(dict(zip(starts["id"], starts["sequence"])))
    if truth is not None:
        from seqexpr.demo_truth import true_signal

        designs["true_start"] = true_signal(designs["start_sequence"], truth)
        designs["true_signal"] = true_signal(designs["sequence"], truth)
        designs["true_gain"] = designs["true_signal"] - designs["true_start"]
    settings = dict(parts[0].settings, fixed_flank=fixed_flank, fixed="flanks",
                    searches={k: v for p in parts for k, v in p.settings["searches"].items()})
    return designer.DesignResult(designs, pd.concat([p.trajectories for p in parts],
                                                    ignore_index=True), settings)


def _design_summary(designs) -> dict:
    gain = designs["predicted"] - designs["start_predicted"]
    out = dict(n_written=int(len(designs)), mean_predicted_gain=float(gain.mean()),
               mean_edits=float(designs["n_edits"].mean()))
    if "true_gain" in designs:
        out.update(mean_true_gain=float(designs["true_gain"].mean()),
                   share_truly_raised=float((designs["true_gain"] > 0).mean()))
    return out


def check(run_dir) -> None:
    """Validate 07's files, and that every design keeps the rules it was made under;
    raises AssertionError."""
    sat = pd.read_csv(rf.run_path(run_dir, rf.SATURATION))
    assert len(sat) and not sat["delta"].isna().any(), "saturation map empty or NaN"
    info = rf.read_json(rf.run_path(run_dir, rf.VARIANTS_INFO))
    settings = info["design"]["settings"]
    designs = pd.read_csv(rf.run_path(run_dir, rf.DESIGNS), keep_default_na=False)
    assert len(designs) == info["design"]["n_written"] > 0, "no designs"
    rules = Rules(settings["avoid"], settings["gc_range"], settings["max_edits"])
    flank = settings["fixed_flank"]
    for r in designs.itertuples():
        diff = [i for i, (a, b) in enumerate(zip(r.sequence, r.start_sequence)) if a != b]
        assert len(diff) == r.n_edits <= settings["max_edits"], f"{r.design_id}: edits"
        assert all(flank <= i < len(r.sequence) - flank for i in diff), \
            f"{r.design_id} changed a fixed flank"
        assert rules.allow(r.sequence), f"{r.design_id} breaks an avoid or GC rule"
