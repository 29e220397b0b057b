"""Organisms as JASPAR taxonomic groups: which matrices a motif may be named after.

A motif found in yeast should not be named after a worm or a plant TF because their matrices
look alike. ``tax_group_for`` maps what a user writes ("human", "yeast", "fly", "worm",
"arabidopsis", a JASPAR group, None for all taxa) onto a JASPAR group. JASPAR CORE holds no
bacterial matrices, so a bacterium maps to False: its motifs are left unnamed rather than
named after eukaryotic TFs. Standard library only, so the command line can check
``--organism`` before any stage runs.
"""

from __future__ import annotations

# The JASPAR taxonomic groups of the CORE collection, and the words users write for them.
TAX_GROUPS = ("vertebrates", "insects", "nematodes", "plants", "fungi", "urochordates")
_SYNONYMS = {
    "vertebrates": "vertebrate human homosapiens hsapiens mouse musmusculus mmusculus rat "
                   "zebrafish chicken xenopus frog mammal mammals",
    "insects": "insect fly fruitfly drosophila drosophilamelanogaster dmelanogaster mosquito",
    "nematodes": "nematode worm worms celegans elegans caenorhabditiselegans",
    "plants": "plant arabidopsis arabidopsisthaliana athaliana rice maize tomato tobacco",
    "fungi": "fungus yeast scerevisiae saccharomycescerevisiae spombe fissionyeast",
    "urochordates": "urochordate ciona seasquirt tunicate tunicates",
}
ORGANISMS = {word: group for group, words in _SYNONYMS.items()
             for word in (group, *words.split())}
# JASPAR CORE holds no prokaryotic matrices: naming these against eukaryotic TFs would mislead.
NO_JASPAR = frozenset("bacteria bacterium bacterial prokaryote prokaryotes ecoli "
                      "escherichiacoli bsubtilis bacillussubtilis archaea".split())
ALL_TAXA = frozenset({"all", "any"})
_COMMON = ("human", "mouse", "rat", "zebrafish", "fly", "drosophila", "worm", "celegans",
           "arabidopsis", "rice", "maize", "yeast", "ciona")  # listed in the error message


def tax_group_for(organism):
    """The JASPAR taxonomic group to name an organism's motifs against.

    Parameters
    ----------
    organism : str or None
        A JASPAR group (``"vertebrates"``, ``"insects"``, ``"nematodes"``, ``"plants"``,
        ``"fungi"``, ``"urochordates"``), a common name (``"human"``, ``"mouse"``,
        ``"yeast"``, ``"fly"``, ``"worm"``, ``"arabidopsis"``, ...; case, spaces and dots
        ignored), ``"all"`` or None for all taxa, or a bacterium (``"ecoli"``, ``"bacteria"``).

    Returns
    -------
    str, None or False
        The group; None for all taxa; False for a bacterium (JASPAR CORE has no bacterial
        matrices, so its motifs are not named).
    """
    if organism is None:
        return None
    key = "".join(c for c in str(organism).lower() if c.isalpha())
    if key in ALL_TAXA:
        return None
    if key in NO_JASPAR:
        return False
    if key not in ORGANISMS:
        raise ValueError(
            f"organism {organism!r} is not one seqexpr can map to JASPAR: use a JASPAR group "
            f"({', '.join(TAX_GROUPS)}), a common name ({', '.join(_COMMON)}), a bacterium "
            "('ecoli', 'bacteria': motifs are then left unnamed) or None (or 'all') for all taxa.")
    return ORGANISMS[key]
