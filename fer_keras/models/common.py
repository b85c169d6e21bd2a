"""Input handling and classifier heads shared by the builders."""

import keras

from fer_keras.layers.utils import channel_axis


def check_common_args(input_shape, num_classes, classifier_activation):
    if input_shape is None or len(input_shape) != 3 or any(
        not isinstance(d, int) or d < 1 for d in input_shape
    ):
        raise ValueError(
            f"`input_shape` must be three positive integers (height, width, channels), "
            f"got {input_shape!r}."
        )
    channel_index = 2 if channel_axis() == -1 else 0
    channels = input_shape[channel_index]
    if channels not in (1, 3):
        raise ValueError(
            f"`input_shape` must have 1 (grayscale) or 3 (RGB) channels, got {channels} in "
            f"{input_shape!r}."
        )
    spatial = [d for i, d in enumerate(input_shape) if i != channel_index]
    if min(spatial) < 32:
        raise ValueError(f"Inputs smaller than 32x32 are not supported, got {input_shape!r}.")
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an integer >= 2, got {num_classes!r}.")
    if classifier_activation not in (None, "softmax", "linear"):
        raise ValueError(
            f"`classifier_activation` must be 'softmax', 'linear' or None, got "
            f"{classifier_activation!r}."
        )


def raw_pixel_input(input_shape, name="image"):
    """The model input: raw pixel values 0-255, rescaled inside the model to [-1, 1].

    Keeping normalisation inside the graph makes every artifact (.keras, SavedModel, TFLite)
    take raw pixels, so deployment code cannot get the preprocessing wrong.
    """
    inputs = keras.Input(shape=input_shape, name=name)
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="normalize")(inputs)
    return inputs, x


def classifier_output(x, classifier_activation, name="predictions"):
    """Softmax (or linear logits) as its own layer, so logits stay reachable (Grad-CAM)."""
    if classifier_activation == "softmax":
        return keras.layers.Softmax(name=name)(x)
    return keras.layers.Identity(name=name)(x)
