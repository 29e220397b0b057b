"""Figures of the pipeline, one module per stage; every plotting function returns a Figure.

``load`` (01), ``explore`` (02), ``encode`` (03), ``model`` (04), ``evaluate`` (05) and
``patterns`` (06) draw what the stage of the same name computes; the numbers come from the
algorithm modules (``seqexpr.io``, ``seqexpr.explore``, ``seqexpr.splits``, ...), never from
here. This package imports nothing on its own, so matplotlib loads only when a plot module is
imported, e.g. ``from seqexpr.plots import explore as explore_plots``.
"""
