"""Published trained models by name: the builders' ``weights=`` and ``Predictor.from_pretrained``.

    fer_keras.i_mobilenetv2(weights="fer2013")            # the published I-MobileNetV2 for FER2013
    fer_keras.light_ntwrn(weights="light_ntwrn_ckplus")   # a published model's full name
    fer_keras.create_model("i_mobilenetv2", weights="runs/x/fold_0/model.keras")   # a file
    model.class_names, fer_keras.class_names("i_mobilenetv2_ckplus")   # the outputs' order

``weights`` follows ``keras.applications``: ``None`` (random initialisation), a published model's
dataset (looked up as ``<model name>_<dataset>``) or full name, or a path to a ``.keras`` or
``.weights.h5`` file. Only weights are read (``Model.load_weights``), so no code or configuration
from the file is executed, and nothing is downloaded.

A published name is looked up, in this order, in

1. the folder named by ``$FER_KERAS_MODELS``,
2. the checkout's ``saved_models/`` (when running from a clone of the repository),
3. this package's own folder, ``fer_keras/pretrained/``, which holds the best I-MobileNetV2 for
   FER2013 as float16 weights with a ``model_info.json`` (docs/deployment.md gives its agreement
   with the published float32 model).

A folder holds ``model.keras`` (a training run's fold) or ``model.weights.h5`` beside a
``model_info.json`` naming the registered model, its input shape and its classes.
"""

import json
import os
import warnings
import zipfile
from pathlib import Path

MODELS_ENV = "FER_KERAS_MODELS"
PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = Path(__file__).resolve().parents[2] / "saved_models"
MODEL_FILES = ("model.keras", "model.weights.h5")
WEIGHT_SUFFIXES = (".keras", ".weights.h5")
INFO_FILE = "model_info.json"


# === Where published models live ===
def search_dirs(models_dir=None):
    """[(folder, what it is)] in lookup order; only `models_dir` when it is given."""
    if models_dir is not None:
        return [(Path(models_dir), "models_dir")]
    dirs = []
    if os.environ.get(MODELS_ENV):
        dirs.append((Path(os.environ[MODELS_ENV]), f"${MODELS_ENV}"))
    dirs.append((CHECKOUT_DIR, "the checkout's saved_models/"))
    dirs.append((PACKAGE_DIR, "the installed package"))
    return dirs


def model_file(folder):
    """The model file of a published-model folder (model.keras first), or None."""
    for name in MODEL_FILES:
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    return None


def list_published(models_dir=None):
    """Sorted names of the published models found in every folder of :func:`search_dirs`."""
    names = set()
    for root, _ in search_dirs(models_dir):
        if root.is_dir():
            names.update(p.name for p in root.iterdir()
                         if p.is_dir() and not p.name.startswith(".") and model_file(p))
    return sorted(names)


def _looked_in(models_dir):
    return "; ".join(f"{root} ({what})" for root, what in search_dirs(models_dir))


def find_published(name, models_dir=None):
    """The first folder named `name` holding a model; ValueError saying where it looked."""
    for root, _ in search_dirs(models_dir):
        if model_file(root / name):
            return root / name
    raise ValueError(f"no published model {name!r}; looked in {_looked_in(models_dir)}; "
                     f"available: {', '.join(list_published(models_dir)) or 'none'} "
                     f"(set {MODELS_ENV} to a folder of model folders)")


# === What a model file was trained as ===
def read_json(path):
    """The JSON object in `path`, or {} when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def _keras_input_shape(path):
    """Input shape (H, W, C) recorded in a .keras archive's config.json, or None."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
        first = config["config"]["layers"][0]["config"]
        return tuple(int(v) for v in first["batch_shape"][1:])
    except (OSError, KeyError, IndexError, TypeError, ValueError, zipfile.BadZipFile):
        return None


def file_info(path):
    """What is known about a model file: model, dataset, input_shape, num_classes, class_names.

    Read from `model_info.json`, then `metrics.json` beside the file, and the input shape from a
    `.keras` archive itself. Missing keys are simply absent.
    """
    path = Path(path)
    metrics = read_json(path.parent / "metrics.json")
    info = {k: metrics[k] for k in ("model", "dataset", "class_names") if k in metrics}
    info.update(read_json(path.parent / INFO_FILE))
    if "input_shape" not in info and path.name.endswith(".keras"):
        shape = _keras_input_shape(path)
        if shape:
            info["input_shape"] = shape
    if "num_classes" not in info and info.get("class_names"):
        info["num_classes"] = len(info["class_names"])
    return info


# === weights= ===
def _is_path(weights):
    text = str(weights)
    return (isinstance(weights, os.PathLike) or text.endswith(WEIGHT_SUFFIXES)
            or os.sep in text or Path(text).is_file())


def resolve_weights(weights, model_name, models_dir=None):
    """(file, info) for a `weights=` value of the model registered as `model_name`."""
    if _is_path(weights):
        path = Path(weights)
        if not path.is_file():
            raise ValueError(f"weights={str(weights)!r}: no such file")
        if not path.name.endswith(WEIGHT_SUFFIXES):
            raise ValueError(f"weights={str(weights)!r}: expected a .keras or .weights.h5 file")
        return path, file_info(path)
    if not isinstance(weights, str):
        raise ValueError(f"weights must be None, a published model's dataset or name, or a "
                         f"path to a .keras / .weights.h5 file; got {weights!r}")
    published = list_published(models_dir)
    name = weights if weights in published else f"{model_name}_{weights}"
    if name not in published:
        raise ValueError(f"weights={weights!r}: no published {model_name} model {name!r}. "
                         f"Published models: {', '.join(published) or 'none'} (pass the dataset "
                         f"part, e.g. weights='fer2013', or the full name, or a path to a .keras "
                         f"/ .weights.h5 file); looked in {_looked_in(models_dir)}")
    path = model_file(find_published(name, models_dir))
    info = file_info(path)
    if info.get("model") and info["model"] != model_name:
        raise ValueError(f"weights={weights!r}: {name} holds {info['model']} weights, not "
                         f"{model_name} weights; build it with fer_keras.create_model({info['model']!r}, "
                         f"weights={weights!r})")
    return path, info


def check_compatible(model, path, info):
    """ValueError when the model's input shape or class count differs from the file's."""
    want_shape = tuple(info["input_shape"]) if info.get("input_shape") else None
    have_shape = tuple(int(v) for v in model.inputs[0].shape[1:])
    want_classes = info.get("num_classes")
    have_classes = int(model.outputs[0].shape[-1])
    if (want_shape and want_shape != have_shape) or (want_classes and want_classes != have_classes):
        raise ValueError(f"{path} was trained with input_shape={want_shape or '?'} and "
                         f"num_classes={want_classes or '?'}; the model {model.name!r} was built "
                         f"with input_shape={have_shape}, num_classes={have_classes}. Build it "
                         f"with the file's values to load these weights.")


def load_weights(model, weights, models_dir=None):
    """Loads `weights` (see module doc) into the built `model` in place and returns it."""
    if weights is None:
        return model
    path, info = resolve_weights(weights, model.name, models_dir)
    check_compatible(model, path, info)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.load_weights(str(path))
        except (ValueError, KeyError) as error:
            raise ValueError(f"{path} does not fit the architecture of {model.name!r} (built "
                             f"with other arguments than the file's model?): {error}") from error
    partial = [str(w.message) for w in caught if "freshly-initialized" in str(w.message)]
    if partial:  # Keras loads what matches and warns; a half-loaded model is an error here
        raise ValueError(f"{path} does not fit the architecture of {model.name!r}: "
                         f"{len(partial)} layer group(s) found no weights, e.g. {partial[0]}")
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if info.get("class_names"):
        model.class_names = tuple(info["class_names"])  # the order of the model's outputs
    return model


def class_names(name, models_dir=None):
    """The class names of a published model, in the order of its outputs.

    Example: ``fer_keras.class_names("i_mobilenetv2_ckplus")`` -> ``('anger', 'contempt', ...)``
    (CK+'s order differs from FER2013's). A model built with ``weights=`` carries the same tuple
    as ``model.class_names``.
    """
    info = file_info(model_file(find_published(name, models_dir)))
    if not info.get("class_names"):
        raise ValueError(f"published model {name!r} records no class names "
                         f"({INFO_FILE} or metrics.json)")
    return tuple(info["class_names"])
