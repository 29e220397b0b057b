"""Organisms as JASPAR taxonomic groups, and the command line refusing an unknown one."""

import pytest

from seqexpr.__main__ import build_parser, run_parameters
from seqexpr.patterns.taxa import TAX_GROUPS, tax_group_for


@pytest.mark.parametrize("organism, group", [
    ("human", "vertebrates"), ("Mus musculus", "vertebrates"), ("yeast", "fungi"),
    ("S. cerevisiae", "fungi"), ("fly", "insects"), ("C. elegans", "nematodes"),
    ("worm", "nematodes"), ("Arabidopsis", "plants"), ("ciona", "urochordates"),
    ("plants", "plants"), (None, None), ("all", None), ("E. coli", False),
    ("bacteria", False)])
def test_common_names_map_to_jaspar_groups(organism, group):
    assert tax_group_for(organism) == group  # None: all taxa; False: no JASPAR matrices


def test_every_group_is_its_own_name():
    assert [tax_group_for(g) for g in TAX_GROUPS] == list(TAX_GROUPS)


def test_an_unknown_organism_lists_the_choices():
    with pytest.raises(ValueError, match="'martian'") as err:
        tax_group_for("martian")
    for word in (*TAX_GROUPS, "human", "yeast", "fly", "worm", "arabidopsis", "ecoli", "None"):
        assert word in str(err.value)


def _run_args(*extra):
    return build_parser().parse_args(["run", "--fasta", "a.fa", "--expression", "e.csv",
                                      "--target", "expression", "--out", "run", *extra])


def test_the_command_line_passes_organism_to_06_and_refuses_a_typo_before_any_stage():
    assert run_parameters(_run_args("--organism", "yeast"))["organism"] == "yeast"
    assert "organism" not in run_parameters(_run_args())  # 06's own default applies
    with pytest.raises(SystemExit, match="organism 'yaest' is not one"):
        run_parameters(_run_args("--organism", "yaest"))
    with pytest.raises(SystemExit, match="organism 'mars'"):  # -p goes through the same check
        run_parameters(_run_args("-p", "organism", "mars"))
