"""Which ops take the time: LiteRT's own op profiler, called from Python (issue 32, item 3).

LiteRT's Python API (``ai_edge_litert``: ``Interpreter``, ``CompiledModel``) offers no profiler,
and its ``benchmark_model`` tool is a separate binary that is not on PyPI. The profiler itself is
in the ``libLiteRt.so`` that ``ai-edge-litert`` ships, behind its C API: a ``CompiledModel``
created with the runtime option ``enable_profiling = true`` hands out a profiler
(``LiteRtCompiledModelGetProfiler``) whose events are the ones ``benchmark_model
--enable_op_profiling`` prints, among them one per XNNPACK operator and invocation
(``DELEGATE_PROFILED_OPERATOR_INVOKE_EVENT``: XNNPACK's own operator timing, in whole
microseconds). This module calls that C API through `ctypes` (signatures from LiteRT's
``litert/c/*.h``), one thread (the ``xnnpack`` option ``num_threads = 1``), CPU only.

`profile_ops(flatbuffer)` runs the model `runs` times, each run profiled on its own; runs whose
whole invocation took over 1.5x the median (preempted on a shared machine) are dropped, and each
XNNPACK operator's time is its mean over the runs kept. Where the XNNPACK operators align with the
flatbuffer's ops in execution order (`_map_to_tflite`), each carries the TFLite op, the name of its
output tensor (which names the Keras layer it came from) and its weights' bytes. XNNPACK times whole
microseconds, so an operator under 1 us often reads 0: "unattributed" is what the invocation took
beyond the operators' sum.
"""

import ctypes
import os
import statistics
from collections import defaultdict

import numpy as np

P = ctypes.c_void_p
_SIZE = ctypes.c_size_t
DEFAULT = 1  # LiteRtProfilerEventType: the runtime's own events ("Invoke")
DELEGATE_PROFILED_OP = 8  # one XNNPACK operator's run
CPU = 1  # kLiteRtHwAcceleratorCpu
LOCK_WRITE = 1  # kLiteRtTensorBufferLockModeWrite
OUTLIER = 1.5  # a run slower than this times the median is dropped
# the XNNPACK operator names each TFLite builtin may become (for `_map_to_tflite`)
XNNPACK_KINDS = {"CONV_2D": ("Convolution", "Fully Connected"),
                 "DEPTHWISE_CONV_2D": ("Convolution",), "FULLY_CONNECTED": ("Fully Connected",),
                 "ADD": ("Add",), "SUB": ("Subtract",), "MUL": ("Multiply",),
                 "NEG": ("Negate",), "ELU": ("ELU",), "LEAKY_RELU": ("LeakyReLU",),
                 "LOGISTIC": ("Sigmoid",), "MEAN": ("Mean",), "RESHAPE": ("Static Reshape",
                                                                          "Copy"),
                 "SOFTMAX": ("Softmax",), "RELU": ("Clamp",), "RELU6": ("Clamp",),
                 "CONCATENATION": ("Concatenate",), "TRANSPOSE": ("Transpose",),
                 "MAX_POOL_2D": ("Max Pooling",), "SPLIT": ("Split", "Copy")}
INSERTED = ("Static Reshape", "Copy")  # XNNPACK nodes added around an op (FC's flatten)
FUSED = {"RELU", "RELU6", "RELU_N1_TO_1"}  # TFLite ops XNNPACK may fuse into the op before
WEIGHTED = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}


class _Memory(ctypes.Structure):
    _fields_ = [("total", _SIZE), ("in_use", _SIZE), ("private", _SIZE)]


class _Event(ctypes.Structure):
    """``ProfiledEventData`` (litert/c/litert_profiler_event.h)."""
    _fields_ = [("tag", ctypes.c_char_p), ("event_type", ctypes.c_int),
                ("start_us", ctypes.c_uint64), ("elapsed_us", ctypes.c_uint64),
                ("begin_memory", _Memory), ("end_memory", _Memory),
                ("metadata1", ctypes.c_uint64), ("metadata2", ctypes.c_uint64),
                ("source", ctypes.c_int)]


def litert_library():
    """The ``libLiteRt.so`` of the installed ai-edge-litert (ImportError without it)."""
    import ai_edge_litert

    path = os.path.join(os.path.dirname(ai_edge_litert.__file__), "libLiteRt.so")
    if not os.path.isfile(path):
        raise ImportError(f"ai-edge-litert has no libLiteRt.so at {path}")
    return ctypes.CDLL(path)


def _check(status, what):
    if status != 0:
        raise RuntimeError(f"LiteRT C API {what} failed with status {status}")


class ProfiledModel:
    """A LiteRT ``CompiledModel`` (CPU, XNNPACK, `threads` threads) with its profiler on."""

    def __init__(self, flatbuffer, threads=1):
        lib = self.lib = litert_library()
        self._buffer = ctypes.create_string_buffer(bytes(flatbuffer), len(flatbuffer))
        self.env, self.model, self.options, self.compiled = P(), P(), P(), P()
        _check(lib.LiteRtCreateEnvironment(0, None, ctypes.byref(self.env)), "environment")
        _check(lib.LiteRtCreateModelFromBuffer(self.env, self._buffer, _SIZE(len(flatbuffer)),
                                               ctypes.byref(self.model)), "model")
        _check(lib.LiteRtCreateOptions(ctypes.byref(self.options)), "options")
        _check(lib.LiteRtSetOptionsHardwareAccelerators(self.options, CPU), "accelerator")
        for identifier, toml in (("runtime_options_string", "enable_profiling = true\n"),
                                 ("xnnpack", f"num_threads = {int(threads)}\n")):
            self._add_option(identifier, toml)
        _check(lib.LiteRtCreateCompiledModel(self.env, self.model, self.options,
                                             ctypes.byref(self.compiled)), "compiled model")
        self.inputs = self._buffers("Input", 1)
        self.outputs = self._buffers("Output", 1)
        self.profiler = P()
        _check(lib.LiteRtCompiledModelGetProfiler(self.compiled, ctypes.byref(self.profiler)),
               "profiler")
        if not self.profiler:
            raise RuntimeError("LiteRT gave no profiler for the compiled model")

    def _add_option(self, identifier, toml):
        """An opaque option whose payload is a TOML string LiteRT frees with ``free``."""
        libc = ctypes.CDLL(None)
        libc.strdup.restype, libc.strdup.argtypes = P, [ctypes.c_char_p]
        payload = P(libc.strdup(toml.encode()))
        opaque = P()
        _check(self.lib.LiteRtCreateOpaqueOptions(ctypes.c_char_p(identifier.encode()), payload,
                                                  ctypes.cast(libc.free, P),
                                                  ctypes.byref(opaque)), f"option {identifier}")
        _check(self.lib.LiteRtAddOpaqueOptions(self.options, opaque), f"add {identifier}")

    def _buffers(self, kind, count):
        lib = self.lib
        signature = P()
        _check(lib.LiteRtGetModelSignature(self.model, _SIZE(0), ctypes.byref(signature)),
               "signature")
        buffers = []
        for i in range(count):
            requirements, tensor, made = P(), P(), P()
            _check(getattr(lib, f"LiteRtGetSignature{kind}TensorByIndex")(
                signature, _SIZE(i), ctypes.byref(tensor)), f"{kind} tensor")
            tensor_type = self._batch_one(tensor, kind, i)
            get = getattr(lib, f"LiteRtGetCompiledModel{kind}BufferRequirements")
            _check(get(self.compiled, _SIZE(0), _SIZE(i), ctypes.byref(requirements)),
                   f"{kind} requirements")
            _check(lib.LiteRtCreateManagedTensorBufferFromRequirements(
                self.env, tensor_type, requirements, ctypes.byref(made)), f"{kind} buffer")
            buffers.append(made)
        return (P * count)(*buffers)

    def _batch_one(self, tensor, kind, index):
        """The tensor's ``LiteRtRankedTensorType`` with a free (negative) dimension set to 1;
        a free input is resized so in the compiled model. The struct is kept opaque but for
        its layout's head (litert_layout.h): element type, a 32-bit word of bit fields with the
        rank in its low 7 bits, then the int32 dimensions."""
        tensor_type = ctypes.create_string_buffer(1024)
        _check(self.lib.LiteRtGetRankedTensorType(tensor, tensor_type), f"{kind} type")
        rank = int.from_bytes(tensor_type.raw[4:8], "little") & 0x7F
        dims = np.frombuffer(tensor_type.raw[8:8 + 4 * rank], np.int32).copy()
        if (dims < 0).any():
            dims[dims < 0] = 1
            ctypes.memmove(ctypes.addressof(tensor_type) + 8, dims.ctypes.data, dims.nbytes)
            if kind == "Input":
                _check(self.lib.LiteRtCompiledModelResizeInputTensor(
                    self.compiled, _SIZE(0), _SIZE(index),
                    dims.ctypes.data_as(ctypes.POINTER(ctypes.c_int)), _SIZE(rank)), "resize")
        return tensor_type

    def set_input(self, x):
        """Copies `x` (the input's dtype and size) into the input buffer."""
        x = np.ascontiguousarray(x)
        size, host = _SIZE(), P()
        buffer = P(self.inputs[0])  # an array item reads back as int: a pointer again
        _check(self.lib.LiteRtGetTensorBufferSize(buffer, ctypes.byref(size)), "size")
        if x.nbytes != size.value:
            raise ValueError(f"input of {x.nbytes} bytes for a buffer of {size.value}")
        _check(self.lib.LiteRtLockTensorBuffer(buffer, ctypes.byref(host), LOCK_WRITE), "lock")
        ctypes.memmove(host, x.ctypes.data, x.nbytes)
        _check(self.lib.LiteRtUnlockTensorBuffer(buffer), "unlock")

    def run(self):
        _check(self.lib.LiteRtRunCompiledModel(self.compiled, _SIZE(0), _SIZE(1), self.inputs,
                                               _SIZE(1), self.outputs), "run")

    def profiled_run(self):
        """[(tag, event type, elapsed us, node index)] of one run."""
        lib = self.lib
        _check(lib.LiteRtResetProfiler(self.profiler), "reset")
        _check(lib.LiteRtStartProfiler(self.profiler), "start")
        self.run()
        _check(lib.LiteRtStopProfiler(self.profiler), "stop")
        count = ctypes.c_int()
        _check(lib.LiteRtGetNumProfilerEvents(self.profiler, ctypes.byref(count)), "count")
        events = (_Event * count.value)()
        _check(lib.LiteRtGetProfilerEvents(self.profiler, count, events), "events")
        return [(e.tag.decode(errors="replace") if e.tag else "", e.event_type, e.elapsed_us,
                 e.metadata1) for e in events]

    def close(self):
        lib = self.lib
        if self.compiled:
            lib.LiteRtDestroyCompiledModel(self.compiled)
            for buffer in list(self.inputs) + list(self.outputs):
                lib.LiteRtDestroyTensorBuffer(P(buffer))
            lib.LiteRtDestroyOptions(self.options)
            lib.LiteRtDestroyModel(self.model)
            lib.LiteRtDestroyEnvironment(self.env)
            self.compiled = P()


def profile_ops(flatbuffer, x, runs=100, warmup=5, threads=1):
    """Per-operator times of one batch-1 invocation of `flatbuffer` on input `x`.

    Returns:
        dict: ``invoke_ms`` (median whole invocation over the runs kept), ``runs_kept``,
        ``runs``, ``unattributed_ms``, ``nodes`` ([{index, op (XNNPACK's name), ms, tflite_op,
        tensor, weight_bytes}] in execution order; ``tflite_op`` and ``tensor`` None where the
        lists do not align, ``weight_bytes`` those of a convolution's kernel and bias) and
        ``by_type`` ({XNNPACK op: ms per invocation, all its nodes}).
    """
    return profile_interleaved([flatbuffer], x, runs, rounds=1, warmup=warmup,
                               threads=threads)[0]


def profile_interleaved(flatbuffers, x, runs=100, rounds=5, warmup=5, threads=1):
    """`profile_ops` of several flatbuffers (same input `x`), their runs taken in turns,
    `rounds` rounds of ``runs // rounds`` runs each, so a moment of load falls on all alike."""
    models = []
    try:
        for flatbuffer in flatbuffers:
            models.append(ProfiledModel(flatbuffer, threads))
            models[-1].set_input(x)
            for _ in range(warmup):
                models[-1].run()
        per_run = [[] for _ in models]
        for _ in range(rounds):
            for model, events in zip(models, per_run):
                events.extend(model.profiled_run() for _ in range(max(1, runs // rounds)))
    finally:
        for model in models:
            model.close()
    return [summarise(events, fb) for events, fb in zip(per_run, flatbuffers)]


def summarise(per_run, flatbuffer=None):
    """`profile_ops`'s result from the events of each run (`ProfiledModel.profiled_run`)."""
    invokes = [sum(e[2] for e in run if e[0] == "Invoke" and e[1] == DEFAULT) for run in per_run]
    limit = OUTLIER * statistics.median(invokes)
    kept = [run for run, t in zip(per_run, invokes) if t <= limit]
    totals, names = defaultdict(float), {}
    for run in kept:
        for tag, kind, elapsed, node in run:
            if kind == DELEGATE_PROFILED_OP:
                totals[node] += elapsed
                names[node] = tag
    nodes = [{"index": int(i), "op": names[i], "ms": totals[i] / len(kept) / 1e3,
              "tflite_op": None, "tensor": None, "weight_bytes": 0} for i in sorted(totals)]
    if flatbuffer is not None:
        _map_to_tflite(nodes, flatbuffer)
    by_type = defaultdict(float)
    for n in nodes:
        by_type[n["op"]] += n["ms"]
    invoke_ms = statistics.median(t for t in invokes if t <= limit) / 1e3
    return {"invoke_ms": invoke_ms, "runs": len(per_run), "runs_kept": len(kept),
            "unattributed_ms": invoke_ms - sum(n["ms"] for n in nodes), "nodes": nodes,
            "by_type": dict(sorted(by_type.items(), key=lambda kv: -kv[1]))}


def _map_to_tflite(nodes, flatbuffer):
    """Gives each XNNPACK node its TFLite op and output tensor name, aligning the two lists in
    execution order: a node whose kind the op may become takes that op; a reshape or copy
    XNNPACK inserts (before a FULLY_CONNECTED, say) takes the op after it; an activation XNNPACK
    fused into the op before it is passed over. Nothing is mapped where they do not align."""
    from fer_keras.inference.tflite import make_interpreter

    interp = make_interpreter(model_content=flatbuffer, delegates=False)
    details = {t["index"]: t for t in interp.get_tensor_details()}
    ops = interp._get_ops_details()  # noqa: SLF001 - the only per-op listing the API offers
    pairs, j = [], 0
    for node in nodes:
        while j < len(ops) and not _becomes(ops[j]["op_name"], node["op"]) \
                and not node["op"].startswith(INSERTED) and ops[j]["op_name"] in FUSED:
            j += 1
        if j >= len(ops):
            return
        if _becomes(ops[j]["op_name"], node["op"]):
            pairs.append((node, ops[j]))
            j += 1
        elif node["op"].startswith(INSERTED):
            pairs.append((node, ops[j]))
        else:
            return
    if any(op["op_name"] not in FUSED for op in ops[j:]):
        return
    for node, op in pairs:
        node["tflite_op"] = op["op_name"]
        outputs = [i for i in op["outputs"] if i in details]
        node["tensor"] = details[outputs[0]]["name"] if outputs else None
        if op["op_name"] in WEIGHTED and not node["op"].startswith(INSERTED):
            node["weight_bytes"] = int(sum(  # the kernel and bias: every input but the first
                np.prod(details[i]["shape"]) * np.dtype(details[i]["dtype"]).itemsize
                for i in op["inputs"][1:] if i in details))


def _becomes(builtin, xnnpack_op):
    return any(xnnpack_op.startswith(k) for k in XNNPACK_KINDS.get(builtin, ()))
