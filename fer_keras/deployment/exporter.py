"""`export`: a trained model written as SavedModel and three TFLite models, each checked.

Every exported model is run on the run's validation split (`fer_keras.data.run_split`) and
compared with the Keras model; the int8 model is calibrated on the run's training images. The
command line over it is `python -m fer_keras.export`, which documents the files written.
"""

import json
import shutil
import time
from pathlib import Path

import numpy as np

from fer_keras.deployment.activation_ranges import check_percentile
from fer_keras.deployment.checks import (
    compare, latency_ms, log_entry, passed, predict_batched, tflite_entry,
)
from fer_keras.deployment.export_set import digests, staging
from fer_keras.deployment.tflite_convert import TFLITE_FILES, TFLITE_MODES

FORMATS = ("saved_model",) + TFLITE_MODES
ALL_FORMATS = FORMATS + ("onnx",)  # onnx on request: needs fer_keras[onnx]
# The int8 activation ranges: this percentile of each tensor's values on the calibration images
# (activation_ranges.py; on FER2013 it lifted int8's top-1 agreement with Keras from 85.4 to
# 93.8 %).
ACTIVATION_PERCENTILE = 99.99
DEPLOY_DIR = ".deploy_saved_model"  # the deploy form's SavedModel, while converting


def load_split_images(dataset=None, data_dir=None, info=None, channels=3, split="val",
                      limit=None, seed=0, dataset_options=None):
    """(images float32 N x H x W x channels, labels, class names, description) of one split.

    Protocol, fold, split seed, dataset options and data folder come from `info` (a run's
    metrics.json) when it names the same dataset (`rebuild_split`). `split` is "train", "val"
    or "test" (an empty "val" falls back to "test"); `limit` draws that many at random (seeded).
    """
    from fer_keras.data import iterate_batches
    from fer_keras.data.run_split import rebuild_split

    info = info or {}
    rebuilt = rebuild_split(info, dataset or info.get("dataset") or "synthetic", data_dir,
                            dataset_options=dataset_options)
    indices = rebuilt.indices(split)
    if len(indices) == 0 and split == "val":
        indices, split = rebuilt.indices("test"), "test"
    if limit is not None and len(indices) > limit:
        indices = np.sort(np.random.default_rng(seed).choice(indices, limit, replace=False))
    ds, s = rebuilt.dataset, rebuilt.split
    batches = list(iterate_batches(ds, indices, 256, training=False, channels=channels))
    x = np.concatenate([b[0] for b in batches]).astype(np.float32)
    y = np.concatenate([b[1] for b in batches])
    desc = f"{rebuilt.dataset_name} {s.protocol} fold {s.fold} {split} ({len(y)} images)"
    return x, y, tuple(ds.class_names), desc


def export(model_path, output, dataset=None, data_dir=None, formats=FORMATS,
           calibration_size=1000, val_limit=None, float_tolerance=1e-3, min_agreement=0.9,
           latency_repeats=50, log=print, deploy=True,
           activation_percentile=ACTIVATION_PERCENTILE):
    """Exports a Keras artifact to every format in `formats`, checks each, returns the report.

    With `deploy` (the default) the TFLite models are converted from the model's deploy form
    (`fer_keras.deployment.deploy_form`: BN folded, SELU in two builtins, static shapes), and
    still checked against the Keras model itself; `deploy=False` converts the Keras graph.
    The int8 model's activation ranges are clipped to the `activation_percentile`-th
    percentile of each tensor's values on the calibration images (100: their min and max;
    `fer_keras.deployment.activation_ranges`).

    The report (also written to `export_report.json`) has per format: file, size_bytes,
    agreement / max_abs_diff / accuracy on the validation split, latency_ms (batch 1, one
    thread), ops (TFLite) and `passed`; top level: `passed`, the split used, class names.
    """
    from fer_keras.deployment.saved_model import write_saved_model

    artifact = _keras_artifact(model_path)
    activation_percentile = check_percentile(activation_percentile)
    if "onnx" in formats:
        from fer_keras.inference.onnx_model import require_onnx

        require_onnx()  # before the data is loaded and timed
    with staging(output) as stage:  # written whole into `output`, or not at all
        job = _Job(artifact, stage, dataset, data_dir, val_limit, latency_repeats, log, deploy,
                   activation_percentile)
        job.report["formats"].update(_keep_earlier_formats(output, stage, artifact, formats))
        write_saved_model(job.model, job.saved_dir, job.loaded.class_names)
        for fmt in formats:
            t0 = time.time()
            if fmt == "onnx":
                entry = job.onnx_entry()
            else:
                entry = job.saved_model_entry() if fmt == "saved_model" else job.tflite_entry(
                    fmt, calibration_size)
            entry["export_s"] = round(time.time() - t0, 1)
            entry["passed"] = passed(fmt, entry, float_tolerance, min_agreement)
            job.report["formats"][fmt] = entry
            log_entry(log, fmt, entry)
        return job.finish()


def _keras_artifact(model_path):
    """The Keras model behind `model_path`; a clear ValueError for artifacts export cannot start
    from (a SavedModel, TFLite or ONNX file holds no Keras model to convert)."""
    from fer_keras.inference.loading import resolve_artifact

    artifact, kind = resolve_artifact(model_path, None)
    if kind == "keras":
        return artifact
    beside = Path(artifact).parent / "model.keras"
    hint = f"; {beside} is beside it" if beside.is_file() else ""
    raise ValueError(f"{model_path}: export starts from the Keras model (model.keras, a fold or a "
                     f"run folder); this is a {kind} model, which holds no Keras model{hint}")


def _keep_earlier_formats(output, stage, artifact, formats):
    """An export of other formats into a folder keeps the formats an earlier export of the same
    model (same model.keras digest) wrote there: their files are copied into `stage` and their
    report entries returned ({} when there is no such earlier export)."""
    from fer_keras.inference.digests import digest

    output = Path(output)
    try:
        earlier = json.loads((output / "export_report.json").read_text())
        recorded = json.loads((output / "model_info.json").read_text())["digests"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if recorded.get("model.keras") != digest(artifact):
        return {}
    kept = {}
    for name, entry in earlier.get("formats", {}).items():
        file = entry.get("file", "").rstrip("/")
        source = output / file
        if name in formats or name == "keras" or not file or not source.exists():
            continue
        if source.is_dir():
            shutil.copytree(source, stage / file)
        else:
            shutil.copy2(source, stage / file)
        kept[name] = entry
    return kept


class _Job:
    """One export: the loaded model, its validation images and the report being filled."""

    def __init__(self, artifact, output, dataset, data_dir, val_limit, repeats, log,
                 deploy=True, activation_percentile=ACTIVATION_PERCENTILE):
        from fer_keras.inference.loading import artifact_info, load_model
        from fer_keras.inference.tflite import interpreter_class

        self.output = Path(output)
        self.loaded = load_model(artifact)
        self.model, self.artifact, self.repeats, self.log = (
            self.loaded.keras_model, artifact, repeats, log)
        info = artifact_info(artifact)
        if Path(artifact).suffix == ".keras":
            shutil.copyfile(artifact, self.output / "model.keras")
        else:  # model.weights.h5 beside its metrics.json: the rebuilt model, saved whole
            self.model.save(self.output / "model.keras")
        self.dataset, self.data_dir = dataset or info.get("dataset") or "synthetic", data_dir
        self.info = info if info.get("dataset") == self.dataset else {}
        self.channels = self.loaded.input_shape[-1]
        log(f"model: {artifact} ({self.model.name}, {self.model.count_params():,} params, input "
            f"{self.loaded.input_shape}, classes {list(self.loaded.class_names)} from "
            f"{self.loaded.class_names_source})")
        self.x_val, self.y_val, data_classes, val_desc = load_split_images(
            self.dataset, data_dir, self.info, self.channels, "val", val_limit)
        if len(data_classes) != len(self.loaded.class_names):
            raise ValueError(f"{self.dataset} has {len(data_classes)} classes, the model "
                             f"{len(self.loaded.class_names)}")
        log(f"validation: {val_desc}")
        self.reference = predict_batched(self.loaded.predict, self.x_val)
        self.saved_dir, self.representative = self.output / "saved_model", None
        self.deploy, self._tflite_source = deploy, {}
        self.activation_percentile = activation_percentile
        self.report = {"model": str(artifact), "dataset": self.dataset, "validation": val_desc,
                       "class_names": list(self.loaded.class_names),
                       "input_shape": list(self.loaded.input_shape),
                       "interpreter": interpreter_class()[1], "deploy_form": deploy,
                       "formats": {"keras": self._keras_entry()}}

    def _keras_entry(self):
        entry = {"file": "model.keras", "size_bytes": (self.output / "model.keras").stat().st_size,
                 **compare(self.reference, self.reference, self.y_val), "passed": True,
                 "latency_ms": latency_ms(self.model.predict_on_batch, self.x_val[:1],
                                          self.repeats)}
        self.log(f"  keras          accuracy {entry['accuracy']:.4f}  latency "
                 f"{entry['latency_ms']:.2f} ms  size {entry['size_bytes'] / 1e6:.2f} MB")
        return entry

    def _measure(self, fn, entry):
        entry.update(compare(self.reference, predict_batched(fn, self.x_val), self.y_val))
        entry["latency_ms"] = latency_ms(fn, self.x_val[:1], self.repeats)
        return entry

    def saved_model_entry(self):
        from fer_keras.inference.loading import load_model

        sm = load_model(self.saved_dir, "saved_model")
        size = sum(f.stat().st_size for f in self.saved_dir.rglob("*") if f.is_file())
        entry = {"file": "saved_model/", "size_bytes": size,
                 "embedded_class_names": list(sm.class_names)}
        if tuple(sm.class_names) != tuple(self.loaded.class_names):
            entry["error"] = "embedded class names differ"
        return self._measure(sm.predict, entry)

    def tflite_entry(self, fmt, calibration_size):
        from fer_keras.deployment.tflite_convert import convert_tflite
        from fer_keras.inference.tflite import TFLiteRunner

        if fmt == "int8" and self.representative is None:
            self.representative, _, _, cal_desc = load_split_images(
                self.dataset, self.data_dir, self.info, self.channels, "train", calibration_size)
            ranges = ("min/max" if self.activation_percentile >= 100 else
                      f"percentile {self.activation_percentile:g}")
            self.report["calibration"] = cal_desc
            self.report["activation_ranges"] = ranges
            self.log(f"calibration: {cal_desc}, activation ranges {ranges}")
        path = self.output / TFLITE_FILES[fmt]
        source = self._tflite_saved_model(fmt)
        if fmt == "int8" and self.deploy:  # ELU int8 (fer_keras.deployment.int8_elu)
            from fer_keras.deployment.int8_elu import int8_elu_flatbuffer

            flatbuffer = int8_elu_flatbuffer(source, self.representative,
                                             self.activation_percentile)
        else:
            flatbuffer = convert_tflite(source, fmt, self.representative,
                                        activation_percentile=self.activation_percentile)
        path.write_bytes(flatbuffer)
        return self._measure(TFLiteRunner(path, num_threads=1), tflite_entry(path, fmt))

    def _tflite_saved_model(self, fmt):
        """The SavedModel the TFLite models are converted from: the deploy form's (written
        once per flavour, in a hidden folder removed by `finish`; int8 takes the "elu"
        flavour, whose ELU `fuse_float_elu` makes int8), or the exported one. The batch stays
        free (still no shape-computing op): a Light-NTWRN converted at batch 1 cannot be
        resized to a batch by XNNPACK."""
        if not self.deploy:
            return self.saved_dir
        integer = fmt == "int8"
        if integer not in self._tflite_source:
            from fer_keras.deployment.deploy_form import deploy_form
            from fer_keras.deployment.saved_model import write_saved_model

            self._tflite_source[integer] = write_saved_model(  # any batch: Predictor batches
                deploy_form(self.model, batch_size=None, integer="elu" if integer else False),
                self.output / DEPLOY_DIR / ("integer" if integer else "float"))
        return self._tflite_source[integer]

    def onnx_entry(self):
        from fer_keras.inference.onnx_model import ONNX_FILE, ONNXRunner, export_onnx

        path = export_onnx(self.model, self.output / ONNX_FILE)
        entry = {"file": path.name, "size_bytes": path.stat().st_size}
        return self._measure(ONNXRunner(path, num_threads=1), entry)

    def finish(self):
        from fer_keras.inference.faces import crop_scale_for
        from fer_keras.inference.loading import INFO_FILE

        shutil.rmtree(self.output / DEPLOY_DIR, ignore_errors=True)
        report = self.report
        report["passed"] = all(e["passed"] for e in report["formats"].values())
        model_info = {"class_names": list(self.loaded.class_names), "dataset": self.dataset,
                      "input_shape": list(self.loaded.input_shape),
                      "crop_scale": crop_scale_for(self.dataset), "source": str(self.artifact),
                      "model": self.model.name,
                      "formats": {k: v["file"] for k, v in report["formats"].items()},
                      "digests": digests(self.output, [v["file"].rstrip("/")
                                                       for v in report["formats"].values()])}
        if self.loaded.info.get("calibration"):  # the temperature travels with the model
            model_info["calibration"] = self.loaded.info["calibration"]
        (self.output / INFO_FILE).write_text(json.dumps(model_info, indent=2) + "\n")
        (self.output / "export_report.json").write_text(json.dumps(report, indent=2) + "\n")
        return report
