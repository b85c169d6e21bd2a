"""The resume checkpoint: one `.npz` file holding everything the next epoch depends on.

Model state (`model.variables`: weights, normalisation statistics and the dropout
`SeedGenerator` states), optimizer state (iterations, momentum buffers, loss scale), the best
weights so far and the bookkeeping (epochs done, best epoch and score, history, the run's
configuration key) go into one file, replaced atomically after every epoch. A run killed at any
moment finds either the previous epoch's file or the new one, never a mixture. Shuffling and
augmentation are functions of (seed, epoch) (`fer_keras.data.pipeline.epoch_plan`), so nothing
about the data has to be stored.
"""

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from fer_keras.files import atomic_path

FILENAME = "checkpoint.npz"
# The checkpoint carried to the next machine (`write_carried`): committed by the campaign when a
# session ends with the fold unfinished, and resumed from when the fold has no checkpoint.npz.
CARRIED = "carry-state.npz"
# The carry's best weights, beside it: a file of their own, rewritten only when they change, so
# that a session whose selected epoch stayed the same adds only `CARRIED` to git's history.
CARRIED_BEST = "carry-best.npz"


def _values(variables):
    # `Variable.numpy()`: on TensorFlow a third faster than `keras.ops.convert_to_numpy` over
    # I-MobileNetV2's 454 model and optimizer variables (docs/performance.md, "Training epoch
    # vs raw step").
    return [np.asarray(v.numpy()) for v in variables]


def _write_npz(path, arrays):
    """`arrays` as an .npz at `path`, whole or not at all (`atomic_path`)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def save_checkpoint(path, model, state, best_weights):
    """Writes model and optimizer state, `best_weights` (list of arrays) and `state` (a dict)."""
    arrays = {"state": np.frombuffer(json.dumps(state).encode(), dtype=np.uint8)}
    for prefix, values in (("model", _values(model.variables)),
                           ("optimizer", _values(model.optimizer.variables)),
                           ("best", best_weights or [])):
        for i, value in enumerate(values):
            arrays[f"{prefix}/{i:05d}"] = value
    _write_npz(path, arrays)


class CorruptCheckpoint(ValueError):
    """The checkpoint file cannot be read (truncated, or not a checkpoint)."""


def _digest(arrays):
    """SHA-256 (hex) of named arrays: names, dtypes, shapes and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{value.dtype.str}:{value.shape};".encode())
        h.update(value.tobytes())
    return h.hexdigest()


def _in_model(best, arrays):
    """For each best array (in key order), the index of an identical array among the
    checkpoint's model arrays (in key order); None unless every one has such a twin. They all
    do when the selected epoch is the last one (a run without validation, `SELECTION_LAST`)."""
    model_keys = sorted(k for k in arrays if k.startswith("model/"))
    index = {_digest({"a": arrays[k]}): i for i, k in enumerate(model_keys)}
    refs = [index.get(_digest({"a": best[k]})) for k in sorted(best)]
    return None if None in refs else refs


def _text(array):
    return array.tobytes().decode()


def _read_carried_best(path, arrays=True):
    """(digest, best arrays by name) of a `CARRIED_BEST` file, its arrays only if `arrays`;
    (None, {}) when it is absent or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return _text(data["digest"]), {k: data[k] for k in data.files
                                           if arrays and k.startswith("best/")}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None, {}


def write_carried(path, target):
    """Writes `target`: the checkpoint at `path` without the optimizer's momentum buffers (its
    arrays of more than one element) and with its best weights in `CARRIED_BEST` beside it.

    Weights, normalisation statistics, the bookkeeping and the optimizer's scalars (its
    iteration count, so the learning-rate schedule continues) stay in `target`, with the SHA-256
    of the best weights; `CARRIED_BEST` is rewritten only when that digest changes (a new
    selected epoch), so a carry committed every session adds the best weights to git's history
    only when they changed (I-MobileNetV2: 15 MB of the 31). When the best weights are the
    current ones (the last epoch is the selected one, as in every run without validation),
    `target` refers to its own model arrays instead and no `CARRIED_BEST` is written. A fold
    resumed from it (`open_fold`) continues after the same epoch with the same selected epoch,
    and its one difference from an uninterrupted run is that momentum restarts at zero (as
    `--recover-from` does; the fold's state lists the epochs after which it did).
    """
    with np.load(path, allow_pickle=False) as data:
        best = {k: data[k] for k in data.files if k.startswith("best/")}
        arrays = {k: data[k] for k in data.files if not k.startswith("best/")
                  and not (k.startswith("optimizer/") and data[k].size > 1)}
    arrays["carried"] = np.ones((), np.uint8)
    best_path = Path(target).parent / CARRIED_BEST
    refs = _in_model(best, arrays) if best else None
    if refs is not None:  # the best weights are the current ones: stored once, referred to
        arrays["best_in_model"] = np.asarray(refs, np.int64)
    elif best:
        digest = _digest(best)
        arrays["best_digest"] = np.frombuffer(digest.encode(), np.uint8)
        if _read_carried_best(best_path, arrays=False)[0] != digest:
            _write_npz(best_path, {**best, "digest": arrays["best_digest"]})
    _write_npz(target, arrays)
    if "best_digest" not in arrays:
        best_path.unlink(missing_ok=True)


def _carried_best(path, digest):
    """The best weights of the carry at `path` from `CARRIED_BEST` beside it, checked against
    the carry's `digest`."""
    best_path = Path(path).parent / CARRIED_BEST
    stored, best = _read_carried_best(best_path)
    if stored != digest:
        raise CorruptCheckpoint(
            f"{path} keeps its best weights in {best_path}, which is "
            + ("missing" if not best_path.exists() else "from another carry or unreadable")
            + f"; restore the {CARRIED_BEST} committed with it (git checkout -- {best_path})")
    if _digest(best) != digest:
        raise CorruptCheckpoint(f"{best_path}: its best weights do not match their digest")
    return [best[k] for k in sorted(best)]


def read_checkpoint(path):
    """{"state": dict, "model": [...], "optimizer": [...], "best": [...]}.

    Raises:
        CorruptCheckpoint: the file is truncated or not a checkpoint; the message says how to go
            on. ValueError: it holds a non-finite array (`fer_keras.training.finite`).
    """
    from fer_keras.training.finite import check_checkpoint

    try:
        with np.load(path, allow_pickle=False) as data:
            out = {"state": json.loads(data["state"].tobytes().decode()),
                   "carried": "carried" in data.files}
            for prefix in ("model", "optimizer", "best"):
                keys = sorted(k for k in data.files if k.startswith(prefix + "/"))
                out[prefix] = [data[k] for k in keys]
            out["optimizer_index"] = [int(k.split("/")[1]) for k in sorted(
                k for k in data.files if k.startswith("optimizer/"))]
            digest = _text(data["best_digest"]) if "best_digest" in data.files else None
            if "best_in_model" in data.files:
                out["best"] = [out["model"][i] for i in data["best_in_model"]]
    except (zipfile.BadZipFile, EOFError, KeyError, IndexError, ValueError, OSError) as err:
        raise CorruptCheckpoint(
            f"corrupt checkpoint {path} ({type(err).__name__}: {err}); rerun with --recover-from "
            f"MODEL (this run's best-epoch model.keras, e.g. {Path(path).parent / 'model.keras'})"
            f" to continue from it, or remove {path} to train the fold again") from None
    if digest is not None:
        out["best"] = _carried_best(path, digest)
    check_checkpoint(out, path)
    return out


def read_for_resume(path, recover_from=None):
    """The checkpoint at `path`, or None when there is none, or when it is corrupt and
    `recover_from` names the model to continue from instead."""
    if not Path(path).exists():
        return None
    try:
        return read_checkpoint(path)
    except CorruptCheckpoint:
        if recover_from:
            return None
        raise


def open_fold(config, fold_dir):
    """(saved, finished): the fold's read checkpoint (None without one) and, when the fold is
    finished, its metrics.json as a dict (else None).

    `saved["changes"]` lists what `config` changes on resume (`resume_rules.check_fold_state`:
    `--extend`, a learning rate after a divergence); a fold with changes is not finished.

    Raises:
        ValueError: the checkpoint belongs to a run with another configuration, or it is
            corrupt (`CorruptCheckpoint`, unless `config.recover_from`).
    """
    from fer_keras.training import resume_rules

    path = Path(fold_dir) / FILENAME
    if not path.exists() and (Path(fold_dir) / CARRIED).is_file():
        path = Path(fold_dir) / CARRIED  # carried from an earlier machine (`write_carried`)
    saved = read_for_resume(path, config.recover_from)
    if saved is not None:
        saved["changes"] = resume_rules.check_fold_state(saved["state"], config, fold_dir)
    metrics_path = Path(fold_dir) / "metrics.json"
    if (saved is not None and metrics_path.exists() and not saved["changes"]
            and saved["state"]["epochs_done"] == config.epochs):
        return saved, json.loads(metrics_path.read_text())
    return saved, None


def restore(model, checkpoint):
    """Assigns a read checkpoint's model and optimizer state (the optimizer must be built). A
    carried checkpoint (`write_carried`) sets the optimizer's scalars only and zeroes its
    momentum buffers (`Fold.start` records in the fold's state the epoch after which they
    restarted)."""
    optimizer = model.optimizer.variables
    if checkpoint.get("carried"):
        kept = set(checkpoint["optimizer_index"])
        for i, var in enumerate(optimizer):
            if i not in kept:
                var.assign(np.zeros(var.shape, var.dtype))
        optimizer = [optimizer[i] for i in checkpoint["optimizer_index"] if i < len(optimizer)]
    for name, variables in (("model", model.variables), ("optimizer", optimizer)):
        values = checkpoint[name]
        if len(values) != len(variables):
            raise ValueError(f"checkpoint holds {len(values)} {name} variables, the run has "
                             f"{len(variables)}: it belongs to another model or setup")
        for var, value in zip(variables, values):
            if tuple(var.shape) != tuple(value.shape):
                raise ValueError(f"checkpoint variable {var.path} has shape {value.shape}, "
                                 f"the model's has {tuple(var.shape)}")
            var.assign(value)
