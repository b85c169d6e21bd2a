"""This machine's ceilings (1x1 convolution GMAC/s, memory copy GB/s, TFLite float32 GMAC/s on
keras MobileNetV2), measured in the same run as the models so that a busy machine shows as lower
ceilings rather than as slower models."""

import os
import tempfile

from fer_keras.benchmark.tflite_timing import tflite_bytes, tflite_latency
from fer_keras.benchmark.timing import (
    INPUT_SHAPE,
    NUM_CLASSES,
    TINY_KWARGS,
    compile_kwargs,
    images,
    median_time,
    tensorflow_available,
)


def conv1x1_ceiling(repeats, tiny=False):
    """GMAC/s of a large 1x1 convolution through a compiled Keras predict function."""
    import keras

    batch, size, channels = (4, 28, 128) if tiny else (16, 56, 256)
    inputs = keras.Input((size, size, channels))
    outputs = keras.layers.Conv2D(channels, 1, use_bias=False)(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(**compile_kwargs())
    x = images(batch, (size, size, channels))
    seconds = median_time(lambda: model.predict_on_batch(x), repeats, warmup=2)
    return batch * size * size * channels * channels / seconds / 1e9


def memcpy_ceiling(repeats, tiny=False):
    """Memory copy bandwidth in GB/s (bytes read plus bytes written)."""
    import numpy as np

    n = (8 if tiny else 128) * 2**20 // 4
    src = np.ones(n, "float32")
    dst = np.empty_like(src)
    seconds = median_time(lambda: np.copyto(dst, src), max(repeats, 3), warmup=1)
    return 2 * src.nbytes / seconds / 1e9


def tflite_ceiling(repeats, tiny=False, input_shape=INPUT_SHAPE, flatbuffer=None):
    """The MAC rate TFLite float32 reaches on keras.applications.MobileNetV2, one thread.

    Pass the ``flatbuffer`` of an earlier call (returned under ``"_flatbuffer"``) to time it again
    without converting again.
    """
    from fer_keras.deployment.saved_model import write_saved_model
    from fer_keras.models import count_macs, create_model

    kwargs = TINY_KWARGS["baseline"] if tiny else {}
    model = create_model("keras_mobilenetv2", input_shape=input_shape, num_classes=NUM_CLASSES,
                         **kwargs)
    macs = count_macs(model)
    if flatbuffer is None:
        with tempfile.TemporaryDirectory() as tmp:
            flatbuffer = tflite_bytes(write_saved_model(model, os.path.join(tmp, "saved")))
    seconds = tflite_latency(flatbuffer, max(repeats, 5) * 4, input_shape)
    return {"tflite_gmacs": macs / seconds / 1e9, "tflite_reference_macs": macs,
            "tflite_reference_latency_ms": seconds * 1e3, "_flatbuffer": flatbuffer}


def machine_ceilings(repeats, tiny=False, input_shape=INPUT_SHAPE, earlier=None):
    """This machine's ceilings; with ``earlier`` (a previous call's result), measured again and
    the higher of the two kept for each, both recorded (a busy moment lowers one measurement)."""
    result = {"conv1x1_gmacs": conv1x1_ceiling(repeats, tiny),
              "memcpy_gbs": memcpy_ceiling(repeats, tiny)}
    has_tf, why = tensorflow_available()
    if has_tf:
        flatbuffer = earlier.get("_flatbuffer") if earlier else None
        result.update(tflite_ceiling(repeats, tiny, input_shape, flatbuffer))
    else:
        result.update({"tflite_gmacs": None, "tflite_reference_macs": None,
                       "tflite_reference_latency_ms": None, "tflite_skipped": why})
    if earlier:
        for key in ("conv1x1_gmacs", "memcpy_gbs", "tflite_gmacs"):
            result[f"{key}_start"], result[f"{key}_end"] = earlier[key], result[key]
            if earlier[key] is not None:
                result[key] = max(earlier[key], result[key])
        result["tflite_reference_latency_ms"] = (
            None if result["tflite_gmacs"] is None
            else result["tflite_reference_macs"] / result["tflite_gmacs"] / 1e6)
        result.pop("_flatbuffer", None)
    return result
