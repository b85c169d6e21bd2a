"""A grouped convolution computed as one convolution per group (a speed reformulation).

``keras.layers.Conv2D(groups=g)`` computes the same function, but TensorFlow runs grouped
convolutions on CPU through XLA, measured here about 12x slower (forward plus backward) than
``g`` ordinary convolutions on the channel slices, concatenated; TFLite then sees plain
SPLIT / CONV_2D / CONCATENATION ops. Same kernel shape, weights, config and multiply-adds as
``Conv2D``; docs/performance.md has the measurements.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="fer_keras")
class GroupConv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D`` whose ``groups > 1`` case runs as per-group convolutions.

    Output channels ``[i * F/g, (i + 1) * F/g)`` see input channels ``[i * C/g, (i + 1) * C/g)``
    only, Keras's grouping; with ``groups=1`` it is ``Conv2D`` unchanged. Takes ``Conv2D``'s
    arguments.
    """

    def convolution_op(self, inputs, kernel):
        if self.groups == 1:
            return super().convolution_op(inputs, kernel)
        axis = -1 if self.data_format == "channels_last" else 1
        pieces = zip(ops.split(inputs, self.groups, axis=axis),
                     ops.split(kernel, self.groups, axis=-1))
        return ops.concatenate(
            [super(GroupConv2D, self).convolution_op(x, k) for x, k in pieces], axis=axis
        )
