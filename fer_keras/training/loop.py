"""`train(config)`: load the data, split it by the protocol, and train and evaluate each fold.

One image's path: `load_dataset` -> `make_splits` (train / val / test indices) -> the epoch's
seeded batches (`make_tf_dataset` with TensorFlow, `iterate_batches` otherwise) ->
`model.train_on_batch` -> validation accuracy after every epoch picks the best epoch (never the
test split) -> the best weights are evaluated on the test split -> `metrics.json`.
Run-folder layout and resume semantics: docs/training.md.
"""

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from fer_keras.training import (
    artifacts, checkpoint, distribution, epoch_eval, finite, recover, resume_rules, run_lock,
    tf_fit,
)
from fer_keras.training.config import TrainConfig
from fer_keras.training.divergence import raise_diverged
from fer_keras.training.finite import TrainingDiverged  # noqa: F401 - the public name
from fer_keras.training.tensorboard import summary_writer, write_scalars
from fer_keras.training.fold_report import predict, write_artifacts
from fer_keras.training.metrics import classification_metrics, summarize_folds, summary_table
from fer_keras.training.model_setup import class_weights, compiled_trainer


@dataclasses.dataclass
class TrainResult:
    """What `train` returns: the run folder, each fold's `metrics.json` and the fold summary."""

    run_dir: Path
    folds: list
    summary: dict


def default_output(config):
    from fer_keras.data import default_protocol

    protocol = config.protocol or default_protocol(config.dataset)
    return Path("runs") / (f"{config.dataset}-{config.model}-{protocol}-seed{config.seed}"
                           + resume_rules.default_folder_suffix(config))


def _log(verbose, *lines):
    if verbose:
        print(*lines, sep="\n", flush=True)


def train(config, verbose=1):
    """Runs a TrainConfig: every selected fold, resuming from checkpoints where they exist.

    Args:
        config: a TrainConfig (see `resolve_config`).
        verbose: 0 silent, 1 configuration, progress bars and epoch lines.

    Returns:
        TrainResult.

    Raises:
        ValueError: a bad configuration or fold number; DataError: missing or bad data;
        TrainingDiverged: NaN loss; RunFolderBusy (a ValueError): another process trains a
        fold of the run folder; distribution.PeerLost: another process of a multi-process run
        stopped.
    """
    config = TrainConfig.from_dict(config.to_dict()).validate()
    if config.extend and not config.output:
        raise ValueError("--extend continues an existing run: name its folder with --output")
    run_dir = Path(config.output) if config.output else default_output(config)
    config.output = str(run_dir)

    def start(busy):  # under the run lock: nothing else changes config.json meanwhile
        resume_rules.check_run_config(run_dir, config, busy)
        artifacts.write_json(run_dir / "config.json", config.to_dict())

    plan = distribution.plan(config)  # an uneven global batch stops here, before any write
    try:
        with artifacts.only_reading(not plan.is_chief), distribution.scope(plan), \
                run_lock.RunFolder(run_dir, config.folds, start) as claim:
            return _train_locked(config, run_dir, verbose, claim)
    except Exception as err:
        lost = distribution.peer_lost(err, plan, run_dir)
        if lost is None:
            raise
        raise lost from err


def _train_locked(config, run_dir, verbose, claim):
    import keras

    from fer_keras.data import load_dataset, make_splits
    from fer_keras.training.device import resolve_engine

    _log(verbose, config.describe(),
         f"backend {keras.backend.backend()}, run folder {run_dir}")
    artifacts.git_revision()  # cached now: metrics.json names the code this run started with
    ds = load_dataset(config.dataset, config.data_dir, **config.dataset_options)
    _check_classes(ds, config)
    splits = make_splits(ds, config.protocol, seed=config.split_seed, **config.protocol_options)
    protocol = splits[0].protocol
    folds = list(range(len(splits))) if config.folds is None else list(config.folds)
    bad = [f for f in folds if not 0 <= f < len(splits)]
    if bad:
        raise ValueError(f"fold {bad[0]} does not exist: protocol '{protocol}' on {ds.name} "
                         f"has folds 0..{len(splits) - 1}")
    claim(folds)  # one writer per fold (run_lock)
    deadline = None if config.time_limit is None else time.monotonic() + config.time_limit
    if resolve_engine(config) == "device":
        from fer_keras.training.jax_engine import train_members

        results = train_members(config, ds, splits, folds, run_dir, verbose, deadline,
                                config.models_together)
    else:
        results = _train_folds(config, ds, splits, folds, run_dir, verbose, deadline)
    summary = {}
    if len(results) > 1:
        summary = summarize_folds(results)
        table = summary_table(results)
        with run_lock.run_lock(run_dir):
            artifacts.write_json(run_dir / "summary.json", {"split": results[0]["split"],
                                                             "folds": folds, "metrics": summary})
            with artifacts.atomic_path(run_dir / "summary.md") as tmp:
                tmp.write_text(table + "\n")
        _log(verbose, table)
    return TrainResult(run_dir, results, summary)


def _check_classes(ds, config):
    """Refuses data with classes that have no images, unless `config.allow_empty_classes`."""
    from fer_keras.data.audit import empty_class_notes

    notes = empty_class_notes(ds)
    if notes and not config.allow_empty_classes:
        raise ValueError(f"{config.data_dir or config.dataset}: {notes[0].split(': ', 1)[1]}; "
                         "pass --allow-empty-classes to train anyway (metrics.json records it)")


def _train_folds(config, ds, splits, folds, run_dir, verbose, deadline):
    """`train_fold` for each fold in turn; folds not started before the deadline are left out."""
    results = []
    for fold in folds:
        if deadline is not None and time.monotonic() > deadline:
            _log(verbose, f"time limit of {config.time_limit:g} s reached: folds from {fold} on "
                          "were not started; run the same command again to continue")
            break
        results.append(train_fold(config, ds, splits[fold], run_dir / f"fold_{fold}", verbose,
                                  deadline=deadline))
    return results


def _batches(config, ds, indices, epoch, drop_remainder=False):
    import keras

    from fer_keras.data import iterate_batches, make_tf_dataset

    args = dict(batch_size=config.batch_size, training=True, channels=config.channels,
                augment=config.augment, seed=config.seed, epoch=epoch,
                drop_remainder=drop_remainder)
    if keras.backend.backend() == "tensorflow":
        return make_tf_dataset(ds, indices, **args)
    return iterate_batches(ds, indices, **args)


def train_step(model, x, y, sample_weight):
    """One optimizer step; returns the batch's mean loss and accuracy."""
    logs = model.train_on_batch(x, y, sample_weight=sample_weight, return_dict=True)
    return float(logs["loss"]), float(logs.get("accuracy", np.nan))


def train_fold(config, ds, split, fold_dir, verbose=1, deadline=None):
    """Trains one fold into `fold_dir` (resuming from its checkpoint) and writes its artifacts.

    With a `deadline` (a `time.monotonic()` value), training stops after the epoch during which
    it passes and the artifacts are written from the best epoch so far; `metrics.json` then says
    how many of the configured epochs were trained, and the same call later resumes the run.

    Returns:
        the fold's metrics dict (what `metrics.json` holds).
    """
    import keras

    from fer_keras.data import split_dataset
    from fer_keras.training.device import resolve_auto

    fold_dir = Path(fold_dir)
    if artifacts.writes():  # not in a distributed run's other processes
        fold_dir.mkdir(parents=True, exist_ok=True)
    ds = split_dataset(split, ds)
    ckpt_path = fold_dir / checkpoint.FILENAME
    saved, finished = checkpoint.open_fold(config, fold_dir)
    if finished is not None:
        _log(verbose, f"fold {split.fold}: already finished ({fold_dir / 'metrics.json'})")
        return finished
    epoch_eval.check_validation(config, split)

    mixed, jit = resolve_auto(config)
    policy = keras.config.dtype_policy().name
    keras.config.set_dtype_policy(dtype_policy(mixed))
    try:
        model, trainer, drop_remainder, steps = compiled_trainer(config, ds, split, jit)
        state, best_weights = _starting_state(config, ds, split, fold_dir, saved, model, trainer,
                                              steps, verbose)
        _log(verbose, f"fold {split.fold}: {len(split.train)} train / {len(split.val)} val / "
                      f"{len(split.test)} test examples; mixed precision {mixed}, XLA {jit}")
        weights = class_weights(config, ds.labels[split.train], ds.num_classes)
        writer = summary_writer(fold_dir / "logs")
        for epoch in range(state["epochs_done"], config.epochs):
            row = _run_epoch(trainer, model, config, ds, split, epoch, weights, verbose,
                             ckpt_path, drop_remainder)
            row["learning_rate"] = row.pop("lr_start")
            finite.check_epoch(trainer, row, len(split.val) > 0, epoch, ckpt_path,
                               row["learning_rate"])
            if epoch_eval.is_better(state, row, split):
                state["best_score"], state["best_epoch"] = row["val_accuracy"], epoch
                best_weights = [keras.ops.convert_to_numpy(w) for w in model.weights]
            state["epochs_done"] = epoch + 1
            state["history"].append(row)
            checkpoint.save_checkpoint(ckpt_path, trainer, state, best_weights)
            artifacts.write_history_csv(fold_dir / "history.csv", state["history"])
            write_scalars(writer, row)
            _log(verbose, _epoch_line(config, epoch, row))
            if deadline is not None and time.monotonic() > deadline and epoch + 1 < config.epochs:
                _log(verbose, f"fold {split.fold}: time limit of {config.time_limit:g} s reached "
                              f"after epoch {epoch + 1} of {config.epochs}; writing the artifacts "
                              "of the best epoch so far (run the same command again to resume)")
                break
        if best_weights is not None:
            model.set_weights(best_weights)
        return write_artifacts(model, config, ds, split, fold_dir, state, verbose)
    finally:
        keras.config.set_dtype_policy(policy)


def dtype_policy(mixed):
    """The Keras dtype policy a fold trains under: "mixed_float16" where `resolve_auto` chose
    mixed precision, else "float32" (tests/test_train_tf_fit.py makes it "float64" to compare the
    engines above float32 rounding)."""
    return "mixed_float16" if mixed else "float32"


def _starting_state(config, ds, split, fold_dir, saved, model, trainer, steps, verbose):
    """(state, best weights) to train from: the checkpoint's (restored into `trainer`), a
    recovered run's (`--recover-from`), or a fresh start; a fold about to train is marked
    incomplete (`resume_rules.start_training`)."""
    from fer_keras.training.device import describe_hardware

    state = {"run_key": config.run_key(), "epochs_done": 0, "best_epoch": -1,
             "best_score": None, "history": []}
    best_weights = None
    if saved is not None:
        checkpoint.restore(trainer, saved)
        resume_rules.apply_learning_rate(trainer.optimizer, saved["changes"],
                                         distribution.scaled_learning_rate(config))
        state, best_weights = saved["state"], saved["best"] or None
        _log(verbose, f"fold {split.fold}: resuming after epoch {state['epochs_done']} "
                      f"(best so far: epoch {state['best_epoch'] + 1})")
    elif config.recover_from:
        state, best_weights = recover.recovered_state(
            config, fold_dir, model, trainer, steps,
            lambda: classification_metrics(
                ds.labels[split.val], predict(model, ds, split.val, config.batch_size,
                                              config.channels), ds.class_names)["accuracy"],
            ds.fingerprint())
        checkpoint.save_checkpoint(fold_dir / checkpoint.FILENAME, trainer, state, best_weights)
        _log(verbose, f"fold {split.fold}: {recover.recovery_note(state)}")
    distribution.note_resume(state, distribution.plan(config))
    if state["epochs_done"] < config.epochs:
        resume_rules.start_training(fold_dir, state, config,
                                    [] if saved is None else saved["changes"],
                                    resume_rules.data_summary(ds))
        recover.note_session(state, describe_hardware()["summary"])
    return state, best_weights


def _epoch_line(config, epoch, row):
    return (f"epoch {epoch + 1}/{config.epochs}: loss {row['loss']:.4f} "
            f"acc {row['accuracy']:.4f} val_loss {row['val_loss']:.4f} "
            f"val_acc {row['val_accuracy']:.4f} lr {row['learning_rate']:.3g}"
            + (f" test_acc {row['test_accuracy']:.4f} (reporting only)"
               if "test_accuracy" in row else "") + f" ({row['time_s']:.1f} s)")


def _run_epoch(trainer, model, config, ds, split, epoch, weights, verbose, ckpt_path,
               drop_remainder=False):
    """One epoch; with `drop_remainder` (compiled steps) the last partial batch is skipped, so the
    XLA-compiled train step sees one batch shape and compiles once (shuffling differs per epoch,
    so every example is still used)."""
    from tqdm.auto import tqdm

    from fer_keras.training.optimizers import current_learning_rate

    start = time.perf_counter()
    lr = current_learning_rate(trainer.optimizer)
    steps = tf_fit.num_steps(len(split.train), config.batch_size, drop_remainder)
    bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch",
               disable=not verbose, leave=False, file=sys.stderr)
    try:
        if tf_fit.use_tf_fit(config):  # engine "fit" (or "auto" on TensorFlow)
            loss, acc = tf_fit.fit_epoch(trainer, config, ds, split.train, epoch, weights,
                                         ckpt_path, lr, bar, drop_remainder)
        elif _fit_backend():
            loss, acc = _fit_epoch(trainer, config, ds, split, epoch, weights, steps,
                                   drop_remainder, bar)
            if not np.isfinite(loss):
                raise_diverged(loss, epoch, ckpt_path, lr)
        else:
            loss, acc = _step_epoch(trainer, config, ds, split, epoch, weights, drop_remainder,
                                    bar, ckpt_path, lr)
    finally:
        bar.close()
    figures = epoch_eval.epoch_figures(
        lambda idx: predict(model, ds, idx, config.batch_size, config.channels), config, ds, split)
    return {"epoch": epoch, "lr_start": lr, "loss": loss, "accuracy": acc, **figures,
            "time_s": time.perf_counter() - start}


def _step_epoch(trainer, config, ds, split, epoch, weights, drop_remainder, bar, ckpt_path, lr):
    """One epoch of `train_on_batch` steps; returns (mean loss, mean accuracy) over its examples.

    A non-finite batch loss stops the run at that batch (`TrainingDiverged`).
    """
    total_loss = total_acc = seen = 0.0
    for step, (x, y) in enumerate(_batches(config, ds, split.train, epoch, drop_remainder)):
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


def _fit_backend():
    """True where one `fit` call per epoch is used instead of `train_on_batch` (JAX).

    JAX's `train_on_batch` copies every variable out of and back into the Keras variables at each
    step (about 25 ms per step for I-MobileNetV2 on an H200, whatever the batch); inside `fit`
    the state stays on the device until the epoch ends. The batches, their order and the
    optimizer steps are the same.
    """
    import keras

    return keras.backend.backend() == "jax"


def _fit_epoch(trainer, config, ds, split, epoch, weights, steps, drop_remainder, bar):
    """One epoch through `trainer.fit`; returns (mean loss, mean accuracy) over its examples."""
    import keras

    plan = distribution.plan(config)

    def batches():  # each process feeds its slice of the global batch (one process: all of it)
        for x, y in _batches(config, ds, split.train, epoch, drop_remainder):
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
