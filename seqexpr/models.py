"""Deep sequence-to-expression models: builders that return uncompiled ``keras.Model`` objects.

Every builder takes one-hot input ``(batch, length, 4) float32`` (bases in ACGT order) and
returns ``(batch, n_targets)`` on the modelled scale. Layers come from ``keras.layers`` and
operations from ``keras.ops`` only, so the same models run on the TensorFlow, JAX and PyTorch
backends. The one custom layer is registered for safe-mode loading.
"""

from __future__ import annotations

from seqexpr._backend import keras

layers = keras.layers
BN_MOMENTUM = 0.9  # Keras's 0.99 leaves inference statistics stale for the first epochs

# Small defaults: a few minutes per model on two CPU cores for 20k sequences of 200 nt.
CNN_DEFAULTS = dict(filters=96, kernel_size=15, n_conv=3, conv_kernel=5, pool=2, dense=64,
                    dropout=0.3, head="hybrid", position_channels=8, position_bins=32)
RESNET_DEFAULTS = dict(filters=64, kernel_size=15, n_blocks=4, block_kernel=3, pool=2,
                       dense=64, dropout=0.1)


@keras.saving.register_keras_serializable(package="seqexpr")
class ReverseComplement(layers.Layer):
    """Reverse-complement a one-hot batch: ``(batch, L, 4)`` -> ``(batch, L, 4)``.

    With bases in ACGT order the complement is the channel axis reversed, so the reverse
    complement is a flip of both the length and the channel axes.
    """

    def call(self, x):
        return keras.ops.flip(keras.ops.flip(x, axis=1), axis=2)

    def compute_output_shape(self, input_shape):
        return input_shape


def cnn(length, n_targets=1, *, filters=96, kernel_size=15, n_conv=3, conv_kernel=5, pool=2,
        dense=64, dropout=0.3, head="hybrid", position_channels=8, position_bins=32,
        name="cnn"):
    """A DeepSTARR/Basset-style convolutional network.

    ``n_conv`` blocks of Conv1D - BatchNorm - ReLU - MaxPool; the first block has wide kernels
    (``kernel_size``, motif detectors), later blocks ``conv_kernel``. The ``"hybrid"`` head
    joins global average and max pooling (how many motifs, wherever they sit: most
    regulatory grammar) with a narrow flattened branch (``position_channels`` per position:
    where they sit); ``"flatten"`` is the classic all-positions head. On the demo the hybrid
    head reached a higher test Pearson than the flattened one at the same size.

    Parameters
    ----------
    length : int
        Input length in nt.
    n_targets : int
        Number of output columns (several targets give a multi-task model).
    filters : int
        Filters per convolution.
    kernel_size, conv_kernel : int
        Width of the first and of the later convolutions, in nt.
    n_conv : int
        Number of convolution blocks (>= 1).
    pool : int
        Max-pool width after each block.
    dense : int
        Units of the hidden dense layer (0 for none).
    dropout : float
        Dropout before and after the hidden dense layer.
    head : {"hybrid", "flatten"}
        How the convolutional features reach the dense layer (see above).
    position_channels : int
        Channels of the positional branch of the hybrid head (0 for pooling only).
    position_bins : int or None
        Positions of that branch after averaging along the sequence (None: all): it keeps
        long sequences from giving the head thousands of positional weights to overfit.

    Returns
    -------
    keras.Model
        Uncompiled; input ``(batch, length, 4) float32``, output ``(batch, n_targets)``.
    """
    if head not in ("hybrid", "flatten"):
        raise ValueError(f"cnn: head must be 'hybrid' or 'flatten', got {head!r}")
    if n_conv < 1:
        raise ValueError(f"cnn: n_conv must be >= 1, got {n_conv}")
    inp = keras.Input((int(length), 4), name="onehot")
    x = inp
    for i in range(int(n_conv)):
        x = layers.Conv1D(int(filters), kernel_size if i == 0 else conv_kernel, padding="same",
                          use_bias=False, name=f"conv{i + 1}")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"bn{i + 1}")(x)
        x = layers.Activation("relu", name=f"relu{i + 1}")(x)
        if pool > 1 and x.shape[1] >= pool:
            x = layers.MaxPooling1D(pool, name=f"pool{i + 1}")(x)
    x = (layers.Flatten(name="flatten")(x) if head == "flatten"
         else _pooled(x, position_channels, position_bins=position_bins))
    out = _dense_head(x, dropout=dropout, dense=dense, n_targets=n_targets)
    return keras.Model(inp, out, name=name)


def dilated_resnet(length, n_targets=1, *, filters=64, kernel_size=15, n_blocks=4,
                   block_kernel=3, pool=2, dense=64, dropout=0.1, name="resnet"):
    """A residual network of dilated convolutions with a global-pooling head.

    A wide stem convolution (``kernel_size``) and one max-pool, then ``n_blocks`` residual
    blocks (BN - ReLU - dilated Conv1D - BN - ReLU - Conv1D width 1, added to the input)
    with dilation 1, 2, 4, ... so the receptive field grows exponentially; global average
    and max pooling feed a small dense head.

    Parameters
    ----------
    length : int
        Input length in nt.
    n_targets : int
        Number of output columns.
    filters : int
        Channels throughout.
    kernel_size : int
        Width of the stem convolution in nt.
    n_blocks : int
        Residual blocks; block ``i`` has dilation ``2**i``.
    block_kernel : int
        Width of the dilated convolutions.
    pool : int
        Max-pool width after the stem.
    dense : int
        Units of the hidden dense layer (0 for none).
    dropout : float
        Dropout in the head.

    Returns
    -------
    keras.Model
        Uncompiled; input ``(batch, length, 4) float32``, output ``(batch, n_targets)``.
    """
    inp = keras.Input((int(length), 4), name="onehot")
    x = layers.Conv1D(int(filters), kernel_size, padding="same", name="stem")(inp)
    if pool > 1:
        x = layers.MaxPooling1D(pool, name="stem_pool")(x)
    for i in range(int(n_blocks)):
        h = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"block{i + 1}_bn1")(x)
        h = layers.Activation("relu", name=f"block{i + 1}_relu1")(h)
        h = layers.Conv1D(int(filters), block_kernel, padding="same", dilation_rate=2 ** i,
                          name=f"block{i + 1}_dilated")(h)
        h = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"block{i + 1}_bn2")(h)
        h = layers.Activation("relu", name=f"block{i + 1}_relu2")(h)
        h = layers.Conv1D(int(filters), 1, name=f"block{i + 1}_mix")(h)
        x = layers.Add(name=f"block{i + 1}_add")([x, h])
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="head_bn")(x)
    x = layers.Activation("relu", name="head_relu")(x)
    x = layers.Concatenate(name="pooled")([layers.GlobalAveragePooling1D(name="avg")(x),
                                           layers.GlobalMaxPooling1D(name="max")(x)])
    if dropout:
        x = layers.Dropout(dropout, name="dropout1")(x)
    if dense:
        x = layers.Dense(int(dense), activation="relu", name="dense")(x)
    out = layers.Dense(int(n_targets), name="output")(x)
    return keras.Model(inp, out, name=name)


def _pooled(x, position_channels, activation="relu", position_bins=None):
    """The hybrid head's features: global average + max pooling (how many motifs, wherever
    they sit) joined with a narrow flattened positional branch (where they sit), averaged
    into at most ``position_bins`` bins along the sequence so that its size does not grow
    with the length (None: every position)."""
    parts = [layers.GlobalAveragePooling1D(name="avg")(x), layers.GlobalMaxPooling1D(name="max")(x)]
    if position_channels:
        pos = layers.Conv1D(int(position_channels), 1, activation=activation,
                            name="position_mix")(x)
        if position_bins and pos.shape[1] > position_bins:
            width = -(-pos.shape[1] // int(position_bins))
            pos = layers.AveragePooling1D(width, padding="same", name="position_bins")(pos)
        parts.append(layers.Flatten(name="flatten")(pos))
    return layers.Concatenate(name="pooled")(parts)


def _dense_head(x, *, dropout, dense, n_targets, activation="relu"):
    """Dropout - Dense(``dense``) - Dropout - the linear output layer."""
    if dropout:
        x = layers.Dropout(dropout, name="dropout1")(x)
    if dense:
        x = layers.Dense(int(dense), activation=activation, name="dense")(x)
        if dropout:
            x = layers.Dropout(dropout, name="dropout2")(x)
    return layers.Dense(int(n_targets), name="output")(x)


def se_cnn(length, n_targets=1, *, filters=32, kernel_size=11, n_blocks=3, block_kernel=5,
           se_ratio=0.25, pool=2, dense=64, dropout=0.2, position_channels=8, position_bins=32,
           counts=False, name="se_cnn"):
    """Residual convolution blocks with squeeze-and-excitation and SiLU (LegNet-inspired).

    A stem convolution (``kernel_size``, the motif detectors), then ``n_blocks`` residual
    blocks, each Conv1D(``block_kernel``) - BN - SiLU - squeeze-and-excitation (a per-sequence
    gate on every channel, from its global average) - Conv1D(1) - BN added to its input and
    max-pooled by ``pool``; the hybrid head of :func:`cnn`. With ``counts`` the head also sees
    the sequence's base composition and the stem's motif-detector averages (how often each
    short motif occurs: what k-mer count models see). Channels stay at ``filters`` so
    the cost per sequence stays small on CPUs. The defaults come from the accuracy panel
    (``seqexpr.panel``): 64 channels with block kernel 7 train 2.9x slower for a mean gain of
    0.01 test Pearson over the seven tuning sets (one seed each; less than the seed spread).

    Returns
    -------
    keras.Model
        Uncompiled; input ``(batch, length, 4) float32``, output ``(batch, n_targets)``.
    """
    c = int(filters)
    inp = keras.Input((int(length), 4), name="onehot")
    x = layers.Conv1D(c, kernel_size, padding="same", use_bias=False, name="stem")(inp)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="stem_bn")(x)
    x = layers.Activation("silu", name="stem_silu")(x)
    stem = x
    for i in range(int(n_blocks)):
        b = f"block{i + 1}"
        h = layers.Conv1D(c, block_kernel, padding="same", use_bias=False, name=f"{b}_conv")(x)
        h = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{b}_bn1")(h)
        h = layers.Activation("silu", name=f"{b}_silu")(h)
        g = layers.GlobalAveragePooling1D(keepdims=True, name=f"{b}_squeeze")(h)
        g = layers.Dense(max(4, int(c * se_ratio)), activation="silu", name=f"{b}_se1")(g)
        g = layers.Dense(c, activation="sigmoid", name=f"{b}_se2")(g)
        h = layers.Multiply(name=f"{b}_excite")([h, g])
        h = layers.Conv1D(c, 1, use_bias=False, name=f"{b}_mix")(h)
        h = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{b}_bn2")(h)
        x = layers.Add(name=f"{b}_add")([x, h])
        x = layers.Activation("silu", name=f"{b}_out")(x)
        if pool > 1 and x.shape[1] >= 2 * pool:
            x = layers.MaxPooling1D(pool, name=f"{b}_pool")(x)
    features = _pooled(x, position_channels, "silu", position_bins)
    if counts:
        features = layers.Concatenate(name="with_counts")([
            features, layers.GlobalAveragePooling1D(name="composition")(inp),
            layers.GlobalAveragePooling1D(name="stem_counts")(stem)])
    out = _dense_head(features, dropout=dropout, dense=dense, n_targets=n_targets,
                      activation="silu")
    return keras.Model(inp, out, name=name)


def deepstarr(length, n_targets=1, *, name="deepstarr"):
    """The DeepSTARR-size reference (de Almeida 2022 layout, our code): four Conv1D - BN -
    ReLU - MaxPool(2) blocks of 256x7, 60x3, 60x5, 120x3, then two dense layers of 256 with
    dropout 0.4. About 0.5 M parameters at 200 nt; the yardstick of the speed benchmark."""
    inp = keras.Input((int(length), 4), name="onehot")
    x = inp
    for i, (f, k) in enumerate([(256, 7), (60, 3), (60, 5), (120, 3)]):
        x = layers.Conv1D(f, k, padding="same", name=f"conv{i + 1}")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"bn{i + 1}")(x)
        x = layers.Activation("relu", name=f"relu{i + 1}")(x)
        if x.shape[1] >= 2:
            x = layers.MaxPooling1D(2, name=f"pool{i + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    for i in range(2):
        x = layers.Dense(256, activation="relu", name=f"dense{i + 1}")(x)
        x = layers.Dropout(0.4, name=f"dropout{i + 1}")(x)
    return keras.Model(inp, layers.Dense(int(n_targets), name="output")(x), name=name)


BUILDERS = {"cnn": cnn, "resnet": dilated_resnet, "se_cnn": se_cnn, "deepstarr": deepstarr}
# The default deep model of 04_model and of the benchmarks, chosen on the accuracy panel.
DEFAULT = "se_cnn"


def build(name, length, n_targets=1, **params):
    """Build the model called ``name`` (a key of ``BUILDERS``) with ``params``."""
    if name not in BUILDERS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(BUILDERS)}")
    return BUILDERS[name](length, n_targets, **params)


def with_rc_average(model):
    """Wrap ``model`` so that it returns the mean of its forward and reverse-complement outputs.

    The result is strand-symmetric by construction (useful for attributions); it shares the
    weights of ``model`` and saves and loads like any model (the flip layer is registered).
    """
    inp = keras.Input(model.input_shape[1:], name="onehot")
    fwd = model(inp)
    rev = model(ReverseComplement(name="reverse_complement")(inp))
    out = layers.Average(name="rc_average")([fwd, rev])
    return keras.Model(inp, out, name=f"{model.name}_rc_average")


def with_member_average(members):
    """One model returning the mean of ``members`` (seed ensemble; same input and output)."""
    inp = keras.Input(members[0].input_shape[1:], name="onehot")
    out = layers.Average(name="member_average")([m(inp) for m in members])
    return keras.Model(inp, out, name="ensemble")
