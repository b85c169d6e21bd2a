"""The resume checkpoint: one `.npz` file holding everything the next epoch depends on.

Model state (`model.variables`: weights, normalisation statistics and the dropout
`SeedGenerator` states), optimizer state (iterations, momentum buffers, loss scale), the best
weights so far and the bookkeeping (epochs done, best epoch and score, history, the run's
configuration key) go into one file, replaced atomically after every epoch. A run killed at any
moment finds either the previous epoch's file or the new one, never a mixture. Shuffling and
augmentation are functions of (seed, epoch) (`fer_keras.data.pipeline.epoch_plan`), so nothing
about the data has to be stored.
"""

import json
from pathlib import Path

import numpy as np

from fer_keras.training.artifacts import atomic_path

FILENAME = "checkpoint.npz"


def _values(variables):
    import keras

    return [keras.ops.convert_to_numpy(v) for v in variables]


def save_checkpoint(path, model, state, best_weights):
    """Writes model and optimizer state, `best_weights` (list of arrays) and `state` (a dict)."""
    arrays = {"state": np.frombuffer(json.dumps(state).encode(), dtype=np.uint8)}
    for prefix, values in (("model", _values(model.variables)),
                           ("optimizer", _values(model.optimizer.variables)),
                           ("best", best_weights or [])):
        for i, value in enumerate(values):
            arrays[f"{prefix}/{i:05d}"] = value
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def read_checkpoint(path):
    """{"state": dict, "model": [...], "optimizer": [...], "best": [...]}."""
    with np.load(path, allow_pickle=False) as data:
        out = {"state": json.loads(data["state"].tobytes().decode())}
        for prefix in ("model", "optimizer", "best"):
            keys = sorted(k for k in data.files if k.startswith(prefix + "/"))
            out[prefix] = [data[k] for k in keys]
    return out


def open_fold(config, fold_dir):
    """(saved, finished): the fold's read checkpoint (None without one) and, when the fold is
    finished, its metrics.json as a dict (else None).

    Raises:
        ValueError: the checkpoint belongs to a run with another configuration.
    """
    path = Path(fold_dir) / FILENAME
    saved = read_checkpoint(path) if path.exists() else None
    if saved is not None and saved["state"]["run_key"] != config.run_key():
        raise ValueError(f"{fold_dir} holds a run with another configuration; choose another "
                         "--output (or delete the folder to start again)")
    metrics_path = Path(fold_dir) / "metrics.json"
    if (saved is not None and metrics_path.exists()
            and saved["state"]["epochs_done"] == config.epochs):
        return saved, json.loads(metrics_path.read_text())
    return saved, None


def restore(model, checkpoint):
    """Assigns a read checkpoint's model and optimizer state (the optimizer must be built)."""
    for name, variables in (("model", model.variables), ("optimizer", model.optimizer.variables)):
        values = checkpoint[name]
        if len(values) != len(variables):
            raise ValueError(f"checkpoint holds {len(values)} {name} variables, the run has "
                             f"{len(variables)}: it belongs to another model or setup")
        for var, value in zip(variables, values):
            if tuple(var.shape) != tuple(value.shape):
                raise ValueError(f"checkpoint variable {var.path} has shape {value.shape}, "
                                 f"the model's has {tuple(var.shape)}")
            var.assign(value)
