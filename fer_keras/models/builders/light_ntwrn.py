"""Light-NTWRN (Ni, Zhang & Zhang, 2022) and the wide-residual rows of its Table 5 ablation.

A wide residual network (widening factor 6: widths 96/192/384) whose first and last stages use
depthwise separable shuffle blocks, whose middle stage uses grouping bottlenecks, with the SCAM
attention module closing every block.
"""

import keras

from fer_keras.layers.blocks import (
    DS_MODES,
    conv_bn_act,
    ds_shuffle_block,
    wide_basic_block,
)
from fer_keras.layers.group_bottleneck import GroupBottleneck
from fer_keras.layers.scam import ORDERS
from fer_keras.models.common import (
    check_common_args,
    classifier_output,
    raw_pixel_input,
)
from fer_keras.pretrained import load_weights

# Table 1. Stem: Conv 3x3, 16 filters, 48x48. Then three stages:
#   48x48x96  DS-1/DS-2/DS-3 blocks,            repetition 5
#   24x24x192 Conv-1/GConv-1/Conv-2 bottlenecks, repetition 8
#   12x12x384 DS-4/DS-5/DS-6 blocks,             repetition 5
# (the repetition column is read from each stage's first row; see docs/paper_notes.md).
STEM_FILTERS = 16
WIDTHS = (96, 192, 384)
DEPTHS = (5, 8, 5)
STRIDES = (1, 2, 2)
BLOCK_TYPES = ("basic", "ds", "gbn")


def light_ntwrn(
    input_shape=(48, 48, 3),
    num_classes=7,
    widths=WIDTHS,
    depths=DEPTHS,
    block_types=("ds", "gbn", "ds"),
    stem_filters=STEM_FILTERS,
    attention=True,
    scam_reduction=16,
    scam_order="spatial_first",
    shuffle_groups=4,
    ds_mode="grouped",
    bottleneck_ratio=1.0,
    gbn_stride_in="conv1",
    dropout_rate=0.3,
    bn_momentum=0.9,
    classifier_activation="softmax",
    name="light_ntwrn",
    weights=None,
):
    """Builds Light-NTWRN (or, with other block types, the WRN rows of Table 5).

    Reference:
        Ni, Zhang & Zhang, "Multiscale Feature Fusion Attention Lightweight Facial Expression
        Recognition", International Journal of Aerospace Engineering (2022). Table 1 (layout),
        sections 3.3 (SCAM, eqs. 13-16), 3.4 (grouping bottleneck), 3.5 (depthwise separable
        shuffle), Table 5 (ablation).

    Args:
        input_shape: (height, width, channels) of raw 0-255 pixels; 1 or 3 channels.
        num_classes: number of expression classes.
        widths: channels of the three stages (16 * 6, 32 * 6, 64 * 6: widening factor 6).
        depths: blocks per stage.
        block_types: per stage, ``"ds"`` (depthwise separable shuffle, three DS convolutions),
            ``"gbn"`` (:class:`GroupBottleneck`) or ``"basic"`` (the WRN basic block, two 3x3
            convolutions).
        stem_filters: channels of the 3x3 stem convolution.
        attention: close every block with :class:`SCAM` (Table 1's "BN+ReLU+SCAM" rows).
        scam_reduction: SCAM's MLP reduction ratio.
        scam_order: ``"spatial_first"`` (eqs. 13-14) or ``"channel_first"`` (CBAM).
        shuffle_groups: groups of the DS blocks' pointwise convolution and channel shuffle.
        ds_mode: ``"grouped"`` or ``"literal"``, see :func:`fer_keras.layers.ds_shuffle_conv`.
        bottleneck_ratio: :class:`GroupBottleneck` inner width as a fraction of its output.
        gbn_stride_in: where the grouping bottleneck downsamples (``"conv1"``, as section 3.4's
            example, or ``"grouped"``).
        dropout_rate: the dropout of Table 1's "BN+ReLU+dropout" rows (not stated; WRN's 0.3).
        bn_momentum: batch-normalisation momentum.
        classifier_activation: ``"softmax"`` or ``None``/``"linear"`` for logits.
        name: model name.
        weights: ``None`` (random), a published model's dataset (``"ckplus"``) or full
            name, or a path to a ``.keras`` / ``.weights.h5`` file; see
            :mod:`fer_keras.pretrained`.

    Returns:
        A functional ``keras.Model`` mapping raw pixels to class probabilities.
    """
    check_common_args(input_shape, num_classes, classifier_activation)
    _check_args(widths, depths, block_types, scam_order, ds_mode, dropout_rate)

    inputs, x = raw_pixel_input(input_shape)
    x = conv_bn_act(x, stem_filters, 3, activation="relu", bn_momentum=bn_momentum, name="stem")
    attention_args = dict(
        attention=attention, scam_reduction=scam_reduction, scam_order=scam_order
    )
    for stage, (width, depth, stride, block_type) in enumerate(
        zip(widths, depths, STRIDES, block_types), start=1
    ):
        for i in range(depth):
            x = _block(
                x, block_type, width, stride if i == 0 else 1, name=f"stage{stage}_block{i + 1}",
                dropout_rate=dropout_rate, shuffle_groups=shuffle_groups, ds_mode=ds_mode,
                bottleneck_ratio=bottleneck_ratio, gbn_stride_in=gbn_stride_in,
                bn_momentum=bn_momentum, **attention_args,
            )
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dense(num_classes, name="classifier")(x)
    outputs = classifier_output(x, classifier_activation)
    return load_weights(keras.Model(inputs, outputs, name=name), weights)


def _check_args(widths, depths, block_types, scam_order, ds_mode, dropout_rate):
    """ValueError naming the bad value for the stage lists and the block options."""
    for arg, value in (("widths", widths), ("depths", depths), ("block_types", block_types)):
        if len(value) != 3:
            raise ValueError(f"`{arg}` must have one entry per stage (3), got {value!r}.")
    for width in widths:
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"`widths` must be positive integers, got {widths!r}.")
    for depth in depths:
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"`depths` must be positive integers, got {depths!r}.")
    for block_type in block_types:
        if block_type not in BLOCK_TYPES:
            raise ValueError(f"Unknown block type {block_type!r}; expected one of {BLOCK_TYPES}.")
    if scam_order not in ORDERS:
        raise ValueError(f"`scam_order` must be one of {ORDERS}, got {scam_order!r}.")
    if ds_mode not in DS_MODES:
        raise ValueError(f"`ds_mode` must be one of {DS_MODES}, got {ds_mode!r}.")
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"`dropout_rate` must lie in [0, 1), got {dropout_rate!r}.")


def _block(x, block_type, width, strides, name, dropout_rate, shuffle_groups, ds_mode,
           bottleneck_ratio, gbn_stride_in, bn_momentum, **attention_args):
    """One block of a stage: DS shuffle (section 3.5), grouping bottleneck (section 3.4) or the
    WRN basic block, each closed by SCAM when `attention` (Table 1's "BN+ReLU+SCAM" rows)."""
    if block_type == "ds":
        return ds_shuffle_block(
            x, width, strides, dropout_rate=dropout_rate, groups=shuffle_groups,
            mode=ds_mode, bn_momentum=bn_momentum, name=name, **attention_args,
        )
    if block_type == "gbn":
        return GroupBottleneck(
            width, strides, bottleneck_ratio=bottleneck_ratio, dropout_rate=dropout_rate,
            stride_in=gbn_stride_in, bn_momentum=bn_momentum, name=name, **attention_args,
        )(x)
    return wide_basic_block(
        x, width, strides, dropout_rate=dropout_rate, bn_momentum=bn_momentum, name=name,
        **attention_args,
    )
