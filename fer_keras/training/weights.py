"""Weights from a trained model into a new one: `--init` (fine-tuning) and `--recover-from`.

Used by the model setup (`model_setup.build_model`) and by recovery (`fer_keras.training.recover`).
"""

from pathlib import Path


def find_model_file(path, option="init"):
    """The `.keras` file `path` names: itself, PATH/model.keras or PATH/fold_0/model.keras.

    Raises:
        ValueError: none of them, naming the option (`init`, `recover_from`) and the path.
    """
    path = Path(path)
    for candidate in (path, path / "model.keras", path / "fold_0" / "model.keras"):
        if candidate.is_file() and candidate.suffix == ".keras":
            return str(candidate)
    raise ValueError(f"{option}: no model.keras at {path}")


def load_source_model(path, option="init"):
    """The Keras model a run starts from (`--init`) or continues (`--recover-from`), loaded with
    `safe_mode=True`; a truncated or corrupt file is a ValueError naming it and the option."""
    import zipfile

    import keras

    import fer_keras.layers  # noqa: F401 - registers the custom layers

    file = find_model_file(path, option)
    if not zipfile.is_zipfile(file):
        raise ValueError(f"--{option.replace('_', '-')} {file}: corrupt or truncated model file "
                         "(not a complete .keras zip archive)")
    try:
        return keras.saving.load_model(file, safe_mode=True)
    except (zipfile.BadZipFile, EOFError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"--{option.replace('_', '-')} {file}: not a loadable Keras model "
                         f"({type(err).__name__}: {str(err).splitlines()[0][:200]})") from None


def transfer_weights(source, target):
    """Copies weights layer by layer (same name, same shapes); returns the names copied.

    A classifier with another class count keeps its fresh weights (fine-tuning across datasets).
    """
    by_name = {layer.name: layer for layer in source.layers}
    copied = []
    for layer in target.layers:
        src = by_name.get(layer.name)
        if src is None or not layer.weights:
            continue
        values = src.get_weights()
        if [v.shape for v in values] == [tuple(w.shape) for w in layer.weights]:
            layer.set_weights(values)
            copied.append(layer.name)
    return copied
