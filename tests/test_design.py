"""seqexpr.design: in-silico evolution toward a goal under hard constraints, on toy numpy
models whose best sequences are known."""

import numpy as np
import pandas as pd
import pytest

from seqexpr._checks import InputError
from seqexpr.design import design, write_designs
from seqexpr.design_rules import parse_fixed
from seqexpr.encode import reverse_complement_str

SITE = "TGACTCA"  # an AP-1 site: each copy adds 1 to the toy prediction


def toy_model(*, gc=0.1, site=SITE, risky=None, bonus=5.0):
    """Two members: sites + gc * (G+C count); the second adds ``bonus`` per site inside the
    ``risky`` slice, so the members disagree there."""
    def predict_members(seqs):
        a = np.array([s.count(site) + gc * (s.count("G") + s.count("C")) for s in seqs])
        b = a if risky is None else a + bonus * np.array([s[risky].count(site) for s in seqs])
        return np.stack([a, b])[:, :, None]
    return predict_members


def random_start(length=40, seed=0):
    """A random A/C/G/T sequence with no copy of SITE on either strand."""
    rng = np.random.default_rng(seed)
    while True:
        s = "".join(rng.choice(list("ACGT"), length))
        if SITE not in s and reverse_complement_str(SITE) not in s:
            return s


def score(seq):
    return toy_model()([seq])[0, 0, 0]


def test_design_raises_the_score_and_its_edits_match_the_sequence():
    start = random_start()
    res = design(toy_model(), [start], start_ids=["p1"], n_designs=2, beam=3, steps=4,
                 max_edits=4, progress=False)
    d = res.designs
    assert list(d["design_id"]) == ["p1_d1", "p1_d2"]
    assert (d["predicted"] > d["start_predicted"]).all()
    assert d["start_predicted"].iloc[0] == pytest.approx(score(start))
    for row in d.itertuples():
        assert row.predicted == pytest.approx(score(row.sequence))
        assert len(row.sequence) == len(start)
        diff = [i for i, (a, b) in enumerate(zip(start, row.sequence)) if a != b]
        assert row.n_edits == len(diff) <= 4
        assert row.edits == ";".join(f"{i + 1}{start[i]}>{row.sequence[i]}" for i in diff)
        path = res.trajectories[res.trajectories["design_id"] == row.design_id]
        assert list(path["step"]) == list(range(len(path)))
        assert path["move"].iloc[0] == "start"
        assert path["predicted"].iloc[-1] == pytest.approx(row.predicted)
        assert path["predicted"].iloc[0] == pytest.approx(row.start_predicted)
    assert res.settings["max_edits"] == 4 and res.settings["members"] == 2


def test_fixed_positions_never_change():
    start = random_start()
    fixed = ["1-10", 25, (30, 35)]
    mask = parse_fixed(fixed, len(start))
    res = design(toy_model(), [start], fixed=fixed, n_designs=4, steps=8, max_edits=40,
                 motifs=[SITE], progress=False)
    for seq in res.designs["sequence"]:
        assert seq != start
        assert all(seq[i] == start[i] for i in np.flatnonzero(mask))


def test_no_design_contains_an_avoided_site_on_either_strand():
    start = random_start()
    opts = dict(motifs=[SITE], n_designs=3, steps=4, progress=False)
    free = design(toy_model(gc=0), [start], **opts).designs["sequence"]
    assert all(SITE in s for s in free)  # without the rule the motif is inserted
    # GAGTC is the reverse complement of SITE's GACTC: forbidding it forbids the motif too
    res = design(toy_model(gc=0.1), [start], avoid=["GAGTC", "GCGC"], **opts)
    for s in res.designs["sequence"]:
        for site in ("GAGTC", "GACTC", "GCGC"):
            assert site not in s


def test_a_start_with_an_avoided_site_is_refused_naming_it():
    start = random_start()
    bad = start[:10] + reverse_complement_str("GGTCTC") + start[16:]
    msg = r"start 'p2' already contains the avoided site GGTCTC \(on the reverse strand\)"
    with pytest.raises(InputError, match=msg) as e:
        design(toy_model(), [start, bad], start_ids=["p1", "p2"], avoid=["GGTCTC"],
               progress=False)
    assert e.value.record == "p2"


def test_gc_stays_in_range():
    start = "AC" * 10 + "GT" * 10  # GC 0.5
    res = design(toy_model(), [start], gc_range=(0.4, 0.55), n_designs=3, beam=3, steps=6,
                 progress=False)
    gc = res.designs["sequence"].map(lambda s: (s.count("G") + s.count("C")) / len(s))
    assert (gc <= 0.55).all() and (gc >= 0.4).all()
    assert gc.max() == pytest.approx(0.55)  # the model pushes GC up to the bound, no further
    with pytest.raises(InputError, match="outside gc_range"):
        design(toy_model(), [start], gc_range=(0.6, 0.8), progress=False)


def test_minimize_and_reach_a_value():
    start = "AC" * 10 + "GT" * 10  # toy score 2.0
    low = design(toy_model(), [start], goal="minimize", steps=3, progress=False).designs
    assert low["predicted"].iloc[0] == pytest.approx(2.0 - 0.3)
    hit = design(toy_model(), [start], goal=2.5, steps=10, progress=False)
    assert hit.designs["predicted"].iloc[0] == pytest.approx(2.5)
    assert hit.settings["goal"] == 2.5
    assert "no candidate improved" in hit.settings["searches"]["start1"]["ended"]


def test_motif_moves_reach_a_site_single_changes_cannot():
    start = "A" * 40  # every window is 5 changes from a site: out of reach in 3 steps
    model = toy_model(gc=0)  # only a whole site scores
    plain = design(model, [start], steps=3, progress=False).designs
    assert plain["predicted"].iloc[0] == 0
    for motif in (SITE, "TGASTCA"):  # S is written as C, its first base
        res = design(model, [start], motifs=[motif], steps=3, progress=False)
        assert res.designs["predicted"].iloc[0] >= 1
        assert res.trajectories["move"].iloc[1].startswith(f"motif {SITE} at ")
    # a model that reads the other strand gets the motif in reverse orientation
    rc = reverse_complement_str(SITE)
    res = design(toy_model(gc=0, site=rc), [start], motifs=[SITE], steps=1, progress=False)
    assert rc in res.designs["sequence"].iloc[0]
    assert res.trajectories["move"].iloc[1].endswith("(-)")


def test_disagreement_penalty_steers_away_from_the_uncertain_region():
    start = random_start(60, seed=3)
    model = toy_model(gc=0, risky=slice(0, 20))  # members disagree on sites in 1-20
    opts = dict(motifs=[SITE], steps=1, progress=False)
    bold = design(model, [start], disagreement=0, **opts).designs.iloc[0]
    assert SITE in bold["sequence"][:20] and bold["predicted_sd"] > 0
    safe = design(model, [start], disagreement=1, **opts).designs.iloc[0]
    assert SITE in safe["sequence"] and SITE not in safe["sequence"][:20]
    assert safe["predicted_sd"] == 0


def test_same_seed_same_designs_when_candidates_are_sampled():
    start = random_start(60)
    opts = dict(n_designs=2, steps=5, max_candidates=30, seed=7, motifs=[SITE], progress=False)
    a, b = design(toy_model(), [start], **opts), design(toy_model(), [start], **opts)
    pd.testing.assert_frame_equal(a.designs, b.designs)
    pd.testing.assert_frame_equal(a.trajectories, b.trajectories)
    search = a.settings["searches"]["start1"]
    assert search["scored"] <= 30 * 5 and a.settings["max_candidates"] == 30


def test_progress_is_one_line_per_step_on_stderr(capsys):
    design(toy_model(), [random_start()], start_ids=["p1"], steps=2)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("design p1: step 1/2, best ") and "candidates" in err[0]
    assert len(err) == 2


@pytest.mark.parametrize("opts, cls, message", [
    (dict(goal="bigger"), ValueError, "goal 'bigger' is not understood"),
    (dict(n_designs=5, beam=4), ValueError, r"n_designs \(5\) is larger than the beam \(4\)"),
    (dict(fixed="1-500"), ValueError, r"fixed positions 1-500 do not fit start 'start1' \(40 nt\)"),
    (dict(fixed="20-10"), ValueError, "ends before it starts"),
    (dict(motifs=["TGAXTCA"]), ValueError, "motif 'TGAXTCA' is not an IUPAC DNA string"),
    (dict(target=3), ValueError, "target 3 is not a column of the model's 1 target"),
    (dict(gc_range=(40, 60)), ValueError, "must be two fractions"),
    (dict(disagreement=-1), ValueError, "disagreement must be a number >= 0"),
    (dict(max_edits=0), ValueError, "max_edits must be a whole number of at least 1"),
    (dict(fixed="1-40"), ValueError, "kept only 0 allowed edited sequence"),
])
def test_bad_options_are_refused_clearly(opts, cls, message):
    with pytest.raises(cls, match=message):
        design(toy_model(), [random_start()], progress=False, **opts)


def test_bad_starts_and_models_are_refused_clearly():
    start = random_start()
    with pytest.raises(InputError, match="start 'x' has 'N' at position 3: design needs"):
        design(toy_model(), ["ACNGT" + start], start_ids=["x"], progress=False)
    with pytest.raises(ValueError, match="start ids must be unique"):
        design(toy_model(), [start, start], start_ids=["a", "a"], progress=False)
    with pytest.raises(ValueError, match=r"must return \(members, sequences, targets\)"):
        design(lambda seqs: np.zeros(len(seqs)), [start], progress=False)


def test_write_designs_reads_back(tmp_path):
    res = design(toy_model(), [random_start(), random_start(seed=1)], n_designs=2, steps=3,
                 progress=False)
    paths = write_designs(res, tmp_path / "out")
    back = pd.read_csv(paths["csv"], keep_default_na=False)
    assert list(back.columns[:7]) == ["design_id", "start_id", "sequence", "predicted",
                                      "predicted_sd", "n_edits", "edits"]
    pd.testing.assert_frame_equal(back, res.designs, check_dtype=False)
    lines = paths["fasta"].read_text().splitlines()
    assert len(lines) == 2 * len(res.designs)
    for (header, seq), row in zip(zip(lines[::2], lines[1::2]), res.designs.itertuples()):
        fields = dict(f.split("=") for f in header.split()[1:])
        assert header.split()[0] == f">{row.design_id}" and seq == row.sequence
        assert fields["start"] == row.start_id and int(fields["edits"]) == row.n_edits
        assert float(fields["predicted"]) == pytest.approx(row.predicted, rel=1e-5)
    assert not list((tmp_path / "out").glob(".*partial*"))
