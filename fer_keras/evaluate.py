"""`python -m fer_keras.evaluate`: a trained model (either artifact) on a split of a dataset.

    python -m fer_keras.evaluate --model runs/demo/fold_0/model.keras --dataset synthetic --json
    python -m fer_keras.evaluate --model runs/ckplus-light_ntwrn-subject_kfold-seed0 \\
        --dataset ckplus --data-dir data/ckplus          # every fold: mean +- std and a table
    python -m fer_keras.evaluate --model i_mobilenetv2_ckplus --data-dir data/ckplus \\
        --plot cm.png                                    # a published model; a plot, where asked

`--model` takes a `model.keras` file, a SavedModel folder, a fold folder, a run folder (all
its `fold_K`) or a published model's name. The protocol, fold, split seed and channels come from
the run's `metrics.json` / `config.json` beside the model when there is one, so the numbers
reproduce `metrics.json`; flags override them. With `--json` the output has the keys of
`metrics.json`. Nothing is written unless `--plot PATH` asks for the confusion matrix.
The functions: `fer_keras.inference.evaluation`.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from fer_keras.console import add_verbose_flag, parse_quietly
from fer_keras.inference.evaluation import evaluate_model, evaluate_run, find_fold_models
from fer_keras.training.metrics import summary_table

__all__ = ["build_parser", "evaluate_model", "evaluate_run", "main"]


def build_parser():
    p = argparse.ArgumentParser(prog="python -m fer_keras.evaluate",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="model.keras, a SavedModel folder, a fold "
                   "folder, a run folder or a published model's name")
    p.add_argument("--models-dir", help="folder of published models (default: "
                                        "$FER_KERAS_MODELS, else saved_models/)")
    p.add_argument("--dataset", help="dataset name (default: the run's)")
    p.add_argument("--data-dir", help="dataset folder (default: the run's)")
    p.add_argument("--split", choices=("val", "test"), default="test")
    p.add_argument("--protocol", help="default: the run's, else the dataset's default")
    p.add_argument("--fold", type=int, help="default: the run's fold")
    p.add_argument("--split-seed", type=int)
    p.add_argument("--artifact", choices=("keras", "saved_model"), default="keras",
                   help="which artifact of a fold or run folder to load")
    p.add_argument("--class-names", metavar="NAMES",
                   help="the model's class names in output order, for a model that carries none: "
                        "comma-separated, or a dataset name (ckplus, fer2013, jaffe)")
    p.add_argument("--map-labels", action="store_true",
                   help="score a model whose classes differ from the dataset's by matching "
                        "them by emotion (e.g. CK+ anger = FER2013 angry); else refused")
    p.add_argument("--trust-saved-model", action="store_true",
                   help="load a SavedModel even if it can run operations outside the inference "
                        "allow-list (only for models from a source you trust)")
    p.add_argument("--plot", metavar="PATH", help="write the confusion matrix as a PNG here "
                   "(for a run folder: its folds' matrices summed)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    return add_verbose_flag(p)


def _resolve_single(path, artifact, fold):
    path = Path(path)
    if fold is not None and path.is_dir():
        path = path / f"fold_{fold}"
    if path.is_dir() and (path / "metrics.json").exists() and not (
            path / "saved_model.pb").exists():
        return path / ("model.keras" if artifact == "keras" else "saved_model")
    return path


def _run_heading(model, results):
    """Which split of which protocol a run folder's folds were scored on."""
    splits = sorted({r["split"] for r in results})
    protocols = sorted({str(r["protocol"]) for r in results})
    return (f"{model}: {len(results)} folds on {results[0]['dataset']} ({', '.join(protocols)}), "
            f"each scored on its {' / '.join(splits)} split")


def _print_result(result, plot):
    print(f"{result['model_path']} on {result['dataset']} ({result['protocol']} fold "
          f"{result['fold']}, {result['split']}, {result['num_examples']} examples)")
    for key in ("accuracy", "balanced_accuracy", "macro_f1"):
        print(f"  {key:18s} {result[key]:.4f}")
    print(f"  {'class':10s} precision recall f1     support")
    for name, m in result["per_class"].items():
        print(f"  {name:10s} {m['precision']:.3f}     {m['recall']:.3f}  {m['f1']:.3f}  "
              f"{m['support']}")
    if plot:
        print(f"  confusion matrix: {plot}")


def main(argv=None):
    args = parse_quietly(build_parser(), argv)
    from fer_keras.data import DataError
    from fer_keras.inference.loading import locate_model

    kwargs = dict(dataset=args.dataset, data_dir=args.data_dir, split=args.split,
                  protocol=args.protocol, split_seed=args.split_seed,
                  map_labels=args.map_labels, trust_saved_model=args.trust_saved_model,
                  class_names=args.class_names)
    try:
        model = locate_model(args.model, args.models_dir)
        if args.data_dir and not os.path.isdir(args.data_dir) and not os.path.isfile(
                args.data_dir):
            raise DataError("data folder not found", path=args.data_dir)
        if find_fold_models(model, args.artifact) and args.fold is None:
            results, summary = evaluate_run(model, args.artifact, plot_path=args.plot, **kwargs)
            if not args.json:
                print(_run_heading(model, results))
            print(json.dumps({"folds": results, "summary": summary}, indent=2) if args.json
                  else summary_table(results))
            if args.plot and not args.json:
                print(f"confusion matrix (the {len(results)} folds summed): {args.plot}")
            return 0
        if args.fold is not None and Path(model).is_dir():
            folds = [int(m.parent.name.split("_")[1])
                     for m in find_fold_models(model, args.artifact)]
            if folds and args.fold not in folds:
                raise ValueError(f"--fold {args.fold} does not exist in {args.model}: its folds "
                                 f"are {', '.join(map(str, folds))}")
        result = evaluate_model(_resolve_single(model, args.artifact, args.fold),
                                fold=args.fold, plot_path=args.plot, **kwargs)
    except (ValueError, DataError, OSError) as err:  # OSError: e.g. an unwritable --plot path
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_result(result, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
