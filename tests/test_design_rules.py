"""seqexpr.design_rules: the constraints of sequence design, on hand-made inputs."""

import numpy as np
import pytest

from seqexpr.design_rules import Rules, has_site, parse_fixed, parse_goal, site_masks
from seqexpr.encode import BASE_CODE


def codes(*seqs):
    return BASE_CODE[np.frombuffer("".join(seqs).encode(), np.uint8)].reshape(len(seqs), -1)


def test_fixed_positions_are_one_based_and_inclusive():
    mask = parse_fixed(["1-3", 6, (8, 9), "11,12"], 12)
    assert np.flatnonzero(mask).tolist() == [0, 1, 2, 5, 7, 8, 10, 11]
    with pytest.raises(ValueError, match="fixed entry '-20--1' is not a position"):
        parse_fixed("-20--1", 30)


def test_iupac_sites_match_on_either_strand():
    rules = Rules(["GRTCTC"], None, 5)  # R = A/G; reverse complement GAGAYC
    found = rules.broken(codes("AAGATCTCAA", "AAGGTCTCAA", "AGAGACCAAA", "AGAGATCAAA",
                               "AAGCTCTCAA"))
    assert found.tolist() == [True, True, True, True, False]
    assert rules.avoid_names == ["GRTCTC", "GRTCTC (on the reverse strand)"]
    assert len(Rules(["GAATTC"], None, 5).avoid) == 1  # a palindrome is one site
    assert not has_site(codes("ACGT"), [site_masks("ACGTA", "site")]).any()  # longer than L


def test_gc_range_is_inclusive():
    rules = Rules([], (0.25, 0.5), 5)
    assert rules.broken(codes("GCAA", "GAAA", "AAAA", "GGCA")).tolist() == [False, False,
                                                                              True, True]


def test_goals():
    assert parse_goal("Max") == ("maximize", None)
    assert parse_goal("minimise") == ("minimize", None)
    assert parse_goal("2.5") == ("value", 2.5)
    with pytest.raises(ValueError, match="goal nan is not understood"):
        parse_goal(float("nan"))
