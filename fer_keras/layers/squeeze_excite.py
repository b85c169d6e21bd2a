"""Squeeze-and-excitation channel attention (Hu et al. 2018), I-MobileNetV2 eqs. 6-8."""

import keras
from keras import ops

from fer_keras.layers.utils import channel_axis, check_positive_int


@keras.saving.register_keras_serializable(package="fer_keras")
class SqueezeExcite(keras.layers.Layer):
    """Rescales each channel by a weight learned from the channel's global average.

    I-MobileNetV2, section "Attention mechanism":

    - eq. 6, squeeze: ``z_c = 1/(H W) * sum_ij U_c(i, j)`` (global average pooling);
    - eq. 7, excitation: ``A = sigmoid(W2 relu(W1 z))``, with ``W1`` reducing ``C`` channels to
      ``max(1, C // reduction)`` and ``W2`` restoring ``C`` (both fully connected, with bias);
    - eq. 8, scale: ``U'_c = A_c * U_c``.

    Args:
        reduction: the ratio ``C / hidden units`` of eq. 7's bottleneck (the paper does not state
            it; 4, the MobileNetV3 value, is the default: see docs/paper_notes.md).
    """

    def __init__(self, reduction=4, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("reduction", reduction)
        self.reduction = reduction

    def build(self, input_shape):
        channels = input_shape[channel_axis()]
        self._channels = channels
        self._units = max(1, channels // self.reduction)
        self.reduce = keras.layers.Dense(self._units, activation="relu", name="reduce")
        self.expand = keras.layers.Dense(channels, activation="sigmoid", name="expand")
        self.reduce.build((None, channels))
        self.expand.build((None, self._units))
        self.built = True

    def call(self, inputs):
        spatial = (1, 2) if channel_axis() == -1 else (2, 3)
        z = ops.mean(inputs, axis=spatial)  # eq. 6
        a = self.expand(self.reduce(z))  # eq. 7
        if channel_axis() == -1:
            a = a[:, None, None, :]
        else:
            a = a[:, :, None, None]
        return inputs * ops.cast(a, inputs.dtype)  # eq. 8

    def compute_output_shape(self, input_shape):
        return input_shape

    def count_macs(self, input_shape):
        return 2 * self._channels * self._units

    def get_config(self):
        config = super().get_config()
        config.update({"reduction": self.reduction})
        return config
