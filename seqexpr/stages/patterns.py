"""Stage 06_patterns: why the best deep model predicts what it does. Attributions (ISM and
integrated gradients), seqlets and motifs, JASPAR names (of the organism's taxon), first-layer
filters, sanity checks, in-silico insertions, position profiles and cooperativity, and the
demo's ground truth; writes ``attributions.npz``, ``motifs.tsv`` and, in the manifest, which
JASPAR matrices named the motifs."""

from __future__ import annotations

import itertools
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from seqexpr import runfolder as rf
from seqexpr.bundle import load_bundle
from seqexpr.patterns import attribution_checks, effects, filters, gradients, jaspar, shuffle
from seqexpr.patterns.discovery import discover_motifs
from seqexpr.patterns.ism import ism as ism_map
from seqexpr.patterns.seqlets import choose_sequences, extract_seqlets
from seqexpr.patterns.taxa import tax_group_for
from seqexpr.patterns.truth import ground_truth_table, match_planted

NAME = "06_patterns"
PAIR_COLUMNS = ["motif_a", "motif_b", "effect_a", "effect_b", "effect_ab", "expected_additive",
                "interaction", "interaction_sd", "p_value"]


def run(run_dir, *, seed, n_sequences, attribution, n_check, ig_steps, ig_background, n_logos,
        top_motifs, max_motifs, min_seqlets, jaspar_collection, organism, n_background,
        profile_step, n_pairs) -> dict:
    """Explain the best single-seed deep model; the parameters are 06_patterns' parameters
    cell. Returns every table and array the notebook shows (see the keys at the end)."""
    rf.record_stage(run_dir, NAME, parameters=dict(locals()))
    tax_group_for(organism)  # a misspelt organism fails now, not after the attributions
    d = read_inputs(run_dir)
    bundle, best, preds = d["bundle"], d["best"], d["predictions"]
    chosen = choose_sequences(preds[best].to_numpy(), n_sequences, seed=seed)
    onehot = np.asarray(d["onehot"][chosen])
    mask = np.asarray(d["mask"][chosen])
    x = bundle.input(onehot, mask)  # as in training: unknown bases filled, flanks kept
    predicted = preds[best].to_numpy()[chosen]
    net = bundle.keras_model()  # the strand policy of predict(): both strands averaged

    ism = ism_map(net, x, mask=mask, center=True)
    grad = gradients.gradient_x_input(net, x, method="integrated", mask=mask,
                                      n_background=ig_background, steps=ig_steps, seed=seed)
    main = ism if attribution == "ism" else grad
    ids = d["ids"][chosen].astype(str)
    with rf.atomic(rf.run_path(run_dir, rf.ATTRIBUTIONS)) as tmp:
        np.savez_compressed(tmp, ids=ids, ism=ism.astype(np.float32),
                            grad=grad.astype(np.float32), mask=mask.astype(np.uint8))

    seqlets = extract_seqlets(main, onehot, mask=mask)
    motifs = discover_motifs(main, onehot, mask=mask, seqlets=seqlets, max_motifs=max_motifs,
                             min_seqlets=min_seqlets)
    reported = motifs[:top_motifs]
    db, naming = jaspar.naming_source(organism, collection=jaspar_collection)
    rf.update_manifest(run_dir, stages={NAME: {"jaspar": naming}})
    matches = jaspar.match_motifs(reported, db=db, top=3)
    filter_table = _filter_table(filters.first_layer_pwms(bundle.model, x, mask=mask), db,
                                 naming["skipped"])
    checks = _checks(run_dir, d, x, ism, grad, mask, n_check)

    test_rows = np.flatnonzero(d["split"] == "test")[:n_background]
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
            both_strands=bool(bundle.preprocessing.get("rc_average", True)))
    return dict(best=best, bundle=bundle, target=d["target"], chosen=chosen, ids=ids,
                onehot=onehot, mask=mask, predicted=predicted,
                splits=pd.Series(d["split"][chosen]).value_counts().to_dict(),
                ism=ism, grad=grad, main=main, seqlets=seqlets, motifs=motifs,
                reported=reported, summary=_summary(motifs), naming=naming, matches=matches,
                filter_table=filter_table, checks=checks, effect_table=effect_table,
                profiles=profiles, windows=windows, pairs=pairs, table=table,
                truth_motifs=truth_motifs, truth_pairs=truth_pairs)


def read_inputs(run_dir) -> dict:
    """What 06 needs from the run folder: the best single-seed deep model (``bundle``,
    ``best``), the first target, ids, memory-mapped one-hot and mask, the split of each
    sequence, 04's predictions of that target (rows in sequence order), the models of
    metrics.json and the demo's ground truth (or None)."""
    rf.require(run_dir, rf.METRICS, rf.ONEHOT, rf.MASK, rf.SPLITS, rf.PREDICTIONS,
               rf.SEQUENCES, rf.ENCODING, stage="04_model")
    run = Path(run_dir)
    metrics = rf.read_json(run / rf.METRICS)
    best = metrics["best_deep_model"]
    target = rf.read_json(run / rf.ENCODING)["targets"][0]
    ids = pd.read_parquet(run / rf.SEQUENCES, columns=["id"])["id"].astype(str).to_numpy()
    split = pd.read_csv(run / rf.SPLITS, dtype={"id": str}).set_index("id").loc[ids, "split"]
    preds = pd.read_csv(run / rf.PREDICTIONS, dtype={"id": str})
    preds = preds[preds["target"] == target].set_index("id").loc[ids]
    truth = rf.read_json(run / rf.GROUND_TRUTH) if (run / rf.GROUND_TRUTH).exists() else None
    return dict(best=best, bundle=load_bundle(run / rf.MODELS_DIR / best), target=target,
                ids=ids, onehot=np.load(run / rf.ONEHOT, mmap_mode="r"),
                mask=np.load(run / rf.MASK, mmap_mode="r"), split=split.to_numpy(),
                predictions=preds, models=metrics.get("models", {}), truth=truth)


def _summary(motifs) -> pd.DataFrame:
    return pd.DataFrame([dict(motif_id=m.motif_id, sign=m.sign, consensus=m.consensus,
                              width=m.width, n_seqlets=m.n_seqlets,
                              information_bits=round(m.information, 1),
                              rank_score=round(m.rank_score, 1), low_complexity=m.low_complexity)
                         for m in motifs])


def _filter_table(filter_pwms, db, skipped) -> pd.DataFrame:
    """First-layer filters as PWMs with their best JASPAR match, best first; a filter with
    too little information to name gets no match and says so."""
    matches = (jaspar.match_motifs({f"filter_{d['filter']}": d["pwm"] for d in filter_pwms},
                                   db=db, top=1)
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


def _checks(run_dir, d, x, ism, grad, mask, n_check) -> pd.DataFrame:
    """ISM against integrated gradients, reverse-complement consistency of ISM, and ISM of
    the other seeds of the same builder. The consistency check runs the network on one strand:
    on a model that averages both strands it would hold by construction and check nothing."""
    model, best = d["bundle"].model, d["best"]
    check = np.arange(min(n_check, len(x)))
    ism_vs_grad = attribution_checks.agreement(ism, grad, mask=mask)
    rc = attribution_checks.rc_consistency(
        partial(ism_map, model, center=True, progress=False), x[check], mask=mask[check])
    name = best.split("@")[0]
    others = [c for c, info in d["models"].items()
              if info.get("kind") == "deep" and c.split("@")[0] == name and c != best
              and "@" in c]
    rows = [dict(check="ISM vs integrated gradients (Pearson)", median=ism_vs_grad["median"],
                 q25=ism_vs_grad["q25"], q75=ism_vs_grad["q75"], n=ism_vs_grad["n"], note=""),
            dict(check="ISM reverse-complement consistency, one strand (Pearson)",
                 median=rc["median"], q25=rc["q25"], q75=rc["q75"], n=rc["n"], note="")]
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
