"""`python -m fer_keras.evaluate`: a trained model (either artifact) on a split of a dataset.

    python -m fer_keras.evaluate --model runs/demo/fold_0/model.keras --dataset synthetic --json
    python -m fer_keras.evaluate --model runs/ckplus-light_ntwrn-subject_kfold-seed0 \\
        --dataset ckplus --data-dir data/ckplus          # every fold: mean +- std and a table

`--model` takes a `model.keras` file, a SavedModel folder, a fold folder or a run folder (all
its `fold_K`). The protocol, fold, split seed and channels come from the run's `metrics.json` /
`config.json` beside the model when there is one, so the numbers reproduce `metrics.json`;
flags override them. With `--json` the output has the keys of `metrics.json`.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from fer_keras.console import add_verbose_flag, parse_quietly
from fer_keras.training.metrics import (
    classification_metrics, plot_confusion_matrix, summarize_folds, summary_table,
)

_MEASURED = ("num_examples", "accuracy", "balanced_accuracy", "macro_f1", "loss", "per_class",
             "class_names", "confusion_matrix")


def load_predictor(path):
    """(predict, model_or_None, kind) for a `.keras` file or a SavedModel folder.

    `predict(x)` maps a float32 batch of raw-pixel images to class probabilities.
    """
    from fer_keras.inference.loading import _load_keras, _load_saved_model

    path = Path(path)
    if path.is_file() and path.suffix == ".keras":
        predict, _, model = _load_keras(path)
        return predict, model, "keras"
    if (path / "saved_model.pb").is_file():
        predict, _, _ = _load_saved_model(path)
        return predict, None, "saved_model"
    raise ValueError(f"{path}: not a .keras file nor a SavedModel folder")


def _run_info(model_path):
    """The metrics.json of the fold the model belongs to, or {}."""
    path = Path(model_path)
    folder = path if path.is_dir() and not (path / "saved_model.pb").exists() else path.parent
    metrics = folder / "metrics.json"
    return json.loads(metrics.read_text()) if metrics.exists() else {}


def evaluate_model(model_path, dataset=None, data_dir=None, split="test", protocol=None,
                   fold=None, split_seed=None, channels=None, dataset_options=None,
                   batch_size=64, plot_path=None):
    """Evaluates one artifact on one split; returns a dict with the keys of `metrics.json`.

    Arguments left as None come from the run the model belongs to (its metrics.json), then
    from the defaults (the dataset's default protocol, fold 0, split seed 0, the model's input
    channels).
    """
    from fer_keras.data import iterate_batches, load_dataset, make_splits, split_dataset

    if split not in ("val", "test"):
        raise ValueError(f"split must be 'val' or 'test', got {split!r}")
    info = _run_info(model_path)
    config = info.get("config", {})
    dataset = dataset or info.get("dataset")
    if dataset is None:
        raise ValueError("--dataset is needed: the model has no metrics.json beside it")
    same = info.get("dataset") == dataset
    options = dataset_options if dataset_options is not None else (
        config.get("dataset_options", {}) if same else {})
    if data_dir is None and same:
        data_dir = config.get("data_dir")
    predict, model, kind = load_predictor(model_path)
    ds = load_dataset(dataset, data_dir, **options)
    protocol = protocol or (info.get("protocol") if same else None)
    fold = fold if fold is not None else (info.get("fold", 0) if same else 0)
    split_seed = split_seed if split_seed is not None else (info.get("split_seed", 0)
                                                            if same else 0)
    protocol_options = config.get("protocol_options", {}) if same else {}
    splits = make_splits(ds, protocol, seed=split_seed, **protocol_options)
    if not 0 <= fold < len(splits):
        raise ValueError(f"fold {fold} does not exist: protocol '{splits[0].protocol}' has "
                         f"folds 0..{len(splits) - 1}")
    s = splits[fold]
    ds = split_dataset(s, ds)
    indices = s.test if split == "test" else s.val
    if len(indices) == 0:
        raise ValueError(f"the {split} split of '{s.protocol}' fold {fold} is empty"
                         + ("; use --split val" if split == "test" else ""))
    if channels is None:
        channels = (int(model.inputs[0].shape[-1]) if model is not None
                    else config.get("channels", 3))
    probs = np.concatenate([predict(x) for x, _ in iterate_batches(
        ds, indices, batch_size, training=False, channels=channels)])
    measured = classification_metrics(ds.labels[indices], probs, ds.class_names)
    out = {k: v for k, v in info.items() if k not in _MEASURED and k != "notes"}
    out.update({"dataset": dataset, "protocol": s.protocol, "fold": s.fold,
                "split_seed": split_seed, "split": split, "artifact": kind,
                "model_path": str(model_path), "data_fingerprint": ds.fingerprint(), **measured})
    if model is not None and "params" not in out:
        out["params"] = int(model.count_params())
    if plot_path:
        plot_confusion_matrix(measured["confusion_matrix"], ds.class_names, plot_path,
                              f"{out.get('model', Path(model_path).name)} on {dataset} "
                              f"({s.protocol} fold {s.fold}, {split})")
    return out


def find_fold_models(run_dir, artifact="keras"):
    """The model of every `fold_K` in a run folder, in fold order."""
    run_dir = Path(run_dir)
    name = "model.keras" if artifact == "keras" else "saved_model"
    folds = sorted((p for p in run_dir.glob("fold_*") if (p / name).exists()),
                   key=lambda p: int(p.name.split("_")[1]))
    return [p / name for p in folds]


def evaluate_run(run_dir, artifact="keras", **kwargs):
    """Every fold of a run: (list of per-fold dicts, {metric: {mean, std, values}})."""
    models = find_fold_models(run_dir, artifact)
    if not models:
        raise ValueError(f"{run_dir}: no fold_K/{'model.keras' if artifact == 'keras' else 'saved_model'}")
    results = [evaluate_model(m, fold=None, **kwargs) for m in models]
    return results, summarize_folds(results)


def build_parser():
    p = argparse.ArgumentParser(prog="python -m fer_keras.evaluate",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True,
                   help="model.keras, a SavedModel folder, a fold folder or a run folder")
    p.add_argument("--dataset", help="dataset name (default: the run's)")
    p.add_argument("--data-dir", help="dataset folder (default: the run's)")
    p.add_argument("--split", choices=("val", "test"), default="test")
    p.add_argument("--protocol", help="default: the run's, else the dataset's default")
    p.add_argument("--fold", type=int, help="default: the run's fold")
    p.add_argument("--split-seed", type=int)
    p.add_argument("--artifact", choices=("keras", "saved_model"), default="keras",
                   help="which artifact of a fold or run folder to load")
    p.add_argument("--plot", help="confusion-matrix PNG path (default: beside the model)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    return add_verbose_flag(p)


def _resolve_single(path, artifact):
    path = Path(path)
    if path.is_dir() and (path / "metrics.json").exists() and not (path / "saved_model.pb").exists():
        return path / ("model.keras" if artifact == "keras" else "saved_model")
    return path


def main(argv=None):
    args = parse_quietly(build_parser(), argv)
    from fer_keras.data import DataError

    kwargs = dict(dataset=args.dataset, data_dir=args.data_dir, split=args.split,
                  protocol=args.protocol, split_seed=args.split_seed)
    try:
        if not Path(args.model).exists():
            raise ValueError(f"{args.model}: no such file or folder")
        if args.data_dir and not os.path.isdir(args.data_dir):
            raise DataError("data folder not found", path=args.data_dir)
        if find_fold_models(args.model, args.artifact) and args.fold is None:
            results, summary = evaluate_run(args.model, args.artifact, **kwargs)
            if args.json:
                print(json.dumps({"folds": results, "summary": summary}, indent=2))
            else:
                print(summary_table(results))
            return 0
        model_path = _resolve_single(args.model, args.artifact)
        if args.fold is not None and Path(args.model).is_dir():
            model_path = _resolve_single(Path(args.model) / f"fold_{args.fold}", args.artifact)
        base = model_path.parent if model_path.suffix == ".keras" else model_path.parent
        plot = args.plot or str(base / f"confusion_matrix_{args.split}_eval.png")
        result = evaluate_model(model_path, fold=args.fold, plot_path=plot, **kwargs)
    except (ValueError, DataError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['model_path']} on {result['dataset']} ({result['protocol']} fold "
              f"{result['fold']}, {result['split']}, {result['num_examples']} examples)")
        for key in ("accuracy", "balanced_accuracy", "macro_f1"):
            print(f"  {key:18s} {result[key]:.4f}")
        print(f"  {'class':10s} precision recall f1     support")
        for name, m in result["per_class"].items():
            print(f"  {name:10s} {m['precision']:.3f}     {m['recall']:.3f}  {m['f1']:.3f}  "
                  f"{m['support']}")
        print(f"  confusion matrix: {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
