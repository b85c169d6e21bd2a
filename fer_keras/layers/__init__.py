"""The custom layers of both papers and the blocks built from them.

I-MobileNetV2: :class:`ReverseFusion`, :class:`SqueezeExcite`, the SELU of :mod:`.activations`.
Light-NTWRN: :class:`SCAM`, :class:`GroupBottleneck`, :class:`ChannelShuffle`.
"""

from fer_keras.layers.activations import Act, get_activation, selu
from fer_keras.layers.blocks import (
    conv_bn_act,
    ds_shuffle_block,
    ds_shuffle_conv,
    inverted_residual_block,
    wide_basic_block,
)
from fer_keras.layers.channel_shuffle import ChannelShuffle
from fer_keras.layers.group_bottleneck import GroupBottleneck
from fer_keras.layers.group_conv import GroupConv2D
from fer_keras.layers.reverse_fusion import ReverseFusion
from fer_keras.layers.scam import SCAM
from fer_keras.layers.squeeze_excite import SqueezeExcite

__all__ = [
    "Act",
    "ChannelShuffle",
    "GroupBottleneck",
    "GroupConv2D",
    "ReverseFusion",
    "SCAM",
    "SqueezeExcite",
    "conv_bn_act",
    "ds_shuffle_block",
    "ds_shuffle_conv",
    "get_activation",
    "inverted_residual_block",
    "selu",
    "wide_basic_block",
]
