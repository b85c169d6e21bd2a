"""`python -m fer_keras.export`: a trained model to SavedModel and three TFLite models, checked.

    python -m fer_keras.export runs/synthetic-i_mobilenetv2-holdout-seed0 --output exported/demo
    python -m fer_keras.export runs/ckplus-.../fold_0/model.keras --output exported/ck \\
        --dataset ckplus --data-dir ../shared/data/ckplus

Writes to `--output`: `model.keras` (a copy, for Grad-CAM), `saved_model/` (signature
`serving_default`: `images` float32 N x H x W x C raw 0-255 -> `probabilities`; signature
`class_names` -> the class names), `model_float32.tflite`, `model_dynamic_range.tflite`
(int8 weights, float activations), `model_int8.tflite` (full integer, int8 input and output,
calibrated on `--calibration-size` training images), `model_info.json` (class names, dataset,
input shape, crop scale) and `export_report.json`.

Every exported model is run on the validation split and compared with the Keras model (top-1
agreement, largest probability difference, accuracy); the float formats must agree within
`--float-tolerance`, the quantised ones must reach `--min-agreement`, or the command exits 1.
The dataset, protocol, fold and split seed default to the run's metrics.json, else synthetic.
Exit codes: 0 success, 1 a check failed, 2 bad input.
"""

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from fer_keras.console import add_verbose_flag, parse_quietly

FORMATS = ("saved_model", "float32", "dynamic_range", "int8")
ALL_FORMATS = FORMATS + ("onnx",)  # onnx on request: needs fer_keras[onnx]
TFLITE_FILES = {"float32": "model_float32.tflite", "dynamic_range": "model_dynamic_range.tflite",
                "int8": "model_int8.tflite"}
NOT_QUANTISED_OK = ("QUANTIZE", "DEQUANTIZE")


def pin_threads(n):
    """Pins TensorFlow to `n` intra- and inter-op threads; False when TF is already running."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
        return True
    except RuntimeError:
        return False


# === Data ===
def load_split_images(dataset=None, data_dir=None, info=None, channels=3, split="val",
                      limit=None, seed=0, dataset_options=None):
    """(images float32 N x H x W x channels, labels, class names, description) of one split.

    Protocol, fold, split seed, dataset options and data folder come from `info` (a run's
    metrics.json) when it names the same dataset. `split` is "train", "val" or "test"; `limit`
    draws that many at random (seeded) from it.
    """
    from fer_keras.data import iterate_batches, load_dataset, make_splits, split_dataset

    info = info or {}
    config = info.get("config", {})
    dataset = dataset or info.get("dataset") or "synthetic"
    same = info.get("dataset") == dataset
    options = dataset_options if dataset_options is not None else (
        config.get("dataset_options", {}) if same else {})
    if data_dir is None and same:
        data_dir = config.get("data_dir")
    ds = load_dataset(dataset, data_dir, **options)
    splits = make_splits(ds, info.get("protocol") if same else None,
                         seed=info.get("split_seed", 0) if same else 0,
                         **(config.get("protocol_options", {}) if same else {}))
    s = splits[info.get("fold", 0) if same else 0]
    ds = split_dataset(s, ds)
    indices = np.asarray(getattr(s, split))
    if len(indices) == 0 and split == "val":
        indices, split = np.asarray(s.test), "test"
    if limit is not None and len(indices) > limit:
        indices = np.sort(np.random.default_rng(seed).choice(indices, limit, replace=False))
    batches = list(iterate_batches(ds, indices, 256, training=False, channels=channels))
    x = np.concatenate([b[0] for b in batches]).astype(np.float32)
    y = np.concatenate([b[1] for b in batches])
    desc = f"{dataset} {s.protocol} fold {s.fold} {split} ({len(y)} images)"
    return x, y, tuple(ds.class_names), desc


# === Writing each format ===
def export_saved_model(model, path, class_names=None):
    """A SavedModel with `serving_default` / `serve` (`images` -> `probabilities`) and, given
    `class_names`, a `class_names` signature returning them (a string variable saved with it).

    Every weight is stored once. `ExportArchive.track` (Keras 3.15) tracks the `keras.Variable`
    wrappers while the traced endpoint captures the `tf.Variable`s inside them; TensorFlow's
    checkpoint sees two objects and writes each weight twice (keras-team/keras#23553), so a
    `model.export()` SavedModel is twice the model's size and loads every weight twice. The
    tracked lists are given the `tf.Variable`s themselves (`_track_tf_variables`).
    """
    import keras
    import tensorflow as tf

    shape = [None, *model.inputs[0].shape[1:]]
    archive = keras.export.ExportArchive()
    archive.track(model)
    _track_tf_variables(archive)
    archive.add_endpoint(
        "serve", lambda images: {"probabilities": model(images, training=False)},
        input_signature=[tf.TensorSpec(shape, tf.float32, name="images")])
    if class_names is not None:
        names = tf.Variable(list(class_names), trainable=False, dtype=tf.string,
                            name="class_names")
        archive.add_variable_collection("class_names_variable", [names])
        archive.add_endpoint("class_names", lambda: {"class_names": tf.identity(names)},
                             input_signature=[])
    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    archive.write_out(str(path), verbose=False)
    return path


def _track_tf_variables(archive):
    """Replaces the `keras.Variable`s that `archive.track` listed by their `tf.Variable`s (the
    fix proposed in keras-team/keras#23563), so each weight is one checkpoint object. A variable
    without a `tf.Variable` inside is left as it is (stored twice, still correct)."""
    import tensorflow as tf

    trackable = archive._tf_trackable
    for attr in ("variables", "trainable_variables", "non_trainable_variables"):
        unwrapped = []
        for v in getattr(trackable, attr):
            inner = getattr(v, "value", v)
            unwrapped.append(inner if isinstance(inner, tf.Variable) else v)
        setattr(trackable, attr, unwrapped)


def convert_tflite(saved_model_dir, mode, representative=None):
    """TFLite flatbuffer bytes: mode "float32", "dynamic_range" or "int8" (full integer).

    Only TFLite builtin ops are allowed (no Flex/Select TF ops): conversion fails otherwise.
    """
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir),
                                                    signature_keys=["serving_default"])
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode == "dynamic_range":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "int8":
        if representative is None:
            raise ValueError("the int8 export needs representative images")
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([representative[i:i + 1]]
                                               for i in range(len(representative)))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    elif mode != "float32":
        raise ValueError(f"mode must be float32, dynamic_range or int8, got {mode!r}")
    return conv.convert()


# === Checks ===
def compare(reference, probs, labels=None):
    """Top-1 agreement with the reference, largest |probability difference|, accuracy."""
    out = {"agreement": float(np.mean(reference.argmax(1) == probs.argmax(1))),
           "max_abs_diff": float(np.max(np.abs(reference - probs)))}
    if labels is not None:
        out["accuracy"] = float(np.mean(probs.argmax(1) == labels))
    return out


def latency_ms(fn, x, repeats=50, warmup=5):
    """Median wall time of `fn(x)` in milliseconds."""
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t)
    return 1000.0 * float(np.median(times))


def _predict_batched(fn, x, batch=64):
    return np.concatenate([fn(x[i:i + batch]) for i in range(0, len(x), batch)])


def export(model_path, output, dataset=None, data_dir=None, formats=FORMATS,
           calibration_size=200, val_limit=None, float_tolerance=1e-3, min_agreement=0.9,
           latency_repeats=50, log=print):
    """Exports a Keras artifact to every format in `formats`, checks each, returns the report.

    The report (also written to `export_report.json`) has per format: file, size_bytes,
    agreement / max_abs_diff / accuracy on the validation split, latency_ms (batch 1, one
    thread), ops (TFLite) and `passed`; top level: `passed`, the split used, class names.
    """
    from fer_keras.inference.loading import INFO_FILE, artifact_info, load_model, resolve_artifact
    from fer_keras.inference.faces import crop_scale_for
    from fer_keras.inference.onnx_model import ONNX_FILE, ONNXRunner, export_onnx
    from fer_keras.inference.tflite import TFLiteRunner, interpreter_class, list_ops, op_counts

    artifact, _ = resolve_artifact(model_path, "keras")
    loaded = load_model(artifact)
    model = loaded.keras_model
    info = artifact_info(artifact)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(artifact, output / "model.keras")
    dataset = dataset or info.get("dataset") or "synthetic"
    same = info.get("dataset") == dataset
    if not same:
        info = {}
    channels = loaded.input_shape[-1]
    log(f"model: {artifact} ({model.name}, {model.count_params():,} params, input "
        f"{loaded.input_shape}, classes {list(loaded.class_names)} from "
        f"{loaded.class_names_source})")
    x_val, y_val, data_classes, val_desc = load_split_images(
        dataset, data_dir, info, channels, "val", val_limit)
    if len(data_classes) != len(loaded.class_names):
        raise ValueError(f"{dataset} has {len(data_classes)} classes, the model "
                         f"{len(loaded.class_names)}")
    log(f"validation: {val_desc}")
    reference = _predict_batched(loaded.predict, x_val)
    one = x_val[:1]
    report = {"model": str(artifact), "dataset": dataset, "validation": val_desc,
              "class_names": list(loaded.class_names), "input_shape": list(loaded.input_shape),
              "interpreter": interpreter_class()[1], "formats": {}}
    keras_ref = {"file": "model.keras", "size_bytes": (output / "model.keras").stat().st_size,
                 **compare(reference, reference, y_val), "passed": True,
                 "latency_ms": latency_ms(model.predict_on_batch, one, latency_repeats)}
    report["formats"]["keras"] = keras_ref
    log(f"  keras          accuracy {keras_ref['accuracy']:.4f}  latency "
        f"{keras_ref['latency_ms']:.2f} ms  size {keras_ref['size_bytes'] / 1e6:.2f} MB")
    saved_dir = output / "saved_model"
    export_saved_model(model, saved_dir, loaded.class_names)
    representative = None
    for fmt in formats:
        t0 = time.time()
        if fmt == "saved_model":
            sm = load_model(saved_dir, "saved_model")
            fn, path = sm.predict, saved_dir
            size = sum(f.stat().st_size for f in saved_dir.rglob("*") if f.is_file())
            entry = {"file": "saved_model/", "size_bytes": size,
                     "embedded_class_names": list(sm.class_names)}
            if tuple(sm.class_names) != tuple(loaded.class_names):
                entry["error"] = "embedded class names differ"
        elif fmt == "onnx":
            path = export_onnx(model, output / ONNX_FILE)
            fn = ONNXRunner(path, num_threads=1)
            entry = {"file": path.name, "size_bytes": path.stat().st_size}
        else:
            if fmt == "int8" and representative is None:
                representative, _, _, cal_desc = load_split_images(
                    dataset, data_dir, info, channels, "train", calibration_size)
                report["calibration"] = cal_desc
                log(f"calibration: {cal_desc}")
            path = output / TFLITE_FILES[fmt]
            path.write_bytes(convert_tflite(saved_dir, fmt, representative))
            fn = TFLiteRunner(path, num_threads=1)
            ops = list_ops(path)
            entry = {"file": path.name, "size_bytes": path.stat().st_size,
                     "ops": op_counts(ops),
                     "non_builtin_ops": sorted({o["op"] for o in ops if o["op"] == "CUSTOM"
                                                or o["op"].startswith("Flex")})}
            if fmt == "int8":
                entry["float_ops"] = sorted({o["op"] for o in ops if o["float_inputs"]
                                             and o["op"] not in NOT_QUANTISED_OK})
        probs = _predict_batched(fn, x_val)
        entry.update(compare(reference, probs, y_val))
        entry["latency_ms"] = latency_ms(fn, one, latency_repeats)
        entry["export_s"] = round(time.time() - t0, 1)
        if fmt in ("saved_model", "float32", "onnx"):
            ok = entry["max_abs_diff"] <= float_tolerance and entry["agreement"] >= 0.99
        else:
            ok = entry["agreement"] >= min_agreement
        entry["passed"] = bool(ok and "error" not in entry and not entry.get("non_builtin_ops"))
        report["formats"][fmt] = entry
        log(f"  {fmt:14s} agreement {entry['agreement']:.4f}  max |dp| "
            f"{entry['max_abs_diff']:.2e}  accuracy {entry['accuracy']:.4f}  latency "
            f"{entry['latency_ms']:.2f} ms  size {entry['size_bytes'] / 1e6:.2f} MB  "
            f"{'ok' if entry['passed'] else 'FAILED'}")
        if "ops" in entry:
            log("    ops: " + ", ".join(f"{k} x{v}" for k, v in entry["ops"].items()))
            for key in ("non_builtin_ops", "float_ops"):
                if entry.get(key):
                    log(f"    {key.replace('_', ' ')}: {', '.join(entry[key])}")
    report["passed"] = all(e["passed"] for e in report["formats"].values())
    model_info = {"class_names": list(loaded.class_names), "dataset": dataset,
                  "input_shape": list(loaded.input_shape), "crop_scale": crop_scale_for(dataset),
                  "source": str(artifact), "model": model.name,
                  "formats": {k: v["file"] for k, v in report["formats"].items()}}
    (output / INFO_FILE).write_text(json.dumps(model_info, indent=2) + "\n")
    (output / "export_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def build_parser():
    p = argparse.ArgumentParser(prog="python -m fer_keras.export",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="model.keras, a fold folder or a run folder")
    p.add_argument("--output", required=True, help="folder to write the exported models to")
    p.add_argument("--dataset", help="validation / calibration data (default: the run's, "
                                     "else synthetic)")
    p.add_argument("--data-dir", help="dataset folder (default: the run's)")
    p.add_argument("--formats", default=",".join(FORMATS),
                   help=f"comma-separated subset of {','.join(ALL_FORMATS)} (default: all but "
                        "onnx, which needs pip install 'fer_keras[onnx]')")
    p.add_argument("--calibration-size", type=int, default=200,
                   help="training images for the int8 calibration")
    p.add_argument("--val-limit", type=int, help="at most this many validation images")
    p.add_argument("--float-tolerance", type=float, default=1e-3)
    p.add_argument("--min-agreement", type=float, default=0.9,
                   help="least top-1 agreement of a quantised model with the Keras model")
    p.add_argument("--threads", type=int, default=1, help="TensorFlow threads (latency)")
    p.add_argument("--json", action="store_true", help="print the report as JSON at the end")
    return add_verbose_flag(p)


def main(argv=None):
    args = parse_quietly(build_parser(), argv)
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    bad = [f for f in formats if f not in ALL_FORMATS]
    if bad:
        print(f"error: unknown format(s) {bad}; known: {', '.join(ALL_FORMATS)}",
              file=sys.stderr)
        return 2
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        print("error: exporting needs TensorFlow (pip install fer_keras[tf])", file=sys.stderr)
        return 2
    pin_threads(args.threads)
    from fer_keras.data import DataError

    try:
        report = export(args.model, args.output, args.dataset, args.data_dir, formats,
                        args.calibration_size, args.val_limit, args.float_tolerance,
                        args.min_agreement)
    except (ValueError, DataError, FileNotFoundError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
    if not report["passed"]:
        failed = [k for k, v in report["formats"].items() if not v["passed"]]
        print(f"export check FAILED for {', '.join(failed)}; files are in {args.output}",
              file=sys.stderr)
        return 1
    print(f"exported and checked: {', '.join(report['formats'])} -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
