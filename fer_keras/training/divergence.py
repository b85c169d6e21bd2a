"""The NaN stop: `TrainingDiverged` and the message every training engine raises it with.

A non-finite training loss ends the run at once; nothing is written after it, so the fold's
checkpoint stays the one of the last finished epoch (docs/training.md, "Resume").
"""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


def raise_diverged(loss, epoch, ckpt_path, lr, batches=None):
    """Raises TrainingDiverged for a non-finite `loss` seen in `epoch` (0-based).

    Args:
        batches: where in the epoch it was seen (0-based): a batch number, a (first, last) pair
            when the engine runs several batches per call and sees the loss once per call, or
            None when only the epoch is known.
    """
    kept = (f"the last good checkpoint ({ckpt_path}, after epoch {epoch}) is kept"
            if ckpt_path.exists() else "no epoch finished, so there is no checkpoint")
    where = f"epoch {epoch + 1}"
    if isinstance(batches, tuple):
        first, last = batches
        where += (f", batches {first + 1}-{last + 1} (one call of {last - first + 1} steps; "
                  "the loss is seen once per call)")
    elif batches is not None:
        where += f", batch {batches + 1}"
    raise TrainingDiverged(
        f"loss became {loss} at {where}; training stopped and {kept}. Lower the learning rate "
        f"(now {lr:.3g}) or check the data.")
