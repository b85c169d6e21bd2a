"""The whole benchmark run: ceilings at the start, every model, the data pipeline, ceilings at
the end, and the machine it ran on, as one JSON-ready dict."""

import os
import platform
import subprocess

from fer_keras.benchmark.ceilings import machine_ceilings
from fer_keras.benchmark.model_speed import benchmark_model, fractions, pipeline_throughput
from fer_keras.benchmark.timing import DEFAULT_MODELS, INPUT_SHAPE, tensorflow_available


def _commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=os.path.dirname(__file__), timeout=10,
                              ).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run(models=DEFAULT_MODELS, repeats=5, tiny=False, input_shape=INPUT_SHAPE, log=None):
    """The whole benchmark as one JSON-ready dict (the Python API behind the command)."""
    import keras

    log = log or (lambda message: None)
    load_before = os.getloadavg()
    log("ceilings (start)")
    start = machine_ceilings(repeats, tiny, input_shape)
    rows = [benchmark_model(name, repeats, tiny, input_shape, log=log) for name in models]
    log("data pipeline")
    pipeline = pipeline_throughput(tiny)
    log("ceilings (end)")
    ceilings = machine_ceilings(repeats, tiny, input_shape, earlier=start)
    for row in rows:
        row.update(fractions(row, ceilings))
    if pipeline.get("images_per_s") is not None:
        pipeline["fraction_of_memcpy"] = pipeline["bytes_per_s"] / (ceilings["memcpy_gbs"] * 1e9)
    result = {
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "keras": keras.__version__,
                    "backend": keras.backend.backend(), "commit": _commit(),
                    "load_average_before": load_before, "load_average_after": os.getloadavg()},
        "settings": {"repeats": repeats, "tiny": tiny, "input_shape": list(input_shape)},
        "ceilings": ceilings,
        "models": rows,
        "pipeline": pipeline,
    }
    by_name = {r["name"]: r for r in rows}
    if {"i_mobilenetv2", "keras_mobilenetv2"} <= set(by_name):
        ours = by_name["i_mobilenetv2"].get("tflite_float32_latency_ms")
        theirs = by_name["keras_mobilenetv2"].get("tflite_float32_latency_ms")
        result["mobilenetv2_over_i_mobilenetv2_latency"] = (
            theirs / ours if ours and theirs else None)
    if tensorflow_available()[0]:
        import tensorflow as tf

        result["machine"]["tensorflow"] = tf.__version__
    return result
