"""Weights folded at export: BatchNormalization into the convolution before it, an input scale
into a layer's kernel, a Dense layer into a 1x1 convolution (`fer_keras.deployment.deploy_form`).

Each function returns new, built Keras layers holding the folded weights; the trained model is
not changed. BN at inference is ``a * x + b`` per channel (`bn_affine`), so a linear convolution
followed by it is one convolution with its kernel scaled by ``a`` along the output channels and
bias ``bias * a + b``; a channel shuffle between the two only permutes ``a`` and ``b``.
"""

import keras
import numpy as np


def shuffle_permutation(channels, groups):
    """``perm[p]``: the input channel that `ChannelShuffle(groups)` puts at output channel p."""
    n = channels // groups
    return np.array([(p % groups) * n + p // groups for p in range(channels)])


def bn_affine(bn):
    """(a, b) with ``bn(x) = a * x + b`` per channel, at inference."""
    var = np.asarray(bn.moving_variance)
    a = 1.0 / np.sqrt(var + bn.epsilon)
    if bn.gamma is not None:
        a = a * np.asarray(bn.gamma)
    b = -np.asarray(bn.moving_mean) * a
    if bn.beta is not None:
        b = b + np.asarray(bn.beta)
    return a.astype(np.float32), b.astype(np.float32)


def folded_conv(conv, bn=None, in_scale=1.0, permutation=None, name=None):
    """A copy of `conv` (Conv2D, its GroupConv2D subclass or DepthwiseConv2D) with the input
    scale and the BN after it in its kernel and bias; `permutation` is the channel shuffle
    between the convolution and the BN (`shuffle_permutation`)."""

    kernel = np.asarray(conv.kernel) * np.float32(in_scale)
    bias = np.asarray(conv.bias) if conv.use_bias else np.zeros(_out_channels(conv), np.float32)
    if bn is not None:
        a, b = bn_affine(bn)
        if permutation is not None:  # BN channel p scales the conv's channel permutation[p]
            a_pre, b_pre = np.empty_like(a), np.empty_like(b)
            a_pre[permutation], b_pre[permutation] = a, b
            a, b = a_pre, b_pre
        if isinstance(conv, keras.layers.DepthwiseConv2D):
            kernel = kernel * a.reshape(kernel.shape[2], kernel.shape[3])
        else:
            kernel = kernel * a
        bias = bias * a + b
    config = {**conv.get_config(), "use_bias": True, "name": name or conv.name}
    config.pop("dtype", None)
    layer = type(conv).from_config(config)
    in_channels = kernel.shape[2] * getattr(conv, "groups", 1)
    layer.build((None, None, None, in_channels))
    layer.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    return layer


def _out_channels(conv):
    if isinstance(conv, keras.layers.DepthwiseConv2D):
        return conv.kernel.shape[2] * conv.kernel.shape[3]
    return conv.kernel.shape[-1]


def pointwise(dense, in_scale, activation, name, bias_times=1):
    """A Dense layer (C -> U) as a 1x1 Conv2D with the input scale folded in."""
    kernel, bias = dense.get_weights()
    conv = keras.layers.Conv2D(kernel.shape[1], 1, activation=activation, name=name)
    conv.build((None, 1, 1, kernel.shape[0]))
    conv.set_weights([(kernel * np.float32(in_scale))[None, None], bias * np.float32(bias_times)])
    return conv
