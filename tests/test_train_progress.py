"""Training progress for the terminal: ``verbose=2`` gives one labelled line per epoch on
stderr (``python -m seqexpr run`` passes a notebook's stderr through), and nothing else."""

import re

import numpy as np

from seqexpr import models, train

TINY = dict(filters=8, kernel_size=5, n_conv=1, dense=8, dropout=0.0)


def test_verbose_2_writes_one_labelled_line_per_epoch_to_stderr(toy, capsys):
    x, y = toy["onehot"][:48], toy["y"][:48]
    h = train.fit(models.cnn(x.shape[1], **TINY), x, y, np.arange(32), np.arange(32, 48),
                  epochs=3, batch_size=16, patience=10, seed=4, verbose=2)
    seen = capsys.readouterr()
    lines = seen.err.splitlines()
    assert len(lines) == len(h) == 3
    for i, line in enumerate(lines, 1):
        assert re.fullmatch(rf"cnn@4 epoch {i}/3: loss \S+, val_loss \S+ \(\d+\.\d s\)", line), line
    assert f"{h['val_loss'].iloc[-1]:.4g}" in lines[-1]
    assert "Epoch" not in seen.out  # Keras's own per-epoch lines are replaced, not doubled
