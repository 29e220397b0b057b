"""The stages: one module per notebook, the only code that reads or writes the run folder.

Each stage module has ``run(run_dir, **parameters)``, which reads what earlier stages wrote,
computes, writes its own files and returns what the notebook displays, and ``check(run_dir)``,
which validates those files. The parameters are declared once, in the notebook's tagged
``parameters`` cell (``stages.params``). This package imports nothing on purpose: importing
``seqexpr.stages.load`` must not pull in TensorFlow.
"""
