"""Where an int8 model loses accuracy: each tensor's error against the float32 model it came from.

`layer_errors(float_model, int8_model, images)` runs both TFLite flatbuffers (converted from the
same SavedModel, so their tensors share names) on the same images with every intermediate tensor
kept, dequantises each int8 tensor and compares it with the float tensor of the same name:

- ``relative_rmse``: RMS of (dequantised - float) over the float tensor's standard deviation,
  the error the tensor carries, accumulated from every layer before it;
- ``step_over_std``: the int8 step (scale) over that standard deviation, how coarse the tensor's
  own quantisation is (0.03 is a range of about +-4 standard deviations over 256 levels; 0.15
  means a few extreme values stretched the range to +-19).

`scripts/int8_layer_error.py` prints them per tensor for the published models and draws the
figure in docs/deployment.md ("Int8 activation ranges").
"""

import numpy as np

from fer_keras.inference.tflite import make_interpreter, quantize_input


def _tensors(flatbuffer, images):
    """{name: (float values, scale or None)} of the tensors with a batch dimension."""
    interpreter = make_interpreter(model_content=flatbuffer, delegates=False,
                                   preserve_all_tensors=True)
    detail = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(detail["index"], list(images.shape))
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], quantize_input(images, detail))
    interpreter.invoke()
    out = {}
    for t in interpreter.get_tensor_details():
        try:
            value = interpreter.get_tensor(t["index"])
        except ValueError:  # a tensor without data (a constant folded away)
            continue
        if value is None or value.ndim == 0 or value.shape[0] != len(images):
            continue
        scale, zero = t["quantization"]
        if value.dtype == np.int8 and scale:
            out[t["name"]] = ((value.astype(np.float32) - zero) * scale, float(scale))
        elif value.dtype == np.float32:
            out[t["name"]] = (value, None)
    return out


def layer_errors(float_model, int8_model, images):
    """[{name, relative_rmse, step_over_std}] in the int8 model's tensor order, for each of its
    int8 tensors that the float model has under the same name and shape."""
    images = np.asarray(images, np.float32)
    reference, quantised = _tensors(float_model, images), _tensors(int8_model, images)
    rows = []
    for name, (value, scale) in quantised.items():
        if scale is None or name not in reference or reference[name][0].shape != value.shape:
            continue
        want = reference[name][0].astype(np.float64)
        std = float(want.std()) or 1.0
        rows.append({"name": name,
                     "relative_rmse": float(np.sqrt(np.mean((value - want) ** 2)) / std),
                     "step_over_std": scale / std})
    return rows
