"""Untrusted SavedModels do not run code: the operations a SavedModel may run are checked first.

`keras.saving.load_model(safe_mode=True)` refuses a `.keras` file that would run arbitrary Python
(Lambda layers); a SavedModel has no such guard: `tf.saved_model.load` restores whatever graph
functions it holds, and calling its signature runs every operation in them, including ones that
act outside the model (`WriteFile`, `ReadFile`, `SaveV2`, `PyFunc`, `PrintV2`, ...). A marker
file written at export would not make that safe, since anyone can copy a marker into a foreign
SavedModel. What a graph can do is decided by its operations, so this module reads
`saved_model.pb` (a protocol buffer: nothing is executed) and collects the operation types of
every function the TF2 loader restores (the object graph's concrete functions) or a signature
calls, following nested calls (`StatefulPartitionedCall`, `If`, `While`, ...). Anything outside
`INFERENCE_OPS`, a list of side-effect-free tensor operations and variable reads, makes the model
untrusted: loading it is refused unless the caller passes `trust_saved_model=True`
(`--trust-saved-model`). The package's own exports contain only such operations, so they load as
before. The saver functions (`__inference__traced_save/restore`, which hold `SaveV2` and
`RestoreV2`) are not restored by `tf.saved_model.load` (it restores variables with its own
reader) and are not callable, so they are not counted.

A SavedModel without an object graph (TensorFlow 1's `tf.compat.v1.saved_model.Builder`; also one
with several meta graphs) goes through TensorFlow's TF1 loader, which runs graph code at load:
the main op or legacy init op, the table initializers and asset feeds of the init collections, and
the saver's restore op. For such a model every operation of every meta graph and function counts
(nothing is left out as unreachable), so a `WriteFile` anywhere refuses it.
"""

from pathlib import Path

# Side-effect-free tensor operations and variable reads (what a Keras image classifier's
# inference graph needs, with room for common layers); no I/O, no Python, no variable writes.
INFERENCE_OPS = frozenset("""
Abs Add AddN AddV2 All Any ArgMax ArgMin AvgPool AvgPool3D BatchMatMul BatchMatMulV2
BatchMatMulV3 BiasAdd BroadcastArgs BroadcastTo Cast Ceil ClipByValue ConcatV2 Const Conv2D
Conv3D Cos Cumsum DepthwiseConv2dNative DisableCopyOnRead Div DivNoNan Einsum Elu Equal Erf Exp
ExpandDims Fill Floor FloorDiv FloorMod FusedBatchNorm FusedBatchNormV2 FusedBatchNormV3 GatherV2
Gelu Greater GreaterEqual Identity IdentityN If LeakyRelu Placeholder Less LessEqual Log Log1p LogSoftmax
LogicalAnd LogicalNot LogicalOr MatMul Max MaxPool MaxPool3D MaxPoolV2 Maximum Mean Min Minimum
MirrorPad Mul Neg NoOp NotEqual OnesLike Pack Pad PadV2 PartitionedCall Pow Prod Range Rank
ReadVariableOp RealDiv Reciprocal Relu Relu6 Reshape ResizeBilinear ResizeNearestNeighbor Round
Rsqrt Select SelectV2 Selu Shape ShapeN Sigmoid Sign Sin Size Slice Softmax Softplus Softsign
Split SplitV Sqrt Square SquaredDifference Squeeze StatefulPartitionedCall StatelessIf
StatelessWhile StopGradient StridedSlice Sub Sum Tanh Tile Transpose Unpack VarHandleOp While
ZerosLike
""".split())

class UntrustedSavedModel(ValueError):
    """A SavedModel holds operations outside the inference allow-list."""


def _called(node, library):
    """Names of the library functions a node calls (as its op or through function attrs)."""
    names = [node.op] if node.op in library else []
    for attr in node.attr.values():
        if attr.func.name:
            names.append(attr.func.name)
        names.extend(f.name for f in attr.list.func)
    return names


def read_proto(path):
    """The parsed `saved_model.pb` of a SavedModel folder (nothing is executed)."""
    from tensorflow.core.protobuf import saved_model_pb2

    from google.protobuf.message import DecodeError

    proto = saved_model_pb2.SavedModel()
    try:
        proto.ParseFromString((Path(path) / "saved_model.pb").read_bytes())
    except DecodeError as err:
        raise UntrustedSavedModel(f"{Path(path) / 'saved_model.pb'} is not a readable SavedModel "
                                  f"({err}): export the model again") from None
    return proto


def loads_as_tf2(proto):
    """True when `tf.saved_model.load` takes its TF2 path (one meta graph with an object graph,
    the condition in tensorflow/python/saved_model/load.py); else its TF1 loader runs."""
    return len(proto.meta_graphs) == 1 and proto.meta_graphs[0].HasField("object_graph_def")


def saved_model_ops(path):
    """The operation types a SavedModel's restorable functions and signatures can run.

    Args:
        path: the SavedModel folder (holding saved_model.pb).

    Returns:
        a sorted list of op type names.
    """
    proto = read_proto(path)
    ops = set()
    if not loads_as_tf2(proto):  # the TF1 loader runs init, asset and restore ops: count all
        for meta in proto.meta_graphs:
            ops.update(n.op for n in meta.graph_def.node)
            ops.update(n.op for f in meta.graph_def.library.function for n in f.node_def)
        return sorted(ops)
    for meta in proto.meta_graphs:
        library = {f.signature.name: f for f in meta.graph_def.library.function}
        nodes = {n.name: n for n in meta.graph_def.node}
        roots = set(meta.object_graph_def.concrete_functions)
        # the graph nodes the signatures read, and the functions they call
        pending = [t.name.split(":")[0].lstrip("^") for s in meta.signature_def.values()
                   for t in list(s.outputs.values()) + list(s.inputs.values())]
        seen_nodes = set()
        while pending:
            name = pending.pop()
            if name in seen_nodes or name not in nodes:
                continue
            seen_nodes.add(name)
            node = nodes[name]
            ops.add(node.op)
            roots.update(_called(node, library))
            pending.extend(i.split(":")[0].lstrip("^") for i in node.input)
        seen = set()
        pending = list(roots)
        while pending:
            name = pending.pop()
            if name in seen or name not in library:
                continue
            seen.add(name)
            for node in library[name].node_def:
                if node.op not in library:
                    ops.add(node.op)
                pending.extend(_called(node, library))
    return sorted(ops)


def check_saved_model(path):
    """Raises UntrustedSavedModel when the SavedModel can run an operation outside
    `INFERENCE_OPS`; the message names them and how to load it anyway."""
    outside = [op for op in saved_model_ops(path) if op not in INFERENCE_OPS]
    if outside:
        tf1 = ("" if loads_as_tf2(read_proto(path)) else
               " (a TensorFlow 1 SavedModel: its loader runs init and restore ops at load)")
        raise UntrustedSavedModel(
            f"{path}: refusing to load an untrusted SavedModel{tf1}: it can run operations "
            f"outside the inference allow-list ({', '.join(outside[:10])}"
            f"{' ...' if len(outside) > 10 else ''}), which may act outside the model (write or "
            "read files, run Python). Load it only if you trust its source: --trust-saved-model "
            "(API: trust_saved_model=True)")
