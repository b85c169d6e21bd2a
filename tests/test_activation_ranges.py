"""Percentile int8 activation ranges (fer_keras.deployment.activation_ranges): exact
percentiles from streamed batches, ranges that only narrow, the plain min/max path unchanged,
and a rare extreme image no longer coarsening every other image's quantisation."""

import numpy as np
import pytest

from fer_keras.deployment.activation_ranges import check_percentile, percentile_ranges


def test_percentiles_are_exact_over_streamed_batches():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(4, 50, 10)).astype(np.float32)  # 4 batches of 50 examples
    values[2, 7, 3] = 1000.0  # one outlier
    batches = ({"t": v, "u": -v} for v in values)
    ranges = percentile_ranges(batches, 99.9, count=200)
    flat = np.sort(values.ravel())
    k = int(np.ceil(flat.size * 0.1 / 100))  # 2 values of 2,000 lie beyond each bound
    assert ranges["t"] == (float(flat[k - 1]), float(flat[-k]))
    assert ranges["u"] == (-float(flat[-k]), -float(flat[k - 1]))
    assert ranges["t"][1] < 10  # the outlier is clipped away
    assert percentile_ranges([{"t": values[0]}], 100, count=50)["t"][1] == values[0].max()


@pytest.mark.parametrize("bad", [50, 100.5, -1, "x", None, float("nan")])
def test_the_percentile_must_be_in_range(bad):
    with pytest.raises(ValueError, match=f"in \\(50, 100\\], got {bad!r}"):
        check_percentile(bad)
    assert check_percentile("99.99") == 99.99


def _model():
    """Raw pixels -> a linear 1x1 convolution (4 channels) -> ReLU -> pooling -> 3 classes."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Rescaling(1 / 255, name="scale")(inputs)
    x = keras.layers.Conv2D(4, 1, activation="relu", name="conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs)


def _int8_scales(flatbuffer):
    """{tensor name: scale} of the int8 model's integer tensors."""
    from fer_keras.inference.tflite import make_interpreter

    return {d["name"]: d["quantization"][0]
            for d in make_interpreter(model_content=flatbuffer).get_tensor_details()
            if d["dtype"] == np.int8 and d["quantization"][0]}


@pytest.mark.tf
def test_a_rare_extreme_image_no_longer_sets_every_range(tmp_path):
    pytest.importorskip("ai_edge_litert")
    from fer_keras.deployment.activation_ranges import percentile_int8
    from fer_keras.deployment.saved_model import write_saved_model
    from fer_keras.deployment.tflite_convert import convert_tflite
    from fer_keras.inference.tflite import TFLiteRunner

    model = _model()
    saved = write_saved_model(model, tmp_path / "saved")
    rng = np.random.default_rng(1)
    typical = rng.uniform(0, 40, (63, 8, 8, 3)).astype(np.float32)
    calibration = np.concatenate([typical, np.full((1, 8, 8, 3), 255, np.float32)])

    plain = convert_tflite(saved, "int8", calibration)
    same = percentile_int8(saved, calibration, 100)  # calibrate-only + quantise: the same model
    assert np.array_equal(TFLiteRunner(model_content=plain)(typical),
                          TFLiteRunner(model_content=same)(typical))

    clipped = convert_tflite(saved, "int8", calibration, activation_percentile=99)
    before, after = _int8_scales(plain), _int8_scales(clipped)
    assert before.keys() == after.keys()
    assert all(after[k] <= before[k] * (1 + 1e-6) for k in before)  # ranges only narrow
    narrowed = [k for k in before if after[k] < before[k] / 3]
    assert any("conv" in k for k in narrowed), (before, after)
    io = TFLiteRunner(model_content=clipped).interpreter
    for detail in (io.get_input_details()[0], io.get_output_details()[0]):
        assert detail["quantization"][0] == before[detail["name"]]  # the ends keep theirs

    want = model.predict(typical, verbose=0)
    error = {name: np.abs(TFLiteRunner(model_content=m)(typical) - want).mean()
             for name, m in (("min/max", plain), ("percentile", clipped))}
    assert error["percentile"] < error["min/max"], error


@pytest.mark.tf
def test_layer_errors_show_the_coarse_step_and_the_error_it_carries(tmp_path):
    """fer_keras.deployment.int8_error: the tensors of the int8 model against the float32 one;
    narrowing the conv's range shows as a finer step and a smaller error there."""
    pytest.importorskip("ai_edge_litert")
    from fer_keras.deployment.int8_error import layer_errors
    from fer_keras.deployment.saved_model import write_saved_model
    from fer_keras.deployment.tflite_convert import convert_tflite

    saved = write_saved_model(_model(), tmp_path / "saved")
    typical = np.round(np.random.default_rng(1).uniform(0, 40, (63, 8, 8, 3))).astype(np.float32)
    calibration = np.concatenate([typical, np.full((1, 8, 8, 3), 255, np.float32)])
    reference = convert_tflite(saved, "float32")
    rows = {p: {r["name"]: r for r in layer_errors(
        reference, convert_tflite(saved, "int8", calibration, activation_percentile=p), typical)}
        for p in (100, 99)}
    assert rows[100].keys() == rows[99].keys()
    (image,) = [r for name, r in rows[100].items() if name.startswith("serving_default")]
    assert image["relative_rmse"] == 0  # integer raw pixels quantise exactly (scale 1)
    (conv,) = [name for name in rows[100] if "conv" in name]
    assert rows[99][conv]["step_over_std"] < rows[100][conv]["step_over_std"] / 3
    assert rows[99][conv]["relative_rmse"] < rows[100][conv]["relative_rmse"]
    assert 0 < rows[100][conv]["relative_rmse"] < 0.5


@pytest.mark.tf
def test_the_batch_follows_the_memory_budget_and_the_ranges_do_not(tmp_path):
    """Every intermediate tensor stays allocated while the values are collected (Light-NTWRN:
    about 0.3 GB an image), so the batch shrinks to the budget; the percentiles do not depend
    on it."""
    from fer_keras.deployment.activation_ranges import calibrated_model, tensor_values
    from fer_keras.deployment.saved_model import write_saved_model

    saved = write_saved_model(_model(), tmp_path / "saved")
    images = np.random.default_rng(2).uniform(0, 255, (20, 8, 8, 3)).astype(np.float32)
    calibrated = calibrated_model(saved, images)
    small = list(tensor_values(calibrated, images, memory_budget=1))
    assert [len(next(iter(b.values()))) for b in small] == [1] * 20
    large = list(tensor_values(calibrated, images))
    assert [len(next(iter(b.values()))) for b in large] == [1, 19]
    a, b = percentile_ranges(small, 99, 20), percentile_ranges(large, 99, 20)
    assert a.keys() == b.keys()  # equal up to float rounding (the kernels differ by batch)
    assert all(a[k] == pytest.approx(b[k], rel=1e-5, abs=1e-6) for k in a)
