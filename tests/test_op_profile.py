"""LiteRT's op profiler from Python (issue 32, item 3): which operators and blocks take the time."""

import numpy as np
import pytest

from fer_keras.benchmark.deploy_profile import block_name, blocks, format_profile_markdown, \
    layer_name
from fer_keras.benchmark.op_profile import DEFAULT, DELEGATE_PROFILED_OP, summarise


def _run(invoke_us, ops_us):
    """One run's events as `ProfiledModel.profiled_run` gives them."""
    return [("LiteRT::Run[buffer registration]", DEFAULT, 3, 0), ("Invoke", 32, 2 ** 32, 0),
            ("Invoke", DEFAULT, invoke_us, 0)] + [
        (op, DELEGATE_PROFILED_OP, us, i) for i, (op, us) in enumerate(ops_us)]


def test_summarise_drops_preempted_runs_and_averages_each_operator():
    ops = [("Fully Connected (NC, F32) GEMM", 60), ("ELU (NC)", 10)]
    runs = [_run(100, ops), _run(110, [(ops[0][0], 70), (ops[1][0], 10)]), _run(100, ops),
            _run(5000, [(ops[0][0], 4900), (ops[1][0], 10)])]  # the last one was preempted
    got = summarise(runs)
    assert (got["runs"], got["runs_kept"]) == (4, 3)
    assert got["invoke_ms"] == pytest.approx(0.100)
    assert [n["op"] for n in got["nodes"]] == [ops[0][0], ops[1][0]]
    assert got["nodes"][0]["ms"] == pytest.approx((60 + 70 + 60) / 3 / 1e3)
    assert got["by_type"] == pytest.approx({ops[0][0]: 0.19 / 3, ops[1][0]: 0.010})
    assert got["unattributed_ms"] == pytest.approx(0.100 - 0.19 / 3 - 0.010)
    assert list(got["by_type"]) == [ops[0][0], ops[1][0]]  # most time first


def test_layer_and_block_names_come_from_the_tflite_tensor_names():
    fused = ("m_1/mobilenetv2_1.00_48_1/out_relu_1/Relu6;"
             "m_1/mobilenetv2_1.00_48_1/Conv_1_1/convolution")
    assert layer_name(fused) == "Conv_1"  # the convolution's name, not its fused ReLU's
    assert layer_name("i_deploy_1/stage7_block3_expand_1/BiasAdd;x/Squeeze1") \
        == "stage7_block3_expand"
    assert block_name("stage7_block3_expand") == "stage7_block3"
    assert block_name("block_16_project") == "block_16"
    assert block_name("stem") == "stem" and layer_name(None) == "?"


def test_the_tables_name_the_top_blocks_with_their_weights():
    def node(i, ms, layer, weights=0, op="Fully Connected (NC, F32) GEMM"):
        return {"index": i, "op": op, "ms": ms, "tflite_op": "CONV_2D",
                "tensor": f"m_1/{layer}_1/BiasAdd", "weight_bytes": weights}

    profile = {"invoke_ms": 1.0, "runs": 10, "runs_kept": 9, "unattributed_ms": 0.1,
               "nodes": [node(0, 0.1, "stem", 1000, "Convolution (NHWC, F32) IGEMM"),
                         node(1, 0.3, "stage7_block2_expand", 5_000_000),
                         node(2, 0.3, "stage7_block2_project", 5_000_000),
                         node(3, 0.2, "stage7_block2_elu", 0, "ELU (NC)")],
               "by_type": {"Fully Connected (NC, F32) GEMM": 0.6, "ELU (NC)": 0.2,
                           "Convolution (NHWC, F32) IGEMM": 0.1}}
    assert blocks(profile)[0] == ("stage7_block2", pytest.approx(0.8), 10_000_000)
    text = format_profile_markdown({"a/deploy/float32": profile, "b/keras/float32": profile})
    assert "| stage7_block2 | 0.800 (80%) | 10.00 | 12.5 |" in text
    assert "| ELU (NC) | 0.200 (20%) | 0.200 (20%) |" in text
    assert "| invocation ms (runs kept) | 1.000 (9/10) |" in text


@pytest.mark.slow
@pytest.mark.tf
def test_profiler_times_every_operator_of_a_tiny_deploy_form():
    """The real profiler on a tiny I-MobileNetV2 deploy form and the tiny baseline: every XNNPACK
    operator is timed and mapped to its TFLite op and layer, and the convolutions' weights add
    up to (nearly) the whole flatbuffer."""
    from fer_keras.benchmark import deploy_speed
    from fer_keras.benchmark.deploy_profile import profile_rows
    from fer_keras.benchmark.op_profile import profile_ops
    from fer_keras.deployment.deploy_form import deploy_form
    from fer_keras.models import create_model

    pytest.importorskip("ai_edge_litert")
    model = create_model("i_mobilenetv2", input_shape=(48, 48, 3), num_classes=7, alpha=0.35,
                         scale_top_stage=True)
    flatbuffer = deploy_speed._flatbuffer(deploy_form(model))  # noqa: SLF001
    x = np.random.default_rng(0).uniform(0, 255, (1, 48, 48, 3)).astype("float32")
    got = profile_ops(flatbuffer, x, runs=5, warmup=1)
    assert got["runs_kept"] >= 3 and got["invoke_ms"] > 0
    assert all(n["tflite_op"] is not None for n in got["nodes"]), "not aligned with the ops"
    assert {n["tflite_op"] for n in got["nodes"]} >= {"CONV_2D", "DEPTHWISE_CONV_2D", "ELU"}
    assert any(layer_name(n["tensor"]).startswith("stage7_block") for n in got["nodes"])
    weights = sum(n["weight_bytes"] for n in got["nodes"])
    assert 0.9 * len(flatbuffer) < weights < len(flatbuffer)
    base = deploy_speed._flatbuffer(deploy_speed._baseline(True))  # noqa: SLF001 - free batch
    built = [("i_mobilenetv2", "w", "deploy", "float32", flatbuffer, ""),
             ("i_mobilenetv2", "w", "deploy", "int8", b"", ""),  # not profiled
             ("keras_mobilenetv2", "w", "keras", "float32", base, "")]
    profiles = profile_rows(built, runs=3)
    assert list(profiles) == ["i_mobilenetv2/deploy/float32", "keras_mobilenetv2/keras/float32"]
    assert all(n["tflite_op"] for n in profiles["keras_mobilenetv2/keras/float32"]["nodes"])


def test_the_deploy_section_prints_the_profile_or_why_there_is_none():
    from fer_keras.benchmark.deploy_speed import format_deploy_markdown

    base = {"rounds": 1, "invokes_per_round": 1, "tiny": True, "load_average_before": (1, 1, 1),
            "load_average_after": (1, 1, 1), "rows": [], "targets": []}
    profile = {"invoke_ms": 1.0, "runs": 2, "runs_kept": 2, "unattributed_ms": 0.5,
               "nodes": [{"index": 0, "op": "ELU (NC)", "ms": 0.5, "tflite_op": "ELU",
                          "tensor": "m_1/stage7_block1_selu_1/Elu", "weight_bytes": 0}],
               "by_type": {"ELU (NC)": 0.5}}
    assert "| stage7_block1 | 0.500 (50%)" in format_deploy_markdown(
        {**base, "profile": {"a/deploy/float32": profile}})
    text = format_deploy_markdown({**base, "profile_error": "LiteRT's op profiler failed: x"})
    assert text.endswith("LiteRT's op profiler failed: x")
