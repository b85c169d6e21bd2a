"""Grouping bottleneck (Light-NTWRN section 3.4, Figure 8, Table 1 rows Conv-1 / GConv-1 / Conv-2)."""

import keras

from fer_keras.layers.scam import SCAM
from fer_keras.layers.utils import (
    channel_axis,
    check_fraction,
    check_positive_int,
    spatial_size,
)

STRIDE_POSITIONS = ("conv1", "grouped")


@keras.saving.register_keras_serializable(package="fer_keras")
class GroupBottleneck(keras.layers.Layer):
    """A residual bottleneck whose 3x3 convolution has one group per channel.

    Residual branch, each convolution followed by BN + ReLU as Table 1 writes it:

    1. ``Conv-1``: 1x1 convolution to ``round(filters * bottleneck_ratio)`` channels;
    2. ``GConv-1``: 3x3 grouped convolution with as many groups as channels ("the feature map of
       24x24x192 is divided into 192 feature maps ... using 192 convolution kernels of 3x3"),
       i.e. a depthwise convolution, then dropout (Table 1: "BN+ReLU+dropout");
    3. ``Conv-2``: 1x1 convolution to ``filters`` channels, then SCAM when ``attention`` is on
       (Table 1: "BN+ReLU+SCAM").

    The block's input is added element-wise to the branch ("the corresponding element positions
    of the input and output feature maps are summed"); where the shape changes, the input passes
    through a 1x1 projection with BN first, as in ResNet.

    Section 3.4 says the first 1x1 convolution has "half of the number of input feature map
    channels" yet its example maps 48x48x96 to 24x24x192, and Table 1 lists 192 filters:
    ``bottleneck_ratio=1.0`` (the default) follows the table and the example, 0.5 the sentence.
    The example also places the stride in the first 1x1 convolution (``stride_in="conv1"``,
    default); ``"grouped"`` moves it to the 3x3 convolution (ResNet v1.5). See
    docs/paper_notes.md.

    Args:
        filters: output channels.
        strides: 1 or 2.
        bottleneck_ratio: inner channels as a fraction of ``filters``.
        dropout_rate: dropout after the grouped convolution.
        attention: append SCAM to the residual branch.
        scam_reduction: SCAM's MLP reduction ratio.
        scam_order: SCAM's ``order``.
        stride_in: ``"conv1"`` or ``"grouped"``.
        bn_momentum: batch-normalisation momentum.
    """

    def __init__(
        self,
        filters,
        strides=1,
        bottleneck_ratio=1.0,
        dropout_rate=0.0,
        attention=True,
        scam_reduction=16,
        scam_order="spatial_first",
        stride_in="conv1",
        bn_momentum=0.9,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("filters", filters)
        if strides not in (1, 2):
            raise ValueError(f"`strides` must be 1 or 2, got {strides!r}.")
        if not 0.0 < bottleneck_ratio <= 4.0:
            raise ValueError(f"`bottleneck_ratio` must lie in (0, 4], got {bottleneck_ratio!r}.")
        check_fraction("dropout_rate", dropout_rate)
        if stride_in not in STRIDE_POSITIONS:
            raise ValueError(f"`stride_in` must be one of {STRIDE_POSITIONS}, got {stride_in!r}.")
        self.filters = filters
        self.strides = strides
        self.bottleneck_ratio = bottleneck_ratio
        self.dropout_rate = dropout_rate
        self.attention = attention
        self.scam_reduction = scam_reduction
        self.scam_order = scam_order
        self.stride_in = stride_in
        self.bn_momentum = bn_momentum
        self.mid_channels = max(1, int(round(filters * bottleneck_ratio)))

        axis = channel_axis()
        s1 = strides if stride_in == "conv1" else 1
        s2 = strides if stride_in == "grouped" else 1

        def bn(name):
            return keras.layers.BatchNormalization(axis=axis, momentum=bn_momentum, name=name)

        self.conv1 = keras.layers.Conv2D(
            self.mid_channels, 1, strides=s1, use_bias=False, name="conv1"
        )
        self.bn1 = bn("conv1_bn")
        self.gconv = keras.layers.DepthwiseConv2D(
            3, strides=s2, padding="same", use_bias=False, name="gconv"
        )
        self.bn2 = bn("gconv_bn")
        self.dropout = keras.layers.Dropout(dropout_rate, name="dropout")
        self.conv2 = keras.layers.Conv2D(filters, 1, use_bias=False, name="conv2")
        self.bn3 = bn("conv2_bn")
        self.scam = (
            SCAM(reduction=scam_reduction, order=scam_order, name="scam") if attention else None
        )
        self.shortcut_conv = None
        self.shortcut_bn = None

    def build(self, input_shape):
        axis = channel_axis()
        in_channels = input_shape[axis]
        self._input_shape = tuple(input_shape)
        self.conv1.build(input_shape)
        shape = self.conv1.compute_output_shape(input_shape)
        self.bn1.build(shape)
        self.gconv.build(shape)
        shape = self.gconv.compute_output_shape(shape)
        self.bn2.build(shape)
        self.conv2.build(shape)
        shape = self.conv2.compute_output_shape(shape)
        self.bn3.build(shape)
        if self.scam is not None:
            self.scam.build(shape)
        if in_channels != self.filters or self.strides != 1:
            self.shortcut_conv = keras.layers.Conv2D(
                self.filters, 1, strides=self.strides, use_bias=False, name="shortcut"
            )
            self.shortcut_bn = keras.layers.BatchNormalization(
                axis=axis, momentum=self.bn_momentum, name="shortcut_bn"
            )
            self.shortcut_conv.build(input_shape)
            self.shortcut_bn.build(shape)
        self.built = True

    def call(self, inputs, training=None):
        relu = keras.activations.relu
        x = relu(self.bn1(self.conv1(inputs), training=training))
        x = relu(self.bn2(self.gconv(x), training=training))
        x = self.dropout(x, training=training)
        x = relu(self.bn3(self.conv2(x), training=training))
        if self.scam is not None:
            x = self.scam(x)
        shortcut = inputs
        if self.shortcut_conv is not None:
            shortcut = self.shortcut_bn(self.shortcut_conv(inputs), training=training)
        return x + shortcut

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        h, w = spatial_size(input_shape)
        spatial = [None if d is None else -(-d // self.strides) for d in (h, w)]
        if channel_axis() == -1:
            shape[1], shape[2], shape[3] = spatial[0], spatial[1], self.filters
        else:
            shape[1], shape[2], shape[3] = self.filters, spatial[0], spatial[1]
        return tuple(shape)

    def count_macs(self, input_shape):
        in_channels = input_shape[channel_axis()]
        out_h, out_w = spatial_size(self.compute_output_shape(input_shape))
        pixels = out_h * out_w
        macs = pixels * in_channels * self.mid_channels  # conv1 (stride in conv1 or not)
        if self.stride_in == "grouped":
            in_h, in_w = spatial_size(input_shape)
            macs = in_h * in_w * in_channels * self.mid_channels
        macs += pixels * self.mid_channels * 9  # grouped 3x3, one group per channel
        macs += pixels * self.mid_channels * self.filters  # conv2
        if self.scam is not None:
            shape = list(self.compute_output_shape(input_shape))
            macs += self.scam.count_macs(tuple(shape))
        if self.shortcut_conv is not None:
            macs += pixels * in_channels * self.filters
        return macs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "strides": self.strides,
                "bottleneck_ratio": self.bottleneck_ratio,
                "dropout_rate": self.dropout_rate,
                "attention": self.attention,
                "scam_reduction": self.scam_reduction,
                "scam_order": self.scam_order,
                "stride_in": self.stride_in,
                "bn_momentum": self.bn_momentum,
            }
        )
        return config
