"""Choose the Keras backend once, before keras is imported anywhere in seqexpr.

Every module that needs Keras does ``from seqexpr._backend import keras``. The backend is
TensorFlow unless ``KERAS_BACKEND`` says otherwise (``jax`` or ``torch`` on machines that lack
TensorFlow); models use ``keras.ops`` only, so they run on any of the three.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's C++ start-up chatter (CUDA probing, CPU feature notes) buries real messages.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

BACKEND = keras.backend.backend()


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the active Keras backend for a reproducible run."""
    keras.utils.set_random_seed(int(seed))


__all__ = ["keras", "BACKEND", "set_seed"]
