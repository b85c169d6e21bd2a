"""A run folder is one configuration: what a later `train` on the same folder may change.

A run folder's `config.json` is the configuration its checkpoints and artifacts came from. A
later call on the folder resumes it only when its whole resolved configuration is the same, with
these exceptions (docs/training.md, "Resuming"):

- bookkeeping that does not change what is trained: `output`, `folds` (which folds this call
  runs), `time_limit`, `engine`, `models_together`, `recover_from`, `extend`, `preset` and
  `overridden` (where the values came from);
- `epochs` larger than before, with `extend=True` (`--extend`): a finished or stopped run is
  continued to the new length (recorded in metrics.json's `resume_changes`);
- with `recover_from`, only the epochs rule applies here: `recover.check_compatible` compares
  the rest with the lost run's metrics.json;
- `learning_rate`, after a divergence (a fold holds `diverged.json`): the run continues from the
  last good epoch at the new rate (recorded in metrics.json's `resume_changes`).

Anything else is refused with the differing fields listed. A folder holding only config.json
(no fold checkpoint or metrics) has nothing to mix and takes the new configuration.

metrics.json (per fold) and summary.json / summary.md (per run) mean "complete": they are removed
the moment a fold resumes training (`start_training`) and written again when it ends.
"""

import json
from pathlib import Path

from fer_keras.training import artifacts
from fer_keras.training.config import RESUME_FREE, TrainConfig

# Fields config.json may change between sessions of one run (`config.RESUME_FREE`, declared by
# the fields' metadata): TrainConfig's bookkeeping fields (how a run is spread over devices and
# hosts included: metrics.json's `distribution.notes` records such a change) and `preset`. The
# bookkeeping fields marked `on_resume="checked"` are still checked here: `epochs` (more only
# with --extend, in `check_run_config`), `init` (the starting weights of a fold already trained)
# and `test_each_epoch` (history.csv's columns).
BOOKKEEPING = RESUME_FREE
DIVERGED_NAME = "diverged.json"
SUMMARY_NAMES = ("summary.json", "summary.md")


def _has_training_state(run_dir):
    return any((fold / name).exists() for fold in Path(run_dir).glob("fold_*")
               for name in ("checkpoint.npz", "metrics.json"))


def _diverged(run_dir):
    return any(Path(run_dir).glob(f"fold_*/{DIVERGED_NAME}"))


def check_run_config(run_dir, config, busy=None):
    """Raises ValueError when `config` may not continue the run in `run_dir`; returns None.

    The check is against `run_dir/config.json` (fields it lacks take TrainConfig's defaults).
    `busy` ({fold: pid}, from `run_lock`): folds other processes train now; their config.json
    counts even before their first checkpoint.
    """
    path = Path(run_dir) / "config.json"
    if not path.is_file() or not (busy or _has_training_state(run_dir)):
        return
    try:
        saved = {**TrainConfig().to_dict(), **json.loads(path.read_text())}
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not readable JSON ({err}); remove the folder or choose "
                         "another --output") from None
    new = config.to_dict()
    differing = [k for k in new if k not in BOOKKEEPING
                 and json.dumps(saved.get(k), sort_keys=True, default=str)
                 != json.dumps(new[k], sort_keys=True, default=str)]
    refused, hints = [], []
    for key in differing:
        if config.recover_from and key != "epochs":
            continue  # recover.check_compatible compares the rest with the lost run's metrics
        if key == "epochs" and config.extend and new[key] > saved[key]:
            continue
        if key == "learning_rate" and _diverged(run_dir):
            continue
        refused.append(f"{key} (config.json {saved.get(key)!r}, now {new[key]!r})")
        if key == "epochs" and new[key] > saved[key]:
            hints.append(f"pass --extend to continue it to {new[key]} epochs")
        if key == "learning_rate":
            hints.append("the learning rate may change on resume only after a divergence")
    if refused:
        training = "".join(f" (pid {pid} is training fold {k} in it now)"
                           for k, pid in sorted((busy or {}).items()))
        raise ValueError(
            f"{run_dir} holds a run with another configuration{training}; differing: "
            f"{'; '.join(refused)}. A run folder holds one configuration: "
            + "; ".join(hints + ["choose another --output, or delete the folder to start "
                                 "again"]))


def check_fold_state(state, config, fold_dir):
    """Compares a fold checkpoint's state with `config`; returns the changes to record.

    Returns:
        a list of {"field", "from", "to", "after_epoch"} dicts (empty when nothing changed).

    Raises:
        ValueError: another configuration, or more epochs trained than configured.
    """
    saved = json.loads(state["run_key"])
    new = json.loads(config.run_key())
    changes = []
    differing = sorted(k for k in set(saved) | set(new) if saved.get(k) != new.get(k))
    if differing == ["learning_rate"] and (Path(fold_dir) / DIVERGED_NAME).exists():
        changes.append(_change("learning_rate", saved["learning_rate"], config.learning_rate,
                               state, "continued after a divergence"))
    elif differing:
        listed = "; ".join(f"{k} ({saved.get(k)!r}, now {new.get(k)!r})" for k in differing)
        raise ValueError(f"{fold_dir} holds a run with another configuration; differing: "
                         f"{listed}. Choose another --output (or delete the folder to start "
                         "again)")
    done, configured = state["epochs_done"], state.get("epochs", config.epochs)
    if done > config.epochs:
        raise ValueError(f"{fold_dir} has trained {done} epochs, more than --epochs "
                         f"{config.epochs}; a run folder holds one configuration: choose another "
                         "--output")
    if configured != config.epochs:
        if not (config.extend and config.epochs > configured):
            raise ValueError(f"{fold_dir} was configured for {configured} epochs, not "
                             f"{config.epochs}; pass --extend to continue it to more epochs, or "
                             "choose another --output")
        changes.append(_change("epochs", configured, config.epochs, state, "--extend"))
    return changes


def _change(field, old, new, state, reason):
    return {"field": field, "from": old, "to": new, "after_epoch": state["epochs_done"],
            "reason": reason}


def data_summary(ds):
    """What a fold records of its data, to compare on resume: fingerprint, size, class counts."""
    import numpy as np

    counts = np.bincount(np.asarray(ds.labels), minlength=len(ds.class_names))
    return {"fingerprint": ds.fingerprint(), "num_examples": int(len(ds.labels)),
            "class_counts": {n: int(c) for n, c in zip(ds.class_names, counts)}}


def check_data(state, data, config, fold_dir):
    """Refuses to resume a fold on other data than it was trained on (`data`: `data_summary`).

    The fold's checkpoint state records the data it started on; a different fingerprint (files
    added, removed, relabelled or edited under the same --data-dir) is refused with what changed,
    unless `config.accept_data_change`, which records the change in metrics.json's
    `resume_changes`. A checkpoint of an older version (no record) starts recording now.
    """
    saved = state.get("data")
    if saved is not None and saved["fingerprint"] != data["fingerprint"]:
        what = _data_difference(saved, data)
        if not config.accept_data_change:
            raise ValueError(
                f"{fold_dir} was trained on other data than {config.data_dir or config.dataset} "
                f"holds now ({what}; fingerprint {saved['fingerprint']} -> "
                f"{data['fingerprint']}). Resuming would train one run on two datasets: restore "
                "the data, choose another --output, or pass --accept-data-change to continue on "
                "the new data (recorded in metrics.json)")
        state.setdefault("resume_changes", []).append(_change(
            "data", saved["fingerprint"], data["fingerprint"], state,
            f"the data changed ({what}); accepted with --accept-data-change"))
    state["data"] = data


def _data_difference(old, new):
    parts = []
    if old["num_examples"] != new["num_examples"]:
        parts.append(f"{old['num_examples']} images before, {new['num_examples']} now")
    changed = [f"{k} {old['class_counts'].get(k, 0)} -> {v}"
               for k, v in new["class_counts"].items() if old["class_counts"].get(k, 0) != v]
    if changed:
        parts.append("class counts " + ", ".join(changed[:7]))
    return "; ".join(parts) or "the same counts, other images or labels"


def start_training(fold_dir, state, config, changes, data=None):
    """Called when a fold is about to train: the run is no longer complete.

    Checks that the data is the data the fold was trained on (`check_data`, when `data` is
    given), removes the fold's metrics.json, the run's summary files and the divergence marker,
    and records `changes` and the configured epochs in `state` (saved with the next checkpoint).
    """
    fold_dir = Path(fold_dir)
    if data is not None:
        check_data(state, data, config, fold_dir)
    for path in (fold_dir / "metrics.json", fold_dir / DIVERGED_NAME,
                 *(fold_dir.parent / name for name in SUMMARY_NAMES)):
        artifacts.remove(path)
    state.setdefault("resume_changes", []).extend(changes)
    state["epochs"] = config.epochs
    state["run_key"] = config.run_key()


def metrics_entries(state):
    """metrics.json's record of what changed on resume ({} when nothing did)."""
    changes = state.get("resume_changes")
    return {"resume_changes": changes} if changes else {}


def apply_learning_rate(optimizer, changes, learning_rate):
    """After `checkpoint.restore`, puts the new constant learning rate into the optimizer (a
    schedule is rebuilt from the configuration and needs nothing)."""
    import keras

    if any(c["field"] == "learning_rate" for c in changes) and isinstance(
            optimizer._learning_rate, keras.Variable):
        optimizer.learning_rate = learning_rate


def default_folder_suffix(config):
    """'-epochsN' when the configured epochs differ from the preset's (`config.preset_epochs`,
    recorded by `resolve_config`), else ''.

    A short trial (`--epochs 2`) gets its own default run folder instead of sharing the full
    run's, which would otherwise continue the trial or hold its results.
    """
    if config.preset_epochs is None or config.preset_epochs == config.epochs:
        return ""
    return f"-epochs{config.epochs}"
