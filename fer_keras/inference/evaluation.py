"""A trained model (any artifact) scored on a split of a dataset, as `metrics.json` scores it.

The protocol, fold, split seed and data come from the run the model belongs to
(`fer_keras.data.run_split.rebuild_split` over its metrics.json), so the numbers reproduce
`metrics.json`; arguments override them. The model is loaded by `fer_keras.inference.loading`,
the one loader behind `evaluate`, `predict` and `Predictor`.
"""

import json
from pathlib import Path

import numpy as np

_MEASURED = ("num_examples", "accuracy", "balanced_accuracy", "macro_f1", "loss", "per_class",
             "class_names", "confusion_matrix")


def run_info(model_path):
    """The metrics.json of the fold the model belongs to, or {}."""
    path = Path(model_path)
    folder = path if path.is_dir() and not (path / "saved_model.pb").exists() else path.parent
    metrics = folder / "metrics.json"
    return json.loads(metrics.read_text()) if metrics.exists() else {}


def evaluate_model(model_path, dataset=None, data_dir=None, split="test", protocol=None,
                   fold=None, split_seed=None, channels=None, dataset_options=None,
                   batch_size=64, plot_path=None, map_labels=False, trust_saved_model=False,
                   class_names=None):
    """Evaluates one artifact on one split; returns a dict with the keys of `metrics.json`.

    Arguments left as None come from the run the model belongs to (its metrics.json), then
    from the defaults (the dataset's default protocol, fold 0, split seed 0, the model's input
    channels). A confusion-matrix PNG is written only when `plot_path` is given. The model's
    class names must be the dataset's (in any order), or `map_labels` maps them by emotion
    (`fer_keras.inference.class_check`); `class_names` names the outputs of a model that
    carries none (`class_check.parse_class_names`); an untrusted SavedModel is refused unless
    `trust_saved_model` (`fer_keras.inference.trust`).
    """
    from fer_keras.training.metrics import classification_metrics, plot_confusion_matrix

    info = run_info(model_path)
    loaded, rebuilt = _load_split(model_path, info, dataset, data_dir, protocol, fold,
                                  split_seed, dataset_options, trust_saved_model, class_names)
    labels, probs, note = _probabilities(loaded, rebuilt, split, channels, batch_size,
                                         map_labels)
    ds, s = rebuilt.dataset, rebuilt.split
    measured = classification_metrics(labels, probs, ds.class_names)
    out = {k: v for k, v in info.items() if k not in _MEASURED and k != "notes"}
    if note:
        out["notes"] = [note]
    out.update({"dataset": rebuilt.dataset_name, "protocol": s.protocol, "fold": s.fold,
                "split_seed": rebuilt.split_seed, "split": split, "artifact": loaded.format,
                "model_path": str(model_path), "data_fingerprint": ds.fingerprint(),
                **measured})
    if loaded.keras_model is not None and "params" not in out:
        out["params"] = int(loaded.keras_model.count_params())
    if plot_path:
        plot_confusion_matrix(measured["confusion_matrix"], ds.class_names, plot_path,
                              f"{out.get('model', Path(model_path).name)} on "
                              f"{rebuilt.dataset_name} ({s.protocol} fold {s.fold}, {split})")
    return out


def _load_split(model_path, info, dataset, data_dir, protocol, fold, split_seed,
                dataset_options, trust_saved_model, class_names):
    """(loaded model, rebuilt split) of a model and the run it belongs to."""
    from fer_keras.data.run_split import rebuild_split
    from fer_keras.inference.loading import load_model

    rebuilt = rebuild_split(info, dataset, data_dir, protocol, fold, split_seed, dataset_options)
    loaded = load_model(model_path, trust_saved_model=trust_saved_model, class_names=class_names)
    return loaded, rebuilt


def _probabilities(loaded, rebuilt, split, channels=None, batch_size=64, map_labels=False):
    """(labels, the model's own probabilities, class note) of one split: what `evaluate_model`
    scores and `calibrate_model` fits on."""
    from fer_keras.data import iterate_batches

    if split not in ("val", "test"):
        raise ValueError(f"split must be 'val' or 'test', got {split!r}")
    ds, s = rebuilt.dataset, rebuilt.split
    indices = rebuilt.indices(split)
    if len(indices) == 0:
        raise ValueError(f"the {split} split of '{s.protocol}' fold {s.fold} is empty"
                         + ("; use --split val" if split == "test" else ""))
    channels = channels or loaded.input_shape[-1]
    probs = np.concatenate([loaded.predict(x) for x, _ in iterate_batches(
        ds, indices, batch_size, training=False, channels=channels)])
    return _align_classes(loaded, probs, ds, indices, map_labels)


def calibrate_model(model_path, dataset=None, data_dir=None, split="val", protocol=None,
                    fold=None, split_seed=None, channels=None, dataset_options=None,
                    batch_size=64, figure=None, class_names=None):
    """Temperature scaling of a trained model on `split` of its run's data (by default the
    validation split it was selected on): the `calibration` dict of
    `fer_keras.training.calibration.calibrate`, with `dataset`, `protocol`, `fold` and
    `split_seed` added, and, fitting on val where the protocol has a test split, `test`: that
    T's ECE and NLL before and after on the test split (out of sample). `figure`: reliability
    diagrams before and after on the fitting split, written there. Nothing else is written
    (`python -m fer_keras.calibrate --write` stores the result with the model). The model's own
    outputs are fitted, never already calibrated ones. Other arguments as `evaluate_model`'s.
    """
    from fer_keras.training.calibration import calibrate, reliability_diagram, scored

    info = run_info(model_path)
    loaded, rebuilt = _load_split(model_path, info, dataset, data_dir, protocol, fold,
                                  split_seed, dataset_options, False, class_names)
    labels, probs, _ = _probabilities(loaded, rebuilt, split, channels, batch_size)
    s = rebuilt.split
    result = {**calibrate(labels, probs, split), "dataset": rebuilt.dataset_name,
              "protocol": s.protocol, "fold": s.fold, "split_seed": rebuilt.split_seed}
    t = result["temperature"]
    if split == "val" and len(rebuilt.indices("test")):
        result["test"] = scored(*_probabilities(loaded, rebuilt, "test", channels,
                                                batch_size)[:2], t)
    if figure:
        reliability_diagram(labels, probs, t, figure,
                            f"{info.get('model', Path(model_path).name)} on "
                            f"{rebuilt.dataset_name} ({s.protocol} fold {s.fold}, {split})")
    return result


def _align_classes(loaded, probs, ds, indices, map_labels):
    """(labels, probabilities, note): as they are (note None) when the model's classes are the
    dataset's, else the examples kept, in the dataset's classes, and what was done."""
    from fer_keras.inference.class_check import class_alignment

    labels = ds.labels[indices]
    known = not loaded.class_names_source.startswith("default")
    align = class_alignment(loaded.class_names if known else None, ds.class_names,
                            probs.shape[1], map_labels, loaded.class_names_source)
    if align is None:
        return labels, probs, None
    keep = align.known_classes()[labels]
    return labels[keep], align.probabilities(probs)[keep], align.note(int((~keep).sum()))


def find_fold_models(run_dir, artifact="keras"):
    """The model of every `fold_K` in a run folder, in fold order."""
    run_dir = Path(run_dir)
    name = "model.keras" if artifact == "keras" else "saved_model"
    folds = sorted((p for p in run_dir.glob("fold_*") if (p / name).exists()),
                   key=lambda p: int(p.name.split("_")[1]))
    return [p / name for p in folds]


def evaluate_run(run_dir, artifact="keras", plot_path=None, **kwargs):
    """Every fold of a run: (list of per-fold dicts, {metric: {mean, std, values}}).

    `plot_path`: the folds' confusion matrices summed (each test example of every fold counted
    once) written there as one PNG."""
    from fer_keras.training.metrics import plot_confusion_matrix, summarize_folds

    models = find_fold_models(run_dir, artifact)
    if not models:
        want = "model.keras" if artifact == "keras" else "saved_model"
        raise ValueError(f"{run_dir}: no fold_K/{want}")
    results = [evaluate_model(m, fold=None, **kwargs) for m in models]
    if plot_path:
        first = results[0]
        pooled = sum(np.asarray(r["confusion_matrix"]) for r in results)
        plot_confusion_matrix(pooled, first["class_names"], plot_path,
                              f"{Path(run_dir).name} on {first['dataset']} ({first['protocol']}, "
                              f"{len(results)} folds summed, {first['split']})")
    return results, summarize_folds(results)
