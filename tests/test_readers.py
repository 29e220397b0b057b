"""Tests for seqexpr._readers and seqexpr._textfile: awkward files read right or refused clearly."""

from __future__ import annotations

import bz2
import gzip
import zipfile

import pandas as pd
import pytest

from seqexpr import io
from seqexpr._readers import read_fasta, read_table
from seqexpr.io import InputError

FASTA = ">a first\nACGT\n>b\nGG\nCC\n"
TABLE = "id,expression\na,1.5\nb,2.5\n"


def put(path, content: bytes | str):
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def fasta_ok(df, ids=("a", "b"), seqs=("ACGT", "GGCC"), lines=(1, 3)):
    return (df["id"].tolist(), df["sequence"].tolist(), df["line"].tolist()) == (
        list(ids), list(seqs), list(lines))


# -- broken or odd files --------------------------------------------------------------------
@pytest.mark.parametrize("name,text", [("x.fa.gz", FASTA * 50), ("x.csv.gz", TABLE * 50)])
def test_truncated_gzip_is_named_as_such(tmp_path, name, text):
    whole = gzip.compress(text.encode())
    p = put(tmp_path / name, whole[: len(whole) // 2])
    reader = read_fasta if name.startswith("x.fa") else read_table
    with pytest.raises(InputError, match=rf"^{name}: the gzip stream ends early \(truncated or "
                                         "incomplete download\\?\\)") as e:
        reader(p)
    assert e.value.file == name


def test_truncated_bzip2_table_is_named_as_such(tmp_path):
    p = put(tmp_path / "t.csv.bz2", bz2.compress(TABLE.encode())[:-8])
    with pytest.raises(InputError, match="t.csv.bz2: the bzip2 stream ends early"):
        read_table(p)


@pytest.mark.parametrize("name", ["x.fa", "t.csv", "t.parquet"])
def test_empty_file_says_zero_bytes(tmp_path, name):
    p = put(tmp_path / name, b"")
    reader = read_fasta if name.endswith(".fa") else read_table
    with pytest.raises(InputError, match=rf"^{name} is empty \(0 bytes\)"):
        reader(p)


def test_gzip_of_nothing_is_empty(tmp_path):
    with pytest.raises(InputError, match=r"x.fa.gz is empty \(0 bytes after gzip"):
        read_fasta(put(tmp_path / "x.fa.gz", gzip.compress(b"")))


def test_excel_workbook_named_csv_says_export_as_csv(tmp_path):
    p = tmp_path / "expr.csv"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(InputError, match=r"expr.csv is an Excel workbook \(.xlsx\), not a text "
                                         "table; open it in Excel and save it as 'CSV UTF-8'"):
        read_table(p)


def test_image_or_binary_given_as_fasta(tmp_path):
    png = put(tmp_path / "x.fa", b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(InputError, match="x.fa is a PNG image, not a FASTA file"):
        read_fasta(png)
    blob = put(tmp_path / "y.fa", b">a\nACGT\n\x00\x01\x02")
    with pytest.raises(InputError, match=r"y.fa is binary \(a NUL byte on line 3\)"):
        read_fasta(blob)


def test_text_named_parquet_or_broken_parquet(tmp_path):
    with pytest.raises(InputError, match="t.parquet is not a Parquet file"):
        read_table(put(tmp_path / "t.parquet", TABLE))
    good = tmp_path / "g.parquet"
    pd.DataFrame({"id": ["a"], "expression": [1.0]}).to_parquet(good)
    cut = put(tmp_path / "cut.parquet", good.read_bytes()[:-20])
    with pytest.raises(InputError, match="cut.parquet: cannot read it as Parquet"):
        read_table(cut)


# -- encodings and line breaks --------------------------------------------------------------
def test_latin1_table_names_line_column_and_byte(tmp_path):
    p = put(tmp_path / "t.csv", "id,expression,note\na,1,ok\nb,2,caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"^t.csv line 3: byte 0xE9 at column 8 is not UTF-8 "
                                         r"\(the file looks Latin-1") as e:
        read_table(p)
    assert e.value.line == 3 and "save it as UTF-8" in str(e.value)


def test_latin1_fasta_description_tolerated_but_not_in_id_or_sequence(tmp_path):
    desc = put(tmp_path / "d.fa", ">a caf\xe9\nACGT\n>b\nGG\nCC\n".encode("latin-1"))
    assert fasta_ok(read_fasta(desc))
    bad_id = put(tmp_path / "i.fa", ">a\nACGT\n>b\xe9\nGG\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"i.fa line 3: byte 0xE9 at column 3 .*ids must be"):
        read_fasta(bad_id)
    bad_seq = put(tmp_path / "s.fa", ">a \xe9\nACGT\n>b\nGG\nC\xe9C\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"s.fa line 5: byte 0xE9 at column 2 .*sequences must"):
        read_fasta(bad_seq)


def test_utf8_bom_fasta_is_stripped(tmp_path):
    assert fasta_ok(read_fasta(put(tmp_path / "x.fa", b"\xef\xbb\xbf" + FASTA.encode())))


def test_utf16_fasta_and_table_are_read(tmp_path):
    assert fasta_ok(read_fasta(put(tmp_path / "x.fa", FASTA.encode("utf-16"))))
    tab = read_table(put(tmp_path / "t.csv", ("\n" + TABLE).encode("utf-16")), id_column="id")
    assert tab["id"].tolist() == ["a", "b"] and tab.index.tolist() == [3, 4]


def test_cr_only_line_breaks_and_form_feeds_in_fasta(tmp_path):
    mac = put(tmp_path / "mac.fa", FASTA.replace("\n", "\r"))
    assert fasta_ok(read_fasta(mac))
    # a page break inside a sequence line and one before a header: whitespace, not a line
    ff = put(tmp_path / "ff.fa", ">a first\nAC\fGT\n\f>b\nGG\nCC\n>c\nAXA\n")
    df = read_fasta(ff)
    assert fasta_ok(df, ids="abc", seqs=["ACGT", "GGCC", "AXA"], lines=[1, 3, 6])


def test_bad_record_after_form_feed_names_its_line(tmp_path):
    fa = put(tmp_path / "ff.fa", ">a\nACGT\f\n\f>b\nGG\n>c\nAXA\n")
    tab = put(tmp_path / "t.csv", "id,expression\na,1\nb,2\nc,3\n")
    with pytest.raises(InputError, match="ff.fa line 5, record 'c': character 'X'"):
        io.load(fasta=fa, expression=tab)


# -- table layout ---------------------------------------------------------------------------
def test_ragged_row_names_line_and_field_counts(tmp_path):
    p = put(tmp_path / "t.csv", "id,expression\na,1\nb,1,5\nc,2\n")
    with pytest.raises(InputError, match=r"^t.csv line 3: 3 fields where the header \(line 1\) "
                                         "has 2; put double quotes around a value that holds "
                                         "a comma") as e:
        read_table(p)
    assert e.value.line == 3


def test_wide_first_row_is_refused_not_shifted(tmp_path):
    # pandas would make the ids an index and shift every value one column left
    p = put(tmp_path / "t.csv", "id,expression\na,1,x\nb,2,y\n")
    with pytest.raises(InputError, match=r"t.csv line 2: 3 fields where the header"):
        read_table(p)


def test_duplicate_column_names_refused(tmp_path):
    p = put(tmp_path / "t.csv", "id,expression,note,expression\na,1,x,2\n")
    with pytest.raises(InputError, match=r"^t.csv line 1: column 'expression' appears 2 times "
                                         r"\(columns 2, 4\)") as e:
        read_table(p)
    assert (e.value.file, e.value.line) == ("t.csv", 1)


def test_semicolon_csv_read_with_decimal_comma_and_a_warning(tmp_path):
    p = put(tmp_path / "t.csv", "id;expression\na;1,5\nb;-2\n")
    with pytest.warns(UserWarning, match="t.csv: the header line holds no comma but 1 "
                                         "semicolon.*read it as semicolon-separated"):
        tab = read_table(p, id_column="id")
    assert tab["id"].tolist() == ["a", "b"] and tab["expression"].tolist() == [1.5, -2.0]


def test_tsv_named_csv_is_read_as_tab_separated(tmp_path):
    p = put(tmp_path / "t.csv", TABLE.replace(",", "\t"))
    with pytest.warns(UserWarning, match="holds no comma but 1 tab"):
        tab = read_table(p, id_column="id")
    assert tab.columns.tolist() == ["id", "expression"] and tab.index.tolist() == [2, 3]


def test_single_column_table_is_left_alone(tmp_path):
    tab = read_table(put(tmp_path / "t.csv", "id\na\nb\n"), id_column="id")
    assert tab["id"].tolist() == ["a", "b"]


def test_quoted_multiline_field_keeps_later_line_numbers(tmp_path):
    p = put(tmp_path / "t.csv", 'id,expression,note\na,1,"two\nlines"\n\nb,high,x\n')
    assert read_table(p, id_column="id").index.tolist() == [2, 5]
    fa = put(tmp_path / "x.fa", FASTA)
    with pytest.raises(InputError, match="^t.csv line 5, record 'b': target 'expression' holds "
                                         "'high'") as e:
        io.load(fasta=fa, expression=p)
    assert e.value.line == 5


# -- ids are text ---------------------------------------------------------------------------
NA_IDS = ["NA", "null", "None", "nan", "N/A", "NaN"]


def test_na_like_ids_kept_with_fasta(tmp_path):
    fa = put(tmp_path / "x.fa", "".join(f">{i}\nACGT\n" for i in NA_IDS))
    tab = put(tmp_path / "t.csv", "id,expression\n" + "".join(f"{i},{k}\n" for k, i in
                                                             enumerate(NA_IDS)) + ",9\n")
    res = io.load(fasta=fa, expression=tab)
    assert res.frame["id"].tolist() == NA_IDS
    assert res.frame["expression"].tolist() == [0, 1, 2, 3, 4, 5]
    assert res.dropped[["line", "reason"]].values.tolist() == [[8, "missing_id"]]


def test_na_like_ids_kept_in_one_table_but_na_targets_are_missing(tmp_path):
    tab = put(tmp_path / "one.tsv", "id\tsequence\texpression\nNA\tACGT\t1\nnull\tGGCC\tNA\n"
                                    " \tACGA\t2\n")
    res = io.load(table=tab)
    assert res.frame["id"].tolist() == ["NA"]
    assert res.dropped[["line", "reason"]].values.tolist() == [[4, "missing_id"],
                                                                [3, "missing_target"]]
    assert res.dropped["id"].iloc[1] == "null"
