"""Channel shuffle (ShuffleNet, Zhang et al. 2018), used by Light-NTWRN's depthwise separable
shuffle method (Light-NTWRN section 3.5, Figure 9)."""

import keras
from keras import ops

from fer_keras.layers.utils import channel_axis


@keras.saving.register_keras_serializable(package="fer_keras")
class ChannelShuffle(keras.layers.Layer):
    """Permutes channels so that each of ``groups`` groups receives channels from every group.

    For ``C = groups * n`` channels, the channels are viewed as a ``(groups, n)`` matrix, transposed
    to ``(n, groups)`` and flattened back, so output channel ``i * groups + g`` is input channel
    ``g * n + i``. The permutation has no weights and costs no multiply-adds; a following grouped
    convolution then mixes information across the previous convolution's groups.

    Args:
        groups: number of groups; the channel count must be divisible by it.
    """

    def __init__(self, groups=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"`groups` must be a positive integer, got {groups!r}.")
        self.groups = groups

    def build(self, input_shape):
        axis = channel_axis()
        channels = input_shape[axis]
        if channels is None or channels % self.groups != 0:
            raise ValueError(
                f"ChannelShuffle: {channels} channels are not divisible by groups={self.groups}."
            )
        self._channels = channels
        self.built = True

    def call(self, inputs):
        if self.groups == 1:
            return inputs
        axis = channel_axis()
        n = self._channels // self.groups
        if axis == -1:
            height, width = ops.shape(inputs)[1], ops.shape(inputs)[2]
            x = ops.reshape(inputs, (-1, height, width, self.groups, n))
            x = ops.transpose(x, (0, 1, 2, 4, 3))
            return ops.reshape(x, (-1, height, width, self._channels))
        height, width = ops.shape(inputs)[2], ops.shape(inputs)[3]
        x = ops.reshape(inputs, (-1, self.groups, n, height, width))
        x = ops.transpose(x, (0, 2, 1, 3, 4))
        return ops.reshape(x, (-1, self._channels, height, width))

    def compute_output_shape(self, input_shape):
        return input_shape

    def count_macs(self, input_shape):
        return 0

    def get_config(self):
        config = super().get_config()
        config.update({"groups": self.groups})
        return config
