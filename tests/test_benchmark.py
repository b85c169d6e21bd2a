"""Smoke test of ``python -m fer_keras.benchmark --tiny``: every figure produced and finite."""

import math
import subprocess
import sys

import keras
import pytest

from fer_keras import benchmark

TF_KEYS = ("saved_model_latency_ms", "tflite_float32_latency_ms", "tflite_int8_latency_ms",
           "tflite_predicted_latency_ms", "tflite_latency_over_predicted")


def _finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def tiny_result():
    keras.utils.set_random_seed(0)
    # One model of the papers (custom layers, grouped convolutions, SCAM) keeps this short; the
    # keras MobileNetV2 reference runs anyway, for the TFLite ceiling.
    return benchmark.run(models=("light_ntwrn",), repeats=1, tiny=True)


@pytest.mark.slow
def test_tiny_run_produces_every_figure(tiny_result):
    has_tf = benchmark.tensorflow_available()[0]
    ceilings = tiny_result["ceilings"]
    assert _finite(ceilings["conv1x1_gmacs"]) and _finite(ceilings["memcpy_gbs"])
    # measured at the start and at the end, the higher kept
    assert ceilings["conv1x1_gmacs"] == max(ceilings["conv1x1_gmacs_start"],
                                            ceilings["conv1x1_gmacs_end"])
    assert "_flatbuffer" not in ceilings
    (row,) = tiny_result["models"]
    assert row["name"] == "light_ntwrn" and row["train_batch"] == 30
    for key in ("params", "size_mb", "macs", "train_images_per_s", "inference_images_per_s",
                "keras_latency_ms", "train_gmacs", "train_fraction_of_conv1x1",
                "inference_fraction_of_conv1x1"):
        assert _finite(row[key]), (key, row[key])
    if has_tf:
        assert _finite(ceilings["tflite_gmacs"])
        for key in TF_KEYS:
            assert _finite(row[key]), (key, row[key])
        assert _finite(tiny_result["pipeline"]["images_per_s"])
        assert _finite(tiny_result["pipeline"]["fraction_of_memcpy"])
    else:
        assert all(row[key] is None for key in TF_KEYS) and row["tf_skipped"]
    # the table prints every model and both ceilings
    table = benchmark.format_markdown(tiny_result)
    assert "| light_ntwrn |" in table and "GMAC/s" in table and "GB/s" in table


def test_fractions_are_computed_from_the_ceilings():
    row = {"macs": 1e9, "train_images_per_s": 2.0, "inference_images_per_s": 10.0,
           "tflite_float32_latency_ms": 150.0}
    out = benchmark.fractions(row, {"conv1x1_gmacs": 20.0, "tflite_gmacs": 10.0})
    assert out["train_gmacs"] == pytest.approx(6.0)  # forward + two backward products
    assert out["train_fraction_of_conv1x1"] == pytest.approx(0.3)
    assert out["inference_fraction_of_conv1x1"] == pytest.approx(0.5)
    assert out["tflite_predicted_latency_ms"] == pytest.approx(100.0)
    assert out["tflite_latency_over_predicted"] == pytest.approx(1.5)


def test_preset_batch_sizes():
    assert benchmark.train_batch_size("i_mobilenetv2") == 32
    assert benchmark.train_batch_size("light_ntwrn") == 30


def test_unknown_model_is_a_clear_error():
    result = subprocess.run([sys.executable, "-m", "fer_keras.benchmark", "--models", "resnet18"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "resnet18" in result.stderr


@pytest.mark.slow
@pytest.mark.tf
def test_the_benchmark_times_the_int8_model_export_ships(tmp_path, monkeypatch):
    """One converter: the benchmark's int8 flatbuffer is full integer (int8 input and output, no
    float fallback), converted by the function `export` writes model_int8.tflite with."""
    pytest.importorskip("tensorflow")
    from fer_keras.deployment import tflite_convert
    from fer_keras.deployment.saved_model import write_saved_model
    from fer_keras.inference.tflite import make_interpreter

    calls = []
    real = tflite_convert.convert_tflite
    monkeypatch.setattr(tflite_convert, "convert_tflite",
                        lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    model = benchmark.build("i_mobilenetv2", tiny=True, input_shape=(32, 32, 3))
    saved = write_saved_model(model, tmp_path / "saved")
    flatbuffer = benchmark.tflite_bytes(saved, "int8", (32, 32, 3), calibration=2)
    assert calls == ["int8"]
    interpreter = make_interpreter(model_content=flatbuffer)
    assert interpreter.get_input_details()[0]["dtype"].__name__ == "int8"
    assert interpreter.get_output_details()[0]["dtype"].__name__ == "int8"
    assert benchmark.tflite_latency(flatbuffer, 2, (32, 32, 3)) > 0


@pytest.mark.slow
def test_training_section_tiny():
    """``--training --tiny``: raw step, loop and fit rows under TensorFlow, each with its share of
    the 1x1 ceiling; the JAX rows come from a child process (figures, or a row with a note)."""
    from fer_keras.benchmark import training_speed as throughput

    result = throughput.run_training_section(models=("light_ntwrn",), tiny=True)
    rows = {(r.get("backend"), r.get("engine"), r.get("num_models")): r for r in result["rows"]}
    backend = keras.backend.backend()
    engines = ("raw", "loop", "fit") if backend == "tensorflow" else ("raw",)
    for engine in engines:
        row = rows[(backend, engine, 1)]
        assert row["model"] == "light_ntwrn" and row["batch"] == 20
        assert _finite(row["images_per_s"]) and _finite(row["fraction_of_conv1x1"])
        assert row["device"]
    jax_rows = [r for r in result["rows"] if r.get("backend") == "jax"]
    assert jax_rows and all(_finite(r.get("images_per_s")) or r.get("note") for r in jax_rows)
    table = throughput.format_training_markdown(result)
    assert "| light_ntwrn | fit |" in table or backend != "tensorflow"


def test_training_table_gives_the_ratio_to_the_raw_step():
    from fer_keras.benchmark import training_speed as throughput

    base = dict(backend="tensorflow", device="CPU", model="m", num_models=1,
                fraction_of_conv1x1=0.1)
    result = {"train_examples": 783, "batch": 20, "tiny": False, "rows": [
        {**base, "engine": "raw", "images_per_s": 100.0},
        {**base, "engine": "fit", "images_per_s": 80.0},
        {**base, "engine": "device", "images_per_s": None, "fraction_of_conv1x1": None,
         "note": "not importable"}]}
    table = throughput.format_training_markdown(result)
    assert "| m | fit | 1 | 80.0 | 10.0% | 0.80 |" in table
    assert "| n/a | n/a | n/a | not importable |" in table


def test_device_rows_leave_many_models_out_on_cpu(monkeypatch):
    # Ten vmapped I-MobileNetV2s compiled into more than 23 GiB on this 2-core CPU (OOM-killed).
    import sys
    import types

    from fer_keras.benchmark import training_speed as throughput
    from fer_keras.training import device

    calls = []
    fake = types.ModuleType("fer_keras.training.jax_engine")
    fake.engine_throughput = lambda name, batch, num_models, **kw: (
        calls.append(num_models) or {"images_per_s": 1.0, "compile_s": 0.0, "device": "cpu"})
    monkeypatch.setitem(sys.modules, "fer_keras.training.jax_engine", fake)
    for gpu, expected in ((False, [1]), (True, [1, 10])):
        calls.clear()
        monkeypatch.setattr(device, "has_gpu", lambda: gpu)
        rows = throughput.device_rows("i_mobilenetv2", 20, 10)
        assert calls == expected and [r["num_models"] for r in rows] == [1, 10]
        assert (rows[1]["images_per_s"] is None) is (not gpu)
    monkeypatch.setattr(device, "has_gpu", lambda: False)
    calls.clear()
    throughput.device_rows("i_mobilenetv2", 20, 2)
    assert calls == [1, 2]  # --tiny's two models still run on CPU
