"""One model's figures (training and inference throughput, batch-1 latency through Keras, the
SavedModel and TFLite) as fractions of the machine's ceilings, and the tf.data pipeline's."""

import math
import os
import tempfile

from fer_keras.benchmark import timing
from fer_keras.benchmark.tflite_timing import tflite_bytes, tflite_latency
from fer_keras.benchmark.timing import INPUT_SHAPE


def train_batch_size(name):
    """The FER2013 preset's batch size for a registered model (30 for the baselines)."""
    from fer_keras.presets import get_preset

    return get_preset(name, "fer2013").values["batch_size"]


def build(name, tiny=False, input_shape=INPUT_SHAPE):
    from fer_keras.models import create_model, get_entry

    kwargs = timing.TINY_KWARGS.get(get_entry(name).family, {}) if tiny else {}
    return create_model(name, input_shape=input_shape, num_classes=timing.NUM_CLASSES, **kwargs)


def training_throughput(model, batch, repeats):
    """Images/s of ``train_on_batch`` (SGD with momentum, cross-entropy) at ``batch``."""
    import keras
    import numpy as np

    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                  loss="sparse_categorical_crossentropy", **timing.compile_kwargs())
    x = timing.images(batch, model.input.shape[1:])
    y = np.arange(batch) % timing.NUM_CLASSES
    seconds = timing.median_time(lambda: model.train_on_batch(x, y), repeats, warmup=2)
    return batch / seconds


def benchmark_model(name, repeats, tiny=False, input_shape=INPUT_SHAPE, inference_batch=None,
                    ceilings=None, log=None):
    """Every figure of one model (``None`` with a ``*_skipped`` reason where it cannot run)."""
    from fer_keras.models import model_summary

    log = log or (lambda message: None)
    inference_batch = inference_batch or (16 if tiny else timing.INFERENCE_BATCH)
    model = build(name, tiny, input_shape)
    row = {"name": name, "tiny": tiny, **model_summary(model)}
    row["train_batch"] = train_batch_size(name)
    log(f"{name}: training at batch {row['train_batch']}")
    row["train_images_per_s"] = training_throughput(model, row["train_batch"], repeats)

    model = build(name, tiny, input_shape)  # fresh weights, no optimizer state
    model.compile(**timing.compile_kwargs())
    x_big, x_one = timing.images(inference_batch, input_shape), timing.images(1, input_shape)
    log(f"{name}: inference at batch {inference_batch} and 1")
    row["inference_batch"] = inference_batch
    row["inference_images_per_s"] = inference_batch / timing.median_time(
        lambda: model.predict_on_batch(x_big), repeats, warmup=2)
    row["keras_latency_ms"] = 1e3 * timing.median_time(
        lambda: model.predict_on_batch(x_one), max(repeats, 3) * 5, warmup=3)

    has_tf, why = timing.tensorflow_available()
    if has_tf:
        import tensorflow as tf

        from fer_keras.deployment.saved_model import write_saved_model

        with tempfile.TemporaryDirectory() as tmp:
            log(f"{name}: SavedModel and TFLite")
            saved = write_saved_model(model, os.path.join(tmp, "saved"))
            served = tf.saved_model.load(str(saved))
            x_tf = tf.constant(x_one)
            row["saved_model_latency_ms"] = 1e3 * timing.median_time(
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
    has_tf, why = timing.tensorflow_available()
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
