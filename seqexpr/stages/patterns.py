"""Stage 06_patterns: why the best deep model predicts what it does. Attributions (ISM and
integrated gradients), seqlets and motifs (widths scaled to the sequence length), JASPAR names
(of the organism's taxon), the position x base effect map of aligned libraries, first-layer
filters, sanity checks, in-silico insertions, position profiles and cooperativity, and the
demo's ground truth. Strand follows the model: a model trained on one strand (RNA, oriented
constructs) is explained, its motifs found and named, on that strand only. Writes
``attributions.npz``, ``motifs.tsv``, ``position_effects.csv`` (aligned libraries) and, in the
manifest, which JASPAR matrices named the motifs."""

from __future__ import annotations

import itertools
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from seqexpr import runfolder as rf
from seqexpr.bundle import load_bundle
from seqexpr.patterns import (attribution_checks, effects, filters, gradients, jaspar, positions,
                              shuffle)
from seqexpr.patterns.discovery import discover_motifs, scaled_to_length
from seqexpr.patterns.ism import ism as ism_map
from seqexpr.patterns.seqlets import choose_sequences, extract_seqlets
from seqexpr.patterns.taxa import tax_group_for
from seqexpr.patterns.truth import ground_truth_table, match_planted

NAME = "06_patterns"
PAIR_COLUMNS = ["motif_a", "motif_b", "effect_a", "effect_b", "effect_ab", "expected_additive",
                "interaction", "interaction_sd", "p_value"]


def run(run_dir, *, seed, n_sequences, attribution, n_check, ig_steps, ig_background, n_logos,
        top_motifs, max_motifs, min_seqlets, jaspar_collection, organism, n_background,
        profile_step, n_pairs, landmark) -> dict:
    """Explain the best single-seed deep model; the parameters are 06_patterns' parameters
    cell. Returns every table and array the notebook shows (see the keys at the end)."""
    rf.record_stage(run_dir, NAME, parameters=dict(locals()))
    tax_group_for(organism)  # a misspelt organism fails now, not after the attributions
    d = read_inputs(run_dir)
    bundle, best, preds = d["bundle"], d["best"], d["predictions"]
    chosen = choose_sequences(preds[best].to_numpy(), n_sequences, seed=seed)
    test_rows = np.flatnonzero(d["split"] == "test")[:n_background]
    rf.update_manifest(run_dir, stages={NAME: {"samples": _samples(d, chosen, test_rows, seed)}})
    onehot = np.asarray(d["onehot"][chosen])
    mask = np.asarray(d["mask"][chosen])
    x = bundle.input(onehot, mask)  # as in training: unknown bases filled, flanks kept
    predicted = preds[best].to_numpy()[chosen]
    net = bundle.keras_model()  # the strand policy of predict(): both strands averaged
    both_strands = bool(bundle.preprocessing.get("rc_average", True))

    ism = ism_map(net, x, mask=mask, center=True)
    grad = gradients.gradient_x_input(net, x, method="integrated", mask=mask,
                                      n_background=ig_background, steps=ig_steps, seed=seed)
    main = ism if attribution == "ism" else grad
    ids = np.asarray(d["ids"][chosen], dtype=str)
    with rf.atomic(rf.run_path(run_dir, rf.ATTRIBUTIONS)) as tmp:
        np.savez_compressed(tmp, ids=ids, ism=ism.astype(np.float32),
                            grad=grad.astype(np.float32), mask=mask.astype(np.uint8))

    widths = scaled_to_length(onehot.shape[1])
    seqlets = extract_seqlets(main, onehot, mask=mask, window=widths["window"],
                              flank=widths["flank"])
    motifs = discover_motifs(main, onehot, mask=mask, seqlets=seqlets, max_motifs=max_motifs,
                             min_seqlets=min_seqlets, both_strands=both_strands, **widths)
    reported = motifs[:top_motifs]
    db, naming = jaspar.naming_source(organism, collection=jaspar_collection)
    rf.update_manifest(run_dir, stages={NAME: {"jaspar": naming}})
    matches = jaspar.match_motifs(reported, db=db, top=3, both_strands=both_strands)
    filter_table = _filter_table(filters.first_layer_pwms(bundle.model, x, mask=mask), db,
                                 naming["skipped"], both_strands)
    checks = _checks(run_dir, d, x, ism, grad, mask, n_check, both_strands)
    position_map = _position_map(ism, onehot, mask, lengths=d["lengths"], landmark=landmark,
                                 rna=d["rna"], target=d["target"])
    if position_map is None:  # an earlier run's map would describe other data
        rf.run_path(run_dir, rf.POSITION_EFFECTS).unlink(missing_ok=True)
    else:
        rf.write_csv(rf.run_path(run_dir, rf.POSITION_EFFECTS), position_map["table"],
                     index=False, float_format="%.6g")

    bg_mask = np.asarray(d["mask"][test_rows])
    backgrounds = bundle.input(shuffle.dinuc_shuffle(
        d["onehot"][test_rows].astype(np.float32), n=1, seed=seed, mask=bg_mask)[:, 0], bg_mask)
    insertion = {m.motif_id: effects.insertion_effect(net, backgrounds, m.pwm,
                                                      mask=bg_mask, n_samples=n_background,
                                                      seed=seed)
                 for m in reported}
    profiles = {m.motif_id: effects.position_profile(net, backgrounds, m.pwm,
                                                     mask=bg_mask, step=profile_step,
                                                     n_samples=n_background, seed=seed)
                for m in reported}
    windows = {k: effects.preferred_window(p) for k, p in profiles.items()}
    effect_table = pd.DataFrame([dict(motif_id=k, effect=v["effect"], effect_sd=v["effect_sd"],
                                      sem=v["sem"], preferred_position="" if windows[k] is None
                                      else f"{windows[k][0]}-{windows[k][1]}")
                                 for k, v in insertion.items()])
    pairs = _cooperativity(net, reported, backgrounds, bg_mask, d["truth"],
                           n_pairs=n_pairs, n_samples=n_background, seed=seed)

    table = jaspar.motif_table(reported, matches, effect_table, skipped=naming["skipped"])
    rf.write_csv(rf.run_path(run_dir, rf.MOTIFS), table, sep="\t", index=False)
    truth_motifs = truth_pairs = None
    if d["truth"] is not None:  # families looked up in all taxa, whatever named the motifs
        truth_motifs, truth_pairs = ground_truth_table(
            d["truth"], reported, table, pairs=pairs,
            both_strands=both_strands)
    return dict(best=best, bundle=bundle, target=d["target"], chosen=chosen, ids=ids,
                onehot=onehot, mask=mask, predicted=predicted,
                splits=pd.Series(d["split"][chosen]).value_counts().to_dict(),
                strands=_strand_policy(both_strands, d["rna"]), widths=widths,
                grammar=_grammar(position_map, motifs, onehot.shape[1]),
                position_map=position_map,
                ism=ism, grad=grad, main=main, seqlets=seqlets, motifs=motifs,
                reported=reported, summary=_summary(motifs), naming=naming, matches=matches,
                filter_table=filter_table, checks=checks, effect_table=effect_table,
                profiles=profiles, windows=windows, pairs=pairs, table=table,
                truth_motifs=truth_motifs, truth_pairs=truth_pairs)


def read_inputs(run_dir) -> dict:
    """What 06 needs from the run folder: the best single-seed deep model (``bundle``,
    ``best``), the first target, ids, memory-mapped one-hot and mask, the split of each
    sequence, ``best``'s predictions of that target (rows in sequence order), the models of
    metrics.json, the demo's ground truth (or None), every sequence's length and whether the
    library is RNA."""
    rf.require(run_dir, rf.METRICS, rf.ONEHOT, rf.MASK, rf.SPLITS, rf.PREDICTIONS,
               rf.SEQUENCES, rf.ENCODING, stage="04_model")
    run = Path(run_dir)
    metrics = rf.read_json(run / rf.METRICS)
    best = metrics["best_deep_model"]
    encoding = rf.read_json(run / rf.ENCODING)
    target = encoding["targets"][0]
    seqs = pd.read_parquet(run / rf.SEQUENCES, columns=["id", "length"])
    ids = pd.Index(seqs["id"].astype(str))  # Arrow-backed: no Python string per sequence
    split = pd.read_csv(run / rf.SPLITS, dtype={"id": str}, usecols=["id", "split"]
                        ).set_index("id").loc[ids, "split"].to_numpy(dtype=str)
    preds = pd.read_csv(run / rf.PREDICTIONS, dtype={"id": str},
                        usecols=["id", "target", best])  # one model of many: n values
    preds = preds[preds["target"] == target].set_index("id").loc[ids]
    truth = rf.read_json(run / rf.GROUND_TRUTH) if (run / rf.GROUND_TRUTH).exists() else None
    return dict(best=best, bundle=load_bundle(run / rf.MODELS_DIR / best), target=target,
                ids=ids, onehot=np.load(run / rf.ONEHOT, mmap_mode="r"),
                mask=np.load(run / rf.MASK, mmap_mode="r"), split=split,
                predictions=preds, models=metrics.get("models", {}), truth=truth,
                lengths=seqs["length"].to_numpy(), rna=bool(encoding.get("rna", False)))


def _samples(d, chosen, test_rows, seed) -> dict:
    """What the manifest records of the sequences 06 looks at: ``m`` of ``n``, and how."""
    return {"explained": dict(m=len(chosen), n=len(d["ids"]), seed=seed,
                              how="a third highest predicted, a third lowest, a third at random"),
            "backgrounds": dict(m=len(test_rows), n=int((d["split"] == "test").sum()),
                                how="the first test sequences, dinucleotide-shuffled")}


def _summary(motifs) -> pd.DataFrame:
    return pd.DataFrame([dict(motif_id=m.motif_id, sign=m.sign, consensus=m.consensus,
                              width=m.width, n_seqlets=m.n_seqlets,
                              information_bits=round(m.information, 1),
                              rank_score=round(m.rank_score, 1), low_complexity=m.low_complexity)
                         for m in motifs])


def _strand_policy(both_strands: bool, rna: bool) -> str:
    if both_strands:
        return ("both strands: the model was trained with reverse-complement augmentation and "
                "predicts the mean of a sequence and its reverse complement; motifs are found "
                "and named on either strand")
    why = "RNA has one strand" if rna else "the model was trained on the given strand only"
    return (f"one strand ({why}): no reverse-complement averaging or consistency check; motifs "
            "are found and named on the given strand only")


def _position_map(ism, onehot, mask, *, lengths, landmark, rna, target) -> dict | None:
    """The position x base effect map of an aligned library (every sequence one length), from
    the centred ISM of the explained sequences; None for sequences of several lengths.

    ``landmark``: ``"auto"`` labels positions relative to the longest run of positions that
    every sequence shares (an AUG, a fixed core), an int is the 1-based position of the
    landmark's first base, None keeps plain positions."""
    if not positions.is_aligned(lengths):
        return None
    start, note = None, "none: positions are counted from the first base"
    if landmark == "auto":
        found = positions.find_landmark(onehot, mask=mask)
        if found:
            start, bases = found
            bases = bases.replace("T", "U") if rna else bases
            note = (f"{bases} at positions {start}-{start + len(bases) - 1} (the same in every "
                    f"sequence explained), counted as +1 onward; positions before it are -1, -2, "
                    f"…; the library never varies {bases}, so the map's effects there are the "
                    "model's extrapolation, not measured")
    elif landmark is not None:
        start, note = int(landmark), f"position {int(landmark)} (given), counted as +1"
    effect, sd, n = positions.position_effects(ism, mask=mask)
    table = positions.position_table(
        effect, sd, n, target=target, rna=rna,
        labels=positions.position_labels(len(effect), start))
    return dict(table=table, top=positions.top_effects(table, 10), landmark=note,
                share=positions.positional_share(ism, mask=mask, effect=effect),
                n=int(n.max()))


def _grammar(position_map, motifs, length) -> str:
    """One plain sentence: is what the model learned positional, motifs, or both?"""
    n_motifs = f"{len(motifs)} motif(s) found" if motifs else "no motif found"
    if position_map is None:
        return (f"Sequences differ in length, so positions are not comparable between them: the "
                f"patterns are read as motifs that can sit anywhere ({n_motifs}).")
    share = position_map["share"]
    if share >= 0.5:
        return (f"The grammar is positional: the position map explains {share:.0%} of the "
                "single-base effects, so what a base does depends on where it sits much more "
                f"than on its neighbours; read the position map ({n_motifs} in {length}-nt "
                "sequences).")
    if share < 0.2:
        return (f"The position map explains only {share:.0%} of the single-base effects: what "
                f"a base does depends on its context, as for motifs that can sit anywhere "
                f"({n_motifs}); the map is shown for completeness.")
    return (f"Both: the position map explains {share:.0%} of the single-base effects, and the "
            f"rest depends on context ({n_motifs}); read the map and the motifs together.")


def _filter_table(filter_pwms, db, skipped, both_strands) -> pd.DataFrame:
    """First-layer filters as PWMs with their best JASPAR match, best first; a filter with
    too little information to name gets no match and says so."""
    matches = (jaspar.match_motifs({f"filter_{d['filter']}": d["pwm"] for d in filter_pwms},
                                   db=db, top=1, both_strands=both_strands)
               if filter_pwms else pd.DataFrame(columns=jaspar.MATCH_COLUMNS))
    table = pd.DataFrame([dict(query=f"filter_{d['filter']}", consensus=d["consensus"],
                               n_sites=d["n_sites"], information_bits=round(d["information"], 1))
                          for d in filter_pwms])
    if len(table):
        table = table.merge(matches[["query", "jaspar_id", "name", "family", "q_value"]],
                            on="query", how="left")  # keeps the filters' order
        table["naming_note"] = [jaspar.naming_note(d["pwm"], q, skipped=skipped)
                                for d, q in zip(filter_pwms, table["q_value"])]
        table = table.sort_values("q_value")
    return table


def _checks(run_dir, d, x, ism, grad, mask, n_check, both_strands) -> pd.DataFrame:
    """ISM against integrated gradients, reverse-complement consistency of ISM (models of
    both strands only), and ISM of the other seeds of the same builder. The consistency check
    runs the network on one strand: on a model that averages both strands it would hold by
    construction and check nothing."""
    model, best = d["bundle"].model, d["best"]
    check = np.arange(min(n_check, len(x)))
    ism_vs_grad = attribution_checks.agreement(ism, grad, mask=mask)
    rc = (attribution_checks.rc_consistency(
        partial(ism_map, model, center=True, progress=False), x[check], mask=mask[check])
        if both_strands else dict(median=np.nan, q25=np.nan, q75=np.nan, n=0))
    name = best.split("@")[0]
    others = [c for c, info in d["models"].items()
              if info.get("kind") == "deep" and c.split("@")[0] == name and c != best
              and "@" in c]
    rows = [dict(check="ISM vs integrated gradients (Pearson)", median=ism_vs_grad["median"],
                 q25=ism_vs_grad["q25"], q75=ism_vs_grad["q75"], n=ism_vs_grad["n"], note=""),
            dict(check="ISM reverse-complement consistency, one strand (Pearson)",
                 median=rc["median"], q25=rc["q25"], q75=rc["q75"], n=rc["n"],
                 note="" if both_strands else "not run: the model reads one strand, where a "
                 "sequence and its reverse complement are different molecules")]
    for other in others:
        other_model = load_bundle(rf.run_path(run_dir, rf.MODELS_DIR) / other).keras_model()
        other_ism = ism_map(other_model, x[check], mask=mask[check], center=True,
                            progress=False)
        agree = attribution_checks.agreement(ism[check], other_ism, mask=mask[check])
        stab = attribution_checks.top_position_stability(ism[check], other_ism, k=10,
                                                         mask=mask[check])
        rows.append(dict(check=f"ISM {best} vs {other}", median=agree["median"],
                         q25=agree["q25"], q75=agree["q75"], n=agree["n"],
                         note=f"top-10 positions Jaccard {stab['median']:.2f} "
                              f"(chance {stab['chance']:.2f})"))
    return pd.DataFrame(rows)


def _cooperativity(model, reported, backgrounds, bg_mask, truth, *, n_pairs, n_samples,
                   seed) -> pd.DataFrame:
    """Pairs of the top motifs (and, on the demo, the planted pair) written side by side."""
    by_id = {m.motif_id: m for m in reported}
    pair_ids = list(itertools.combinations([m.motif_id for m in reported[:n_pairs]], 2))
    if truth is not None:
        planted = match_planted(truth.get("motifs", []), reported)
        for p in truth.get("pairs", []):
            a, b = planted.get(p["a"], (None,))[0], planted.get(p["b"], (None,))[0]
            if a and b and a != b and (a, b) not in pair_ids and (b, a) not in pair_ids:
                pair_ids.append((a, b))
    return pd.DataFrame([dict(motif_a=a, motif_b=b, **effects.cooperativity(
                              model, backgrounds, by_id[a].pwm, by_id[b].pwm, mask=bg_mask,
                              n_samples=n_samples, seed=seed))
                         for a, b in pair_ids], columns=PAIR_COLUMNS)


def check(run_dir) -> None:
    """Validate 06's files against 03's; raises AssertionError."""
    saved = np.load(rf.run_path(run_dir, rf.ATTRIBUTIONS))
    length = rf.read_json(rf.run_path(run_dir, rf.ENCODING))["length"]
    n = len(saved["ids"])
    assert saved["ism"].shape == saved["grad"].shape == (n, length, 4), "attribution shapes"
    assert saved["ids"].dtype.kind == "U", "ids are plain strings (load without pickle)"
    assert np.isfinite(saved["ism"]).all() and np.isfinite(saved["grad"]).all()
    assert (saved["ism"][saved["mask"] == 0] == 0).all(), "padding carries attribution"
    written = pd.read_csv(rf.run_path(run_dir, rf.MOTIFS), sep="\t", keep_default_na=False)
    assert list(written.columns) == jaspar.MOTIF_COLUMNS, "motifs.tsv columns"
    assert set(written["sign"]) <= {"+", "-"}
    path = rf.run_path(run_dir, rf.POSITION_EFFECTS)
    if path.exists():
        table = pd.read_csv(path)
        assert list(table.columns) == positions.POSITION_COLUMNS, "position_effects.csv columns"
        assert len(table) == 4 * length * table["target"].nunique(), "one row per position, base"
        per_position = table.groupby(["target", "position"])["effect"].sum()
        assert np.allclose(per_position, 0, atol=1e-4), "effects centred per position"
