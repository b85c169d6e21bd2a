"""Spatial-channel attention module, SCAM (Light-NTWRN section 3.3, eqs. 13-16, Figures 6-7)."""

import keras
from keras import ops

from fer_keras.layers.utils import channel_axis, check_positive_int, spatial_size

ORDERS = ("spatial_first", "channel_first")


@keras.saving.register_keras_serializable(package="fer_keras")
class SCAM(keras.layers.Layer):
    """CBAM-style attention with the spatial branch first, as Light-NTWRN's eqs. 13-14 write it.

    - eq. 13: ``F' = M_s(F) * F``; eq. 14: ``F'' = M_c(F') * F'``.
    - eq. 15, spatial attention: ``M_s(F) = sigmoid(conv7x7([AvgPool(F); MaxPool(F)]))``, the
      two poolings taken across channels (section 2.1: "the pooling operation is performed along
      the channel axis"), giving one ``H x W`` map.
    - eq. 16, channel attention: ``M_c(F) = sigmoid(MLP(AvgPool(F)) + MLP(MaxPool(F)))``, the
      poolings taken over height and width and the MLP (``C -> C / reduction -> C``, ReLU
      between) shared by both.

    One sentence of section 3.3 says the module applies "the channel and spatial attention
    modules in turn" (CBAM's order); the equations and the next sentence put spatial first.
    ``order`` switches between the two; see docs/paper_notes.md.

    Args:
        reduction: channel reduction ratio of the shared MLP (CBAM's 16; not stated in the paper).
        kernel_size: the spatial branch's convolution size (7 in eq. 15).
        order: ``"spatial_first"`` (eqs. 13-14, default) or ``"channel_first"`` (CBAM).
    """

    def __init__(self, reduction=16, kernel_size=7, order="spatial_first", **kwargs):
        super().__init__(**kwargs)
        check_positive_int("reduction", reduction)
        check_positive_int("kernel_size", kernel_size)
        if order not in ORDERS:
            raise ValueError(f"Unknown SCAM order {order!r}; expected one of {ORDERS}.")
        self.reduction = reduction
        self.kernel_size = kernel_size
        self.order = order

    def build(self, input_shape):
        channels = input_shape[channel_axis()]
        self._channels = channels
        self._units = max(1, channels // self.reduction)
        self.spatial_conv = keras.layers.Conv2D(
            1, self.kernel_size, padding="same", name="spatial_conv"
        )
        pooled_shape = list(input_shape)
        pooled_shape[channel_axis()] = 2
        self.spatial_conv.build(tuple(pooled_shape))
        self.mlp_hidden = keras.layers.Dense(self._units, activation="relu", name="mlp_hidden")
        self.mlp_out = keras.layers.Dense(channels, name="mlp_out")
        self.mlp_hidden.build((None, channels))
        self.mlp_out.build((None, self._units))
        self.built = True

    def spatial_attention(self, inputs):
        """``M_s`` of eq. 15: a ``(batch, H, W, 1)`` map in (0, 1) (channels_last)."""
        axis = channel_axis()
        pooled = ops.concatenate(
            [ops.mean(inputs, axis=axis, keepdims=True), ops.max(inputs, axis=axis, keepdims=True)],
            axis=axis,
        )
        return ops.sigmoid(self.spatial_conv(pooled))

    def channel_attention(self, inputs):
        """``M_c`` of eq. 16: a ``(batch, 1, 1, C)`` map in (0, 1) (channels_last)."""
        spatial = (1, 2) if channel_axis() == -1 else (2, 3)
        avg = self.mlp_out(self.mlp_hidden(ops.mean(inputs, axis=spatial)))
        mx = self.mlp_out(self.mlp_hidden(ops.max(inputs, axis=spatial)))
        weights = ops.sigmoid(avg + mx)
        if channel_axis() == -1:
            return weights[:, None, None, :]
        return weights[:, :, None, None]

    def call(self, inputs):
        if self.order == "spatial_first":
            x = inputs * self.spatial_attention(inputs)  # eq. 13
            return x * self.channel_attention(x)  # eq. 14
        x = inputs * self.channel_attention(inputs)
        return x * self.spatial_attention(x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def count_macs(self, input_shape):
        height, width = spatial_size(input_shape)
        spatial = height * width * self.kernel_size**2 * 2
        channel = 2 * 2 * self._channels * self._units
        return spatial + channel

    def get_config(self):
        config = super().get_config()
        config.update(
            {"reduction": self.reduction, "kernel_size": self.kernel_size, "order": self.order}
        )
        return config
