"""seqexpr: find the sequence patterns that drive gene expression.

Stages, one module each: ``io`` (read, check, join) -> ``explore`` -> ``encode`` / ``splits``
(one-hot, k-mers, leak-aware splits) -> ``models`` / ``train`` / ``baselines`` -> ``evaluate``
-> ``patterns`` (attributions, motifs, JASPAR naming, in-silico effects). ``pipeline`` runs the
numbered notebooks over them with papermill; ``runfolder`` is the contract between stages.

Importing the package is cheap: heavy libraries (TensorFlow, Keras) load only in the modules
that need them.
"""

__version__ = "0.1.0"
