"""Tests for seqexpr.io: reading, every input check, the policies and the run-folder files."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from seqexpr import io
from seqexpr.io import InputError
from seqexpr.stages import load as load_stage

A = "ACGTACGTAC"  # 10 nt
B = "GGGCCCAAAT"
C = "TTTTGGGGCC"


def write_fasta(path, records, *, gz=False):
    """records: list of (header, sequence lines); returns path."""
    text = "".join(f">{h}\n" + "".join(f"{s}\n" for s in lines) for h, lines in records)
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def write_table(path, rows, header="id,expression"):
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows))
    return path


@pytest.fixture()
def pair(tmp_path):
    """A clean three-record FASTA (headers at lines 1, 3, 6) and its table."""
    fa = write_fasta(tmp_path / "lib.fa", [("s1 first", [A]), ("s2", [B[:5], B[5:]]),
                                           ("s3", [C])])
    tab = write_table(tmp_path / "expr.csv", ["s1,1.5", "s2,2.5", "s3,-0.5"])
    return fa, tab


# -- reading --------------------------------------------------------------------------------
def test_read_fasta_ids_sequences_and_exact_header_lines(pair):
    fa, _ = pair
    df = io.read_fasta(fa)
    assert df["id"].tolist() == ["s1", "s2", "s3"]
    assert df["sequence"].tolist() == [A, B, C]
    assert df["line"].tolist() == [1, 3, 6]


def test_read_fasta_gzip_blank_lines_and_crlf(tmp_path):
    text = "\n>a desc\r\nACGT\r\n\n>b\nGG\nCC\n"
    p = tmp_path / "x.fa.gz"
    with gzip.open(p, "wt", newline="") as fh:
        fh.write(text)
    df = io.read_fasta(p)
    assert df["id"].tolist() == ["a", "b"]
    assert df["sequence"].tolist() == ["ACGT", "GGCC"]
    assert df["line"].tolist() == [2, 5]


def test_lowercase_is_upper_cased_and_counted(tmp_path):
    fa = write_fasta(tmp_path / "m.fa", [("a", ["acgtNNacgt"]), ("b", ["ACGT"])])
    df = io.read_fasta(fa)
    assert df["sequence"].tolist() == ["ACGTNNACGT", "ACGT"]
    assert df.attrs["soft_masked"] == 1


def test_rna_u_read_as_t_only_when_asked(tmp_path):
    fa = write_fasta(tmp_path / "r.fa", [("a", ["ACGU"]), ("b", ["uuGG"])])
    assert io.read_fasta(fa, rna=True)["sequence"].tolist() == ["ACGT", "TTGG"]
    tab = write_table(tmp_path / "e.csv", ["a,1", "b,2"])
    res = io.load(fasta=fa, expression=tab, rna=True)
    assert res.frame["sequence"].tolist() == ["ACGT", "TTGG"] and res.info["rna"] is True
    with pytest.raises(InputError, match="rna=True") as e:
        io.load(fasta=fa, expression=tab)
    assert (e.value.file, e.value.line, e.value.record) == ("r.fa", 1, "a")
    assert "'U' at position 4" in str(e.value)


def test_text_before_first_header_names_its_line(tmp_path):
    p = tmp_path / "bad.fa"
    p.write_text("\n\nACGT\n>a\nACGT\n")
    with pytest.raises(InputError, match="bad.fa line 3: text before") as e:
        io.read_fasta(p)
    assert e.value.line == 3


# -- sequence checks ------------------------------------------------------------------------
def test_invalid_character_error_names_file_record_line_position(tmp_path):
    seq = "A" * 56 + "X" + "A" * 10
    fa = write_fasta(tmp_path / "promoters.fa", [("p1", [A]), ("p2", [B]), ("p_1033", [seq])])
    tab = write_table(tmp_path / "e.csv", ["p1,1", "p2,2", "p_1033,3"])
    with pytest.raises(InputError) as e:
        io.load(fasta=fa, expression=tab)
    msg = str(e.value)
    assert msg.startswith("promoters.fa line 5, record 'p_1033': character 'X' at position 57 "
                          "is not IUPAC DNA")
    assert 'policy={"invalid_char": "drop"}' in msg
    assert (e.value.file, e.value.line, e.value.record) == ("promoters.fa", 5, "p_1033")
    res = io.load(fasta=fa, expression=tab, policy={"invalid_char": "drop"})
    assert res.frame["id"].tolist() == ["p1", "p2"]
    row = res.dropped.iloc[0]
    assert (row["id"], row["source"], row["line"], row["reason"]) == (
        "p_1033", "promoters.fa", 5, "invalid_char")
    assert "position 57" in row["detail"]
    assert res.info["counts"]["dropped"] == {"invalid_char": 1}


def test_many_bad_records_named_with_count(tmp_path):
    recs = [(f"r{i}", ["AC*T"]) for i in range(6)]
    fa = write_fasta(tmp_path / "m.fa", recs)
    tab = write_table(tmp_path / "e.csv", [f"r{i},1" for i in range(6)])
    with pytest.raises(InputError) as e:
        io.load(fasta=fa, expression=tab)
    msg = str(e.value)
    assert "m.fa line 1, record 'r0'" in msg and "and 5 more record(s)" in msg
    assert "line 3 'r1'" in msg and ", ..." in msg


def test_empty_sequence_dropped_by_default_or_fails(tmp_path):
    fa = write_fasta(tmp_path / "e.fa", [("a", [A]), ("b", []), ("c", [C])])
    tab = write_table(tmp_path / "t.csv", ["a,1", "b,2", "c,3"])
    res = io.load(fasta=fa, expression=tab)
    assert res.frame["id"].tolist() == ["a", "c"]
    assert res.dropped[["id", "line", "reason"]].values.tolist() == [["b", 3, "empty"]]
    with pytest.raises(InputError, match="e.fa line 3, record 'b': the sequence is empty"):
        io.load(fasta=fa, expression=tab, policy={"empty": "fail"})


def test_duplicate_identical_kept_once_and_recorded(tmp_path):
    fa = write_fasta(tmp_path / "d.fa", [("a", [A]), ("b", [B]), ("a", [A])])
    tab = write_table(tmp_path / "t.csv", ["a,1", "b,2"])
    res = io.load(fasta=fa, expression=tab)
    assert res.frame["id"].tolist() == ["a", "b"]
    d = res.dropped.iloc[0]
    assert (d["id"], d["line"], d["reason"]) == ("a", 5, "duplicate_id")
    assert "identical copy of the record at d.fa line 1" in d["detail"]


def test_duplicate_conflicting_fails_by_default_drop_removes_all_copies(tmp_path):
    fa = write_fasta(tmp_path / "d.fa", [("a", [A]), ("b", [B]), ("a", [C])])
    tab = write_table(tmp_path / "t.csv", ["a,1", "b,2"])
    with pytest.raises(InputError) as e:
        io.load(fasta=fa, expression=tab)
    assert (e.value.file, e.value.line, e.value.record) == ("d.fa", 1, "a")
    assert "lines 1, 5 with different sequences" in str(e.value)
    res = io.load(fasta=fa, expression=tab, policy={"duplicate_id": "drop"})
    assert res.frame["id"].tolist() == ["b"]
    assert sorted(res.dropped["line"].tolist()) == [1, 5]
    assert set(res.dropped["reason"]) == {"duplicate_id"}


def test_duplicate_table_rows(tmp_path, pair):
    fa, _ = pair
    same = write_table(tmp_path / "same.csv", ["s1,1.5", "s2,2.5", "s1,1.5", "s3,0"])
    res = io.load(fasta=fa, expression=same)
    assert res.dropped[["id", "source", "line"]].values.tolist() == [["s1", "same.csv", 4]]
    diff = write_table(tmp_path / "diff.csv", ["s1,1.5", "s2,2.5", "s1,9", "s3,0"])
    with pytest.raises(InputError, match="diff.csv line 2, record 's1'.*lines 2, 4"):
        io.load(fasta=fa, expression=diff)


# -- join -----------------------------------------------------------------------------------
def test_ids_missing_on_either_side_dropped_with_their_lines(tmp_path, pair):
    fa, _ = pair
    tab = write_table(tmp_path / "t.csv", ["s1,1", "zz,2", "s3,3"])
    res = io.load(fasta=fa, expression=tab)
    assert res.frame["id"].tolist() == ["s1", "s3"]
    got = res.dropped.set_index("reason")[["id", "source", "line"]]
    assert got.loc["missing_in_table"].tolist() == ["s2", "lib.fa", 3]
    assert got.loc["missing_in_fasta"].tolist() == ["zz", "t.csv", 3]
    with pytest.raises(InputError) as e:
        io.load(fasta=fa, expression=tab, policy={"missing_in_table": "fail"})
    assert (e.value.file, e.value.line, e.value.record) == ("lib.fa", 3, "s2")
    with pytest.raises(InputError) as e:
        io.load(fasta=fa, expression=tab, policy={"missing_in_fasta": "fail"})
    assert (e.value.file, e.value.line, e.value.record) == ("t.csv", 3, "zz")
    assert "not found among the records of lib.fa" in str(e.value)


def test_no_common_id_fails_with_examples(tmp_path, pair):
    fa, _ = pair
    tab = write_table(tmp_path / "t.csv", ["1,1", "2,2"])
    with pytest.raises(InputError, match="no id in column 'id' matches"):
        io.load(fasta=fa, expression=tab)


def test_missing_column_names_the_columns(tmp_path, pair):
    fa, tab = pair
    with pytest.raises(InputError, match=r"expr.csv line 1: no column 'RNA'.*\['id', "):
        io.load(fasta=fa, expression=tab, targets="RNA")


# -- targets --------------------------------------------------------------------------------
def test_missing_target_dropped_with_table_line(tmp_path, pair):
    fa, _ = pair
    tab = write_table(tmp_path / "t.csv", ["s1,1", "s2,", "s3,NA"])
    res = io.load(fasta=fa, expression=tab)
    assert res.frame["id"].tolist() == ["s1"]
    assert res.dropped[["id", "line", "reason"]].values.tolist() == [
        ["s2", 3, "missing_target"], ["s3", 4, "missing_target"]]
    assert res.frame["expression"].dtype == np.float64


def test_nonnumeric_target_fails_naming_value(tmp_path, pair):
    fa, _ = pair
    tab = tmp_path / "t.csv"
    tab.write_text('id,expression\ns1,1\ns2,high\ns3,"1,5"\n')
    with pytest.raises(InputError) as e:
        io.load(fasta=fa, expression=tab)
    msg = str(e.value)
    assert msg.startswith("t.csv line 3, record 's2': target 'expression' holds 'high'")
    assert "line 4 's3'" in msg and 'policy={"nonnumeric_target": "drop"}' in msg
    res = io.load(fasta=fa, expression=tab, policy={"nonnumeric_target": "drop"})
    assert res.dropped["reason"].tolist() == ["nonnumeric_target"] * 2
    assert "decimal comma" in res.dropped["detail"].iloc[1]


def test_infinite_target_dropped_or_fails(tmp_path, pair):
    fa, _ = pair
    tab = write_table(tmp_path / "t.csv", ["s1,1", "s2,inf", "s3,-inf"])
    res = io.load(fasta=fa, expression=tab)
    assert res.dropped[["id", "line", "reason"]].values.tolist() == [
        ["s2", 3, "infinite_target"], ["s3", 4, "infinite_target"]]
    with pytest.raises(InputError, match="t.csv line 3, record 's2': target 'expression' is inf"):
        io.load(fasta=fa, expression=tab, policy={"infinite_target": "fail"})


def test_several_targets_and_blank_table_lines_keep_line_numbers(tmp_path, pair):
    fa, _ = pair
    tab = tmp_path / "t.csv"
    tab.write_text("id,e1,e2\ns1,1,2\n\ns2,3,\ns3,5,6\n")
    res = io.load(fasta=fa, expression=tab, targets=["e1", "e2"])
    assert list(res.frame.columns[:5]) == ["id", "sequence", "length", "e1", "e2"]
    assert res.dropped[["id", "line"]].values.tolist() == [["s2", 4]]


# -- formats and forms ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["t.csv", "t.tsv", "t.csv.gz", "t.tsv.gz", "t.parquet"])
def test_table_formats_load_alike(tmp_path, pair, name):
    fa, _ = pair
    df = pd.DataFrame({"id": ["s1", "s2", "s3"], "expression": [1.0, 2.0, np.nan]})
    path = tmp_path / name
    if name.endswith("parquet"):
        df.to_parquet(path)
    else:
        df.to_csv(path, sep="\t" if ".tsv" in name else ",", index=False)
    res = io.load(fasta=fa, expression=path)
    assert res.frame["expression"].tolist() == [1.0, 2.0]
    assert res.dropped[["id", "line"]].values.tolist() == [["s3", 3 if name.endswith(
        "parquet") else 4]]


def test_gzipped_fasta_loads(tmp_path, pair):
    _, tab = pair
    fa = write_fasta(tmp_path / "lib.fa.gz", [("s1", [A]), ("s2", [B]), ("s3", [C])], gz=True)
    assert io.load(fasta=fa, expression=tab).frame["sequence"].tolist() == [A, B, C]


def test_one_table_form_with_group_and_split(tmp_path):
    tab = tmp_path / "one.tsv"
    tab.write_text("name\tseq\texpression\tfam\tsplit\n"
                   f"a\t{A.lower()}\t1\tf1\ttrain\n"
                   "b\tACZT\t2\tf1\ttest\n"
                   f"c\t{C}\t3\tf2\ttest\n")
    with pytest.raises(InputError, match="one.tsv line 3, record 'b': character 'Z'"):
        io.load(table=tab, id_column="name", sequence_column="seq")
    res = io.load(table=tab, id_column="name", sequence_column="seq", group_column="fam",
                  split_column="split", policy={"invalid_char": "drop"})
    f = res.frame
    assert f.columns.tolist() == ["id", "sequence", "length", "expression", "fam", "split"]
    assert f["sequence"].tolist() == [A, C] and f["split"].tolist() == ["train", "test"]
    assert res.info["counts"] == {"fasta": None, "table": 3, "kept": 2,
                                  "dropped": {"invalid_char": 1}}
    assert res.info["sequence_column"] == "seq" and res.info["soft_masked"] == 1


def test_replicates_auto_detected_or_given(tmp_path, pair):
    fa, _ = pair
    tab = tmp_path / "t.csv"
    tab.write_text("id,expression,Rep1,REP2,reporter_name,DNA\ns1,1,1.1,0.9,x,5\n"
                   "s2,2,2.1,1.9,y,6\ns3,3,3.1,2.9,z,7\n")
    res = io.load(fasta=fa, expression=tab)
    assert res.info["replicates"] == ["Rep1", "REP2"]  # text column "reporter_name" skipped
    assert res.frame.columns.tolist()[-2:] == ["Rep1", "REP2"]
    assert io.load(fasta=fa, expression=tab, replicate_columns=[]).info["replicates"] == []
    res = io.load(fasta=fa, expression=tab, replicate_columns=["DNA"])
    assert res.info["replicates"] == ["DNA"] and res.frame["DNA"].tolist() == [5, 6, 7]


def test_length_policy_reported(tmp_path):
    fa = write_fasta(tmp_path / "v.fa", [("a", ["A" * 100]), ("b", ["C" * 100]),
                                         ("c", ["G" * 400])])
    tab = write_table(tmp_path / "t.csv", ["a,1", "b,2", "c,3"])
    with pytest.warns(UserWarning, match="lengths differ widely"):
        res = io.load(fasta=fa, expression=tab)
    assert res.info["lengths"] == {"min": 100, "median": 100.0, "max": 400}
    assert res.info["length_policy"] == "pad"
    assert res.frame["length"].tolist() == [100, 100, 400]


def test_policy_checked(pair):
    fa, tab = pair
    with pytest.raises(ValueError, match="unknown policy kind"):
        io.load(fasta=fa, expression=tab, policy={"dupes": "drop"})
    with pytest.raises(ValueError, match="'fail' or 'drop'"):
        io.load(fasta=fa, expression=tab, policy={"empty": "skip"})


# -- nothing lost, outputs ------------------------------------------------------------------
def test_every_record_not_kept_is_in_dropped(tmp_path):
    recs = [("a", [A]), ("b", []), ("c", ["ACXT"]), ("d", [B]), ("d", [B]), ("e", [C])]
    fa = write_fasta(tmp_path / "all.fa", recs)
    tab = write_table(tmp_path / "t.csv", ["a,1", "b,2", "c,3", "d,", "e,inf", "f,4"])
    res = io.load(fasta=fa, expression=tab, policy="drop")
    assert res.frame["id"].tolist() == ["a"]
    every = {"a", "b", "c", "d", "e", "f"}
    assert set(res.dropped["id"]) | set(res.frame["id"]) == every
    assert set(res.dropped["reason"]) == {"empty", "invalid_char", "duplicate_id",
                                          "missing_target", "infinite_target",
                                          "missing_in_fasta"}
    assert sum(res.info["counts"]["dropped"].values()) == len(res.dropped)


def test_write_outputs_follow_the_contract(tmp_path, pair):
    fa, tab = pair
    res = io.load(fasta=fa, expression=tab)
    gt_dir = tmp_path / "demo"
    gt_dir.mkdir()
    (gt_dir / "ground_truth.json").write_text(json.dumps({"seed": 0,
                                                          "sites_file": "ground_truth_sites.csv"}))
    pd.DataFrame({"id": ["s1"], "motif": ["AP1"], "start": [3], "strand": ["+"]}).to_csv(
        gt_dir / "ground_truth_sites.csv", index=False)
    run = tmp_path / "run"
    load_stage.write_outputs(run, res, ground_truth=gt_dir / "ground_truth.json")
    seqs = pd.read_parquet(run / "sequences.parquet")
    assert seqs.columns.tolist() == ["id", "sequence", "length", "expression"]
    info = json.loads((run / "load.json").read_text())
    for key in ("targets", "replicates", "group_column", "split_column", "id_column",
                "sequence_column", "inputs", "counts", "lengths", "length_policy"):
        assert key in info
    assert info["ground_truth"] is True and info["counts"]["kept"] == 3
    assert pd.read_csv(run / "dropped.csv").columns.tolist() == [
        "id", "source", "line", "reason", "detail"]
    assert (run / "ground_truth.json").exists() and (run / "ground_truth_sites.csv").exists()
    other = write_fasta(tmp_path / "o.fa", [("x", [A])])
    res2 = io.load(fasta=other, expression=write_table(tmp_path / "o.csv", ["x,1"]))
    with pytest.raises(ValueError, match="ground_truth=None"):
        load_stage.write_outputs(tmp_path / "run2", res2, ground_truth=gt_dir / "ground_truth.json")


def test_parquet_errors_count_rows(tmp_path, pair):
    fa, _ = pair
    path = tmp_path / "t.parquet"
    pd.DataFrame({"id": ["s1", "s2", "s3"], "expression": ["1", "oops", "2"]}).to_parquet(path)
    with pytest.raises(InputError, match="t.parquet row 2, record 's2'") as e:
        io.load(fasta=fa, expression=path)
    assert e.value.line == 2


def test_demo_if_missing_leaves_other_inputs_alone(pair):
    fa, tab = pair
    assert load_stage.write_demo_if_missing(fa, tab) is None
    assert load_stage.write_demo_if_missing(None) is None


# -- every problem before refusing ----------------------------------------------------------
def test_every_failing_record_is_listed_before_refusing(tmp_path):
    g = "ACGT" * 50  # 200 nt
    recs = [("a", [g]), ("b", ["ACXT" + g]), ("c", []), ("d", [g + "*"]), ("e", [g]),
            ("e", [g[::-1]]), ("f", ["A" * 5000]), ("g", [g]), ("h", [g]), ("i", [g])]
    fa = write_fasta(tmp_path / "lib.fa", recs)  # headers at lines 1, 3, 5, 6, 8, 10, ..., 18
    tab = tmp_path / "t.csv"
    tab.write_text('id,expression\na,1\nb,2\nc,3\nd,4\ne,1\nf,2\ng,high\nh,\ni,"1,5"\n')
    with pytest.raises(InputError) as e:
        io.load(fasta=fa, expression=tab)
    msg = str(e.value)
    assert msg.startswith("6 records fail the input checks (invalid_char: 2, duplicate_id: 2, "
                          "nonnumeric_target: 2)")
    assert "lib.fa line 3, record 'b': character 'X' at position 3" in msg
    assert "t.csv line 8, record 'g': target 'expression' holds 'high'" in msg
    assert "the policy drops 3 record(s) (empty: 1, length_outlier: 1, missing_target: 1)" in msg
    got = e.value.problems
    assert got.columns.tolist() == ["id", "source", "line", "reason", "detail"]
    assert got[["id", "source", "line", "reason"]].values.tolist() == [
        ["b", "lib.fa", 3, "invalid_char"], ["d", "lib.fa", 6, "invalid_char"],
        ["e", "lib.fa", 8, "duplicate_id"], ["e", "lib.fa", 10, "duplicate_id"],
        ["g", "t.csv", 8, "nonnumeric_target"], ["i", "t.csv", 10, "nonnumeric_target"]]
    assert e.value.dropped["id"].tolist() == ["c", "f", "h"]
    # the advice works: dropping every failing kind loads the rest, every record accounted for
    res = io.load(fasta=fa, expression=tab, policy={"invalid_char": "drop", "duplicate_id": "drop",
                                                    "nonnumeric_target": "drop"})
    assert res.frame["id"].tolist() == ["a"]
    assert len(res.dropped) == len(got) + len(e.value.dropped)


# -- length outliers ------------------------------------------------------------------------
def test_length_outliers_dropped_with_the_rule_in_the_detail_or_refused(tmp_path):
    g = "ACGT" * 50
    recs = [(f"s{i}", [g]) for i in range(8)] + [("huge", ["A" * 100_000]), ("long", ["C" * 5000])]
    fa = write_fasta(tmp_path / "l.fa", recs)
    tab = write_table(tmp_path / "t.csv", [f"{r[0]},1" for r in recs])
    res = io.load(fasta=fa, expression=tab)
    assert res.info["lengths"]["max"] == 200 and len(res.frame) == 8
    assert res.dropped[["id", "line", "reason", "detail"]].values.tolist() == [
        ["huge", 17, "length_outlier", "100000 nt; median 200 nt, limit 2000 nt"],
        ["long", 19, "length_outlier", "5000 nt; median 200 nt, limit 2000 nt"]]
    assert res.info["summary"] == "kept 8 records, dropped 2 (length_outlier: 2)"  # load.json
    with pytest.raises(InputError, match="and 1 more record.*max_length=100000") as e:
        io.load(fasta=fa, expression=tab, policy={"length_outlier": "fail"})
    assert e.value.problems["id"].tolist() == ["huge", "long"]
    with pytest.warns(UserWarning, match="lengths differ widely"):  # kept, so padded to it
        kept = io.load(fasta=fa, expression=tab, max_length=6000)
    assert kept.dropped["id"].tolist() == ["huge"]


def test_empty_id_column_numbers_the_rows_of_one_table(tmp_path):
    tab = tmp_path / "one.csv"
    tab.write_text(f"sequence,expression\n{A},1\n{B},2\n")
    assert io.load(table=tab, id_column="").frame["id"].tolist() == ["row2", "row3"]
    fa = write_fasta(tmp_path / "x.fa", [("a", [A])])
    with pytest.raises(ValueError, match="--id-column NAME"):
        io.load(fasta=fa, expression=tab, id_column="")
