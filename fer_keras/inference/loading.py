"""From a path or a published name to a callable model with its class names and training set.

Accepted: a `.keras` file (or `.weights.h5` beside a `model_info.json`), a SavedModel folder, a
`.tflite` or `.onnx` file, a fold folder (`fold_K/` with
`model.keras`, `saved_model/`, `metrics.json`), a run folder (its lowest `fold_K` unless `fold`
is given), or an export folder (`python -m fer_keras.export` output, with `model_info.json`).
Class names are taken, in order, from the SavedModel's embedded `class_names` signature, a
`model_info.json` sidecar, the `metrics.json` of the run, and only then a default `class_0` ...
`class_{N-1}` whose source says "default".
"""

import dataclasses
import os
import warnings
from pathlib import Path

import numpy as np

from fer_keras import pretrained

MODELS_ENV = pretrained.MODELS_ENV
INFO_FILE = "model_info.json"
FORMATS = ("keras", "saved_model", "tflite", "onnx")
# Names inside a folder, per format, in order of preference.
_DIR_FILES = {"keras": ("model.keras", "model.weights.h5"), "saved_model": ("saved_model",),
              "tflite": ("model_float32.tflite", "model.tflite"), "onnx": ("model.onnx",)}


@dataclasses.dataclass
class LoadedModel:
    """`predict(batch float32 N x H x W x C, raw 0-255) -> probabilities N x K`."""

    predict: callable
    input_shape: tuple
    class_names: tuple
    class_names_source: str
    dataset: str = None
    keras_model: object = None
    format: str = ""
    path: str = ""
    info: dict = dataclasses.field(default_factory=dict)


def default_models_dir():
    """`$FER_KERAS_MODELS`, else the repository's `saved_models/`."""
    env = os.environ.get(MODELS_ENV)
    return Path(env) if env else pretrained.CHECKOUT_DIR


def list_pretrained(models_dir=None):
    """Names of the published models (`fer_keras.pretrained.list_published`)."""
    return pretrained.list_published(models_dir)


def resolve_pretrained(name, models_dir=None):
    """The folder of a published model: `$FER_KERAS_MODELS`, the checkout's `saved_models/`,
    then the installed package (`fer_keras.pretrained`); ValueError saying where it
    looked and what is available otherwise."""
    return pretrained.find_published(name, models_dir)


def locate_model(model, models_dir=None):
    """The path of `model`: an existing file or folder as it is, else a published model's folder.

    Raises:
        ValueError: neither; the message says which was looked for (a name with a folder
            separator or a model suffix is taken as a path).
    """
    path = Path(model)
    if path.exists():
        return path
    if os.sep in str(model) or "/" in str(model) or path.suffix in (".keras", ".tflite"):
        raise ValueError(f"{model}: no such file or folder")
    return resolve_pretrained(str(model), models_dir)


def resolve_artifact(path, format=None, fold=None):
    """(artifact path, format) for any accepted path; ValueError saying what was expected."""
    path = Path(path)
    if format is not None and format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder")
    if path.is_file():
        kind = "keras" if path.name.endswith(pretrained.WEIGHT_SUFFIXES) else \
            {".tflite": "tflite", ".onnx": "onnx"}.get(path.suffix)
        if kind is None:
            raise ValueError(f"{path}: not a model (expected .keras, .weights.h5, .tflite, "
                             ".onnx, a SavedModel, a fold, run or export folder)")
        return path, kind
    if (path / "saved_model.pb").is_file():
        return path, "saved_model"
    folds = sorted((p for p in path.glob("fold_*") if p.is_dir()),
                   key=lambda p: int(p.name.split("_")[1]) if p.name[5:].isdigit() else 1 << 30)
    if folds and not any((path / n).exists() for names in _DIR_FILES.values() for n in names):
        chosen = path / f"fold_{fold}" if fold is not None else folds[0]
        if not chosen.is_dir():
            raise ValueError(f"{path}: no fold_{fold} (folds: {[p.name for p in folds]})")
        return resolve_artifact(chosen, format)
    for kind in ([format] if format else FORMATS):
        for name in _DIR_FILES[kind]:
            candidate = path / name
            if candidate.is_file() or (candidate / "saved_model.pb").is_file():
                return candidate, kind
    want = f"a {format} model" if format else "model.keras, saved_model/ or a .tflite file"
    raise ValueError(f"{path}: no model found (looked for {want})")


def artifact_info(artifact):
    """The merged sidecar information of an artifact: metrics.json, then model_info.json.

    Both are looked for beside the artifact and, for a SavedModel folder, inside it.
    """
    artifact = Path(artifact)
    folders = [artifact.parent] + ([artifact] if artifact.is_dir() else [])
    info = {}
    for folder in folders:
        metrics = pretrained.read_json(folder / "metrics.json")
        for key in ("dataset", "class_names", "model", "protocol", "fold", "split_seed",
                    "accuracy", "config", "calibration"):
            if key in metrics:
                info[key] = metrics[key]
        if metrics.get("class_names"):
            info["class_names_source"] = str(folder / "metrics.json")
    for folder in folders:
        sidecar = pretrained.read_json(folder / INFO_FILE)
        info.update(sidecar)
        if sidecar.get("class_names"):
            info["class_names_source"] = str(folder / INFO_FILE)
    return info


def compiled_predict(model):
    """`x -> model(x, training=False)` as float32 numpy, through one compiled function.

    Under TensorFlow a `tf.function` traced once for every batch size (its input signature
    leaves the batch free); under other backends Keras's own compiled `predict_on_batch`.
    Calling the model eagerly instead cost 195 ms on a batch of five faces against 14 ms
    compiled (docs/performance.md, "End to end"); the probabilities agree within 1e-6.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return lambda x: np.asarray(model.predict_on_batch(np.asarray(x, np.float32)),
                                    np.float32)
    import tensorflow as tf

    spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32)
    call = tf.function(lambda x: model(x, training=False), input_signature=[spec],
                       jit_compile=False)  # never XLA on CPU: depthwise convolutions ~10x slower

    def predict(x):
        return np.asarray(call(tf.constant(np.asarray(x, np.float32))).numpy(), np.float32)

    return predict


def _load_keras(path):
    from fer_keras.models.saving import build_published, load_keras_file

    if path.name.endswith(".weights.h5"):
        model = build_published(path)  # architecture from model_info.json
    else:
        model = load_keras_file(path, compile=False)
    return compiled_predict(model), tuple(int(v) for v in model.inputs[0].shape[1:]), model


def _load_saved_model(path, trust_saved_model=False):
    """(predict, input shape, embedded class names); an untrusted SavedModel (operations outside
    the inference allow-list, `fer_keras.inference.trust`) is refused unless trusted."""
    try:
        import tensorflow as tf
    except ImportError:
        raise ValueError(f"{path} is a SavedModel, which needs TensorFlow; load the "
                         "model.keras or .tflite beside it instead") from None
    if not trust_saved_model:
        from fer_keras.inference.trust import check_saved_model

        check_saved_model(path)
    loaded = tf.saved_model.load(str(path))
    fn = loaded.signatures["serving_default"]
    spec = fn.structured_input_signature[1]
    name = list(spec)[0]
    input_shape = tuple(int(v) for v in spec[name].shape[1:])

    def predict(x):
        out = fn(**{name: tf.constant(np.asarray(x, np.float32))})
        value = out["probabilities"] if "probabilities" in out else next(iter(out.values()))
        return np.asarray(value, np.float32)

    embedded = None
    if "class_names" in loaded.signatures:
        out = loaded.signatures["class_names"]()
        embedded = tuple(v.decode() for v in next(iter(out.values())).numpy())
    return predict, input_shape, embedded


def load_model(path, format=None, fold=None, num_threads=None, trust_saved_model=False,
               class_names=None):
    """Loads any accepted artifact (see module doc) as a `LoadedModel`.

    A SavedModel that can run operations outside the inference allow-list is refused unless
    `trust_saved_model` (docs/deployment.md, "Trust"). `class_names` (the user's, in output
    order: see `class_check.parse_class_names`) take the place of the artifact's own, with a
    warning where the artifact names other classes.
    """
    artifact, kind = resolve_artifact(path, format, fold)
    info = artifact_info(artifact)
    from fer_keras.inference.digests import check_digests

    check_digests(artifact, pretrained.read_json(Path(artifact).parent / INFO_FILE))
    keras_model, embedded = None, None
    if kind == "keras":
        predict, input_shape, keras_model = _load_keras(artifact)
    elif kind == "saved_model":
        predict, input_shape, embedded = _load_saved_model(artifact, trust_saved_model)
    elif kind == "onnx":
        from fer_keras.inference.onnx_model import ONNXRunner

        runner = ONNXRunner(artifact, num_threads=num_threads)
        predict, input_shape = runner, runner.input_shape
    else:
        from fer_keras.inference.tflite import TFLiteRunner

        runner = TFLiteRunner(artifact, num_threads=num_threads)
        predict, input_shape = runner, runner.input_shape
    num_classes = int(predict(np.zeros((1, *input_shape), np.float32)).shape[-1])
    names, source = _class_names(artifact, info, embedded, num_classes, class_names)
    if len(names) != num_classes:
        raise ValueError(f"{artifact}: the model has {num_classes} outputs but {len(names)} "
                         f"class names come from {source}: {', '.join(names)}")
    return LoadedModel(predict=predict, input_shape=input_shape, class_names=tuple(names),
                       class_names_source=source, dataset=info.get("dataset"),
                       keras_model=keras_model, format=kind, path=str(artifact), info=info)


def _class_names(artifact, info, embedded, num_classes, given):
    """(names, where they came from): the user's, else the artifact's own (embedded, then
    metrics.json / model_info.json), else class_0 ... class_{K-1} with a warning."""
    own, source = None, None
    if embedded:
        own, source = tuple(embedded), f"{artifact} (embedded)"
    elif info.get("class_names"):
        own, source = tuple(info["class_names"]), info["class_names_source"]
    if given is not None:
        from fer_keras.inference.class_check import parse_class_names

        names = parse_class_names(given)
        if own and own != names:
            warnings.warn(f"{artifact}: using the given class names ({', '.join(names)}) in "
                          f"place of the artifact's own ({', '.join(own)})", stacklevel=3)
        return names, "the given class names (--class-names)"
    if own:
        return own, source
    names = tuple(f"class_{k}" for k in range(num_classes))
    warnings.warn(f"{artifact}: no class names found; using {names[0]} ... {names[-1]} "
                  "(give them with --class-names / class_names=)", stacklevel=3)
    return names, "default (no class names found in the artifact, metrics.json or model_info.json)"
