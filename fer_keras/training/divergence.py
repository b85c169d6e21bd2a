"""The NaN stop: where in an epoch the loss became non-finite, for every training engine.

A non-finite training loss ends the run at once; nothing is written after it, so the fold's
checkpoint stays the one of the last finished epoch (docs/training.md, "Resume"). The error, its
advice and the `diverged.json` marker that allows a learning-rate change on resume come from
`fer_keras.training.finite.diverged`.
"""

from pathlib import Path

from fer_keras.training.finite import TrainingDiverged, diverged  # noqa: F401 - re-exported


def raise_diverged(loss, epoch, ckpt_path, lr, batches=None):
    """Raises TrainingDiverged for a non-finite `loss` seen in `epoch` (0-based).

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
