"""seqexpr: find the sequence patterns that drive gene expression.

``seqexpr.stages`` holds one module per notebook (load -> explore -> encode -> model ->
evaluate -> patterns): the only code that reads or writes the run folder, each with
``run(run_dir, **parameters)`` and ``check(run_dir)``. Below it, the algorithms know nothing of
run folders: reading and checking (``io``), exploring (``explore``), encoding and splitting
(``encode``, ``kmers``, ``transforms``, ``splits``, ``homology``), models and training
(``models``, ``train``, ``batches``, ``predict``, ``baselines``, ``bundle``), statistics
(``bootstrap``, ``evaluate``, ``metrics``) and ``patterns`` (attributions, motifs, JASPAR
naming, in-silico effects); ``plots`` draws the figures, one module per stage. ``pipeline``
runs the numbered notebooks with papermill; ``runfolder`` names the files of the contract
(docs/run_folder.md).

Importing the package is cheap: heavy libraries (TensorFlow, Keras) load only in the modules
that need them.
"""

__version__ = "0.1.0"
