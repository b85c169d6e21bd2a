"""ONNX: exporting a Keras model and running the `.onnx` file with ONNX Runtime.

Export uses Keras's own `model.export(path, format="onnx")`, which on the TensorFlow backend
traces the model's serving function and converts it with `tf2onnx` (Keras patches tf2onnx for
NumPy 2). Checked here with Keras 3.15.1, TensorFlow 2.21, tf2onnx 1.17.0, onnx 1.23.2 and
onnxruntime 1.32.0; `pip install "fer_keras[onnx]"` installs the three. The ONNX model takes the
same input as every other artifact (float32 N x H x W x C, raw 0-255 pixels: the rescaling is
inside the model) and returns the class probabilities.
"""

import numpy as np

ONNX_FILE = "model.onnx"
_INSTALL = "pip install 'fer_keras[onnx]' (tf2onnx, onnx, onnxruntime)"


def require_onnx():
    """Raises ImportError (with the install line) unless ONNX export can run here."""
    try:
        import onnx  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError:
        raise ImportError(f"ONNX export needs tf2onnx and onnx: {_INSTALL}") from None


def export_onnx(model, path):
    """Writes `model` (a built Keras model, TensorFlow backend) to the ONNX file `path`."""
    require_onnx()
    # Keras exports only models that were called once (a loaded model was not).
    model(np.zeros((1, *model.inputs[0].shape[1:]), np.float32), training=False)
    model.export(str(path), format="onnx", verbose=False)
    return path


class ONNXRunner:
    """Calls an ONNX classifier on float32 raw-pixel batches; returns float32 probabilities."""

    def __init__(self, model_path, num_threads=None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise ImportError(f"running an .onnx model needs onnxruntime: {_INSTALL}") from None
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
            options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(model_path), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime's own types (InvalidProtobuf, Fail, ...)
            first = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
            raise ValueError(f"{model_path}: corrupt or not an ONNX model onnxruntime can run "
                             f"({type(err).__name__}: {first}); export it again") from None
        first = self.session.get_inputs()[0]
        self.input_name = first.name
        self.input_shape = tuple(int(v) for v in first.shape[1:])

    def __call__(self, x):
        out = self.session.run(None, {self.input_name: np.asarray(x, np.float32)})[0]
        return np.asarray(out, np.float32)
