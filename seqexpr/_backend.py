"""Choose the Keras backend once, before keras is imported anywhere in seqexpr.

Every module that needs Keras does ``from seqexpr._backend import keras``. The backend is
TensorFlow unless ``KERAS_BACKEND`` says otherwise (``jax`` or ``torch`` on machines that lack
TensorFlow); models use ``keras.ops`` only, so they run on any of the three.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's C++ start-up chatter (CUDA probing, CPU feature notes) buries real messages.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_keras():
    """Import keras; with TensorFlow, silence the C++ messages printed while it probes for
    CUDA (they are written to file descriptor 2 before any logging is set up, and would
    show up as red boxes in every report). ``SEQEXPR_VERBOSE_TF=1`` keeps them."""
    if os.environ["KERAS_BACKEND"] != "tensorflow" or os.environ.get("SEQEXPR_VERBOSE_TF"):
        import keras

        return keras
    import sys

    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe happens here, once
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return keras


keras = _import_keras()
BACKEND = keras.backend.backend()


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the active Keras backend for a reproducible run.

    On TensorFlow, ops are also made deterministic (multi-threaded reductions otherwise sum
    in a varying order), so the same seed trains the same model on the same machine.
    """
    keras.utils.set_random_seed(int(seed))
    if BACKEND == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


__all__ = ["keras", "BACKEND", "set_seed"]
