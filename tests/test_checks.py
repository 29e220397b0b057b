"""Tests for seqexpr._checks: advice spelled for Python and the command line, the length rule,
and one refusal listing every record that fails."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqexpr._checks import command_line, length_limit, option, refuse
from seqexpr.stages import params


def test_option_gives_both_spellings_and_the_command_line_reads_back():
    assert option("rna", True) == "rna=True (command line: --rna)"
    assert option("policy", {"invalid_char": "drop"}) == (
        'policy={"invalid_char": "drop"} (command line: -p policy \'{"invalid_char": "drop"}\')')
    assert option("id_column", "gene id") == (
        'id_column="gene id" (command line: --id-column \'gene id\')')
    assert option("targets", ["a", "b"]).endswith("(command line: --target a b)")
    assert option("split_column", "").endswith("(command line: --split-column '')")
    # -p values go through the CLI's own parser back to the same value
    for name, value in [("allow_leaky", True), ("split_method", "homology"), ("length", 300),
                        ("id_column", None), ("split_method", "null"), ("rna", False),
                        ("policy", {"empty": "fail"})]:
        words = command_line(name, value).split(" ", 2)
        assert words[:2] == ["-p", name]
        text = words[2][1:-1] if words[2].startswith("'") else words[2]  # the shell's quotes
        assert params.value(text) == value


def test_length_limit_is_ten_medians_or_the_fence_of_a_wide_spread():
    assert length_limit(np.full(1000, 200)) == 2000
    assert length_limit(np.full(1000, 11)) == 110
    rng = np.random.default_rng(0)
    utr = np.round(np.exp(rng.normal(np.log(200), 0.8, 5000))).astype(int)  # 20 to 3,000 nt
    assert length_limit(utr) > utr.max()  # a wide spread is data, not outliers


def test_refusal_counts_each_kind_and_names_first_records_with_their_files():
    problems = pd.DataFrame({
        "id": ["a", "b", "c", "d", "e"], "source": ["x.fa", "x.fa", "t.csv", "t.csv", "t.csv"],
        "line": pd.array([3, 7, 2, 5, 9], "Int64"),
        "reason": ["invalid_char", "duplicate_id", "duplicate_id", "nonnumeric_target",
                   "nonnumeric_target"], "detail": ["bad X", "dup", "dup", "text", "text"]})
    fixes = {"invalid_char": "fix it", "duplicate_id": "dedupe", "nonnumeric_target": "number"}
    err = refuse(problems, fixes, listed_in="in here.csv")
    msg = str(err)
    assert msg.splitlines()[0].startswith(
        "5 records fail the input checks (invalid_char: 1, duplicate_id: 2, nonnumeric_target: 2)")
    assert "x.fa line 3, record 'a': bad X; fix it." in msg
    assert ("x.fa line 7, record 'b': dup; and 1 more record(s) with this problem "
            "(t.csv line 2 'c')") in msg
    assert "-p policy '{\"invalid_char\": \"drop\", \"duplicate_id\": \"drop\"" in msg
    assert msg.endswith("The full list (5 record(s), with file, line and reason) is in here.csv.")
    assert (err.file, err.line, err.record) == ("x.fa", 3, "a") and err.problems is problems


def test_the_rna_hint_is_given_only_as_far_as_the_records_hold_u():
    from seqexpr._checks import FIX, LINE, check_alphabet, resolve_policy

    def refusal(seqs):
        frame = pd.DataFrame({"id": [f"r{i}" for i in range(len(seqs))], "sequence": seqs,
                              LINE: np.arange(1, 2 * len(seqs), 2)})
        _, aside = check_alphabet(frame, source="x.fa", policy=resolve_policy(None))
        assert len(aside), "nothing set aside"
        return aside[FIX].iloc[0]

    assert "these look like RNA: read U as T with rna=True" in refusal(["ACGU", "UUAC"])
    mixed = refusal(["ACGX", "ACGU", "ACGT"])
    assert "1 of these records hold U: if the sequences are RNA" in mixed
    assert "look like RNA" not in refusal(["ACGX", "ACGT"]) and "hold U" not in refusal(["ACGX"])


def test_invalid_bases_are_found_the_same_whatever_the_chunk():
    from seqexpr._checks import _invalid_bases
    from seqexpr._readers import normalize

    seqs = ["ACGT", "", "ACXT", "NNNN", "ÄCGU", "", "acgZ", "A"]
    whole = _invalid_bases(seqs, chunk=100)
    assert [x.tolist() for x in whole] == [[2, 4, 4, 6, 6, 6, 6], [2, 0, 3, 0, 1, 2, 3],
                                           [ord(c) for c in "XÄUacgZ"]]
    for chunk in (1, 2, 3):
        assert all((a == b).all() for a, b in zip(_invalid_bases(seqs, chunk=chunk), whole))
    assert normalize(seqs, True, chunk=3) == normalize(seqs, True, chunk=100) == (
        ["ACGT", "", "ACXT", "NNNN", "ÄCGT", "", "ACGZ", "A"], 1)
