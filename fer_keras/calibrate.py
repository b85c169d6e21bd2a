"""`python -m fer_keras.calibrate`: a trained model's temperature, fitted on its validation split.

    python -m fer_keras.calibrate --model saved_models/i_mobilenetv2_ckplus \\
        --data-dir data/ckplus --figure reliability.png          # measure only
    python -m fer_keras.calibrate --model saved_models/i_mobilenetv2_ckplus \\
        --data-dir data/ckplus --write                           # store T with the model

Temperature scaling (Guo et al. 2017; `fer_keras.training.calibration`): one T, fitted to the
model's own outputs on the split it was selected on (`--split val`, the default), makes its
probabilities mean what they say; the accuracy does not change. Prints the temperature and the
expected calibration error (15 bins) and NLL before and after. `--write` stores them as
`calibration` in the model folder's metrics.json (model_info.json where there is no metrics.json),
where `Predictor` finds and applies them; `python -m fer_keras.reproduce card NAME` then
rewrites a published model's card. Training writes the same entry for every fold with a
validation split. The function: `fer_keras.inference.evaluation.calibrate_model`.
"""

import argparse
import json
import sys
from pathlib import Path

from fer_keras.console import add_verbose_flag, parse_quietly


def build_parser():
    p = argparse.ArgumentParser(prog="python -m fer_keras.calibrate",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True,
                   help="a model folder (fold or published), model.keras, or a published name")
    p.add_argument("--models-dir", help="folder of published models (default: "
                                        "$FER_KERAS_MODELS, else saved_models/)")
    p.add_argument("--dataset", help="dataset name (default: the run's)")
    p.add_argument("--data-dir", help="dataset folder (default: the run's)")
    p.add_argument("--split", choices=("val", "test"), default="val",
                   help="the split to fit on (default val: the one the model was selected on; "
                        "fitting on test leaves nothing honest to report on)")
    p.add_argument("--figure", metavar="PATH",
                   help="write reliability diagrams before and after as a PNG here")
    p.add_argument("--write", action="store_true",
                   help="store the result as `calibration` in the model's metrics.json "
                        "(or model_info.json)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return add_verbose_flag(p)


def write_calibration(model_path, calibration):
    """Stores `calibration` in the metrics.json beside the model (its model_info.json where
    there is none); returns the file written."""
    from fer_keras.training.artifacts import write_json

    path = Path(model_path)
    folder = path if path.is_dir() and not (path / "saved_model.pb").exists() else path.parent
    target = folder / "metrics.json"
    if not target.is_file():
        target = folder / "model_info.json"
    data = json.loads(target.read_text()) if target.is_file() else {}
    data["calibration"] = calibration
    write_json(target, data)
    return target


def main(argv=None):
    args = parse_quietly(build_parser(), argv)
    from fer_keras.data import DataError
    from fer_keras.inference.evaluation import calibrate_model, find_fold_models
    from fer_keras.inference.loading import locate_model

    try:
        model = locate_model(args.model, args.models_dir)
        if find_fold_models(model):
            raise ValueError(f"{model} is a run folder: calibrate one fold (e.g. {model}/fold_0); "
                             "training already wrote each fold's temperature in its metrics.json")
        result = calibrate_model(model, dataset=args.dataset, data_dir=args.data_dir,
                                 split=args.split, figure=args.figure)
        written = write_calibration(model, result) if args.write else None
    except (ValueError, DataError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{model} on {result['dataset']} ({result['protocol']} fold {result['fold']}, "
              f"{result['split']}, {result['num_examples']} examples)")
        print(f"  temperature {result['temperature']:.4f}")
        print(f"  ECE ({result['bins']} bins) {result['ece_before'] * 100:.2f} % -> "
              f"{result['ece_after'] * 100:.2f} %")
        print(f"  NLL {result['nll_before']:.4f} -> {result['nll_after']:.4f}")
        if args.figure:
            print(f"  reliability diagrams: {args.figure}")
    if written:
        print(f"calibration written to {written}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
