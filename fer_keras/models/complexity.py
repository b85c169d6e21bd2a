"""Parameter, size and multiply-add counts, computed from a built model's layers.

Multiply-adds are counted for the layers that do them (convolutions, depthwise convolutions,
dense layers, and the custom layers' own sub-layers through their ``count_macs`` method), per
image, as is usual in papers (element-wise products, poolings and batch normalisation, which
folds into the preceding convolution at export, are not counted).
"""

import math

import keras


def _shape(tensor_or_shape):
    return tuple(getattr(tensor_or_shape, "shape", tensor_or_shape))


def layer_macs(layer, input_shape, output_shape):
    """Multiply-adds of one layer for one image, given its (batched) input and output shapes."""
    if hasattr(layer, "count_macs"):
        return int(layer.count_macs(input_shape))
    if isinstance(layer, keras.Model):
        return count_macs(layer)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        return math.prod(output_shape[1:]) * kh * kw
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw = layer.kernel_size
        axis = -1 if layer.data_format == "channels_last" else 1
        in_channels = input_shape[axis]
        return math.prod(output_shape[1:]) * kh * kw * in_channels // layer.groups
    if isinstance(layer, keras.layers.Dense):
        return math.prod(output_shape[1:]) * input_shape[-1]
    return 0


def count_macs(model):
    """Total multiply-adds per image of a functional ``model`` (nested models included)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        inputs = layer.input
        if isinstance(inputs, (list, tuple)):
            inputs = inputs[0]
        total += layer_macs(layer, _shape(inputs), _shape(layer.output))
    return total


def model_summary(model):
    """``{"params", "trainable_params", "size_mb", "macs"}`` of a model (size: float32 weights)."""
    params = model.count_params()
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    return {
        "params": int(params),
        "trainable_params": int(trainable),
        "size_mb": params * 4 / 1e6,
        "macs": int(count_macs(model)),
    }
