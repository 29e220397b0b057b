"""The demo dataset: deterministic, and its ground truth describes exactly what was written."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from seqexpr import composition, demo, demo_truth

N, LENGTH = 600, 200


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    paths = demo.write_demo(out, n=N, length=LENGTH, seed=3)
    fasta = paths["fasta"].read_text().splitlines()
    seqs = dict(zip([h[1:] for h in fasta[0::2]], fasta[1::2]))
    return dict(paths=paths, seqs=seqs, table=pd.read_csv(paths["expression"]),
                sites=pd.read_csv(paths["sites"]),
                truth=json.loads(paths["ground_truth"].read_text()))


@pytest.fixture(scope="module")
def big():
    return demo.make_demo(n=4000, length=LENGTH, seed=11)


def test_write_demo_files_and_schema(written):
    paths, truth, table = written["paths"], written["truth"], written["table"]
    assert set(paths) == {"fasta", "expression", "ground_truth", "sites"}
    assert all(p.exists() for p in paths.values())
    assert list(table.columns) == ["id", "expression", "expression_rep1", "expression_rep2"]
    assert len(table) == len(written["seqs"]) == N
    assert list(table["id"]) == list(written["seqs"])
    assert all(len(s) == LENGTH and set(s) <= set("ACGT") for s in written["seqs"].values())
    for key in ("seed", "n", "length", "noise_sd", "noise_ceiling_pearson", "replicates",
                "gc_effect", "motifs", "pairs", "sites_file"):
        assert key in truth, key
    assert (truth["seed"], truth["n"], truth["length"]) == (3, N, LENGTH)
    assert truth["replicates"] == ["expression_rep1", "expression_rep2"]
    roles = {m["role"] for m in truth["motifs"]}
    assert roles == {"activator", "repressor"}
    assert sum(m["window"] is not None for m in truth["motifs"]) == 1
    for m in truth["motifs"]:
        pwm = np.array(m["pwm"])
        assert pwm.shape == (len(m["consensus"]), 4)
        np.testing.assert_allclose(pwm.sum(1), 1, atol=1e-4)
        assert m["jaspar_id"].startswith("MA")
    names = {m["name"] for m in truth["motifs"]}
    assert all({p["a"], p["b"]} <= names for p in truth["pairs"])
    assert list(written["sites"].columns[:4]) == ["id", "motif", "start", "strand"]


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = demo.write_demo(tmp_path / "a", n=200, seed=5)
    b = demo.write_demo(tmp_path / "b", n=200, seed=5)
    c = demo.write_demo(tmp_path / "c", n=200, seed=6)
    for key in a:
        assert a[key].read_bytes() == b[key].read_bytes(), key
    assert a["fasta"].read_bytes() != c["fasta"].read_bytes()
    assert a["expression"].read_bytes() != c["expression"].read_bytes()


def test_every_site_is_in_the_fasta_where_the_table_says(written):
    seqs, sites, truth = written["seqs"], written["sites"], written["truth"]
    motifs = {m["name"]: m for m in truth["motifs"]}
    assert len(sites) > N  # several sites per sequence on average
    comp = str.maketrans("ACGT", "TGCA")
    for row in sites.itertuples():
        m = motifs[row.motif]
        w = len(m["pwm"])
        window = seqs[row.id][row.start:row.start + w]
        site = window if row.strand == "+" else window.translate(comp)[::-1]
        assert site == row.sequence
        score = demo_truth.log_odds(m["pwm"])[np.arange(w), ["ACGT".index(b) for b in site]].sum()
        assert score == pytest.approx(row.score, abs=1e-3)
        assert score >= m["threshold"] >= 0.6 * m["max_score"]  # a strong match, not noise
    assert sites["planted"].mean() > 0.8  # chance matches are a minority
    planted = sites[sites["planted"]]
    # planted instances vary, as real sites do, rather than repeating the consensus
    assert planted.groupby("motif")["sequence"].nunique().min() > 3


def test_sites_file_is_what_a_fresh_scan_finds(written):
    ids = list(written["seqs"])
    scan = demo_truth.scan_sites(list(written["seqs"].values()), written["truth"])
    scan["id"] = np.asarray(ids)[scan["row"]]
    cols = ["id", "motif", "start", "strand", "sequence", "active"]
    key = ["id", "start", "motif"]
    got = written["sites"][cols].sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(got, scan[cols].sort_values(key, ignore_index=True))
    # scanning a few sequences at a time (bounded memory) finds the same sites in one order
    pd.testing.assert_frame_equal(
        demo_truth.scan_sites(list(written["seqs"].values()), written["truth"], chunk=7),
        scan.drop(columns="id"))


def test_expression_follows_the_formula_and_ceiling(written):
    truth, table, sites = written["truth"], written["table"], written["sites"]
    seqs = [written["seqs"][i] for i in table["id"]]
    signal = demo_truth.true_signal(seqs, truth)
    # the same signal recomputed from the sites file and the GC of the written sequences
    rows = sites.assign(row=sites["id"].map({i: k for k, i in enumerate(table["id"])}))
    np.testing.assert_allclose(
        demo_truth.signal_from_sites(rows, composition.gc_content(seqs), truth), signal, atol=1e-9)
    reps = table[truth["replicates"]].to_numpy()
    np.testing.assert_allclose(reps.mean(1), table["expression"], atol=2e-6)
    resid = reps - signal[:, None]
    # noise is independent per replicate, centred, with the recorded SD
    assert abs(resid.mean()) < 0.1
    assert resid.std() == pytest.approx(truth["noise_sd"], rel=0.1)
    assert abs(np.corrcoef(resid[:, 0], resid[:, 1])[0, 1]) < 0.15
    ceiling = np.sqrt(signal.var() / (signal.var() + truth["noise_sd"] ** 2 / 2))
    assert ceiling == pytest.approx(truth["noise_ceiling_pearson"], abs=1e-6)
    assert truth["noise_ceiling_pearson"] == pytest.approx(0.90, abs=1e-6)
    r = np.corrcoef(signal, table["expression"])[0, 1]
    assert r == pytest.approx(truth["noise_ceiling_pearson"], abs=0.03)
    assert r == pytest.approx(truth["noise_ceiling_empirical"], abs=1e-4)


def _carriers(sites, frame, motif, *, active=None):
    s = sites[sites["motif"] == motif]
    if active is not None:
        s = s[s["active"] == active]
    return frame["id"].isin(s["id"]).to_numpy()


def test_repressors_lower_and_activators_raise_expression(big):
    frame, sites, truth = big
    y = frame["expression"].to_numpy()
    for m in truth["motifs"]:
        has = _carriers(sites, frame, m["name"], active=True)
        diff = y[has].mean() - y[~has].mean()
        assert np.sign(diff) == np.sign(m["effect"]), (m["name"], diff)
        assert abs(diff) > 0.4 * abs(m["effect"]), (m["name"], diff)


def test_positional_motif_works_only_inside_its_window(big):
    frame, sites, truth = big
    (m,) = [m for m in truth["motifs"] if m["window"] is not None]
    lo, hi = m["window"]
    s = sites[sites["motif"] == m["name"]]
    inside = s["start"].between(lo, hi - len(m["pwm"]))
    assert (inside == s["active"]).all()
    y = frame["expression"].to_numpy()
    has_in = _carriers(sites, frame, m["name"], active=True)
    has_out = _carriers(sites, frame, m["name"], active=False) & ~has_in
    none = ~has_in & ~has_out
    assert has_in.sum() > 200 and has_out.sum() > 200
    assert y[has_in].mean() - y[none].mean() > 0.6 * m["effect"]
    # out of the window the motif does nothing: any difference is other motifs and noise
    assert abs(y[has_out].mean() - y[none].mean()) < 0.25 * m["effect"]
    # swapping an active site with bases out of the window (GC unchanged) removes its effect
    for idx in np.flatnonzero(has_in):
        own = s[s["id"] == frame["id"].iloc[idx]]
        site = own[own["active"]].iloc[0]
        w, to = len(m["pwm"]), 5
        if (own["start"] < to + 2 * w).any():
            continue  # keep the swap clear of other sites
        seq = frame["sequence"].iloc[idx]
        a, b = seq[to:to + w], seq[site.start:site.start + w]
        moved = seq[:to] + b + seq[to + w:site.start] + a + seq[site.start + w:]
        after = demo_truth.scan_sites([moved], truth)
        if len(after) != len(own) or after["active"].sum() != own["active"].sum() - 1:
            continue  # the swap made or broke another site by chance; try another sequence
        before_y, after_y = demo_truth.true_signal([seq, moved], truth)
        assert before_y - after_y == pytest.approx(m["effect"], abs=1e-9)
        break
    else:
        pytest.fail("no sequence to test the window on")


def test_cooperating_pair_adds_its_interaction(big):
    frame, sites, truth = big
    (p,) = truth["pairs"]
    a = _carriers(sites, frame, p["a"], active=True)
    b = _carriers(sites, frame, p["b"], active=True)
    s = frame["signal"].to_numpy()
    # additivity would make (both - a only) equal (b only - neither); the pair breaks it
    extra = (s[a & b].mean() - s[a & ~b].mean()) - (s[~a & b].mean() - s[~a & ~b].mean())
    assert extra == pytest.approx(p["interaction"], abs=0.3)


def test_gc_varies_and_drives_expression(big):
    frame, sites, truth = big
    assert 0.38 < frame["gc"].mean() < 0.48 and frame["gc"].std() > 0.05
    # GC-rich REST and AT-rich TBP sites confound the raw GC trend, so adjust for the motifs:
    # regress the measured expression on GC, active-site counts and the pair indicator
    act = sites[sites["active"]]
    counts = pd.crosstab(act["id"], act["motif"]).reindex(frame["id"], fill_value=0)
    (p,) = truth["pairs"]
    x = np.column_stack([frame["gc"], counts.to_numpy(),
                         (counts[p["a"]] > 0).to_numpy() & (counts[p["b"]] > 0).to_numpy(),
                         np.ones(len(frame))])
    coef = np.linalg.lstsq(x, frame["expression"].to_numpy(), rcond=None)[0]
    assert coef[0] == pytest.approx(truth["gc_effect"], abs=1.0)
    effects = {m["name"]: m["effect"] for m in truth["motifs"]}
    np.testing.assert_allclose(coef[1:-2], [effects[c] for c in counts.columns], atol=0.15)


def test_other_lengths_scale_the_window():
    frame, sites, truth = demo.make_demo(n=50, length=100, seed=1)
    assert frame["sequence"].str.len().eq(100).all() and len(frame) == 50
    (m,) = [m for m in truth["motifs"] if m["window"] is not None]
    assert m["window"] == [70, 90]
    assert (sites["start"] + sites["sequence"].str.len() <= 100).all()


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="length >= 60"):
        demo.make_demo(n=100, length=30)
    with pytest.raises(ValueError, match="noise_ceiling"):
        demo.make_demo(n=100, noise_ceiling=1.5)


def test_the_signal_takes_its_gc_from_composition():
    frame, _, truth = demo.make_demo(n=300, length=120, seed=4)
    seqs = frame["sequence"].tolist()
    gc = composition.gc_content(seqs)
    # pure ACGT sequences: GC among A/C/G/T bases is GC over the full length
    full = np.array([(s.count("G") + s.count("C")) / len(s) for s in seqs])
    np.testing.assert_array_equal(gc, full)
    np.testing.assert_array_equal(gc, frame["gc"].to_numpy())
    np.testing.assert_array_equal(demo_truth.true_signal(seqs, truth), frame["signal"].to_numpy())


def test_the_truth_refuses_letters_it_cannot_score():
    truth = demo.make_demo(n=20, length=100, seed=1)[2]
    with pytest.raises(ValueError, match="only A, C, G and T"):
        demo_truth.true_signal(["N" * 100], truth)
    # sequences of several lengths (after an insertion or deletion) are scored length by length
    frame = demo.make_demo(n=20, length=100, seed=1)[0]
    a, b = frame["sequence"][0], frame["sequence"][1][:90]
    np.testing.assert_allclose(demo_truth.true_signal([a, b], truth),
                               [demo_truth.true_signal([a], truth)[0],
                                demo_truth.true_signal([b], truth)[0]])
