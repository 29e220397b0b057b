"""Train on several devices or machines: the ``tf.distribute`` strategy behind 04's ``strategy``.

``"one"`` trains on one device exactly as before; ``"mirrored"`` copies the model onto every
device of this machine (``tf.distribute.MirroredStrategy``); ``"multiworker"`` onto every
machine named by the ``TF_CONFIG`` environment variable
(``tf.distribute.MultiWorkerMirroredStrategy``). Each replica trains on its share of every
batch, so :func:`scale` turns the per-replica batch and learning rate into global ones.
``cpu_devices`` splits this machine's CPU into N logical devices, so a mirrored run can be
tried (and tested) without accelerators.

On the JAX backend ``"mirrored"`` is Keras 3's data parallelism over the visible devices
(``keras.distribution.DataParallel``); it is untested here, as no JAX is installed.
"""

from __future__ import annotations

import contextlib
import numbers
import os

STRATEGIES = ("one", "mirrored", "multiworker")
RESTART = "restart the kernel, or run 04_model in a fresh process (python -m seqexpr run)"


def make_strategy(name="one", *, cpu_devices=None):
    """The distribution strategy called ``name``, or None for ``"one"`` (one device, as before).

    Call it once, before the first model is built: the logical CPU devices, and the
    multi-worker strategy's collective ops, must be set before TensorFlow initialises its
    devices.

    Parameters
    ----------
    name : {"one", "mirrored", "multiworker"}
        ``"mirrored"``: every device of this machine (the accelerators, or the ``cpu_devices``
        logical CPUs); ``"multiworker"``: several machines, from ``TF_CONFIG``.
    cpu_devices : int, optional
        Split this machine's CPU into this many logical devices (a mirrored strategy then
        trains on them).

    Returns
    -------
    tf.distribute.Strategy, keras.distribution.DataParallel or None
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of "
                         f"{', '.join(repr(s) for s in STRATEGIES)}")
    if cpu_devices is not None and (isinstance(cpu_devices, bool)
                                    or not isinstance(cpu_devices, numbers.Integral)
                                    or cpu_devices < 1):
        raise ValueError(f"cpu_devices must be a whole number >= 1 or None, got {cpu_devices!r}")
    if name == "multiworker" and not os.environ.get("TF_CONFIG"):
        raise ValueError('strategy "multiworker" needs the TF_CONFIG environment variable (the '
                         'cluster\'s workers and this machine\'s task), e.g. TF_CONFIG=\'{"cluster"'
                         ': {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
                         '"index": 0}}\'; see the README section "Several devices or machines"')
    from seqexpr._backend import BACKEND as backend  # Keras starts here; the checks above don't

    if backend != "tensorflow":
        return _keras_distribution(name, cpu_devices, backend)
    import tensorflow as tf

    if cpu_devices is not None:
        split_cpu(int(cpu_devices))
    if name == "one":
        return None
    if name == "mirrored":
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(cpus if cpu_devices else None)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except (RuntimeError, ValueError) as exc:
        raise RuntimeError(f'strategy "multiworker" could not start ({exc}); TF_CONFIG is '
                           f'{os.environ["TF_CONFIG"]!r}. If TensorFlow was already in use, '
                           f"{RESTART}") from exc


def split_cpu(n):
    """Configure ``n`` logical CPU devices, before TensorFlow initialises its devices.

    Raises
    ------
    RuntimeError
        When TensorFlow already runs with another number of CPU devices (it cannot change).
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
    except RuntimeError as exc:  # devices already initialised
        have = len(tf.config.list_logical_devices("CPU"))
        if have != n:
            raise RuntimeError(f"cpu_devices={n}: TensorFlow already runs on {have} CPU "
                               f"device(s) in this process, and that cannot change; {RESTART}"
                               ) from exc


def replicas(strategy):
    """Model copies that train in step: 1 without a strategy."""
    if strategy is None:
        return 1
    if hasattr(strategy, "num_replicas_in_sync"):
        return int(strategy.num_replicas_in_sync)
    return int(strategy.device_mesh.devices.size)  # keras.distribution.DataParallel


def scale(batch_size, lr, n_replicas):
    """Global batch and peak learning rate for ``n_replicas``: each replica keeps its batch of
    ``batch_size`` sequences, and the rate grows linearly with the global batch (the linear
    scaling rule: the same number of epochs then learns about as much)."""
    return int(batch_size) * int(n_replicas), float(lr) * int(n_replicas)


def scope(strategy):
    """The context to build and compile a model in (a no-op without a strategy)."""
    return contextlib.nullcontext() if strategy is None else strategy.scope()


@contextlib.contextmanager
def fit_scope(model, strategy, batch):
    """The context to run ``model.fit`` in under ``strategy``; ``batch`` is a small
    ``(x, y)`` of numpy arrays shaped like the training batches.

    Works around two faults of Keras 3's TensorFlow trainer (keras-team/keras#20585): it
    builds a distributed model from a first batch taken off the training iterator (never
    trained on, so a pipeline of exactly the planned steps runs dry a step early, and under
    MultiWorkerMirroredStrategy reducing that batch fails), and it averages each step's
    scalar logs across workers along an axis they lack. Here the model is built beforehand
    from ``batch``, and step logs are averaged over this worker's replicas; the epoch's logs
    (``loss``, ``val_loss``) still come from metrics summed over every replica of every worker.
    The trainer patch holds for the whole process while the context is open (one fit at a
    time), and both are undone on leaving it, an error included.
    """
    if strategy is None:
        yield
        return
    if not hasattr(strategy, "extended"):  # keras.distribution (JAX)
        with strategy.scope():
            yield
        return
    from keras.src.backend.tensorflow import trainer as tf_trainer

    from seqexpr._backend import keras

    if not (hasattr(model, "_symbolic_build") and hasattr(model, "_maybe_symbolic_build")
            and hasattr(tf_trainer, "_collective_all_reduce_multi_worker")):
        raise RuntimeError(f"Keras {keras.__version__} lacks the trainer internals seqexpr works "
                           "around for distributed training (keras-team/keras#20585; tested on "
                           "Keras 3.15); install the pinned versions (constraints.txt) or train "
                           'with strategy "one"')
    with strategy.scope():
        model._symbolic_build(data_batch=batch)
    model._maybe_symbolic_build = lambda **kwargs: None  # built above
    multi_worker = tf_trainer._collective_all_reduce_multi_worker
    tf_trainer._collective_all_reduce_multi_worker = lambda strategy: False
    try:
        yield
    finally:
        del model._maybe_symbolic_build
        tf_trainer._collective_all_reduce_multi_worker = multi_worker


def check_built_in_scope(model, strategy):
    """Refuse a model whose weights were made outside ``strategy``'s scope (TensorFlow)."""
    if strategy is None or not hasattr(strategy, "extended") or not model.weights:
        return
    if not strategy.extended.variable_created_in_scope(model.weights[0].value):
        raise ValueError(f"model {model.name!r} was built outside the strategy's scope; build "
                         "it inside `with seqexpr.distribute.scope(strategy):` so that every "
                         "replica holds a copy of its weights")


def split_batches(dataset, strategy):
    """``dataset`` as the strategy should split it: each global batch shared among the
    replicas and workers (tf.data's "DATA" sharding; the default first looks for input files
    to give each worker, and warns when there are none). Unchanged without a strategy."""
    if not (hasattr(strategy, "extended") and hasattr(dataset, "with_options")):
        return dataset  # no strategy, JAX's, or a PyDataset
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _keras_distribution(name, cpu_devices, backend):
    """JAX (and PyTorch): only ``"one"`` and ``"mirrored"`` (JAX's data parallelism)."""
    from seqexpr._backend import keras

    if cpu_devices is not None:
        raise ValueError(f"cpu_devices works on the TensorFlow backend only (this is {backend}); "
                         "on JAX set XLA_FLAGS=--xla_force_host_platform_device_count=N before "
                         "starting instead")
    if name == "one":
        return None
    if name == "mirrored" and backend == "jax":
        return keras.distribution.DataParallel()
    raise ValueError(f"strategy {name!r} is not available on the {backend} backend; use "
                     f'"one"' + (' or "mirrored"' if backend == "jax" else "")
                     + ", or the TensorFlow backend (KERAS_BACKEND=tensorflow)")
