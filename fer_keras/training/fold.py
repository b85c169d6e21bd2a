"""One fold's life, the same for every engine (docs/architecture.md, "The fold lifecycle").

    fold = Fold.open(config, ds, split, fold_dir)   # a Fold, or the finished fold's metrics
    fold.start(model, trainer, steps, note)         # resume, recover or start fresh
    while fold.training:
        row = <the engine trains one epoch>         # loss, accuracy, val_* (epoch_eval), time_s
        fold.end_epoch(row, trainer, best_weights)  # checks, selection, checkpoint, history
        if fold.out_of_time(deadline): break
    metrics = fold.finish(model)                    # metrics.json, model.keras, plots

An engine (`fer_keras.training.engines`) only trains epochs and measures them; everything a run
folder holds is written here, so a fold trained by one engine resumes under another.

The fold's bookkeeping `state` is the dict the checkpoint stores as JSON (`new_state`):

    run_key           the configuration the fold's checkpoints belong to (`TrainConfig.run_key`)
    epochs_done       epochs trained; the next epoch to train (0-based)
    best_epoch        the selected epoch (0-based; -1 before the first), best_score its val_accuracy
    history           one row per epoch (history.csv)
    epochs            the configured epochs when the fold last started (`resume_rules`)
    resume_changes    what changed on resume (`resume_rules.check_fold_state`)
    data              the data the fold trains on (`resume_rules.data_summary`)
    distribution      the replica plan, distribution_notes its changes (`distribution`)
    recovered, hardware   a recovered run's origin and the sessions' hardware (`recover`)
"""

import dataclasses
import time
from pathlib import Path

from fer_keras.training import (
    artifacts, checkpoint, distribution, epoch_eval, finite, recover, resume_rules, stop_request,
)


def _log(verbose, *lines):
    if verbose:
        print(*lines, sep="\n", flush=True)


def new_state(config):
    """The bookkeeping of a fold that has not trained (see the module docstring)."""
    return {"run_key": config.run_key(), "epochs_done": 0, "best_epoch": -1,
            "best_score": None, "history": []}


def past(deadline):
    """True once `deadline` (a `time.monotonic()` value, or None for none) has passed, or a stop
    was requested (`stop_request`: SIGTERM)."""
    return stop_request.requested() or (deadline is not None and time.monotonic() > deadline)


@dataclasses.dataclass
class Fold:
    """One fold folder being trained: its configuration, data, split, state and best weights.

    `ds` is the fold's data (`split_dataset`); `saved` the checkpoint read by `open` until
    `start` has used it; `stopped` marks a fold an engine stopped early (a divergence while other
    folds of its program go on).
    """

    config: object
    ds: object
    split: object
    fold_dir: Path
    state: dict = None
    saved: dict = None
    best_weights: list = None
    stopped: bool = False
    writer: object = None

    @classmethod
    def open(cls, config, ds, split, fold_dir, verbose=1):
        """A Fold to train, or the fold's metrics dict when it is already finished.

        Raises:
            ValueError: the checkpoint belongs to another configuration or is corrupt
                (`checkpoint.open_fold`), or the split has no validation examples and
                `validation="none"` was not asked for (`epoch_eval.check_validation`).
        """
        from fer_keras.data import split_dataset

        fold_dir = Path(fold_dir)
        if artifacts.writes():  # not in a distributed run's other processes
            fold_dir.mkdir(parents=True, exist_ok=True)
        saved, finished = checkpoint.open_fold(config, fold_dir)
        if finished is not None:
            _log(verbose, f"fold {split.fold}: already finished ({fold_dir / 'metrics.json'})")
            return finished
        epoch_eval.check_validation(config, split)
        return cls(config, split_dataset(split, ds), split, fold_dir, new_state(config), saved)

    @property
    def ckpt_path(self):
        return self.fold_dir / checkpoint.FILENAME

    @property
    def training(self):
        """True while epochs remain and no engine stopped the fold."""
        return not self.stopped and self.state["epochs_done"] < self.config.epochs

    @property
    def epoch(self):
        """The next epoch to train (0-based)."""
        return self.state["epochs_done"]

    def start(self, model, trainer, steps, note, verbose=1):
        """Resumes from the checkpoint, recovers from `config.recover_from`, or starts fresh.

        Args:
            model: the built model (fresh variables); trainer: its compiled logits model, whose
                optimizer is built (`model_setup.compile_trainer`): the checkpoint is restored
                into it, and a recovered run's weights are copied into `model`.
            steps: optimizer steps per epoch (a recovered run's optimizer iterations).
            note: the engine's words for the fold's start line (precision, XLA, ...).
        """
        from fer_keras.training.device import describe_hardware
        from fer_keras.training.fold_report import predict
        from fer_keras.training.metrics import classification_metrics

        config, ds, split = self.config, self.ds, self.split
        changes = [] if self.saved is None else self.saved["changes"]
        if self.saved is not None:
            checkpoint.restore(trainer, self.saved)
            resume_rules.apply_learning_rate(trainer.optimizer, changes,
                                             distribution.scaled_learning_rate(config))
            self.state, self.best_weights = self.saved["state"], self.saved["best"] or None
            self.state["history"] = artifacts.one_based(self.state["history"])
            if self.saved.get("carried"):  # momentum restarted at zero after this epoch
                resets = self.state.setdefault("momentum_resets", [])
                resets += [] if self.epoch in resets else [self.epoch]
            _log(verbose, f"fold {split.fold}: resuming after epoch {self.epoch} "
                          f"(best so far: epoch {self.state['best_epoch'] + 1})"
                          + (f" from {checkpoint.CARRIED}, momentum restarting at zero"
                             if self.saved.get("carried") else ""))
        elif config.recover_from:
            self.state, self.best_weights = recover.recovered_state(
                config, self.fold_dir, model, trainer, steps,
                lambda: classification_metrics(
                    ds.labels[split.val], predict(model, ds, split.val, config.batch_size,
                                                  config.channels), ds.class_names)["accuracy"],
                ds.fingerprint())
            checkpoint.save_checkpoint(self.ckpt_path, trainer, self.state, self.best_weights)
            _log(verbose, f"fold {split.fold}: {recover.recovery_note(self.state)}")
        self.saved = None
        distribution.note_resume(self.state, distribution.plan(config))
        if self.training:
            resume_rules.start_training(self.fold_dir, self.state, config, changes,
                                        resume_rules.data_summary(ds))
            recover.note_session(self.state, describe_hardware()["summary"])
        _log(verbose, f"fold {split.fold}: {len(split.train)} train / {len(split.val)} val / "
                      f"{len(split.test)} test examples; {note}")

    def end_epoch(self, row, trainer, best_weights, verbose=1):
        """The end of an epoch: the finiteness check (`finite.check_epoch`, which raises
        TrainingDiverged before anything is selected or saved), the selected epoch (validation
        only, `epoch_eval.is_better`), the checkpoint, history.csv, TensorBoard and the epoch line.

        Args:
            row: the epoch's figures: loss, accuracy, val_* and test_* (`epoch_eval`),
                learning_rate, time_s.
            trainer: the compiled model holding this fold's variables now.
            best_weights: a function returning the model's weights as arrays (called only when
                this epoch becomes the selected one).
        """
        from fer_keras.training.tensorboard import summary_writer, write_scalars

        state, epoch = self.state, self.epoch
        row = {"epoch": epoch + 1, **row}  # history.csv counts from 1
        finite.check_epoch(trainer, row, len(self.split.val) > 0, epoch, self.ckpt_path,
                           row["learning_rate"])
        if epoch_eval.is_better(state, row, self.split):
            state["best_score"], state["best_epoch"] = row["val_accuracy"], epoch
            self.best_weights = best_weights()
        state["epochs_done"] = epoch + 1
        state["history"].append(row)
        checkpoint.save_checkpoint(self.ckpt_path, trainer, state, self.best_weights)
        artifacts.write_history_csv(self.fold_dir / "history.csv", state["history"])
        if self.writer is None:
            self.writer = summary_writer(self.fold_dir / "logs")
        write_scalars(self.writer, row)
        _log(verbose, self.epoch_line(row))

    def epoch_line(self, row):
        return (f"fold {self.split.fold} epoch {row['epoch']}/{self.config.epochs}: loss "
                f"{row['loss']:.4f} acc {row['accuracy']:.4f} val_loss {row['val_loss']:.4f} "
                f"val_acc {row['val_accuracy']:.4f} lr {row['learning_rate']:.3g}"
                + (f" test_acc {row['test_accuracy']:.4f} (reporting only)"
                   if "test_accuracy" in row else "") + f" ({row['time_s']:.1f} s)")

    def out_of_time(self, deadline, verbose=1):
        """True (with a note) when the deadline has passed while epochs remain."""
        if not (self.training and past(deadline)):
            return False
        _log(verbose, f"fold {self.split.fold}: {stop_request.reason(self.config.time_limit)} "
                      f"after epoch {self.epoch} of {self.config.epochs}; writing the "
                      "artifacts of the best epoch so far (run the same command again to resume)")
        return True

    def finish(self, model, verbose=1):
        """Loads the selected epoch's weights into `model` and writes the fold's artifacts
        (`fold_report.write_artifacts`); returns its metrics dict."""
        from fer_keras.training.fold_report import write_artifacts

        if self.best_weights is not None:
            model.set_weights(self.best_weights)
        return write_artifacts(model, self.config, self.ds, self.split, self.fold_dir,
                               self.state, verbose)
