"""seqexpr.plots.load: the counts table and the bar plots of records in, dropped and kept."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from seqexpr import io  # noqa: E402
from seqexpr.plots import load as load_plots  # noqa: E402


@pytest.fixture()
def pair(tmp_path):
    """A clean three-record FASTA and its table."""
    fa = tmp_path / "lib.fa"
    fa.write_text(">s1 first\nACGTACGTAC\n>s2\nGGGCC\nCAAAT\n>s3\nTTTTGGGGCC\n")
    tab = tmp_path / "expr.csv"
    tab.write_text("id,expression\ns1,1.5\ns2,2.5\ns3,-0.5\n")
    return fa, tab


def test_counts_table_and_plot(pair):
    fa, tab = pair
    info = io.load(fasta=fa, expression=tab).info
    t = load_plots.counts_table(info)
    assert t.loc[t["what"] == "kept", "n"].item() == 3
    fig = load_plots.plot_counts(info)
    assert fig.axes[0].get_title()
