"""Continuing a run whose resume checkpoint was lost, from its best-epoch `model.keras`.

A run trained on a borrowed machine may come back without its `checkpoint.npz` (the GPU loans
here return files of at most 16 MiB; an I-MobileNetV2 checkpoint is 46 MB), but with its
`metrics.json`, `history.csv` and the best epoch's `model.keras`. `recovered_state` turns those
into the state `train_fold` resumes from:

- training restarts after the **best** epoch B (the only one whose weights exist): epochs B+1
  onwards of the lost run are discarded from the history and trained again;
- the optimizer is fresh: momentum buffers start at zero (as on the first step), and the
  iteration count is set to B epochs of steps so a step learning-rate schedule continues where
  it was; this is the one difference from an uninterrupted run, and metrics.json says so;
- the weights are checked before training: their validation accuracy must match the recorded one
  (within `tolerance`, since the lost run may have used another backend or mixed precision).

The shuffling and augmentation of each epoch are functions of (seed, epoch), so epochs B+1... see
the batches an uninterrupted run would have seen.
"""

import dataclasses
import json
import re
from pathlib import Path

from fer_keras.training import artifacts
from fer_keras.training.config import RECOVER_FREE, TrainConfig
from fer_keras.training.schedule import SCHEDULE_FIELDS, epoch_learning_rate, same_rates

# Values that may differ between the lost run and its continuation (`config.RECOVER_FREE`):
# TrainConfig's bookkeeping, the preset's name, and where the same data was read from (a folder
# or a pack: the data fingerprint is compared instead).
_BOOKKEEPING = RECOVER_FREE


class RecoveryError(ValueError):
    """The run cannot be continued from the given model (names the mismatch)."""


def schedule_change(config, metrics, kept_epochs):
    """The learning-rate schedule fields `config` changes from the lost run's, when the new
    schedule gives each of the `kept_epochs` epochs the rate it was trained at (so the kept
    history is the new schedule's history too): {field: [old, new]}; {} when none changed.

    Raises:
        RecoveryError: the schedule changed the rate of an epoch that is kept.
    """
    saved = {**TrainConfig().to_dict(), **metrics.get("config", {})}
    new = config.to_dict()
    changed = {k: [saved.get(k), new[k]] for k in SCHEDULE_FIELDS if saved.get(k) != new[k]}
    if not changed:
        return {}
    old = dataclasses.replace(config, **{k: saved.get(k) for k in SCHEDULE_FIELDS},
                              epochs=saved.get("epochs") or config.epochs)
    if not same_rates(old, config, kept_epochs):
        first = next(e for e in range(kept_epochs)
                     if epoch_learning_rate(old, e) != epoch_learning_rate(config, e))
        listed = ", ".join(f"{k}={v[1]!r}" for k, v in changed.items())
        raise RecoveryError(
            f"the new learning-rate schedule ({listed}) gives epoch {first + 1} the rate "
            f"{epoch_learning_rate(config, first):.4g}, which "
            f"the lost run trained at {epoch_learning_rate(old, first):.4g}: a continuation "
            "may change the schedule only after the epochs it keeps")
    return changed


def check_compatible(config, metrics, fingerprint, kept_epochs=0):
    """Raises RecoveryError unless `config` continues the run `metrics` describes (a schedule
    change that keeps the rates of the first `kept_epochs` epochs is allowed:
    `schedule_change`)."""
    old = {k: v for k, v in metrics.get("config", {}).items() if k not in _BOOKKEEPING}
    new = {k: v for k, v in config.to_dict().items() if k not in _BOOKKEEPING}
    differing = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k)
                       and k not in SCHEDULE_FIELDS
                       and not (k not in old and new[k] == getattr(TrainConfig(), k)))
    schedule_change(config, metrics, kept_epochs)
    if differing:
        k = differing[0]
        raise RecoveryError(f"the lost run was configured with {k}={old.get(k)!r}, this one "
                            f"with {k}={new.get(k)!r}; a continuation must match it")
    if metrics.get("data_fingerprint") != fingerprint:
        raise RecoveryError(f"the lost run's data fingerprint is {metrics.get('data_fingerprint')}"
                            f", this data's is {fingerprint}: not the same data")


def recovered_state(config, fold_dir, model, trainer, steps_per_epoch, validation_accuracy,
                    fingerprint, tolerance=0.01):
    """Loads the best-epoch weights into `model` and returns (state, best_weights) to resume.

    Args:
        config: the continuation's TrainConfig (`config.recover_from` names the model.keras or
            the folder holding it).
        fold_dir: the lost run's fold folder, with its metrics.json and history.csv and without
            a checkpoint.
        model: the freshly built model (weights are copied into it).
        trainer: the compiled model the optimizer belongs to (shares `model`'s weights).
        steps_per_epoch: optimizer steps per epoch of this continuation.
        validation_accuracy: a function of no arguments returning `model`'s validation accuracy.
        fingerprint: the data's fingerprint (must equal the lost run's).
        tolerance: allowed |measured - recorded| validation accuracy.

    Raises:
        RecoveryError: no metrics/history, a different configuration or data, a model that does
            not fit, or weights whose validation accuracy is not the recorded best.
    """
    import keras

    from fer_keras.training.weights import find_model_file, load_source_model, transfer_weights

    fold_dir = Path(fold_dir)
    metrics_path, history_path = fold_dir / "metrics.json", fold_dir / "history.csv"
    for path in (metrics_path, history_path):
        if not path.is_file():
            raise RecoveryError(f"cannot recover {fold_dir}: {path.name} is missing")
    metrics = json.loads(metrics_path.read_text())
    best = int(metrics["best_epoch"])  # 1-based
    check_compatible(config, metrics, fingerprint, kept_epochs=best)
    history = artifacts.read_history_csv(history_path)
    if len(history) < best:
        raise RecoveryError(f"{history_path} has {len(history)} epochs, fewer than the best "
                            f"epoch {best} recorded in metrics.json")
    try:
        source_path = find_model_file(config.recover_from, "recover_from")
        source = load_source_model(source_path, "recover_from")
    except ValueError as err:
        raise RecoveryError(str(err)) from None
    copied = set(transfer_weights(source, model))
    missing = [layer.name for layer in model.layers if layer.weights and layer.name not in copied]
    if missing:
        raise RecoveryError(f"{source_path}: layer {missing[0]!r} is missing or has other shapes; "
                            "not a model of this run")
    measured = float(validation_accuracy())
    recorded = float(history[best - 1]["val_accuracy"])
    if abs(measured - recorded) > tolerance:
        raise RecoveryError(f"{source_path} has validation accuracy {measured:.4f}, the run's "
                            f"best epoch {best} had {recorded:.4f}: not that epoch's weights")
    trainer.optimizer.iterations.assign(best * steps_per_epoch)
    old_hardware = metrics.get("hardware", {}).get("summary", "unknown")
    state = {
        "run_key": config.run_key(), "epochs_done": best, "best_epoch": best - 1,
        "best_score": recorded, "history": history[:best],
        "hardware": _clipped(_parsed(old_hardware), best),
        "recovered": {
            "from": str(source_path), "after_epoch": best,
            # history.csv is written every epoch, metrics.json only when a session ends well
            "discarded_epochs": max(len(history), int(metrics["epochs_trained"])) - best,
            "validation_accuracy": {"recorded": recorded, "measured": measured},
            "lost_run_git_revision": metrics.get("git_revision"),
            "schedule_change": schedule_change(config, metrics, best),
        },
    }
    return state, [keras.ops.convert_to_numpy(w) for w in model.weights]


def recovery_note(state):
    """The metrics.json note of a recovered run (None for a run that was never recovered)."""
    info = state.get("recovered")
    if not info:
        return None
    return (f"continued from the best-epoch weights of a run whose checkpoint was lost "
            f"({info['from']}, epoch {info['after_epoch']}; validation accuracy "
            f"{info['validation_accuracy']['measured']:.4f} re-measured against "
            f"{info['validation_accuracy']['recorded']:.4f} recorded): the "
            f"{info['discarded_epochs']} later epoch(s) of that run were discarded and trained "
            f"again, and the optimizer restarted with zero momentum at epoch "
            f"{info['after_epoch'] + 1} (learning-rate schedule continued)"
            + _schedule_note(info.get("schedule_change"), info["after_epoch"]))


def _schedule_note(changed, after_epoch):
    if not changed:
        return ""
    listed = ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in changed.items())
    return (f"; the learning-rate schedule changed from epoch {after_epoch + 1} on ({listed}), "
            f"giving the {after_epoch} kept epochs the rates they were trained at")


_RANGE = re.compile(r" \(epochs (\d+)-(\d+)\)$")


def _parsed(summary):
    """`hardware_summary`'s "A (epochs 1-19); B (epochs 20-50)" back into segments, each with
    its last epoch. A summary without epochs is one segment from epoch 1. Summaries written
    before recovered runs kept their segments nest ("B (epochs 20-50) (epochs 1-50)": B trained
    20-50 of the segment 1-50): the first range starts the segment, the smallest end ends it."""
    segments = []
    for part in summary.split("; "):
        ranges = []
        while match := _RANGE.search(part):
            ranges.insert(0, (int(match[1]), int(match[2])))
            part = part[:match.start()]
        first, last = (ranges[0][0], min(end for _, end in ranges)) if ranges else (1, None)
        segments.append({"first_epoch": first, "summary": part, "last_epoch": last})
    return segments


def _clipped(segments, last_epoch):
    """`segments` (with "last_epoch" or not) cut at `last_epoch`, nested summaries expanded,
    neighbours on the same machine merged: [{"first_epoch", "summary"}]."""
    flat = []
    for i, seg in enumerate(segments):
        end = min(seg.get("last_epoch") or last_epoch,
                  segments[i + 1]["first_epoch"] - 1 if i + 1 < len(segments) else last_epoch)
        for sub in _parsed(seg["summary"]):
            first = max(sub["first_epoch"], seg["first_epoch"])
            sub_end = min(sub["last_epoch"] or end, end)
            if first <= sub_end and (not flat or flat[-1]["summary"] != sub["summary"]):
                flat.append({"first_epoch": first, "summary": sub["summary"]})
    return flat


def hardware_summary(state, current):
    """`current`'s summary, or "A (epochs 1-19); B (epochs 20-50)" when the run's epochs were
    trained on more than one kind of machine."""
    segments = _clipped(state.get("hardware") or [], state["epochs_done"])
    if len({s["summary"] for s in segments} | {current}) <= 1:
        return current
    parts = []
    for i, seg in enumerate(segments):
        last = (segments[i + 1]["first_epoch"] - 1 if i + 1 < len(segments)
                else state["epochs_done"])
        parts.append(f"{seg['summary']} (epochs {seg['first_epoch']}-{last})")
    return "; ".join(parts)


def note_session(state, summary):
    """Records that epochs from `epochs_done + 1` on are trained on `summary`'s machine
    (consecutive sessions on the same kind of machine make one segment)."""
    segments = state.setdefault("hardware", [])
    if not segments or segments[-1]["summary"] != summary:
        segments.append({"first_epoch": state["epochs_done"] + 1, "summary": summary})


__all__ = ["RecoveryError", "check_compatible", "schedule_change", "hardware_summary",
           "note_session", "recovered_state", "recovery_note"]
