"""Running and inspecting TFLite models: LiteRT (`ai-edge-litert`) when installed, else TensorFlow.

`tf.lite.Interpreter` is deprecated from TensorFlow 2.20 on in favour of LiteRT's
`ai_edge_litert.interpreter.Interpreter`, which has the same API. `make_interpreter` prefers
LiteRT and falls back to TensorFlow's with a one-time note. Quantised inputs and outputs (the
full-integer export) are quantised and dequantised here with the tensors' own scale and zero
point, so callers always pass raw 0-255 float32 pixels and get float32 probabilities.
"""

import warnings

import numpy as np

_NOTED = []


def interpreter_class():
    """(Interpreter class, "ai-edge-litert" or "tf.lite")."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai-edge-litert"
    except ImportError:
        pass
    try:
        import tensorflow as tf
    except ImportError:
        raise ImportError("running a TFLite model needs ai-edge-litert (pip install "
                          "ai-edge-litert) or TensorFlow") from None
    if not _NOTED:
        _NOTED.append(True)
        warnings.warn("ai-edge-litert is not installed; using the deprecated tf.lite.Interpreter "
                      "(pip install ai-edge-litert)", stacklevel=3)
    return tf.lite.Interpreter, "tf.lite"


def make_interpreter(model_path=None, model_content=None, num_threads=None, delegates=True,
                     preserve_all_tensors=False):
    """An allocated interpreter; `delegates=False` keeps XNNPACK from replacing the model's ops
    by DELEGATE nodes (used to list the model's own ops); `preserve_all_tensors` keeps every
    intermediate tensor readable after `invoke` (int8 percentile calibration)."""
    cls, source = interpreter_class()
    kwargs = {"num_threads": num_threads} if num_threads else {}
    if preserve_all_tensors:
        kwargs["experimental_preserve_all_tensors"] = True
    if not delegates:
        if source == "ai-edge-litert":
            from ai_edge_litert.interpreter import OpResolverType
        else:
            from tensorflow.lite.experimental import OpResolverType
        kwargs["experimental_op_resolver_type"] = \
            OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    if model_content is not None:
        interp = cls(model_content=bytes(model_content), **kwargs)
    else:
        interp = cls(model_path=str(model_path), **kwargs)
    interp.allocate_tensors()
    return interp


def quantize_input(x, detail):
    """Float32 raw pixels as the input tensor `detail` (an input detail dict) takes them: as they
    are for a float input, quantised with its scale and zero point for an integer one."""
    x = np.asarray(x, np.float32)
    dtype = detail["dtype"]
    if dtype == np.float32:
        return x
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)


def batch_tensors(interpreter, x):
    """Runs `interpreter` (made with `preserve_all_tensors=True`) on the batch `x` (raw float32
    pixels, quantised for an integer input) and returns {name: (value, tensor detail)} of every
    tensor with data and a batch dimension: the per-tensor values that int8 calibration
    (`fer_keras.deployment.activation_ranges`) and the int8 error report
    (`fer_keras.deployment.int8_error`) read."""
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, list(x.shape))
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(index, quantize_input(x, detail))
    interpreter.invoke()
    values = {}
    for detail in interpreter.get_tensor_details():
        try:
            value = interpreter.get_tensor(detail["index"])
        except ValueError:  # a tensor the runtime does not keep (a constant folded away)
            continue
        if value is not None and value.ndim and value.shape[0] == len(x):
            values[detail["name"]] = (value, detail)
    return values


class TFLiteRunner:
    """Calls a TFLite classifier on float32 raw-pixel batches; returns float32 probabilities."""

    def __init__(self, model_path=None, model_content=None, num_threads=None):
        try:
            self.interpreter = make_interpreter(model_path, model_content, num_threads)
        except ValueError as err:  # LiteRT's "not a valid Flatbuffer buffer", without the file
            what = model_path if model_path is not None else "the TFLite model given"
            raise ValueError(f"{what}: corrupt or not a TFLite model ({err}); export it "
                             "again") from None
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.input_shape = tuple(int(v) for v in self.input["shape"][1:])
        self._batch = int(self.input["shape"][0])

    def _resize(self, n):
        if n != self._batch:
            self.interpreter.resize_tensor_input(self.input["index"], [n, *self.input_shape])
            self.interpreter.allocate_tensors()
            self.input = self.interpreter.get_input_details()[0]
            self.output = self.interpreter.get_output_details()[0]
            self._batch = n

    def __call__(self, x):
        x = np.asarray(x, np.float32)
        self._resize(len(x))
        self.interpreter.set_tensor(self.input["index"], quantize_input(x, self.input))
        self.interpreter.invoke()
        y = self.interpreter.get_tensor(self.output["index"])
        if self.output["dtype"] != np.float32:
            scale, zero = self.output["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        return np.asarray(y, np.float32)


def list_ops(model_path=None, model_content=None):
    """The operators of a TFLite model, in execution order.

    Returns:
        list of dicts: `op` (builtin name, e.g. "CONV_2D", or the custom op's name), `index`,
        `input_types` (dtype names of the op's tensor inputs) and `float_inputs` (True when an
        input is float32: in a full-integer model, such an op was not quantised).
    """
    interp = make_interpreter(model_path, model_content, delegates=False)
    tensors = {t["index"]: t for t in interp.get_tensor_details()}
    ops = []
    for d in interp._get_ops_details():  # noqa: SLF001 - the only per-op listing both APIs offer
        types = [np.dtype(tensors[i]["dtype"]).name for i in d["inputs"] if i in tensors]
        ops.append({"op": d["op_name"], "index": int(d["index"]), "input_types": types,
                    "float_inputs": "float32" in types})
    return ops


def op_counts(ops):
    """{op name: count}, in order of first appearance."""
    counts = {}
    for o in ops:
        counts[o["op"]] = counts.get(o["op"], 0) + 1
    return counts
