"""Activation functions used by both papers, written to convert to fast TFLite builtins.

SELU (I-MobileNetV2, "Activation function", eq. 10) is ``beta * x`` for ``x >= 0`` and
``beta * alpha * (exp(x) - 1)`` below zero. TensorFlow lowers ``keras.activations.selu`` to five
separate TFLite ops (EXP, GREATER, SELECT_V2, SUB, MUL) that neither fuse nor quantise well. The
identity

    selu(x) = beta * alpha * elu(x) + beta * (1 - alpha) * relu(x)

(``elu`` with its default alpha 1) gives the same function from the ELU and RELU builtins, so the
same model converts, quantises and runs on XNNPACK.
"""

import keras
from keras import ops

# Klambauer et al. (2017); the I-MobileNetV2 paper rounds them to 1.05 and 1.67.
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def selu(x):
    """SELU from ELU and ReLU builtins; equal to ``keras.activations.selu`` to float precision."""
    return SELU_SCALE * SELU_ALPHA * ops.elu(x) + SELU_SCALE * (1.0 - SELU_ALPHA) * ops.relu(x)


_ACTIVATIONS = {
    "relu": ops.relu,
    "relu6": ops.relu6,
    "selu": selu,
    "elu": ops.elu,
    "swish": ops.swish,
    "linear": lambda x: x,
}


def get_activation(name):
    """Returns the function for an activation name; raises ``ValueError`` naming unknown ones."""
    if name not in _ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {name!r}; expected one of {sorted(_ACTIVATIONS)}."
        )
    return _ACTIVATIONS[name]


@keras.saving.register_keras_serializable(package="fer_keras")
class Act(keras.layers.Layer):
    """An activation layer that knows the TFLite-friendly SELU.

    ``keras.layers.Activation("selu")`` would serialise Keras's own SELU (five TFLite ops); this
    layer keeps the name in its config and resolves it with :func:`get_activation`.

    Args:
        activation: one of ``"relu"``, ``"relu6"``, ``"selu"``, ``"elu"``, ``"swish"``,
            ``"linear"``.
    """

    def __init__(self, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self._fn = get_activation(activation)
        self.activation = activation
        self.supports_masking = True

    def call(self, inputs):
        return self._fn(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"activation": self.activation})
        return config
