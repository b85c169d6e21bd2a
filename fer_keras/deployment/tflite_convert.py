"""The TFLite models the package ships, converted from its SavedModel (`write_saved_model`).

Modes: "float32" (the SavedModel as it is), "dynamic_range" (int8 weights, float activations),
"int8" (full integer: int8 weights, activations, input and output, calibrated on representative
images; `fer_keras.inference.tflite.TFLiteRunner` quantises raw pixels on the way in). Only
TFLite builtin ops are allowed (no Flex / Select TF ops): conversion fails otherwise. `export`
writes these files and `benchmark` times the same conversions.
"""

from fer_keras.deployment.activation_ranges import check_percentile, percentile_int8

TFLITE_MODES = ("float32", "dynamic_range", "int8")
TFLITE_FILES = {"float32": "model_float32.tflite", "dynamic_range": "model_dynamic_range.tflite",
                "int8": "model_int8.tflite"}


def convert_tflite(saved_model_dir, mode, representative=None, integer_io=True,
                   activation_percentile=100.0):
    """TFLite flatbuffer bytes of the SavedModel's `serving_default` signature in `mode`.

    Args:
        saved_model_dir: a folder written by `write_saved_model`.
        mode: one of TFLITE_MODES.
        representative: float32 images N x H x W x C (raw 0-255) to calibrate the int8 model.
        integer_io: the int8 model's input and output are int8 (the default); False keeps
            them float32 (a QUANTIZE at the input and a DEQUANTIZE at the output, every op
            between still integer).
        activation_percentile: the int8 model's activation ranges: 100 (the default here) is
            the converter's min/max over `representative`; below 100 each range is clipped to
            that percentile of the tensor's values (`fer_keras.deployment.activation_ranges`;
            `export` uses 99.99).
    """
    import tensorflow as tf

    if mode not in TFLITE_MODES:
        raise ValueError(f"mode must be one of {', '.join(TFLITE_MODES)}, got {mode!r}")
    if mode == "int8" and check_percentile(activation_percentile) < 100:
        if representative is None:
            raise ValueError("the int8 export needs representative images")
        return percentile_int8(saved_model_dir, representative, activation_percentile,
                               integer_io)
    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir),
                                                    signature_keys=["serving_default"])
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode == "dynamic_range":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "int8":
        if representative is None:
            raise ValueError("the int8 export needs representative images")
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([representative[i:i + 1]]
                                               for i in range(len(representative)))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if integer_io:
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
    return conv.convert()
