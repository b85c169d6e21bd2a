"""I-MobileNetV2 (Zhu et al., Scientific Reports 14:8121, 2024) and its Table 2 ablation rows.

MobileNetV2 (Sandler et al. 2018) with reverse fusion, squeeze-and-excitation and SELU, laid out
by the paper's Table 1 for 48x48 inputs.
"""

import keras

from fer_keras.layers.blocks import conv_bn_act, inverted_residual_block
from fer_keras.layers.reverse_fusion import FUSION_MODES
from fer_keras.layers.utils import make_divisible
from fer_keras.models.common import (
    check_common_args,
    classifier_output,
    raw_pixel_input,
)
from fer_keras.pretrained import load_weights

# Table 1, rows 2-7: expansion t, output channels c, repeats n, the stride column's stride, the
# stride implied by the output-size column, reverse fusion, SE ("N" cells read as "no").
#        t    c   n  s_col s_out  RF     SE
STAGES = (
    (2, 24, 2, 2, 2, True, True),  # 16x24x24 -> 24x12x12
    (6, 32, 3, 1, 2, True, False),  # -> 32x6x6
    (6, 64, 3, 1, 2, False, False),  # -> 64x3x3
    (6, 96, 4, 1, 1, False, False),  # -> 96x3x3
    (6, 160, 2, 1, 2, True, True),  # -> 160x2x2
    (6, 320, 3, 1, 1, True, False),  # -> 320x2x2
)
STEM_FILTERS = 16  # Table 1 row 1: Conv2d 3x3, stride 2, 3x48x48 -> 16x24x24
STRIDE_READINGS = ("output_size", "stride_column")
ACTIVATIONS = ("selu", "relu6", "relu", "elu")


def i_mobilenetv2(
    input_shape=(48, 48, 3),
    num_classes=7,
    alpha=0.75,
    activation="selu",
    reverse_fusion=True,
    fusion_mode="difference",
    squeeze_excite=True,
    se_reduction=4,
    scale_top_stage=False,
    head_channels=None,
    stride_reading="output_size",
    dropout_rate=0.0,
    bn_momentum=0.9,
    classifier_activation="softmax",
    name="i_mobilenetv2",
    weights=None,
):
    """Builds I-MobileNetV2 (or, with its switches off, the MobileNetV2 rows of Table 2).

    Reference:
        Zhu, Zhuang, Zhao, Xu & Meng, "A study on expression recognition based on improved
        mobilenetV2 network", Scientific Reports 14:8121 (2024). Table 1 (layout), section
        "Reverse fusion methods", eqs. 6-8 (SE), eq. 10 (SELU), Table 2 (ablation).

    Args:
        input_shape: (height, width, channels) of raw 0-255 pixels; 1 or 3 channels.
        num_classes: number of expression classes.
        alpha: width multiplier applied to the stem and every stage (0.75 in the paper).
        activation: ``"selu"`` (the paper) or ``"relu6"`` (MobileNetV2).
        reverse_fusion: apply :class:`ReverseFusion` after the depthwise convolution of the
            stages Table 1 marks (rows 2, 3, 6, 7).
        fusion_mode: :class:`ReverseFusion` mode.
        squeeze_excite: apply :class:`SqueezeExcite` in the stages Table 1 marks (rows 2 and 6).
        se_reduction: SE reduction ratio.
        scale_top_stage: scale the 320-channel top stage by ``alpha`` too (MobileNetV2's rule);
            off for I-MobileNetV2, whose text fixes "the highest output dimension" at 320.
        head_channels: channels of MobileNetV2's final 1x1 convolution before pooling (1280 in
            MobileNetV2), or ``None`` for none (I-MobileNetV2 stops at the 320-channel stage).
        stride_reading: ``"output_size"`` (default) follows Table 1's output-size column
            (strides 2,2,2,2,1,2,1: 24->12->6->3->3->2->2); ``"stride_column"`` its stride column
            (strides 2,2,1,1,1,1,1: the network stays at 12x12). See docs/paper_notes.md.
        dropout_rate: dropout before the classifier (not in the paper; 0 by default).
        bn_momentum: batch-normalisation momentum (0.9 is PyTorch's default, the paper's
            framework).
        classifier_activation: ``"softmax"`` or ``None``/``"linear"`` for logits.
        name: model name.
        weights: ``None`` (random), a published model's dataset (``"fer2013"``) or full
            name, or a path to a ``.keras`` / ``.weights.h5`` file; see
            :mod:`fer_keras.pretrained`.

    Returns:
        A functional ``keras.Model`` mapping raw pixels to class probabilities.
    """
    check_common_args(input_shape, num_classes, classifier_activation)
    _check_args(alpha, activation, fusion_mode, stride_reading, head_channels)

    inputs, x = raw_pixel_input(input_shape)
    x = conv_bn_act(
        x, make_divisible(STEM_FILTERS * alpha), 3, strides=2, activation=activation,
        bn_momentum=bn_momentum, name="stem",
    )
    for stage, (t, c, n, s_col, s_out, rf, se) in enumerate(STAGES, start=2):
        last = stage == len(STAGES) + 1
        filters = c if (last and not scale_top_stage) else make_divisible(c * alpha)
        stride = s_out if stride_reading == "output_size" else s_col
        for i in range(n):
            x = inverted_residual_block(
                x,
                expansion=t,
                filters=filters,
                strides=stride if i == 0 else 1,
                activation=activation,
                reverse_fusion=reverse_fusion and rf,
                fusion_mode=fusion_mode,
                squeeze_excite=squeeze_excite and se,
                se_reduction=se_reduction,
                bn_momentum=bn_momentum,
                name=f"stage{stage}_block{i + 1}",
            )
    if head_channels is not None:
        x = conv_bn_act(
            x, head_channels, 1, activation=activation, bn_momentum=bn_momentum, name="head"
        )
    # Table 1 rows 8-9: average pooling, then a 1x1 convolution to the classes.
    x = keras.layers.GlobalAveragePooling2D(keepdims=True, name="avg_pool")(x)
    if dropout_rate:
        x = keras.layers.Dropout(dropout_rate, name="dropout")(x)
    x = keras.layers.Conv2D(num_classes, 1, name="classifier")(x)
    x = keras.layers.Flatten(name="logits")(x)
    outputs = classifier_output(x, classifier_activation)
    return load_weights(keras.Model(inputs, outputs, name=name), weights)


def _check_args(alpha, activation, fusion_mode, stride_reading, head_channels):
    """ValueError naming the bad value for the width, activation, fusion and stride options."""
    if not 0.0 < alpha <= 2.0:
        raise ValueError(f"`alpha` must lie in (0, 2], got {alpha!r}.")
    if activation not in ACTIVATIONS:
        raise ValueError(f"`activation` must be one of {ACTIVATIONS}, got {activation!r}.")
    if fusion_mode not in FUSION_MODES:
        raise ValueError(f"`fusion_mode` must be one of {FUSION_MODES}, got {fusion_mode!r}.")
    if stride_reading not in STRIDE_READINGS:
        raise ValueError(
            f"`stride_reading` must be one of {STRIDE_READINGS}, got {stride_reading!r}."
        )
    if head_channels is not None and (not isinstance(head_channels, int) or head_channels < 1):
        raise ValueError(f"`head_channels` must be a positive integer or None, got {head_channels!r}.")
