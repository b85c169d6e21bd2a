"""ELU as an int8 op (fer_keras.deployment.int8_elu): the int8 model of the deploy form's "elu"
flavour is fully integer and computes what its DEQUANTIZE -> ELU -> QUANTIZE chains computed."""

import numpy as np
import pytest

pytestmark = pytest.mark.tf


def _int8(model, images):
    import tempfile

    from fer_keras.deployment.saved_model import write_saved_model
    from fer_keras.deployment.tflite_convert import convert_tflite

    with tempfile.TemporaryDirectory() as tmp:
        return convert_tflite(write_saved_model(model, f"{tmp}/saved"), "int8", images)


def test_fused_elu_is_integer_and_gives_the_chains_outputs():
    from fer_keras.deployment.deploy_form import deploy_form
    from fer_keras.deployment.int8_elu import fuse_float_elu
    from fer_keras.inference.tflite import TFLiteRunner, list_ops, op_counts
    from fer_keras.models import create_model

    pytest.importorskip("ai_edge_litert")
    model = create_model("i_mobilenetv2", input_shape=(48, 48, 3), num_classes=7, alpha=0.35,
                         scale_top_stage=True)
    x = np.random.default_rng(0).uniform(0, 255, (16, 48, 48, 3)).astype("float32")
    deploy = deploy_form(model, batch_size=None, integer="elu")
    chains = _int8(deploy, x[:8])
    before = op_counts(list_ops(model_content=chains))
    assert before.get("ELU") == 45 and before.get("DEQUANTIZE", 0) >= 45 and "NEG" not in before
    fused, n = fuse_float_elu(chains)
    ops = list_ops(model_content=fused)
    after = op_counts(ops)
    assert n == 45 and after["ELU"] == 45
    assert "DEQUANTIZE" not in after and "QUANTIZE" not in after
    assert not [o["op"] for o in ops if o["float_inputs"]], "a float op is left"
    got, want = TFLiteRunner(model_content=fused)(x), TFLiteRunner(model_content=chains)(x)
    step = 1 / 256  # the int8 softmax output's scale
    assert np.abs(got - want).max() <= 2 * step
    assert (got.argmax(1) == want.argmax(1)).mean() >= 0.9


def test_a_model_without_the_chain_is_left_as_it_is():
    import keras

    from fer_keras.deployment.int8_elu import fuse_float_elu
    from fer_keras.inference.tflite import list_ops, op_counts

    pytest.importorskip("ai_edge_litert")
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 1, activation="relu")(inputs))
    x = np.random.default_rng(1).uniform(0, 255, (4, 8, 8, 3)).astype("float32")
    flatbuffer = _int8(model, x)
    same, n = fuse_float_elu(flatbuffer)
    assert n == 0
    assert op_counts(list_ops(model_content=same)) == op_counts(list_ops(model_content=flatbuffer))
