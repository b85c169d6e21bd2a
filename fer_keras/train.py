"""`python -m fer_keras.train`: a thin command line over `resolve_config` and `train`.

    python -m fer_keras.train --dataset synthetic                      # zero-download demo
    python -m fer_keras.train --dataset ckplus --data-dir data/ckplus --model light_ntwrn --fold 0

Every flag left out takes the preset's value (see --help and docs/training.md); the resolved
configuration is printed first and saved as config.json in the run folder. Run the same command
again after an interruption and it resumes.
"""

import argparse
import json
import os
import sys

from fer_keras.console import add_verbose_flag, parse_quietly

EPILOG = """presets (family/dataset; override any value with its flag):
{table}

Run folder: OUTPUT/config.json, OUTPUT/fold_K/{{model.keras, saved_model/, metrics.json,
history.csv, curves.png, confusion_matrix.png, logs/, checkpoint.npz}}; with more than one
fold also OUTPUT/summary.md over the folds. Default OUTPUT: runs/DATASET-MODEL-PROTOCOL-seedSEED."""


def _bool_or_auto(text):
    value = text.lower()
    if value in ("auto", "on", "off", "true", "false"):
        return "auto" if value == "auto" else value in ("on", "true")
    raise argparse.ArgumentTypeError(f"expected auto, on or off, got {text!r}")


def _json_dict(text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not JSON: {err}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object, e.g. '{\"alpha\": 0.35}'")
    return value


def build_parser():
    from fer_keras.presets import presets_table

    p = argparse.ArgumentParser(
        prog="python -m fer_keras.train", description=__doc__.split("\n\n")[0],
        epilog=EPILOG.format(table=presets_table()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="synthetic",
                   help="fer2013, ckplus, jaffe, imagefolder or synthetic (default)")
    p.add_argument("--data-dir", help="the dataset folder as downloaded (not for synthetic)")
    p.add_argument("--model", default="i_mobilenetv2",
                   help="any registered model (python -m fer_keras.models lists them)")
    p.add_argument("--model-kwargs", type=_json_dict, default=None,
                   help="JSON object of builder overrides, e.g. '{\"alpha\": 0.35}'")
    p.add_argument("--dataset-options", type=_json_dict, default=None,
                   help="JSON object of loader options, e.g. '{\"num_examples\": 350}'")
    p.add_argument("--protocol", help="split protocol (default: the dataset's leakage-free one)")
    p.add_argument("--protocol-options", type=_json_dict, default=None,
                   help="JSON object of protocol options, e.g. '{\"num_folds\": 5}'")
    folds = p.add_mutually_exclusive_group()
    folds.add_argument("--fold", type=int, action="append", dest="folds", metavar="K",
                       help="run fold K (repeatable); default all folds")
    folds.add_argument("--all-folds", action="store_const", const=None, dest="folds",
                       help="run every fold of the protocol (the default)")
    p.add_argument("--split-seed", type=int, help="seed of the protocol's splits (default 0)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--optimizer", choices=("sgd", "adam"))
    p.add_argument("--learning-rate", "--lr", type=float, dest="learning_rate")
    p.add_argument("--momentum", type=float)
    p.add_argument("--weight-decay", type=float,
                   help="coupled (PyTorch-style) weight decay for sgd")
    p.add_argument("--lr-decay-factor", type=float)
    p.add_argument("--lr-decay-epochs", type=int)
    p.add_argument("--augment", choices=("none", "flip", "erasing", "jaffe_expansion"))
    p.add_argument("--class-weight", choices=("balanced",))
    p.add_argument("--channels", type=int, choices=(1, 3))
    p.add_argument("--seed", type=int, help="weights, dropout, shuffling, augmentation")
    p.add_argument("--init", help="a trained model.keras (or run folder) to fine-tune from")
    p.add_argument("--recover-from", metavar="MODEL",
                   help="continue the run in --output whose checkpoint was lost from its "
                        "best-epoch model.keras (fresh optimizer; noted in metrics.json)")
    p.add_argument("--output", help="the run folder")
    p.add_argument("--mixed-precision", type=_bool_or_auto, help="auto (default), on, off")
    p.add_argument("--jit-compile", type=_bool_or_auto, help="auto (default), on, off")
    p.add_argument("--time-limit", type=float, metavar="SECONDS",
                   help="stop after the epoch during which this much time has passed and write "
                        "the artifacts of the best epoch so far; the same command resumes later")
    p.add_argument("--engine", choices=("auto", "loop", "device", "fit"),
                   help="training engine: auto (default), loop (a call per step), device (JAX: "
                        "data on the device, compiled multi-step calls), fit (TensorFlow: "
                        "model.fit over tf.data)")
    p.add_argument("--test-each-epoch", action="store_const", const=True,
                   help="also evaluate the test split after every epoch (history.csv and "
                        "metrics.json's peak_test_accuracy; reporting only, never selection)")
    p.add_argument("--quiet", action="store_true", help="no configuration, progress or epochs")
    return add_verbose_flag(p)


def config_from_args(args):
    from fer_keras.training.config import resolve_config

    overrides = {k: v for k, v in vars(args).items()
                 if v is not None and k not in ("dataset", "model", "quiet", "verbose")}
    return resolve_config(args.dataset, args.model, **overrides)


def main(argv=None):
    parser = build_parser()
    args = parse_quietly(parser, argv)
    if args.dataset != "synthetic" and not args.data_dir:  # before anything heavy is imported
        print(f"error: --dataset {args.dataset} needs --data-dir, the dataset's folder as "
              f"downloaded, e.g. --data-dir data/{args.dataset} (layouts: docs/data.md); "
              "--dataset synthetic needs none", file=sys.stderr)
        return 2
    from fer_keras.data import DataError

    try:
        config = config_from_args(args)
        if config.dataset != "synthetic" and config.data_dir and not os.path.exists(
                config.data_dir):
            raise DataError("data folder not found", path=config.data_dir)
        from fer_keras.training.loop import TrainingDiverged, train

        try:
            result = train(config, verbose=0 if args.quiet else 1)
        except TrainingDiverged as err:
            print(f"error: training diverged: {err}", file=sys.stderr)
            return 3
    except (ValueError, DataError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    print(f"run folder: {result.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
