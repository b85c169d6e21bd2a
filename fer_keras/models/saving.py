"""Loading a `.keras` file safely, with one clear message for every way it can fail.

Every `.keras` file the project reads (`--init`, `--recover-from`, `predict`, `evaluate`,
`export`, `Predictor.load`) goes through `load_keras_file`: `keras.saving.load_model` with
`safe_mode=True` (no Python from the file runs) after fer_keras's layers and activations
are registered. A truncated archive, a file naming a class or function that neither
Keras nor fer_keras defines (saved with someone else's custom code), or a Lambda layer that safe
mode refuses is a ValueError naming the file and what to do, never a traceback.
"""

import re
import zipfile

_UNKNOWN = re.compile(r"Could not locate (class|function) '([^']+)'")


def load_keras_file(path, compile=True):
    """`keras.saving.load_model(path, safe_mode=True, compile=compile)` with fer_keras's layers
    registered (a compiled model's learning-rate schedule needs `fer_keras.training.optimizers`
    imported too: training's loaders do).

    Raises:
        ValueError: `path` is not a complete `.keras` archive, names a class or function Keras
        and fer_keras do not define, holds Python code (a Lambda layer), or is otherwise not a
        Keras model; the message names the file.
    """
    import keras

    import fer_keras.layers  # noqa: F401 - registers the custom layers and activations
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: corrupt or truncated model file (not a complete .keras zip "
                         "archive)")
    try:
        return keras.saving.load_model(str(path), safe_mode=True, compile=compile)
    except (zipfile.BadZipFile, EOFError, KeyError) as err:
        raise ValueError(f"{path}: corrupt or truncated model file ({err})") from None
    except (TypeError, ValueError) as err:
        text = str(err)
        unknown = _UNKNOWN.search(text)
        if unknown:
            raise ValueError(
                f"{path}: the model names the {unknown.group(1)} {unknown.group(2)!r}, which "
                "neither Keras nor fer_keras defines (it was saved with other code's custom "
                "objects): load it where that code is imported and registered, or save the "
                "model again without them") from None
        if "safe_mode" in text or "Lambda" in text:
            raise ValueError(f"{path}: the model holds Python code (a Lambda layer or a "
                             "lambda function), which safe mode does not run; fer_keras loads "
                             "only models without it") from None
        first = text.strip().splitlines()[0][:200] if text.strip() else type(err).__name__
        raise ValueError(f"{path}: not a loadable Keras model ({type(err).__name__}: "
                         f"{first})") from None


def build_published(path):
    """The registered model described by the `model_info.json` beside `path` (a
    `model.weights.h5`, as the package's published copies are), with its weights."""
    from fer_keras.models.registry import create_model
    from fer_keras.pretrained import INFO_FILE, file_info

    info = file_info(path)
    missing = [k for k in ("model", "input_shape", "num_classes") if k not in info]
    if missing:
        raise ValueError(f"{path}: a weights file needs {INFO_FILE} beside it naming "
                         f"'model', 'input_shape' and 'class_names' (missing: {missing})")
    model = create_model(info["model"], input_shape=tuple(info["input_shape"]),
                         num_classes=int(info["num_classes"]), **info.get("model_kwargs", {}))
    model.load_weights(str(path))
    return model


__all__ = ["build_published", "load_keras_file"]
