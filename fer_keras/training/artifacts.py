"""Writing a run's files atomically: temp name, then `os.replace` (`fer_keras.files`).

An interrupted run never leaves a half-written file under a final name: each file (and the
SavedModel folder) is written under a hidden temporary name in the same folder and renamed in
one step. `metrics.json` is written last, so its presence means the fold is complete.
"""

import csv
import functools
import io
import json
import subprocess
from pathlib import Path

import numpy as np

from fer_keras.files import (  # noqa: F401 - re-exported: the run files' writers
    TEMPORARY_TAG, atomic_path, only_reading, remove, writes)


def write_json(path, data):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_history_csv(path, rows):
    """history.csv: one row per epoch, its `epoch` counted from 1 like the console, metrics.json
    and the plots."""
    if not rows:
        return
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue())


def read_history_csv(path):
    """history.csv's rows as numbers (None where a cell is empty), epochs counted from 1
    (`one_based`: files written before 2026-12-06 counted from 0)."""
    with open(path, newline="") as f:
        rows = [{k: _history_value(k, v) for k, v in row.items()} for row in csv.DictReader(f)]
    return one_based(rows)


def one_based(rows):
    """History rows with `epoch` counted from 1. Rows counted from 0 (history.csv files and
    checkpoints written before 2026-12-06, recognised by a first epoch of 0) are shifted."""
    if rows and int(rows[0]["epoch"]) == 0:
        return [{**row, "epoch": int(row["epoch"]) + 1} for row in rows]
    return rows


def _history_value(key, text):
    if text in (None, ""):
        return None
    return int(text) if key == "epoch" else float(text)


def inference_copy(model):
    """An uncompiled float32 copy of `model` with the same weights.

    Mixed-precision training leaves `mixed_float16` in every layer's config; artifacts are
    float32 so that they run at full speed on CPUs, convert to TFLite and compare exactly with a
    float32 evaluation. BatchNormalization's `synchronized` (a TensorFlow-only training setting,
    `distribution.synchronize_batch_norm`) is cleared so that the copy loads on every backend.
    Models that cannot be cloned are returned as they are.
    """
    import keras

    def float32_layer(layer):
        config = layer.get_config()
        if "dtype" in config:
            config["dtype"] = "float32"
        if config.get("synchronized"):  # BatchNormalization under tf.distribute: training only
            config["synchronized"] = False
        return layer.__class__.from_config(config)

    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")  # sublayers made in build() (SE's Dense) too
    try:
        clone = keras.models.clone_model(model, clone_function=float32_layer)
        clone.set_weights(model.get_weights())
    except Exception:  # noqa: BLE001 - a model that cannot be cloned is saved as it is
        return model
    finally:
        keras.config.set_dtype_policy(policy)
    return clone


def save_keras_model(model, path):
    """Writes `inference_copy(model)` (float32, no optimizer) as a `.keras` file, atomically."""
    clone = inference_copy(model)
    with atomic_path(path) as tmp:
        clone.save(tmp)


NO_SAVED_MODEL_NOTE = ("the SavedModel export needs TensorFlow, which is not installed; "
                       "model.keras was written (pip install tensorflow to export)")


def save_saved_model(model, path, class_names=None):
    """Writes `inference_copy(model)` as a SavedModel folder, atomically, with the package's one
    writer (`fer_keras.deployment.saved_model.write_saved_model`: signature `serving_default`
    maps `images`, raw 0-255 pixels, to `probabilities`; `class_names` returns the names).

    Returns None on success, or a message saying why there is none (TensorFlow missing, or
    another Keras backend).
    """
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return NO_SAVED_MODEL_NOTE
    import keras

    if keras.backend.backend() != "tensorflow":  # its exporter takes TensorFlow variables
        return (f"the SavedModel export runs on the TensorFlow backend, this run used "
                f"{keras.backend.backend()}; model.keras was written (KERAS_BACKEND=tensorflow "
                "python -m fer_keras.export converts it)")
    from fer_keras.deployment.saved_model import write_saved_model

    with atomic_path(path) as tmp:
        write_saved_model(inference_copy(model), tmp, class_names)
    return None


@functools.lru_cache(maxsize=None)
def git_revision():
    """The package checkout's commit, with '+dirty' when the package's code (`fer_keras/`,
    `setup.cfg`, `pyproject.toml`) differs from it, or None outside a git checkout.

    Cached: `train` calls it when it starts, so metrics.json names the code that trained, not a
    commit made while the run went on. Changed run outputs (a study's files) are not "dirty".
    """
    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10)
        if rev.returncode:
            return None
        # --no-optional-locks: a status never rewrites the index (on a full disk that write
        # would leave a truncated .git/index.lock behind, blocking the user's git)
        dirty = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain",
                                "--untracked-files=no", "--", "fer_keras", "setup.cfg",
                                "pyproject.toml"],
                               cwd=root, capture_output=True, text=True, timeout=10)
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None
