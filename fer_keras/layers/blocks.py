"""The blocks both networks are built from, as functions over Keras tensors.

Like ``keras.applications``' private block helpers, each function adds named layers to a
functional graph, so a model summary lists every convolution under its block's name.
"""

import keras

from fer_keras.layers.activations import Act
from fer_keras.layers.channel_shuffle import ChannelShuffle
from fer_keras.layers.group_conv import GroupConv2D
from fer_keras.layers.reverse_fusion import ReverseFusion
from fer_keras.layers.scam import SCAM
from fer_keras.layers.squeeze_excite import SqueezeExcite
from fer_keras.layers.utils import channel_axis

DS_MODES = ("grouped", "literal")


def _bn(name, momentum):
    return keras.layers.BatchNormalization(axis=channel_axis(), momentum=momentum, name=name)


def conv_bn_act(x, filters, kernel_size, strides=1, activation="relu", bn_momentum=0.9, name=""):
    """Convolution (no bias), batch normalisation and an activation (``None`` for linear)."""
    x = keras.layers.Conv2D(
        filters, kernel_size, strides=strides, padding="same", use_bias=False, name=name
    )(x)
    x = _bn(f"{name}_bn", bn_momentum)(x)
    if activation is not None:
        x = Act(activation, name=f"{name}_{activation}")(x)
    return x


def inverted_residual_block(
    x,
    expansion,
    filters,
    strides,
    activation="relu6",
    reverse_fusion=False,
    fusion_mode="difference",
    squeeze_excite=False,
    se_reduction=4,
    bn_momentum=0.9,
    name="block",
):
    """MobileNetV2's inverted residual with I-MobileNetV2's switches (its Figure 6).

    1x1 expansion (``expansion`` times the input channels) + BN + activation; 3x3 depthwise +
    BN, then the activation, or :class:`ReverseFusion` around it when ``reverse_fusion``;
    :class:`SqueezeExcite` on the expanded features when ``squeeze_excite``; linear 1x1
    projection + BN; identity shortcut when the stride is 1 and the channels match (the paper:
    "does not use residual connections when stride = 2 or when the input and output channels are
    not the same").
    """
    in_channels = x.shape[channel_axis()]
    inputs = x
    if expansion != 1:
        x = conv_bn_act(
            x, in_channels * expansion, 1, activation=activation, bn_momentum=bn_momentum,
            name=f"{name}_expand",
        )
    x = keras.layers.DepthwiseConv2D(
        3, strides=strides, padding="same", use_bias=False, name=f"{name}_depthwise"
    )(x)
    x = _bn(f"{name}_depthwise_bn", bn_momentum)(x)
    if reverse_fusion:
        x = ReverseFusion(activation, mode=fusion_mode, name=f"{name}_reverse_fusion")(x)
    else:
        x = Act(activation, name=f"{name}_depthwise_{activation}")(x)
    if squeeze_excite:
        x = SqueezeExcite(se_reduction, name=f"{name}_se")(x)
    x = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_project")(x)
    x = _bn(f"{name}_project_bn", bn_momentum)(x)
    if strides == 1 and in_channels == filters:
        x = keras.layers.Add(name=f"{name}_add")([inputs, x])
    return x


def ds_shuffle_conv(x, filters, strides=1, groups=4, mode="grouped", name="ds"):
    """Light-NTWRN's depthwise separable shuffle convolution (section 3.5, Figure 9).

    ``"grouped"`` (default): 3x3 depthwise convolution, 1x1 convolution in ``groups`` groups
    (the channel mixing and any width change happen here, at ``1/groups`` of a full pointwise
    convolution's cost), then :class:`ChannelShuffle` so that the next block's grouped
    convolution sees every group: ShuffleNet's unit.

    ``"literal"``: the section's words taken literally, the pointwise convolution *replaced* by
    the shuffle: a depthwise convolution whose depth multiplier provides the width change, then
    the shuffle. No output channel then depends on more than one input channel.

    The caller adds BN and ReLU (Table 1 writes "DS-k" and "BN+ReLU" as separate rows).
    """
    if mode not in DS_MODES:
        raise ValueError(f"Unknown depthwise-separable-shuffle mode {mode!r}; expected {DS_MODES}.")
    in_channels = x.shape[channel_axis()]
    if mode == "literal":
        if filters % in_channels:
            raise ValueError(
                f"mode='literal' needs filters ({filters}) to be a multiple of the input "
                f"channels ({in_channels})."
            )
        x = keras.layers.DepthwiseConv2D(
            3, strides=strides, padding="same", depth_multiplier=filters // in_channels,
            use_bias=False, name=f"{name}_depthwise",
        )(x)
        return ChannelShuffle(groups, name=f"{name}_shuffle")(x)
    if in_channels % groups or filters % groups:
        raise ValueError(
            f"Depthwise separable shuffle: input channels ({in_channels}) and filters ({filters}) "
            f"must both be divisible by groups={groups}."
        )
    x = keras.layers.DepthwiseConv2D(
        3, strides=strides, padding="same", use_bias=False, name=f"{name}_depthwise"
    )(x)
    x = GroupConv2D(  # Conv2D(groups=groups), as per-group convolutions (fast on CPU)
        filters, 1, groups=groups, use_bias=False, name=f"{name}_pointwise"
    )(x)
    return ChannelShuffle(groups, name=f"{name}_shuffle")(x)


def _shortcut(x, filters, strides, bn_momentum, name):
    if x.shape[channel_axis()] == filters and strides == 1:
        return x
    x = keras.layers.Conv2D(filters, 1, strides=strides, use_bias=False, name=f"{name}_shortcut")(x)
    return _bn(f"{name}_shortcut_bn", bn_momentum)(x)


def _attention(x, attention, scam_reduction, scam_order, name):
    if attention:
        x = SCAM(reduction=scam_reduction, order=scam_order, name=f"{name}_scam")(x)
    return x


def ds_shuffle_block(
    x,
    filters,
    strides=1,
    dropout_rate=0.3,
    attention=True,
    scam_reduction=16,
    scam_order="spatial_first",
    groups=4,
    mode="grouped",
    bn_momentum=0.9,
    name="ds_block",
):
    """Table 1's DS-1/DS-2/DS-3 rows as one residual block.

    ``DS-1`` (carries the stride and width change) + BN + ReLU; ``DS-2`` + BN + ReLU + dropout;
    ``DS-3`` + BN + ReLU + SCAM; plus the block's input (projected by a 1x1 convolution + BN
    where the shape changes), the residual of the wide residual network it modifies.
    """
    shortcut = _shortcut(x, filters, strides, bn_momentum, name)
    for i in (1, 2, 3):
        x = ds_shuffle_conv(
            x, filters, strides if i == 1 else 1, groups=groups, mode=mode, name=f"{name}_ds{i}"
        )
        x = _bn(f"{name}_ds{i}_bn", bn_momentum)(x)
        x = Act("relu", name=f"{name}_ds{i}_relu")(x)
        if i == 2 and dropout_rate:
            x = keras.layers.Dropout(dropout_rate, name=f"{name}_dropout")(x)
    x = _attention(x, attention, scam_reduction, scam_order, name)
    return keras.layers.Add(name=f"{name}_add")([shortcut, x])


def wide_basic_block(
    x,
    filters,
    strides=1,
    dropout_rate=0.3,
    attention=False,
    scam_reduction=16,
    scam_order="spatial_first",
    bn_momentum=0.9,
    name="wide_block",
):
    """The wide residual network's basic block (Zagoruyko & Komodakis 2016; Light-NTWRN Fig. 3b).

    3x3 conv + BN + ReLU + dropout, 3x3 conv + BN + ReLU (Table 1's post-activation order), SCAM
    when ``attention``, plus the (projected) input. The ``WRN`` row of Table 5.
    """
    shortcut = _shortcut(x, filters, strides, bn_momentum, name)
    x = conv_bn_act(x, filters, 3, strides, "relu", bn_momentum, name=f"{name}_conv1")
    if dropout_rate:
        x = keras.layers.Dropout(dropout_rate, name=f"{name}_dropout")(x)
    x = conv_bn_act(x, filters, 3, 1, "relu", bn_momentum, name=f"{name}_conv2")
    x = _attention(x, attention, scam_reduction, scam_order, name)
    return keras.layers.Add(name=f"{name}_add")([shortcut, x])
