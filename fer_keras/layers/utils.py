"""Small helpers shared by the layers."""

import keras


def channel_axis():
    """The channel axis for ``keras.config.image_data_format()``."""
    return -1 if keras.config.image_data_format() == "channels_last" else 1


def spatial_size(shape):
    """``(height, width)`` of a 4-D shape in the configured data format."""
    if channel_axis() == -1:
        return shape[1], shape[2]
    return shape[2], shape[3]


def make_divisible(value, divisor=8, min_value=None):
    """Rounds a channel count to a multiple of ``divisor`` without losing more than 10 %.

    The rule of the MobileNetV2 reference code (also ``keras.applications.mobilenet_v2``).
    """
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


def check_positive_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")


def check_fraction(name, value, low=0.0, high=1.0):
    if not (low <= value < high):
        raise ValueError(f"`{name}` must lie in [{low}, {high}), got {value!r}.")
