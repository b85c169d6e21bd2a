"""Only finite state is saved: the divergence check before an epoch is checkpointed or selected.

A step's non-finite loss stops the run at once (`raise_diverged`, every engine). That is not
enough: an epoch can end with a finite but huge training loss (1e19 at learning rate 2), NaN
validation loss and weights near 1e31. Before an epoch may be selected as the best or written
to the checkpoint, `check_epoch` checks its metrics row (training and validation loss and
accuracy, test figures when recorded), every model variable and every optimizer variable;
anything non-finite raises `TrainingDiverged` and the checkpoint of the previous epoch stays as
it is.

A diverged fold leaves `diverged.json` (epoch, learning rate, reason) beside its checkpoint: it
allows the same command with another `--learning-rate` to continue from the last good epoch
(`fer_keras.training.resume_rules`), and the change is recorded in metrics.json.
"""

import math
from pathlib import Path

import numpy as np

from fer_keras.training.artifacts import write_json
from fer_keras.training.resume_rules import DIVERGED_NAME

# Row entries that are NaN by definition when their split is absent (no validation split).
_MAY_BE_NAN_WITHOUT_SPLIT = ("val_loss", "val_accuracy", "val_balanced_accuracy")


class TrainingDiverged(RuntimeError):
    """The loss, a metric or a weight became NaN or infinite; the last good checkpoint is kept."""


def non_finite_row_entries(row, has_validation):
    """Names of the epoch row's numbers that are NaN or infinite."""
    bad = []
    for key, value in row.items():
        if not isinstance(value, (int, float, np.floating, np.integer)):
            continue
        if not has_validation and key in _MAY_BE_NAN_WITHOUT_SPLIT:
            continue
        if not math.isfinite(float(value)):
            bad.append(key)
    return bad


def non_finite_arrays(named_arrays):
    """Names of the arrays holding a NaN or infinite value (integer arrays are always finite)."""
    bad = []
    for name, value in named_arrays:
        value = np.asarray(value)
        if np.issubdtype(value.dtype, np.inexact) and not np.isfinite(value).all():
            bad.append(name)
    return bad


def _variables(trainer):
    import keras

    for prefix, variables in (("model", trainer.variables),
                              ("optimizer", trainer.optimizer.variables)):
        for var in variables:
            yield f"{prefix} {var.path}", keras.ops.convert_to_numpy(var)


def check_epoch(trainer, row, has_validation, epoch, ckpt_path, lr):
    """Raises TrainingDiverged when the epoch's row or any model or optimizer variable is not
    finite; call it before the epoch is selected or checkpointed."""
    bad = non_finite_row_entries(row, has_validation)
    arrays = non_finite_arrays(_variables(trainer))
    where = ""
    if bad:
        where = "metrics " + ", ".join(f"{k}={row[k]}" for k in bad)
        if not arrays and {"loss", "accuracy"}.isdisjoint(bad):
            where += (" while every weight is finite (the model's outputs overflow in inference "
                      "mode, e.g. batch-norm statistics of very few steps)")
    elif arrays:
        where = f"{len(arrays)} variables (e.g. {', '.join(arrays[:3])})"
    if where:
        raise diverged(f"non-finite {where} after epoch {epoch + 1}", epoch, ckpt_path, lr)



def raise_diverged(loss, epoch, ckpt_path, lr, batches=None):
    """Raises TrainingDiverged for a non-finite training `loss` seen in `epoch` (0-based): the
    NaN stop, the same for every engine (nothing is written after it, so the fold's checkpoint
    stays the one of the last finished epoch).

    Args:
        batches: where in the epoch it was seen (0-based): a batch number, a (first, last) pair
            when the engine runs several batches per call and sees the loss once per call, or
            None when only the epoch is known.
    """
    where = f"epoch {epoch + 1}"
    if isinstance(batches, tuple):
        first, last = batches
        where += (f", batches {first + 1}-{last + 1} (one call of {last - first + 1} steps; "
                  "the loss is seen once per call)")
    elif batches is not None:
        where += f", batch {batches + 1}"
    raise diverged(f"loss became {loss} at {where}", epoch, Path(ckpt_path), lr)

def check_checkpoint(checkpoint, path):
    """Raises ValueError when a read checkpoint holds a non-finite array (an older version of the
    package could save one)."""
    bad = non_finite_arrays((f"{prefix}/{i}", v) for prefix in ("model", "optimizer", "best")
                            for i, v in enumerate(checkpoint[prefix]))
    if bad:
        raise ValueError(f"checkpoint {path} holds {len(bad)} non-finite arrays (e.g. "
                         f"{', '.join(bad[:3])}): it was saved after a divergence; remove it "
                         "and rerun with --recover-from MODEL (a finite model.keras of this run) "
                         "or start the fold again")


def diverged(what, epoch, ckpt_path, lr):
    """The TrainingDiverged error for a fold (and its `diverged.json` marker): says what went
    wrong and how to continue."""
    ckpt_path = Path(ckpt_path)
    if ckpt_path.exists():
        kept = (f"the last good checkpoint ({ckpt_path}, after epoch {epoch}) is kept. To "
                f"continue from it at a lower rate, run the same command with --learning-rate "
                f"{lr / 10:.3g} (now {lr:.3g}; a learning-rate change is allowed on resume after "
                "a divergence and recorded in metrics.json)")
        write_json(ckpt_path.parent / DIVERGED_NAME,
                   {"epoch": epoch + 1, "learning_rate": lr, "reason": what})
    else:
        kept = (f"no epoch finished, so there is no checkpoint; lower the learning rate (now "
                f"{lr:.3g}, e.g. --learning-rate {lr / 10:.3g})")
    return TrainingDiverged(f"{what}; training stopped and {kept}, or check the data.")
