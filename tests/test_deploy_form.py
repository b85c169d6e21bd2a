"""The deploy form (issue 32): the same function as the trained model, in fewer static ops, and a
fully-integer int8 model converted from it."""

import numpy as np
import pytest

pytestmark = pytest.mark.tf

SHAPE_OPS = {"SHAPE", "PACK", "STRIDED_SLICE"}


def _images(n, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, 48, 48, 3)).astype("float32")


def _published():
    from fer_keras.pretrained import list_published

    return list_published()


def _load_published(name):
    from fer_keras.models.saving import build_published, load_keras_file
    from fer_keras.pretrained import find_published, model_file

    path = model_file(find_published(name))
    return load_keras_file(path, compile=False) if path.suffix == ".keras" \
        else build_published(path)


def _tflite(model, mode="float32", representative=None, integer_io=True):
    import tempfile

    from fer_keras.deployment.saved_model import write_saved_model
    from fer_keras.deployment.tflite_convert import convert_tflite

    with tempfile.TemporaryDirectory() as tmp:
        return convert_tflite(write_saved_model(model, f"{tmp}/saved"), mode, representative,
                              integer_io)


def _ops(flatbuffer):
    from fer_keras.inference.tflite import list_ops

    return list_ops(model_content=flatbuffer)


def test_selu_spellings_equal_selu():
    """eq. 10 by hand: ``scale * leaky_alpha(elu(x))`` and the integer spelling are SELU."""
    import keras

    from fer_keras.deployment.deploy_form import _selu_unscaled
    from fer_keras.layers.activations import SELU_ALPHA, SELU_SCALE

    x = np.linspace(-8, 8, 1601, dtype="float32").reshape(1, 1, -1, 1)
    expected = SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1))
    for integer in (False, True):
        inputs = keras.Input((1, 1601, 1))
        model = keras.Model(inputs, _selu_unscaled(inputs, "s", integer))
        np.testing.assert_allclose(SELU_SCALE * model.predict_on_batch(x), expected, atol=2e-6)


def test_shuffle_permutation_matches_channel_shuffle():
    from fer_keras.deployment.folding import shuffle_permutation
    from fer_keras.layers.channel_shuffle import ChannelShuffle

    x = np.arange(12, dtype="float32").reshape(1, 1, 1, 12)
    shuffled = np.asarray(ChannelShuffle(3)(x))[0, 0, 0]
    np.testing.assert_array_equal(shuffled, shuffle_permutation(12, 3))


@pytest.mark.parametrize("integer", [None, "int8", 1.0, "ELU"])
def test_deploy_form_refuses_an_unknown_flavour(integer):
    """`integer` is False, True or "elu"; anything else (a typo, a format name) is refused by
    name rather than silently read as the float or integer flavour."""
    import keras

    from fer_keras.deployment.deploy_form import deploy_form

    inputs = keras.Input((4, 4, 1))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 1)(inputs))
    with pytest.raises(ValueError, match=f"got {integer!r}"):
        deploy_form(model, integer=integer)


@pytest.mark.parametrize("name", _published())
def test_deploy_form_of_every_published_model_is_the_model(name):
    """Same probabilities (float rounding apart) and the same top-1 for every image; every BN
    folded; batch 1."""
    import keras

    from fer_keras.deployment.deploy_form import deploy_form

    model = _load_published(name)
    deploy = deploy_form(model)
    assert deploy.inputs[0].shape[0] == 1
    assert not [l for l in deploy.layers if isinstance(l, keras.layers.BatchNormalization)]
    x = _images(6, seed=1)
    reference = model.predict_on_batch(x)
    got = np.concatenate([deploy.predict_on_batch(x[i:i + 1]) for i in range(len(x))])
    np.testing.assert_allclose(got, reference, atol=1e-4)
    assert (got.argmax(1) == reference.argmax(1)).all()


@pytest.fixture(scope="module")
def tiny_imn():
    import keras

    from fer_keras.models import create_model

    keras.utils.set_random_seed(0)
    model = create_model("i_mobilenetv2", input_shape=(48, 48, 3), num_classes=7, alpha=0.35)
    _randomise_bn(model)
    return model


def _randomise_bn(model):
    """Trained-looking BN statistics (a fresh model's are 0 and 1: folding them proves little)."""
    import keras

    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.2, beta.shape),
                               rng.normal(0, 0.5, mean.shape), rng.uniform(0.5, 2, var.shape)])


@pytest.mark.slow
def test_deploy_tflite_has_fewer_static_ops_and_agrees(tiny_imn):
    from fer_keras.deployment.deploy_form import deploy_form
    from fer_keras.inference.tflite import TFLiteRunner, op_counts

    before = op_counts(_ops(_tflite(tiny_imn)))
    flatbuffer = _tflite(deploy_form(tiny_imn))
    after = op_counts(_ops(flatbuffer))
    assert SHAPE_OPS & set(before) and not SHAPE_OPS & set(after)
    assert sum(after.values()) < 0.7 * sum(before.values())
    assert after.get("FULLY_CONNECTED", 0) == 0  # SE as 1x1 convolutions
    assert after["ELU"] == after["LEAKY_RELU"] and "RELU" not in after  # SELU in two ops
    assert after.get("MUL", 0) == before["LOGISTIC"]  # one MUL per SE gate, no scale MULs
    x = _images(5, seed=2)
    runner = TFLiteRunner(model_content=flatbuffer, num_threads=1)
    np.testing.assert_allclose(runner(x), tiny_imn.predict_on_batch(x), atol=1e-5)


@pytest.mark.parametrize("integer_io", [True, False])
def test_int8_of_the_integer_deploy_form_is_fully_integer(tiny_imn, integer_io):
    from fer_keras.deployment.deploy_form import deploy_form
    from fer_keras.inference.tflite import make_interpreter

    flatbuffer = _tflite(deploy_form(tiny_imn, integer=True), "int8", _images(8, seed=3),
                         integer_io)
    ops = _ops(flatbuffer)
    edges = {"QUANTIZE", "DEQUANTIZE"}
    assert not [o["op"] for o in ops if o["float_inputs"] and o["op"] not in edges]
    interp = make_interpreter(model_content=flatbuffer)
    in_type = interp.get_input_details()[0]["dtype"]
    out_type = interp.get_output_details()[0]["dtype"]
    if integer_io:
        assert in_type == np.int8 and out_type == np.int8
        assert not [o for o in ops if o["op"] in edges and o["float_inputs"]]
    else:
        assert in_type == np.float32 and out_type == np.float32


def test_light_ntwrn_deploy_form_folds_through_the_shuffle():
    import keras

    from fer_keras.deployment.deploy_form import deploy_form
    from fer_keras.inference.tflite import op_counts
    from fer_keras.models import create_model

    keras.utils.set_random_seed(0)
    model = create_model("light_ntwrn", input_shape=(48, 48, 3), num_classes=7,
                         widths=(16, 32, 32), depths=(1, 1, 1))
    _randomise_bn(model)
    deploy = deploy_form(model)
    x = _images(3, seed=4)
    got = np.concatenate([deploy.predict_on_batch(x[i:i + 1]) for i in range(len(x))])
    np.testing.assert_allclose(got, model.predict_on_batch(x), atol=1e-5)
    after = op_counts(_ops(_tflite(deploy)))
    assert not SHAPE_OPS & set(after)
    assert after.get("FULLY_CONNECTED", 0) == 1  # SCAM's MLPs as 1x1 convolutions


def test_benchmark_section_names_the_ops_when_a_target_is_missed():
    from fer_keras.benchmark.deploy_speed import format_deploy_markdown, targets

    def row(model, form, mode, ms, ops, float_ops=None):
        return {"model": model, "weights": "w", "form": form, "mode": mode, "latency_ms": ms,
                "size_bytes": 1000, "num_ops": sum(ops.values()), "ops": ops,
                "float_ops": float_ops, "note": ""}

    rows = [row("i_mobilenetv2", "deploy", "float32", 1.4, {"CONV_2D": 44, "ELU": 45}),
            row("i_mobilenetv2", "deploy", "int8", 2.0, {"CONV_2D": 44, "EXP": 45}, []),
            row("keras_mobilenetv2", "keras", "float32", 1.0, {"CONV_2D": 35})]
    found = targets(rows)
    assert [t["met"] for t in found] == [False, False, True]
    assert found[0]["ops_beyond_baseline"] == {"CONV_2D": 9, "ELU": 45}
    text = format_deploy_markdown({"rounds": 3, "invokes_per_round": 5, "tiny": False,
                                   "load_average_before": (1, 1, 1),
                                   "load_average_after": (2, 2, 2), "rows": rows,
                                   "targets": found})
    assert "ELU x45" in text and "float ops: none" in text and "| no |" in text
