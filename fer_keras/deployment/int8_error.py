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

from fer_keras.inference.tflite import batch_tensors, make_interpreter


def _tensors(flatbuffer, images):
    """{name: (float values, scale or None)} of the tensors with a batch dimension."""
    interpreter = make_interpreter(model_content=flatbuffer, delegates=False,
                                   preserve_all_tensors=True)
    out = {}
    for name, (value, detail) in batch_tensors(interpreter, images).items():
        scale, zero = detail["quantization"]
        if value.dtype == np.int8 and scale:
            out[name] = ((value.astype(np.float32) - zero) * scale, float(scale))
        elif value.dtype == np.float32:
            out[name] = (value, None)
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
