"""``python -m fer_keras.benchmark``: speed of the models on this machine, beside its ceilings.

    python -m fer_keras.benchmark                      # i_mobilenetv2, light_ntwrn, keras_mobilenetv2
    python -m fer_keras.benchmark --models light_ntwrn --repeats 5 --json perf.json
    python -m fer_keras.benchmark --tiny               # tiny widths, 1-2 repeats (the smoke test)
    python -m fer_keras.benchmark --training           # training engines only (images/s)
    python -m fer_keras.benchmark --training --tiny    # the same in seconds (tests)

For each model: parameters, float32 size and multiply-adds per image (counted by
:func:`fer_keras.models.model_summary`), training throughput at the preset batch size (FER2013
presets: I-MobileNetV2 32, Light-NTWRN 30), inference throughput at batch 256, batch-1 latency
through the compiled Keras predict function, the SavedModel, and TFLite float32 and int8 (the
full-integer model `export` ships, converted by the same function) on one thread; plus the tf.data pipeline's throughput (:mod:`fer_keras.data.throughput`).

The machine's own ceilings are measured in the same run, so that a busy or slow machine shows as
lower ceilings rather than as slower models:

- ``conv1x1_gmacs``: GMAC/s of a large 1x1 convolution through the same compiled predict path;
- ``memcpy_gbs``: memory copy bandwidth (bytes read + written per second, numpy copy);
- ``tflite_gmacs``: the MAC rate TFLite float32 reaches on ``keras.applications.MobileNetV2``
  at the same input size, one thread.

Each ceiling is measured at the start and at the end of the run and the higher kept (both are
in the JSON), since a shared machine can be busy at either moment.

Each model's figures are then given as fractions of them: training and batch-256 inference
GMAC/s over ``conv1x1_gmacs`` (training counted as three times the forward multiply-adds:
forward, input gradient, weight gradient), and the TFLite latency over the latency its
multiply-adds predict at ``tflite_gmacs`` (1.0 means "as efficient as MobileNetV2"; the target is
at most 1.5). Every time is the median of ``repeats`` timings after warm-up; the load average
before and after the run is recorded, since the figures are only as good as the machine was quiet.

``--training`` runs the training section instead (:mod:`fer_keras.training.throughput`): images/s
of i_mobilenetv2 and light_ntwrn (or ``--models``) on a CK+-sized fold at batch 20 for the raw
``train_on_batch`` step, engine "loop", engine "fit" (TensorFlow) and the JAX device engine with
one and with K models together, a row per backend (the JAX rows from a child process under
``KERAS_BACKEND=jax`` when this one runs TensorFlow), each beside its share of the 1x1 ceiling.

Parts that need TensorFlow (SavedModel, TFLite, tf.data) are reported as ``None`` with a reason
under another backend or without TensorFlow installed.
"""

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from fer_keras.console import add_verbose_flag, parse_quietly

DEFAULT_MODELS = ("i_mobilenetv2", "light_ntwrn", "keras_mobilenetv2")
INPUT_SHAPE = (48, 48, 3)
NUM_CLASSES = 7
INFERENCE_BATCH = 256
# Tiny widths for the smoke test: every block type, a fraction of the cost.
TINY_KWARGS = {
    "i_mobilenetv2": {"alpha": 0.35, "scale_top_stage": True},
    "light_ntwrn": {"widths": (16, 16, 32), "depths": (1, 2, 1), "scam_reduction": 2,
                    "shuffle_groups": 2},
    "baseline": {"alpha": 0.35},
}


# --- timing helpers --------------------------------------------------------------------------

def median_time(fn, repeats, warmup=1):
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _tensorflow_available():
    import keras

    if keras.backend.backend() != "tensorflow":
        return False, f"the {keras.backend.backend()} backend (TensorFlow parts need TensorFlow)"
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return False, "TensorFlow is not installed"
    return True, ""


def _compile_kwargs():
    import keras

    # Never XLA on CPU under TensorFlow (depthwise convolutions run ~10x slower there).
    return {"jit_compile": False} if keras.backend.backend() == "tensorflow" else {}


def _images(batch, input_shape=INPUT_SHAPE, seed=0):
    import numpy as np

    return np.random.default_rng(seed).uniform(0, 255, (batch,) + tuple(input_shape)).astype(
        "float32")


# --- the machine's ceilings ------------------------------------------------------------------

def conv1x1_ceiling(repeats, tiny=False):
    """GMAC/s of a large 1x1 convolution through a compiled Keras predict function."""
    import keras

    batch, size, channels = (4, 28, 128) if tiny else (16, 56, 256)
    inputs = keras.Input((size, size, channels))
    outputs = keras.layers.Conv2D(channels, 1, use_bias=False)(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(**_compile_kwargs())
    x = _images(batch, (size, size, channels))
    seconds = median_time(lambda: model.predict_on_batch(x), repeats, warmup=2)
    return batch * size * size * channels * channels / seconds / 1e9


def memcpy_ceiling(repeats, tiny=False):
    """Memory copy bandwidth in GB/s (bytes read plus bytes written)."""
    import numpy as np

    n = (8 if tiny else 128) * 2**20 // 4
    src = np.ones(n, "float32")
    dst = np.empty_like(src)
    seconds = median_time(lambda: np.copyto(dst, src), max(repeats, 3), warmup=1)
    return 2 * src.nbytes / seconds / 1e9


# --- TensorFlow export paths: the SavedModel (`write_saved_model`) and TFLite models --------
# --- (`convert_tflite`) that `export` ships ------------------------------------------------

def tflite_bytes(saved_model_dir, mode="float32", input_shape=INPUT_SHAPE, calibration=8):
    """A TFLite flatbuffer converted as `export` converts it (`convert_tflite`): "float32", or
    "int8" full integer (int8 input and output) calibrated on `calibration` random images."""
    import numpy as np

    from fer_keras.deployment.tflite_convert import convert_tflite

    representative = None
    if mode == "int8":
        representative = np.concatenate([_images(1, input_shape, seed=100 + i)
                                         for i in range(calibration)])
    return convert_tflite(saved_model_dir, mode, representative)


def tflite_latency(flatbuffer, repeats, input_shape=INPUT_SHAPE, threads=1):
    """Median seconds of one batch-1 TFLite inference on ``threads`` threads.

    Only `invoke` is timed; a quantised input is quantised once beforehand. The interpreter is
    ai-edge-litert's where installed (the project's TFLite runtime, `fer_keras.inference.tflite`),
    else TensorFlow's deprecated `tf.lite.Interpreter`.
    """
    from fer_keras.inference.tflite import make_interpreter, quantize_input

    interpreter = make_interpreter(model_content=flatbuffer, num_threads=threads)
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], quantize_input(_images(1, input_shape), detail))
    return median_time(interpreter.invoke, repeats, warmup=3)


def tflite_ceiling(repeats, tiny=False, input_shape=INPUT_SHAPE, flatbuffer=None):
    """The MAC rate TFLite float32 reaches on keras.applications.MobileNetV2, one thread.

    Pass the ``flatbuffer`` of an earlier call (returned under ``"_flatbuffer"``) to time it again
    without converting again.
    """
    from fer_keras.deployment.saved_model import write_saved_model
    from fer_keras.models import count_macs, create_model

    kwargs = TINY_KWARGS["baseline"] if tiny else {}
    model = create_model("keras_mobilenetv2", input_shape=input_shape, num_classes=NUM_CLASSES,
                         **kwargs)
    macs = count_macs(model)
    if flatbuffer is None:
        with tempfile.TemporaryDirectory() as tmp:
            flatbuffer = tflite_bytes(write_saved_model(model, os.path.join(tmp, "saved")))
    seconds = tflite_latency(flatbuffer, max(repeats, 5) * 4, input_shape)
    return {"tflite_gmacs": macs / seconds / 1e9, "tflite_reference_macs": macs,
            "tflite_reference_latency_ms": seconds * 1e3, "_flatbuffer": flatbuffer}


def machine_ceilings(repeats, tiny=False, input_shape=INPUT_SHAPE, earlier=None):
    """This machine's ceilings; with ``earlier`` (a previous call's result), measured again and
    the higher of the two kept for each, both recorded (a busy moment lowers one measurement)."""
    result = {"conv1x1_gmacs": conv1x1_ceiling(repeats, tiny),
              "memcpy_gbs": memcpy_ceiling(repeats, tiny)}
    has_tf, why = _tensorflow_available()
    if has_tf:
        flatbuffer = earlier.get("_flatbuffer") if earlier else None
        result.update(tflite_ceiling(repeats, tiny, input_shape, flatbuffer))
    else:
        result.update({"tflite_gmacs": None, "tflite_reference_macs": None,
                       "tflite_reference_latency_ms": None, "tflite_skipped": why})
    if earlier:
        for key in ("conv1x1_gmacs", "memcpy_gbs", "tflite_gmacs"):
            result[f"{key}_start"], result[f"{key}_end"] = earlier[key], result[key]
            if earlier[key] is not None:
                result[key] = max(earlier[key], result[key])
        result["tflite_reference_latency_ms"] = (
            None if result["tflite_gmacs"] is None
            else result["tflite_reference_macs"] / result["tflite_gmacs"] / 1e6)
        result.pop("_flatbuffer", None)
    return result


# --- one model -------------------------------------------------------------------------------

def train_batch_size(name):
    """The FER2013 preset's batch size for a registered model (30 for the baselines)."""
    from fer_keras.presets import get_preset

    return get_preset(name, "fer2013").values["batch_size"]


def build(name, tiny=False, input_shape=INPUT_SHAPE):
    from fer_keras.models import create_model, get_entry

    kwargs = TINY_KWARGS.get(get_entry(name).family, {}) if tiny else {}
    return create_model(name, input_shape=input_shape, num_classes=NUM_CLASSES, **kwargs)


def training_throughput(model, batch, repeats):
    """Images/s of ``train_on_batch`` (SGD with momentum, cross-entropy) at ``batch``."""
    import keras
    import numpy as np

    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                  loss="sparse_categorical_crossentropy", **_compile_kwargs())
    x = _images(batch, model.input.shape[1:])
    y = np.arange(batch) % NUM_CLASSES
    seconds = median_time(lambda: model.train_on_batch(x, y), repeats, warmup=2)
    return batch / seconds


def benchmark_model(name, repeats, tiny=False, input_shape=INPUT_SHAPE, inference_batch=None,
                    ceilings=None, log=None):
    """Every figure of one model (``None`` with a ``*_skipped`` reason where it cannot run)."""
    from fer_keras.models import model_summary

    log = log or (lambda message: None)
    inference_batch = inference_batch or (16 if tiny else INFERENCE_BATCH)
    model = build(name, tiny, input_shape)
    row = {"name": name, "tiny": tiny, **model_summary(model)}
    row["train_batch"] = train_batch_size(name)
    log(f"{name}: training at batch {row['train_batch']}")
    row["train_images_per_s"] = training_throughput(model, row["train_batch"], repeats)

    model = build(name, tiny, input_shape)  # fresh weights, no optimizer state
    model.compile(**_compile_kwargs())
    x_big, x_one = _images(inference_batch, input_shape), _images(1, input_shape)
    log(f"{name}: inference at batch {inference_batch} and 1")
    row["inference_batch"] = inference_batch
    row["inference_images_per_s"] = inference_batch / median_time(
        lambda: model.predict_on_batch(x_big), repeats, warmup=2)
    row["keras_latency_ms"] = 1e3 * median_time(
        lambda: model.predict_on_batch(x_one), max(repeats, 3) * 5, warmup=3)

    has_tf, why = _tensorflow_available()
    if has_tf:
        import tensorflow as tf

        from fer_keras.deployment.saved_model import write_saved_model

        with tempfile.TemporaryDirectory() as tmp:
            log(f"{name}: SavedModel and TFLite")
            saved = write_saved_model(model, os.path.join(tmp, "saved"))
            served = tf.saved_model.load(str(saved))
            x_tf = tf.constant(x_one)
            row["saved_model_latency_ms"] = 1e3 * median_time(
                lambda: served.serve(x_tf)["probabilities"].numpy(), max(repeats, 3) * 5, warmup=3)
            for kind in ("float32", "int8"):
                flatbuffer = tflite_bytes(saved, kind, input_shape)
                row[f"tflite_{kind}_bytes"] = len(flatbuffer)
                row[f"tflite_{kind}_latency_ms"] = 1e3 * tflite_latency(
                    flatbuffer, max(repeats, 3) * 10, input_shape)
    else:
        for key in ("saved_model_latency_ms", "tflite_float32_latency_ms",
                    "tflite_int8_latency_ms", "tflite_float32_bytes", "tflite_int8_bytes"):
            row[key] = None
        row["tf_skipped"] = why
    if ceilings:
        row.update(fractions(row, ceilings))
    return row


def fractions(row, ceilings):
    """A model's achieved rates as fractions of this machine's ceilings."""
    macs = row["macs"]
    out = {
        "train_gmacs": 3 * macs * row["train_images_per_s"] / 1e9,
        "inference_gmacs": macs * row["inference_images_per_s"] / 1e9,
    }
    out["train_fraction_of_conv1x1"] = out["train_gmacs"] / ceilings["conv1x1_gmacs"]
    out["inference_fraction_of_conv1x1"] = out["inference_gmacs"] / ceilings["conv1x1_gmacs"]
    rate = ceilings.get("tflite_gmacs")
    if rate and row.get("tflite_float32_latency_ms") is not None:
        out["tflite_predicted_latency_ms"] = macs / rate / 1e6
        out["tflite_latency_over_predicted"] = (
            row["tflite_float32_latency_ms"] / out["tflite_predicted_latency_ms"])
    else:
        out["tflite_predicted_latency_ms"] = None
        out["tflite_latency_over_predicted"] = None
    return out


# --- the data pipeline -----------------------------------------------------------------------

def pipeline_throughput(tiny=False, ceilings=None):
    """Images/s of ``make_tf_dataset`` on the synthetic set (fer_keras.data.throughput.measure)."""
    has_tf, why = _tensorflow_available()
    if not has_tf:
        return {"images_per_s": None, "skipped": why}
    from fer_keras.data import load_dataset
    from fer_keras.data.throughput import measure

    ds = load_dataset("synthetic", num_examples=200 if tiny else 2000)
    result = measure(ds, batch_size=32, augment="erasing", steps=10 if tiny else 200,
                     warmup=3 if tiny else 20)
    # Bytes the pipeline hands the model per image (float32), against the copy bandwidth.
    result["bytes_per_s"] = result["images_per_s"] * math.prod(INPUT_SHAPE) * 4
    if ceilings:
        result["fraction_of_memcpy"] = result["bytes_per_s"] / (ceilings["memcpy_gbs"] * 1e9)
    return result


# --- the whole run ---------------------------------------------------------------------------

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
    if _tensorflow_available()[0]:
        import tensorflow as tf

        result["machine"]["tensorflow"] = tf.__version__
    return result


def _fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def format_markdown(result):
    """The model table, each figure beside the ceiling it is measured against."""
    c = result["ceilings"]
    lines = [
        f"Ceilings: 1x1 conv {_fmt(c['conv1x1_gmacs'], '.1f')} GMAC/s, memory copy "
        f"{_fmt(c['memcpy_gbs'], '.1f')} GB/s, TFLite float32 on keras MobileNetV2 "
        f"{_fmt(c.get('tflite_gmacs'), '.2f')} GMAC/s (1 thread). Load average before/after: "
        f"{' '.join(f'{v:.2f}' for v in result['machine']['load_average_before'])} / "
        f"{' '.join(f'{v:.2f}' for v in result['machine']['load_average_after'])} on "
        f"{result['machine']['cpu_count']} CPUs; medians of {result['settings']['repeats']} "
        f"repeats{' (tiny widths)' if result['settings']['tiny'] else ''}.",
        "",
        "| model | params | float32 size | MACs / image | train img/s (batch) | train GMAC/s "
        "(of 1x1 ceiling) | infer img/s (batch) | infer of ceiling | Keras batch-1 ms "
        "| SavedModel ms | TFLite fp32 ms (predicted) | TFLite / predicted | TFLite int8 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["models"]:
        lines.append(
            f"| {r['name']} | {r['params'] / 1e6:.2f} M | {r['size_mb']:.2f} MB | "
            f"{r['macs'] / 1e6:.1f} M | {r['train_images_per_s']:.1f} ({r['train_batch']}) | "
            f"{r['train_gmacs']:.2f} ({r['train_fraction_of_conv1x1']:.0%}) | "
            f"{r['inference_images_per_s']:.0f} ({r['inference_batch']}) | "
            f"{r['inference_fraction_of_conv1x1']:.0%} | {r['keras_latency_ms']:.2f} | "
            f"{_fmt(r['saved_model_latency_ms'], '.2f')} | "
            f"{_fmt(r['tflite_float32_latency_ms'], '.2f')} "
            f"({_fmt(r['tflite_predicted_latency_ms'], '.2f')}) | "
            f"{_fmt(r['tflite_latency_over_predicted'], '.2f')}x | "
            f"{_fmt(r['tflite_int8_latency_ms'], '.2f')} |"
        )
    p = result["pipeline"]
    lines.append("")
    if p.get("images_per_s") is None:
        lines.append(f"Data pipeline: skipped ({p.get('skipped')}).")
    else:
        lines.append(
            f"Data pipeline (tf.data, synthetic, batch {p['batch_size']}, {p['augment']}): "
            f"{p['images_per_s']:.0f} images/s, {p['bytes_per_s'] / 1e6:.0f} MB/s of float32 "
            f"images ({p.get('fraction_of_memcpy', 0):.2%} of the memory copy bandwidth).")
    ratio = result.get("mobilenetv2_over_i_mobilenetv2_latency")
    if ratio is not None:
        lines.append(f"TFLite float32 batch-1 latency, keras MobileNetV2 / I-MobileNetV2: "
                     f"{ratio:.2f}x (the paper's Table 4: 3.85x).")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fer_keras.benchmark",
                                     description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS),
                        help="registered model names (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repeats after warm-up (default 5; 2 with --tiny)")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny widths, small batches, 2 repeats: a smoke test")
    parser.add_argument("--json", metavar="PATH", help="also write the JSON here ('-': stdout)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--training", action="store_true",
                        help="only the training section: images/s per engine and backend "
                             "(default models: i_mobilenetv2 light_ntwrn)")
    args = parse_quietly(add_verbose_flag(parser), argv)
    if args.training and args.models == list(DEFAULT_MODELS):
        args.models = ["i_mobilenetv2", "light_ntwrn"]
    from fer_keras.models import list_models

    unknown = [m for m in args.models if m not in list_models()]
    if unknown:
        print(f"error: unknown models {unknown}; registered: {list_models()}", file=sys.stderr)
        return 2
    repeats = args.repeats or (2 if args.tiny else 5)
    log = None if args.quiet else (lambda m: print(f"[benchmark] {m}", file=sys.stderr,
                                                   flush=True))
    if args.training:
        from fer_keras.training import throughput

        result = throughput.run_training_section(args.models, args.tiny, log=log)
        table = throughput.format_training_markdown(result)
    else:
        result = run(args.models, repeats, args.tiny, log=log)
        table = format_markdown(result)
    if args.json == "-":
        print(json.dumps(result, indent=2))
    else:
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=2)
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
