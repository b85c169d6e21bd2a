"""The Keras engines ("steps", "jax_fit", "fit"; `engines.choose`): one fold, epoch by epoch.

One image's path: the epoch's seeded batches (`EpochBatches`: one `make_tf_dataset` over the
fold's epochs with TensorFlow, `iterate_batches` otherwise) -> `train_on_batch` per step
("steps"), or one `fit` call per epoch over the same batches ("jax_fit", "fit" through
`tf_fit`) -> the epoch's validation figures (`epoch_eval`) -> `Fold.end_epoch` (selection on
validation, checkpoint, history). The fold's start and artifacts are
`fer_keras.training.fold`'s, the same for the device engine.
"""

import sys
import time

import numpy as np

from fer_keras.training import distribution, epoch_eval, stop_request, tf_fit
from fer_keras.training.finite import raise_diverged
from fer_keras.training.fold import Fold, past
from fer_keras.training.model_setup import class_weights, compiled_trainer


def train_fold(config, ds, split, fold_dir, verbose=1, deadline=None, after_epoch=None):
    """Trains one fold into `fold_dir` (resuming from its checkpoint) and writes its artifacts.

    With a `deadline` (a `time.monotonic()` value), training stops after the epoch during which
    it passes and the artifacts are written from the best epoch so far; `metrics.json` then says
    how many of the configured epochs were trained, and the same call later resumes the run.
    `after_epoch(fold)`, when given, is called after each epoch's end (`benchmark --training`
    times the bare step between a fold's epochs with it).

    Returns:
        the fold's metrics dict (what `metrics.json` holds).
    """
    import keras

    from fer_keras.training.device import resolve_auto
    from fer_keras.training.engines import choose

    fold = Fold.open(config, ds, split, fold_dir, verbose)
    if isinstance(fold, dict):
        return fold
    engine = choose(config)
    mixed, jit = resolve_auto(config)
    policy = keras.config.dtype_policy().name
    keras.config.set_dtype_policy(dtype_policy(mixed))
    try:
        model, trainer, drop_remainder, steps = compiled_trainer(config, fold.ds, split, jit)
        fold.start(model, trainer, steps, f"mixed precision {mixed}, XLA {jit}", verbose)
        weights = class_weights(config, fold.ds.labels[split.train], fold.ds.num_classes)
        batches = EpochBatches(config, fold.ds, split.train, drop_remainder)
        while fold.training:
            row = _run_epoch(engine, trainer, model, fold, weights, verbose, batches)
            fold.end_epoch(row, trainer,
                           lambda: [np.asarray(w.numpy()) for w in model.weights],
                           verbose)
            if after_epoch is not None:
                after_epoch(fold)
            if fold.out_of_time(deadline, verbose):
                break
        return fold.finish(model, verbose)
    finally:
        keras.config.set_dtype_policy(policy)


def train_folds(config, ds, splits, folds, run_dir, verbose=1, deadline=None):
    """`train_fold` for each fold in turn; folds not started before the deadline are left out."""
    results = []
    for fold in folds:
        if past(deadline):
            if verbose:
                print(f"{stop_request.reason(config.time_limit)}: folds from {fold} on "
                      "were not started; run the same command again to continue", flush=True)
            break
        results.append(train_fold(config, ds, splits[fold], run_dir / f"fold_{fold}", verbose,
                                  deadline=deadline))
    return results


def dtype_policy(mixed):
    """The Keras dtype policy a fold trains under: "mixed_float16" where `resolve_auto` chose
    mixed precision, else "float32" (tests/test_train_tf_fit.py makes it "float64" to compare the
    engines above float32 rounding)."""
    return "mixed_float16" if mixed else "float32"


# A fold's tf.data pipeline covers this many (epochs x examples) at most: CK+'s 150 epochs of
# 783 images in one pipeline, FER2013 in pipelines of 34 epochs (the epochs' orders and seeds are
# held as arrays: 8 bytes per example and epoch, and 4 more per augmentation layer).
PIPELINE_EXAMPLES = 1_000_000


class EpochBatches:
    """A fold's training batches, epoch by epoch: `epoch(e)` yields epoch e's batches, the same
    as `make_tf_dataset(seed, epoch=e)` (or `iterate_batches` off TensorFlow).

    Under TensorFlow one `make_tf_dataset` over the fold's next epochs (`PIPELINE_EXAMPLES`) is
    built and iterated across them, so its map is traced once rather than per epoch, and the
    next epoch's first batches are prepared while the last one is validated and checkpointed.
    """

    def __init__(self, config, ds, indices, drop_remainder=False):
        self.config, self.ds, self.indices, self.drop_remainder = (config, ds, indices,
                                                                   drop_remainder)
        self._iterator, self._next_epoch, self._last_epoch = None, None, None

    def epoch(self, epoch):
        import keras

        from fer_keras.data import iterate_batches, make_tf_dataset

        config = self.config
        args = dict(batch_size=config.batch_size, training=True, channels=config.channels,
                    augment=config.augment, seed=config.seed, epoch=epoch,
                    drop_remainder=self.drop_remainder)
        if keras.backend.backend() != "tensorflow":
            yield from iterate_batches(self.ds, self.indices, **args)
            return
        if self._next_epoch != epoch or epoch > self._last_epoch:
            num_epochs = max(1, min(config.epochs - epoch,
                                    PIPELINE_EXAMPLES // len(self.indices)))
            self._iterator = iter(make_tf_dataset(self.ds, self.indices, num_epochs=num_epochs,
                                                  **args))
            self._last_epoch = epoch + num_epochs - 1
        self._next_epoch = None  # an epoch left unfinished (an error) rebuilds the pipeline
        for _ in range(tf_fit.num_steps(len(self.indices), config.batch_size,
                                        self.drop_remainder)):
            yield next(self._iterator)
        self._next_epoch = epoch + 1


def train_step(model, x, y, sample_weight):
    """One optimizer step; returns the batch's mean loss and accuracy."""
    logs = model.train_on_batch(x, y, sample_weight=sample_weight, return_dict=True)
    return float(logs["loss"]), float(logs.get("accuracy", np.nan))


def _run_epoch(engine, trainer, model, fold, weights, verbose, batches):
    """One epoch of `engine` over `batches` (the fold's `EpochBatches`); returns its row for
    `Fold.end_epoch`. With `batches.drop_remainder` (compiled steps) the last partial batch is
    skipped, so the XLA-compiled train step sees one batch shape and compiles once (shuffling
    differs per epoch, so every example is still used)."""
    from tqdm.auto import tqdm

    from fer_keras.training.fold_report import predict
    from fer_keras.training.optimizers import current_learning_rate

    config, ds, split, epoch = fold.config, fold.ds, fold.split, fold.epoch
    drop_remainder = batches.drop_remainder
    start = time.perf_counter()
    lr = current_learning_rate(trainer.optimizer)
    steps = tf_fit.num_steps(len(split.train), config.batch_size, drop_remainder)
    bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch",
               disable=not verbose, leave=False, file=sys.stderr)
    try:
        if engine == "fit":
            loss, acc = tf_fit.fit_epoch(trainer, config, ds, split.train, epoch, weights,
                                         fold.ckpt_path, lr, bar, drop_remainder)
        elif engine == "jax_fit":
            loss, acc = _fit_epoch(trainer, batches.epoch(epoch), config, weights, steps, bar)
            if not np.isfinite(loss):
                raise_diverged(loss, epoch, fold.ckpt_path, lr)
        else:
            loss, acc = _step_epoch(trainer, batches.epoch(epoch), epoch, weights, bar,
                                    fold.ckpt_path, lr)
    finally:
        bar.close()
    figures = epoch_eval.epoch_figures(
        lambda idx: predict(model, ds, idx, config.batch_size, config.channels), config, ds, split)
    return {"loss": loss, "accuracy": acc, **figures, "time_s": time.perf_counter() - start,
            "learning_rate": lr}


def _step_epoch(trainer, batches, epoch, weights, bar, ckpt_path, lr):
    """One epoch of `train_on_batch` steps over `batches`; returns (mean loss, mean accuracy)
    over its examples.

    A non-finite batch loss stops the run at that batch (`TrainingDiverged`).
    """
    total_loss = total_acc = seen = 0.0
    for step, (x, y) in enumerate(batches):
        y = np.asarray(y)
        sw = None if weights is None else weights[y].astype(np.float32)
        loss, acc = train_step(trainer, x, y, sw)
        if not np.isfinite(loss):
            raise_diverged(loss, epoch, ckpt_path, lr, step)
        n = len(y)
        total_loss, total_acc, seen = total_loss + loss * n, total_acc + acc * n, seen + n
        bar.update(1)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{total_acc / seen:.3f}")
    return total_loss / seen, total_acc / seen


def _fit_epoch(trainer, epoch_batches, config, weights, steps, bar):
    """One epoch through `trainer.fit` (engine "jax_fit"); returns (mean loss, mean accuracy).

    JAX's `train_on_batch` copies every variable out of and back into the Keras variables at each
    step (about 25 ms per step for I-MobileNetV2 on an H200, whatever the batch); inside `fit`
    the state stays on the device until the epoch ends. The batches, their order and the
    optimizer steps are the same.
    """
    import keras

    plan = distribution.plan(config)

    def batches():  # each process feeds its slice of the global batch (one process: all of it)
        for x, y in epoch_batches:
            y = np.asarray(y)
            batch = (x, y) if weights is None else (x, y, weights[y].astype(np.float32))
            yield tuple(distribution.local_batch(plan, part) for part in batch)

    class Progress(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            bar.update(1)

    history = trainer.fit(batches(), epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False,
                          callbacks=[Progress(), keras.callbacks.TerminateOnNaN()])
    logs = {k: v[-1] for k, v in history.history.items()}
    return float(logs["loss"]), float(logs.get("accuracy", np.nan))
