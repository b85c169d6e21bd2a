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
    `safe_mode=True`; a truncated, corrupt or unknown-object file is a ValueError naming it and
    the option (`fer_keras.models.saving.load_keras_file`)."""
    import fer_keras.training.optimizers  # noqa: F401 - registers a compiled model's schedule
    from fer_keras.models.saving import load_keras_file

    file = find_model_file(path, option)
    try:
        return load_keras_file(file)
    except ValueError as err:
        raise ValueError(f"--{option.replace('_', '-')} {err}") from None


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
