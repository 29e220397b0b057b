"""`python -m seqexpr variants` and `design` on a saved seed ensemble: what they write agrees
with the model, keeps every constraint, and bad input is refused in one line naming it."""

import numpy as np
import pandas as pd
import pytest

from seqexpr import bundle
from seqexpr.__main__ import main


@pytest.fixture()
def refs(tmp_path, toy):
    fa = tmp_path / "refs.fa"
    fa.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(toy["seqs"][:3])))
    return fa, toy["seqs"][:3]


def test_variants_command_scores_pairs_and_vcf_edits(ensemble, refs, tmp_path):
    folder, _ = ensemble
    fa, seqs = refs
    alt = seqs[0][:9] + ("A" if seqs[0][9] != "A" else "C") + seqs[0][10:]
    pd.DataFrame({"variant_id": ["v1", "ins"], "ref_sequence": [seqs[0], seqs[1]],
                  "alt_sequence": [alt, seqs[1][:50] + "GG" + seqs[1][50:]]}).to_csv(
        tmp_path / "pairs.csv", index=False)
    assert main(["variants", "--model", str(folder), "--pairs", str(tmp_path / "pairs.csv"),
                 "--out", str(tmp_path / "effects.csv")]) == 0
    got = pd.read_csv(tmp_path / "effects.csv", keep_default_na=False).set_index("variant_id")
    b = bundle.load_bundle(folder)
    each = b.predict_sequences([alt], members=True) - b.predict_sequences([seqs[0]], members=True)
    assert got.loc["v1", "delta"] == pytest.approx(each.mean(), rel=1e-4, abs=1e-6)
    assert got.loc["v1", "delta_sd"] == pytest.approx(each[:, 0, 0].std(ddof=1), rel=1e-3)
    assert got.loc["ins", "kind"] == "insertion"
    assert got.loc["ins", "note"].startswith("length changes 100 -> 102 nt")
    # the same SNV written VCF-style against the FASTA gives the same effect
    ref_base = seqs[0][9]
    pd.DataFrame({"id": ["r0"], "position": [10], "ref": [ref_base],
                  "alt": [alt[9]]}).to_csv(tmp_path / "v.csv", index=False)
    assert main(["variants", "--model", str(folder), "--fasta", str(fa), "--variants",
                 str(tmp_path / "v.csv"), "--out", str(tmp_path / "e2.csv")]) == 0
    vcf = pd.read_csv(tmp_path / "e2.csv")
    assert vcf["variant_id"][0] == f"r0:10{ref_base}>{alt[9]}"
    assert vcf["delta"][0] == pytest.approx(got.loc["v1", "delta"], rel=1e-4, abs=1e-6)


def test_variants_command_refuses_bad_input_naming_it(ensemble, refs, tmp_path, capsys):
    folder, _ = ensemble
    fa, seqs = refs
    wrong = "ACGT".replace(seqs[1][4], "")[0]
    pd.DataFrame({"id": ["r1", "r1", "r9"], "position": [5, 500, 1], "ref": [wrong, "A", "A"],
                  "alt": ["T", "C", "C"]}).to_csv(tmp_path / "v.csv", index=False)
    assert main(["variants", "--model", str(folder), "--fasta", str(fa), "--variants",
                 str(tmp_path / "v.csv"), "--out", str(tmp_path / "e.csv")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("seqexpr variants: 3 problems")
    assert f"v.csv line 2, variant 'r1:5{wrong}>T': ref '{wrong}' does not match" in err
    assert "v.csv line 3" in err and "past the end" in err and "'r9' is not in refs.fa" in err
    assert not (tmp_path / "e.csv").exists()
    pd.DataFrame({"variant_id": ["x"], "ref_sequence": ["ACGTX"], "alt_sequence": ["ACGTA"]}
                 ).to_csv(tmp_path / "p.csv", index=False)
    assert main(["variants", "--model", str(folder), "--pairs", str(tmp_path / "p.csv"),
                 "--out", str(tmp_path / "e.csv")]) == 1
    assert "p.csv line 2, variant 'x'" in capsys.readouterr().err


def test_saturation_command_writes_every_change_and_a_map(ensemble, refs, tmp_path, capsys):
    folder, _ = ensemble
    fa, seqs = refs
    # a record without a base to change is said, not a traceback; Ns are never mutated
    fa.write_text(f">n\n{'N' * 100}\n>r0\n{'N' * 5}{seqs[0][5:]}\n>r1\n{seqs[1]}\n")
    assert main(["variants", "--model", str(folder), "--fasta", str(fa), "--saturation",
                 "--out", str(tmp_path / "sat.csv")]) == 0
    out = capsys.readouterr().out
    assert "n: 100 position(s) hold no A/C/G/T base" in out and "nothing to map" in out
    assert "r0: 5 position(s)" in out and "r1:" not in out
    sat = pd.read_csv(tmp_path / "sat.csv")
    assert len(sat) == 3 * 95 + 3 * 100 and sat["delta_sd"].notna().all()
    assert sorted(p.name for p in tmp_path.glob("sat_*.png")) == ["sat_2_r0.png", "sat_3_r1.png"]


def test_design_command_keeps_every_constraint(ensemble, refs, tmp_path):
    folder, _ = ensemble
    fa, seqs = refs
    out = tmp_path / "designs"
    assert main(["design", "--model", str(folder), "--fasta", str(fa), "--out", str(out),
                 "--steps", "2", "--beam", "2", "--max-edits", "2", "--fixed", "1-20", "81-100",
                 "--avoid", "GAATTC", "--max-candidates", "60"]) == 0
    d = pd.read_csv(out / "designs.csv", keep_default_na=False)
    assert len(d) == 3 and (out / "designs.fa").exists()
    assert (out / "design_trajectories.png").exists()
    b = bundle.load_bundle(folder)
    np.testing.assert_allclose(d["predicted"], b.predict_sequences(list(d["sequence"]))[:, 0],
                               rtol=1e-4)
    for start, seq, n in zip(seqs, d["sequence"], d["n_edits"]):
        assert start[:20] == seq[:20] and start[80:] == seq[80:]
        assert 1 <= n <= 2 and sum(a != c for a, c in zip(start, seq)) == n
        assert "GAATTC" not in seq


def test_design_command_names_a_bad_start(ensemble, tmp_path, capsys):
    folder, _ = ensemble
    (tmp_path / "s.fa").write_text(">ok\n" + "ACGT" * 25 + "\n>bad\n" + "ACGN" * 25 + "\n")
    assert main(["design", "--model", str(folder), "--fasta", str(tmp_path / "s.fa"),
                 "--out", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("seqexpr design: s.fa line 3: start 'bad' has 'N' at position 4")
