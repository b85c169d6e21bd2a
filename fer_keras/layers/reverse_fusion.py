"""Reverse fusion (I-MobileNetV2, section "Reverse fusion methods (RFM)", Figure 3)."""

import keras
from keras import ops

from fer_keras.layers.activations import get_activation
from fer_keras.layers.utils import channel_axis

FUSION_MODES = ("difference", "weighted", "concat")


@keras.saving.register_keras_serializable(package="fer_keras")
class ReverseFusion(keras.layers.Layer):
    """Activates the depthwise features and their inverse, and fuses both, keeping the sign.

    The paper passes the depthwise convolution's output ``x`` through an "inversion layer"
    (``-x``) and fuses both branches in a "fusion layer" by summation before the pointwise
    convolution, so that the negative responses an activation such as ReLU6 would discard reach
    the next layer. With ``f`` the activation, the naive readings lose exactly that information:
    ``x + (-x) = 0``, and ``f(x) + f(-x)`` is an even function, blind to the sign. This layer
    fuses the inverse branch with the sign restored:

    - ``"difference"`` (default): ``y = f(x) - f(-x)``, an odd function of ``x``. With ReLU6
      it equals ``clip(x, -6, 6)``: the negative half that ReLU6 drops is kept. No weights, so
      the parameter count is unchanged, as the paper's Table 2 reports for the ``+RFF`` row.
    - ``"weighted"``: ``y = a * f(x) - b * f(-x)`` with per-channel weights ``a`` and ``b``
      initialised to 1 (a depthwise 1x1 "fusion layer"; ``2 C`` weights).
    - ``"concat"``: ``y = [f(x), -f(-x)]`` along channels (CReLU-style), doubling the channels
      and the following pointwise convolution's weights.

    The choice is discussed in docs/paper_notes.md.

    Args:
        activation: the activation ``f`` applied to both branches (``"selu"``, ``"relu6"``, ...).
        mode: one of ``"difference"``, ``"weighted"``, ``"concat"``.
    """

    def __init__(self, activation="selu", mode="difference", **kwargs):
        super().__init__(**kwargs)
        if mode not in FUSION_MODES:
            raise ValueError(f"Unknown fusion mode {mode!r}; expected one of {FUSION_MODES}.")
        self._fn = get_activation(activation)
        self.activation = activation
        self.mode = mode

    def build(self, input_shape):
        if self.mode == "weighted":
            channels = input_shape[channel_axis()]
            self.positive_weight = self.add_weight(
                name="positive_weight", shape=(channels,), initializer="ones"
            )
            self.negative_weight = self.add_weight(
                name="negative_weight", shape=(channels,), initializer="ones"
            )
        self.built = True

    def _broadcast(self, w):
        return w if channel_axis() == -1 else w[:, None, None]

    def call(self, inputs):
        positive = self._fn(inputs)
        negative = self._fn(-inputs)  # the inversion layer's branch
        if self.mode == "difference":
            return positive - negative
        if self.mode == "weighted":
            return (
                self._broadcast(self.positive_weight) * positive
                - self._broadcast(self.negative_weight) * negative
            )
        return ops.concatenate([positive, -negative], axis=channel_axis())

    def compute_output_shape(self, input_shape):
        if self.mode != "concat":
            return input_shape
        shape = list(input_shape)
        shape[channel_axis()] *= 2
        return tuple(shape)

    def count_macs(self, input_shape):
        return 0

    def get_config(self):
        config = super().get_config()
        config.update({"activation": self.activation, "mode": self.mode})
        return config
