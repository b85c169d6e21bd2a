"""The `python -m fer_keras.train` command line, generated from `TrainConfig`'s fields.

Each field's metadata (`fer_keras.training.config._field`) gives its flag names, help, choices
and metavar; its type gives the parsing: int, float and str as such, dict as a JSON object,
bool as a switch, the auto/True/False fields as auto/on/off, a list as a repeatable flag (with
an `all_flag` that resets it). Every flag defaults to None, meaning "the preset's value" (or the
`--config` file's). A new TrainConfig field is a new flag with no code here.
"""

import argparse
import collections.abc
import dataclasses
import json
import os
import sys

from fer_keras.console import add_verbose_flag, exit_now, parse_quietly
from fer_keras.presets import PRESET_FIELDS
from fer_keras.training.config import AUTO, TrainConfig, allowed_values

EPILOG = """presets (family/dataset; override any value with its flag):
{table}

--config RUN/config.json runs a saved configuration as it is (the preset is not consulted);
flags given beside it override its fields.

Run folder: OUTPUT/config.json, OUTPUT/fold_K/{{model.keras, saved_model/, metrics.json,
history.csv, curves.png, confusion_matrix.png, logs/, checkpoint.npz}}; with more than one
fold also OUTPUT/summary.md over the folds. Default OUTPUT: runs/DATASET-MODEL-PROTOCOL-seedSEED."""
# Parser destinations that are not TrainConfig fields.
_NOT_FIELDS = ("config", "quiet", "verbose")


def bool_or_auto(text):
    value = text.lower()
    if value in ("auto", "on", "off", "true", "false"):
        return "auto" if value == "auto" else value in ("on", "true")
    raise argparse.ArgumentTypeError(f"expected auto, on or off, got {text!r}")


def json_object(text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not JSON: {err}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object, e.g. '{\"alpha\": 0.35}'")
    return value


class _LazyChoices(collections.abc.Sequence):
    """Choices read from their module on first use (`--help`, or when the flag is given), so
    that building the parser imports nothing it does not need (the model names and policies are
    Keras-free: `config._models`, `fer_keras.data.policies`)."""

    def __init__(self, field):
        self._field, self._values = field, None

    def _get(self):
        if self._values is None:
            self._values = tuple(c for c in allowed_values(self._field) if c is not None)
        return self._values

    def __getitem__(self, index):
        return self._get()[index]

    def __len__(self):
        return len(self._get())


def _argument(field):
    """(flag names, add_argument keyword arguments) of one TrainConfig field."""
    meta = field.metadata
    flags = meta.get("flags") or ("--" + field.name.replace("_", "-"),)
    kwargs = {"dest": field.name, "default": None, "help": meta.get("help")}
    if meta.get("metavar"):
        kwargs["metavar"] = meta["metavar"]
    choices = meta.get("choices")
    if field.type is bool:
        kwargs.update(action="store_const", const=True)
    elif field.type is dict:
        kwargs.update(type=json_object, metavar=kwargs.get("metavar", "JSON"))
    elif field.type is list:
        kwargs.update(action="append", type=meta.get("item", str))
    elif choices == AUTO:
        kwargs.update(type=bool_or_auto, metavar="{auto,on,off}")
    else:
        kwargs["type"] = field.type
        if callable(choices) and "metavar" not in kwargs:
            kwargs.update(choices=_LazyChoices(field), metavar=field.name.upper())
            kwargs["help"] += ": %(choices)s"
        elif choices is not None and "metavar" not in kwargs:
            kwargs["choices"] = tuple(c for c in choices if c is not None)
    if field.name in PRESET_FIELDS:
        kwargs["help"] += " (default: the preset's)"
    elif field.default not in (None, dataclasses.MISSING):
        kwargs["help"] += f" (default: {field.default})"
    return flags, kwargs


def build_parser():
    from fer_keras.presets import presets_table

    p = argparse.ArgumentParser(
        prog="python -m fer_keras.train",
        description="Trains a model on a dataset with its paper's preset; any flag overrides it.",
        epilog=EPILOG.format(table=presets_table()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", metavar="PATH",
                   help="a saved configuration (a run's config.json) to run")
    for field in dataclasses.fields(TrainConfig):
        if field.metadata.get("cli", True) is False:
            continue
        flags, kwargs = _argument(field)
        all_flag = field.metadata.get("all_flag")
        target = p.add_mutually_exclusive_group() if all_flag else p
        target.add_argument(*flags, **kwargs)
        if all_flag:
            target.add_argument(all_flag[0], action="store_const", const=None, dest=field.name,
                                help=all_flag[1])
    p.add_argument("--quiet", action="store_true", help="no configuration, progress or epochs")
    return add_verbose_flag(p)


def config_from_args(args):
    """The TrainConfig the parsed arguments describe (flags override the preset or --config)."""
    from fer_keras.training.config import load_config, resolve_config

    overrides = {k: v for k, v in vars(args).items()
                 if v is not None and k not in _NOT_FIELDS + ("dataset", "model")}
    if getattr(args, "config", None):
        chosen = {k: getattr(args, k) for k in ("dataset", "model") if getattr(args, k)}
        return load_config(args.config, **chosen, **overrides)
    return resolve_config(args.dataset or "synthetic", args.model or "i_mobilenetv2",
                          **overrides)


def main(argv=None):
    """Runs the command line; returns the exit status (0 done, or stopped by the time limit or
    SIGTERM after an epoch; 2 bad input, 3 diverged; 4, at once, when another process of a
    multi-process run stopped; 130 interrupted)."""
    args = parse_quietly(build_parser(), argv)
    dataset = args.dataset or "synthetic"
    if not args.config and dataset != "synthetic" and not args.data_dir:  # before heavy imports
        print(f"error: --dataset {dataset} needs --data-dir, the dataset's folder as "
              f"downloaded, e.g. --data-dir data/{dataset} (layouts: docs/data.md); "
              "--dataset synthetic needs none", file=sys.stderr)
        return 2
    from fer_keras.data import DataError

    try:
        config = config_from_args(args)
        if config.dataset != "synthetic" and config.data_dir and not os.path.exists(
                config.data_dir):
            raise DataError("data folder not found", path=config.data_dir)
        from fer_keras.training.loop import TrainingDiverged, train

        from fer_keras.training import stop_request
        from fer_keras.training.distribution import PeerLost

        try:
            with stop_request.on_sigterm():
                result = train(config, verbose=0 if args.quiet else 1)
        except TrainingDiverged as err:
            print(f"error: training diverged: {err}", file=sys.stderr)
            return 3
        except PeerLost as err:
            print(f"error: {err}", file=sys.stderr)
            # at once: a normal exit would wait in JAX's shutdown barrier for the lost process
            # until the heartbeat timeout and then abort
            exit_now(4)
    except (ValueError, DataError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full or read-only disk: every run file is written atomically
        where = f" {err.filename}" if err.filename else ""
        print(f"error: could not write{where} ({err.strerror or err}); the run folder keeps its "
              "last complete checkpoint: free some space and run the same command again to "
              "resume", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    print(f"run folder: {result.run_dir}")
    return 0
