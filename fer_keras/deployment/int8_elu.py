"""ELU as an int8 op in the full-integer model (issue 32, item 2; SELU is I-MobileNetV2 eq. 10).

TensorFlow 2.21's int8 quantizer does not quantise ELU ("Quantization not yet supported for op:
'ELU'"): it leaves it in float, between a DEQUANTIZE and a QUANTIZE. TFLite's ELU kernel and
XNNPACK's both run int8 ELU (a 256-entry table of ``quantize(elu(dequantize(q)))``), so
`fuse_float_elu` rewrites the converted flatbuffer: every DEQUANTIZE -> ELU (float) -> QUANTIZE
chain becomes one int8 ELU reading the DEQUANTIZE's int8 input and writing the QUANTIZE's int8
output, with those tensors' scales and zero points (the op keeps version 1: the runtime
registers no other ELU version, and its version-1 kernel takes int8). The chain computed the
same table entry by entry (up to float rounding in the one QUANTIZE), so the model's function
is unchanged; the graph is then fully integer where ELU was its only float op.

It is meant for the deploy form's ``"elu"`` flavour (`deploy_form(model, integer="elu")`):
SELU as ELU and LEAKY_RELU, ``-x`` as ``x * -1`` (the quantizer leaves NEG in float, and
``0 - x`` quantises the constant 0 with a scale XNNPACK refuses, so that SUB runs on TFLite's
reference kernel, which the op profiler showed to be most of the integer flavour's time).
"""

from collections import defaultdict


def fuse_float_elu(flatbuffer):
    """`flatbuffer` (bytes of an int8 model) with each DEQUANTIZE -> ELU -> QUANTIZE chain as one
    int8 ELU; returns (new bytes, number of chains fused)."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils as fbu

    model = fbu.read_model_from_bytearray(bytearray(flatbuffer))
    codes = [fbu.get_builtin_code_from_operator_code(c) for c in model.operatorCodes]
    builtin = schema.BuiltinOperator
    fused = 0
    for subgraph in model.subgraphs:
        ops = subgraph.operators

        def kind(i):
            return codes[ops[i].opcodeIndex]  # noqa: B023 - read in this iteration only

        producer = {t: i for i, op in enumerate(ops) for t in op.outputs}
        readers = defaultdict(list)
        for i, op in enumerate(ops):
            for t in op.inputs:
                readers[t].append(i)
        drop = set()
        for i, op in enumerate(ops):
            if kind(i) != builtin.ELU:
                continue
            source, result = op.inputs[0], op.outputs[0]
            p, users = producer.get(source), readers[result]
            if p is None or kind(p) != builtin.DEQUANTIZE or len(users) != 1 \
                    or kind(users[0]) != builtin.QUANTIZE or result in subgraph.outputs:
                continue
            op.inputs, op.outputs = [ops[p].inputs[0]], [ops[users[0]].outputs[0]]
            readers[source].remove(i)
            drop.add(users[0])
            if not readers[source] and source not in subgraph.outputs:
                drop.add(p)
            fused += 1
        subgraph.operators = [op for i, op in enumerate(ops) if i not in drop]
    return bytes(fbu.convert_object_to_bytearray(model)), fused


def int8_elu_flatbuffer(saved_model_dir, representative, activation_percentile=100.0):
    """The int8 model `export` ships (and `benchmark --deploy` times): the SavedModel of
    ``deploy_form(model, integer="elu")`` converted full-integer, calibrated on
    `representative` (activation ranges: `convert_tflite`'s `activation_percentile`), then
    every float ELU chain fused (`fuse_float_elu`)."""
    from fer_keras.deployment.tflite_convert import convert_tflite

    return fuse_float_elu(convert_tflite(saved_model_dir, "int8", representative,
                                         activation_percentile=activation_percentile))[0]
