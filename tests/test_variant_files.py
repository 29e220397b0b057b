"""Tests for seqexpr.variant_files: variant tables read, checked and applied, or refused clearly."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from seqexpr._checks import InputError
from seqexpr.variant_files import (COLUMNS, read_pairs, read_variants, saturation_variants,
                                   variant_kind)

REF = "ACGTACGTAC"  # s1, 10 nt
FASTA = f">s1 first\n{REF}\n>s2\nGGGGCCCCAA\n>demo00012\nTTTTTCATAGGCTTTT\n"


def table(path, rows, sep=","):
    path.write_text("\n".join(sep.join(r) for r in rows) + "\n")
    return path


def variants(tmp_path, rows, header=("id", "position", "ref", "alt"), fasta=FASTA, rna=False):
    (tmp_path / "refs.fa").write_text(fasta)
    tab = table(tmp_path / "variants.csv", [header, *rows])
    return read_variants(tmp_path / "refs.fa", tab, rna=rna)


def refused(tmp_path, rows, **kw) -> InputError:
    with pytest.raises(InputError) as e:
        variants(tmp_path, rows, **kw)
    return e.value


def pairs_refused(tmp_path, rows) -> InputError:
    with pytest.raises(InputError) as e:
        read_pairs(table(tmp_path / "pairs.csv", [("variant_id", "ref_sequence",
                                                   "alt_sequence"), *rows]))
    return e.value


# -- kinds ---------------------------------------------------------------------------------
@pytest.mark.parametrize("ref,alt,kind", [
    ("ACGT", "ACTT", "SNV"), ("ACGT", "TCGA", "MNV"), ("A", "ATT", "insertion"),
    ("", "TT", "insertion"), ("ATT", "A", "deletion"), ("ACGT", "AT", "deletion"),
    ("ACGT", "ACGTAA", "insertion"), ("ACGT", "AGGTT", "indel"), ("AC", "", "deletion"),
    ("ACGT", "ACGT", "identical")])
def test_variant_kind(ref, alt, kind):
    assert variant_kind(ref, alt) == kind


# -- pairs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name,sep", [("pairs.csv", ","), ("pairs.tsv", "\t")])
def test_pairs_read_with_kind_and_line(tmp_path, name, sep):
    rows = [("variant_id", "ref_sequence", "alt_sequence", "note"),
            ("snv", "acgtacgt", "ACGAACGT", "x"), ("ins", "ACGT", "ACGGGT", "y"),
            ("del", "ACGTAC", "ACAC", "z"), ("mnv", "ACGT", "TCGA", "w")]
    df = read_pairs(table(tmp_path / name, rows, sep))
    assert list(df.columns) == ["variant_id", "ref_sequence", "alt_sequence", "kind", "line"]
    assert df["kind"].tolist() == ["SNV", "insertion", "deletion", "MNV"]
    assert df["line"].tolist() == [2, 3, 4, 5]
    assert df["ref_sequence"].iloc[0] == "ACGTACGT"  # upper-cased


def test_pairs_rna_read_as_dna_only_when_asked(tmp_path):
    rows = [("variant_id", "ref_sequence", "alt_sequence"), ("v1", "ACGU", "ACGA")]
    p = table(tmp_path / "pairs.csv", rows)
    assert read_pairs(p, rna=True)["ref_sequence"].tolist() == ["ACGT"]
    with pytest.raises(InputError, match=r"pairs.csv line 2, variant 'v1': ref_sequence 'ACGU': "
                                         r"character 'U' at position 4 .*rna=True") as e:
        read_pairs(p)
    assert (e.value.file, e.value.line, e.value.record) == ("pairs.csv", 2, "v1")


def test_pairs_missing_column_lists_those_found(tmp_path):
    p = table(tmp_path / "pairs.csv", [("variant_id", "ref", "alt_sequence"), ("v", "A", "C")])
    with pytest.raises(InputError, match=r"pairs.csv line 1: no column 'ref_sequence'; its "
                                         r"columns are \['variant_id', 'ref', 'alt_sequence'\]"):
        read_pairs(p)


@pytest.mark.parametrize("row,message", [
    (("v2", "ACGT", ""), r"line 3, variant 'v2': empty cell in column 'alt_sequence'; fill in"),
    (("v2", "ACGT", "ACXT"), r"line 3, variant 'v2': alt_sequence 'ACXT': character 'X' at "
                             r"position 3 is not IUPAC DNA \(ACGTRYSWKMBDHVN\); write bases "
                             r"as IUPAC DNA\.$"),
    (("v2", "ACGT", "ACGT"), r"line 3, variant 'v2': ref_sequence and alt_sequence are the "
                             r"same \('ACGT'\); give the changed allele"),
    (("v1", "ACGT", "ACGA"), r"line 3, variant 'v1': variant_id 'v1' is also at line 2; give "
                             r"each variant a unique variant_id"),
])
def test_pairs_refusals_name_line_and_variant(tmp_path, row, message):
    err = pairs_refused(tmp_path, [("v1", "ACGT", "ACGG"), row])
    assert re.match("pairs.csv " + message, err.args[0]), err.args[0]
    assert (err.line, err.record) == (3, row[0])


def test_pairs_gather_every_problem_with_counts(tmp_path):
    err = pairs_refused(tmp_path, [("a", "ACGT", "ACXT"), ("b", "ACGT", "ACGT"),
                                   ("c", "ACGT", "AZGT"), ("d", "ACGT", "ACGA")])
    msg = err.args[0]
    assert msg.startswith("3 problems in the variant input (invalid_char: 2, identical: 1)")
    assert "pairs.csv line 2, variant 'a': alt_sequence 'ACXT'" in msg
    assert "and 1 more with this problem (line 4 'c')" in msg
    assert "pairs.csv line 3, variant 'b': ref_sequence and alt_sequence are the same" in msg
    assert (err.file, err.line, err.record) == ("pairs.csv", 2, "a")
    assert err.problems["reason"].tolist() == ["invalid_char", "invalid_char", "identical"]


# -- variants: applied ---------------------------------------------------------------------
def test_snv_mnv_and_vcf_anchored_indels_applied(tmp_path):
    df = variants(tmp_path, [("s1", "1", "A", "G"), ("s1", "10", "C", "T"),
                             ("s1", "3", "G", "GTT"), ("s1", "3", "GTA", "G"),
                             ("s1", "2", "cg", "TT"), ("s1", "9", "AC", "A")])
    assert df["alt_sequence"].tolist() == ["GCGTACGTAC", "ACGTACGTAT", "ACGTTTACGTAC",
                                           "ACGCGTAC", "ATTTACGTAC", "ACGTACGTA"]
    assert df["kind"].tolist() == ["SNV", "SNV", "insertion", "deletion", "MNV", "deletion"]
    assert df["variant_id"].tolist()[:3] == ["s1:1A>G", "s1:10C>T", "s1:3G>GTT"]
    assert (df["ref_sequence"] == REF).all() and df["line"].tolist() == [2, 3, 4, 5, 6, 7]
    assert list(df.columns) == COLUMNS


def test_empty_allele_inserts_before_position_and_may_append(tmp_path):
    df = variants(tmp_path, [("s1", "1", "-", "TT"), ("s1", "5", "-", "GG"),
                             ("s1", "11", "", "TT"), ("s1", "4", "TA", "-"),
                             ("s1", "9", "AC", "")])
    assert df["alt_sequence"].tolist() == ["TTACGTACGTAC", "ACGTGGACGTAC", "ACGTACGTACTT",
                                           "ACGCGTAC", "ACGTACGT"]
    assert df["ref"].tolist()[:3] == ["", "", ""]
    assert df["variant_id"].tolist()[0] == "s1:1->TT"
    assert df["kind"].tolist() == ["insertion"] * 3 + ["deletion"] * 2


def test_variants_on_one_reference_are_applied_independently(tmp_path):
    df = variants(tmp_path, [("s1", "1", "A", "T"), ("s1", "2", "C", "T")])
    assert df["alt_sequence"].tolist() == ["TCGTACGTAC", "ATGTACGTAC"]


def test_given_variant_id_kept_and_empty_one_built(tmp_path):
    df = variants(tmp_path, [("s1", "1", "A", "T", "rs1"), ("s2", "2", "G", "A", "")],
                  header=("id", "position", "ref", "alt", "variant_id"))
    assert df["variant_id"].tolist() == ["rs1", "s2:2G>A"]


def test_rna_alleles_and_reference(tmp_path):
    df = variants(tmp_path, [("r", "2", "c", "U")], fasta=">r\nACGU\n", rna=True)
    assert df[["ref_sequence", "alt_sequence", "alt"]].iloc[0].tolist() == ["ACGT", "ATGT", "T"]
    err = refused(tmp_path, [("r", "2", "C", "U")], fasta=">r\nACGA\n")
    assert "variants.csv line 2, variant 'r:2C>U': alt 'U': character 'U'" in err.args[0]
    assert "rna=True" in err.args[0]


def test_tsv_variants(tmp_path):
    (tmp_path / "refs.fa").write_text(FASTA)
    tab = table(tmp_path / "v.tsv", [("id", "position", "ref", "alt"), ("s2", "3", "G", "T")],
                "\t")
    assert read_variants(tmp_path / "refs.fa", tab)["alt_sequence"].tolist() == ["GGTGCCCCAA"]


def test_parquet_variants_counted_by_row(tmp_path):
    (tmp_path / "refs.fa").write_text(FASTA)
    path = tmp_path / "v.parquet"
    pd.DataFrame({"id": ["s1", "s1"], "position": [1.0, 3.0], "ref": ["A", "C"],
                  "alt": ["T", "G"]}).to_parquet(path)
    with pytest.raises(InputError, match=r"^v.parquet row 2, variant 's1:3C>G': ref 'C' does "
                                         r"not match the reference 's1' at 3-3, which reads 'G'"):
        read_variants(tmp_path / "refs.fa", path)


# -- variants: refused ---------------------------------------------------------------------
def test_ref_mismatch_names_line_variant_reference_and_context(tmp_path):
    rows = [("s1", "1", "A", "T", "ok"), ("demo00012", "9", "G", "C", "rs12")]
    err = refused(tmp_path, rows, header=("id", "position", "ref", "alt", "variant_id"))
    assert err.args[0] == (
        "variants.csv line 3, variant 'rs12': ref 'G' does not match the reference 'demo00012' "
        "at 9-9, which reads 'A' (context ...TTCAT[A]GGCTT...); check the coordinates are "
        "1-based and on the + strand of the FASTA record.")
    assert (err.file, err.line, err.record) == ("variants.csv", 3, "rs12")


def test_zero_based_positions_get_a_hint(tmp_path):
    err = refused(tmp_path, [("s1", "0", "A", "T"), ("s1", "1", "C", "T"),
                             ("s1", "2", "G", "T"), ("s1", "3", "T", "A")])
    assert "are the positions 0-based?" in err.args[0]


def test_unknown_id_suggests_near_ids_and_counts_records(tmp_path):
    err = refused(tmp_path, [("demo0012", "1", "T", "A")])
    assert err.args[0] == (
        "variants.csv line 2, variant 'demo0012:1T>A': id 'demo0012' is not in refs.fa (3 "
        "records; near ids: 'demo00012'); give the id of a FASTA record (the first word of "
        "its header).")


@pytest.mark.parametrize("position,hint", [("0", "positions are 1-based"), ("-2", ""),
                                           ("2.5", ""), ("two", "")])
def test_position_must_be_a_positive_whole_number(tmp_path, position, hint):
    err = refused(tmp_path, [("s1", position, "C", "T")])
    assert err.args[0].startswith(f"variants.csv line 2, variant 's1:{position}C>T': position "
                                  f"'{position}' is not a positive whole number")
    assert hint in err.args[0]


def test_running_past_the_end_gives_the_reference_length(tmp_path):
    err = refused(tmp_path, [("s1", "10", "CA", "C")])
    assert "line 2, variant 's1:10CA>C': ref 'CA' at 10-11 runs past the end of the reference " \
           "'s1' (10 nt)" in err.args[0]
    err = refused(tmp_path, [("s1", "12", "-", "T")])
    assert "position 12 is past the end of the reference 's1' (10 nt; an empty ref inserts " \
           "before positions 1 to 11)" in err.args[0]


@pytest.mark.parametrize("row,message", [
    (("s1", "2", "C", "C"), "ref and alt are the same ('C')"),
    (("s1", "2", "-", ""), "ref and alt are both empty"),
    (("s1", "2", "C*", "C"), "ref 'C*': character '*' at position 2 is not IUPAC DNA"),
    (("", "2", "C", "A"), "empty cell in column 'id'"),
    (("s1", "", "C", "A"), "empty cell in column 'position'"),
])
def test_row_refusals_name_the_row(tmp_path, row, message):
    err = refused(tmp_path, [("s1", "1", "A", "T"), row])
    assert err.args[0].startswith("variants.csv line 3, variant '")
    assert message in err.args[0] and err.line == 3


def test_duplicate_variant_names_both_lines(tmp_path):
    err = refused(tmp_path, [("s1", "1", "A", "T"), ("s2", "1", "G", "A"), ("s1", "1", "a", "t")])
    assert err.args[0].startswith("variants.csv line 4, variant 's1:1A>T': variant_id "
                                  "'s1:1A>T' is also at line 2; give each variant a unique")


def test_conflicting_fasta_copies_refused_identical_ones_accepted(tmp_path):
    ok = variants(tmp_path, [("s1", "1", "A", "T")], fasta=f">s1\n{REF}\n>s1\n{REF}\n")
    assert ok["alt_sequence"].tolist() == ["TCGTACGTAC"]
    err = refused(tmp_path, [("s1", "1", "A", "T")], fasta=f">s1\n{REF}\n>x\nA\n>s1\nAAAA\n")
    assert err.args[0].startswith("refs.fa line 1, record 's1': the id appears at lines 1, 5 "
                                  "with different sequences")


def test_reference_with_a_bad_character_is_named(tmp_path):
    err = refused(tmp_path, [("s1", "1", "A", "T")], fasta=">s1\nACXT\n")
    assert err.args[0].startswith("refs.fa line 1, record 's1': character 'X' at position 3 "
                                  "is not IUPAC DNA")


def test_every_problem_gathered_into_one_error(tmp_path):
    rows = [("s1", "1", "G", "A", "v1"), ("s9", "2", "C", "T", "v2"),
            ("s1", "0", "A", "G", "v3"), ("s1", "x", "A", "G", "v4"),
            ("s1", "4", "T", "T", "v5"), ("s1", "2", "G", "T", "v6")]
    err = refused(tmp_path, rows, header=("id", "position", "ref", "alt", "variant_id"))
    lines = err.args[0].split("\n")
    assert lines[0] == ("6 problems in the variant input (bad_position: 2, identical: 1, "
                        "unknown_id: 1, ref_mismatch: 2); the first of each kind:")
    assert lines[1].startswith("variants.csv line 4, variant 'v3': position '0'")
    assert "and 1 more with this problem (line 5 'v4')" in lines[1]
    assert lines[3].startswith("variants.csv line 3, variant 'v2': id 's9' is not in refs.fa")
    assert lines[4].startswith("variants.csv line 2, variant 'v1': ref 'G' does not match")
    assert lines[-1].startswith("The full list (6 problems")
    assert (err.file, err.line, err.record) == ("variants.csv", 4, "v3")
    assert sorted(err.problems["line"]) == [2, 3, 4, 5, 6, 7]


def test_missing_column_and_no_rows(tmp_path):
    (tmp_path / "refs.fa").write_text(FASTA)
    tab = table(tmp_path / "v.csv", [("CHROM", "POS", "REF", "ALT"), ("s1", "1", "A", "T")])
    with pytest.raises(InputError, match=r"v.csv line 1: no column 'id', 'position', 'ref', "
                                         r"'alt'; its columns are \['CHROM', 'POS'"):
        read_variants(tmp_path / "refs.fa", tab)
    tab = table(tmp_path / "v.csv", [("id", "position", "ref", "alt")])
    with pytest.raises(InputError, match="v.csv holds a header but no rows"):
        read_variants(tmp_path / "refs.fa", tab)


# -- saturation ----------------------------------------------------------------------------
def test_saturation_three_changes_per_acgt_position_in_order():
    df = saturation_variants("x", "ACNgT")
    assert len(df) == 12 and df.attrs["skipped"] == [3]
    assert df["position"].tolist() == [1, 1, 1, 2, 2, 2, 4, 4, 4, 5, 5, 5]
    assert df["alt"].tolist()[:6] == ["C", "G", "T", "A", "G", "T"]
    assert df["variant_id"].tolist()[:2] == ["x:1A>C", "x:1A>G"]
    for p, r, a, s in df[["position", "ref", "alt", "alt_sequence"]].to_numpy():
        diff = [i + 1 for i, (u, v) in enumerate(zip("ACNGT", s)) if u != v]
        assert diff == [p] and s[p - 1] == a and "ACNGT"[p - 1] == r != a
    assert list(df.columns) == COLUMNS and df["line"].isna().all()
    assert (df["kind"] == "SNV").all()


def test_saturation_positions_subset_and_range():
    df = saturation_variants("x", "ACGT", positions=[4, 1, 4])
    assert df["position"].tolist() == [1, 1, 1, 4, 4, 4]
    assert df["alt_sequence"].tolist()[-1] == "ACGG"
    with pytest.raises(ValueError, match=r"x: position 5 is outside the sequence \(1-4\)"):
        saturation_variants("x", "ACGT", positions=[5])
