"""The end of a fold: its best weights scored on the evaluation split and written out.

`write_artifacts` writes a fold's metrics.json (with `run_metadata`, the descriptive keys),
model.keras, SavedModel, confusion matrix and curves, and, where the protocol has a validation
split, the temperature fitted on it (`calibration` in metrics.json, `reliability.png`);
`predict` is the batched inference both the loop's epoch figures and the final scores use.
The training engines (`loop`, `jax_engine.runner`) call these once a fold's training ends
(docs/training.md, "Run folder").
"""

import numpy as np

from fer_keras.training import (
    artifacts, distribution, epoch_eval, provenance, recover, resume_rules, stop_request,
)
from fer_keras.training.calibration import calibrate, reliability_diagram, scored
from fer_keras.training.metrics import (
    classification_metrics, plot_confusion_matrix, plot_history,
)


def _log(verbose, *lines):
    if verbose:
        print(*lines, sep="\n", flush=True)


def predict(model, ds, indices, batch_size, channels):
    """Class probabilities (N x K, float32) of the examples, in order, without augmentation.

    The last batch is padded to `batch_size` (and the padding dropped from the output), so a
    compiled predict function sees one input shape and compiles once.
    """
    from fer_keras.data import iterate_batches

    out = []
    for x, _ in iterate_batches(ds, indices, batch_size, training=False, channels=channels):
        n = len(x)
        if n < batch_size:
            x = np.concatenate([x, np.zeros((batch_size - n,) + x.shape[1:], x.dtype)])
        out.append(np.asarray(model.predict_on_batch(x), np.float32)[:n])
    return np.concatenate(out)


def run_metadata(config, ds, split, model):
    """The descriptive keys of metrics.json (everything but the measured numbers)."""
    import fer_keras
    from fer_keras.models import model_summary
    from fer_keras.training.device import describe_hardware

    try:
        size = model_summary(model)
    except Exception:  # noqa: BLE001 - a model the MAC counter does not know
        size = {"params": int(model.count_params())}
    return {
        "dataset": config.dataset, "model": config.model, "protocol": split.protocol,
        "fold": split.fold, "seed": config.seed, "split_seed": config.split_seed,
        "params": int(size.get("params", model.count_params())),
        "size_mb": size.get("size_mb"), "macs": size.get("macs"),
        "config": config.to_dict(), "data_fingerprint": ds.fingerprint(),
        "protocol_notes": list(split.notes), "package_version": fer_keras.__version__,
        "hardware": describe_hardware(),
        "dtype_policy": _dtype_policy(),  # the policy of the session that finished the fold
        "git_revision": artifacts.git_revision(),
    }


def _dtype_policy():
    import keras

    return keras.config.dtype_policy().name


def evaluation_split(split):
    """("test", indices), or ("val", indices) where the protocol has no test examples."""
    if len(split.test):
        return "test", split.test
    return "val", split.val


def continuation_notes(config, state):
    """metrics.json's notes on how the fold's epochs were strung together: a recovery from a
    best-epoch model, carried checkpoints (momentum reset), an early stop."""
    notes = [recover.recovery_note(state)] if state.get("recovered") else []
    if state.get("momentum_resets"):
        notes.append("continued on another machine from a carried checkpoint after epoch(s) "
                     f"{', '.join(map(str, state['momentum_resets']))}: the optimizer's momentum "
                     "restarted at zero there, the one difference from an uninterrupted run")
    if state["epochs_done"] < config.epochs:
        notes.append(f"stopped {stop_request.how_stopped()} after {state['epochs_done']} of "
                     f"{config.epochs} epochs")
    return notes


def write_artifacts(model, config, ds, split, fold_dir, state, verbose):
    """A fold's metrics.json, model.keras, SavedModel and plots, from `model`'s weights."""
    name, indices = evaluation_split(split)
    probs = predict(model, ds, indices, config.batch_size, config.channels)
    measured = classification_metrics(ds.labels[indices], probs, ds.class_names)
    val = val_probs = None
    if len(split.val):
        val_probs = predict(model, ds, split.val, config.batch_size, config.channels)
        val = classification_metrics(ds.labels[split.val], val_probs, ds.class_names)
        val = {k: val[k] for k in ("num_examples", "accuracy", "balanced_accuracy", "macro_f1",
                                   "loss")}
    metrics = {**run_metadata(config, ds, split, model), "epochs_trained": state["epochs_done"],
               "epochs_configured": config.epochs,
               "complete": state["epochs_done"] >= config.epochs,
               "selection": epoch_eval.selection(split),
               "best_epoch": state["best_epoch"] + 1, "split": name, **measured,
               "validation": val, **epoch_eval.test_figures(state["history"]),
               **resume_rules.metrics_entries(state), **provenance.metrics_entry(fold_dir.parent),
               **distribution.metrics_entry(state, distribution.plan(config))}
    metrics["hardware"]["summary"] = recover.hardware_summary(state,
                                                              metrics["hardware"]["summary"])
    from fer_keras.data.audit import empty_class_notes

    metrics.setdefault("notes", []).extend(empty_class_notes(ds)
                                           + continuation_notes(config, state))
    if name == "val":
        metrics.setdefault("notes", []).append(
            "the protocol has no test examples: these are validation figures, the split the best "
            "epoch was chosen on")
    where = f"{config.model} on {config.dataset} ({split.protocol} fold {split.fold}"
    title = f"{where}, {name})"  # the confusion matrix's split; the curves name their own
    artifacts.save_keras_model(model, fold_dir / "model.keras")
    message = artifacts.save_saved_model(model, fold_dir / "saved_model", ds.class_names)
    metrics["saved_model"] = None if message else "saved_model"
    if message:
        metrics.setdefault("notes", []).append(message)
        _log(verbose, message)
    plot_confusion_matrix(measured["confusion_matrix"], ds.class_names,
                          fold_dir / "confusion_matrix.png", title)
    plot_history(state["history"], fold_dir / "curves.png", f"{where})",
                 selected_epoch=state["best_epoch"] + 1)
    if val_probs is not None:  # temperature scaling on the selection split (calibration.py)
        metrics["calibration"] = {**calibrate(ds.labels[split.val], val_probs),
                                  **{key: metrics[key] for key in (
                                      "dataset", "protocol", "fold", "split_seed")}}
        if name == "test":  # out of sample: the validation split's T on the test split
            metrics["calibration"]["test"] = scored(ds.labels[indices], probs,
                                                    metrics["calibration"]["temperature"])
        reliability_diagram(ds.labels[split.val], val_probs,
                            metrics["calibration"]["temperature"],
                            fold_dir / "reliability.png", f"{where}, val)")
    artifacts.write_json(fold_dir / "metrics.json", metrics)
    _log(verbose, f"fold {split.fold}: {name} accuracy {metrics['accuracy']:.4f}, balanced "
                  f"{metrics['balanced_accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f} "
                  f"(best epoch {metrics['best_epoch']}); artifacts in {fold_dir}")
    return metrics
