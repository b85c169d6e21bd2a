"""``keras.applications`` networks from the papers' comparison tables, trained from scratch.

I-MobileNetV2 Table 3 and Light-NTWRN Table 6 compare against VGG16/19, ResNet50, MobileNetV2
and MobileNetV3. Here each is built with ``weights=None`` (nothing is downloaded), its own
preprocessing turned off, behind the same raw-pixel input and [-1, 1] rescaling as the papers'
models, with a global-average-pooled softmax head.
"""

import keras

from fer_keras.models.common import (
    check_common_args,
    classifier_output,
    raw_pixel_input,
)
from fer_keras.pretrained import load_weights

APPLICATIONS = {
    "vgg16": "VGG16",
    "vgg19": "VGG19",
    "resnet50": "ResNet50",
    "keras_mobilenetv2": "MobileNetV2",
    "mobilenetv3_small": "MobileNetV3Small",
    "mobilenetv3_large": "MobileNetV3Large",
}


def keras_application(
    application="keras_mobilenetv2",
    input_shape=(48, 48, 3),
    num_classes=7,
    classifier_activation="softmax",
    name=None,
    weights=None,
    **kwargs,
):
    """Builds a ``keras.applications`` backbone with a fresh classifier head.

    Args:
        application: one of :data:`APPLICATIONS`' keys.
        input_shape: (height, width, channels) of raw 0-255 pixels.
        num_classes: number of classes.
        classifier_activation: ``"softmax"`` or ``None``/``"linear"``.
        name: model name (default: ``application``).
        weights: ``None`` (random), or trained weights as for the papers' builders (see
            :mod:`fer_keras.pretrained`); ImageNet weights are never loaded.
        **kwargs: passed to the application (``alpha`` for the MobileNets, ...).
    """
    if application not in APPLICATIONS:
        raise ValueError(
            f"Unknown application {application!r}; expected one of {sorted(APPLICATIONS)}."
        )
    check_common_args(input_shape, num_classes, classifier_activation)
    builder = getattr(keras.applications, APPLICATIONS[application])
    if application.startswith("mobilenetv3"):
        kwargs.setdefault("include_preprocessing", False)
    inputs, x = raw_pixel_input(input_shape)
    backbone = builder(
        include_top=False, weights=None, input_shape=input_shape, pooling="avg", **kwargs
    )
    x = backbone(x)
    x = keras.layers.Dense(num_classes, name="classifier")(x)
    outputs = classifier_output(x, classifier_activation)
    return load_weights(keras.Model(inputs, outputs, name=name or application), weights)
