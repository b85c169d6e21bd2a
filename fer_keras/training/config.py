"""The configuration of one training run, as data: `TrainConfig` and `resolve_config`.

`resolve_config(dataset, model, **overrides)` starts from the paper preset for the model's family
and the dataset (`fer_keras.presets`), applies the overrides and checks every value; the result
is printed at the start of each run and saved as `config.json` beside its artifacts.
`load_config(path, **overrides)` reads such a file back (`python -m fer_keras.train --config`).

Each field carries its documentation as metadata (`help`, `choices`, `flags`, ...): the
command line (`fer_keras.training.cli`) and `validate` are built from it, so a new field is one
declaration here. Allowed values live once: the tuples below, `fer_keras.data.DATASETS`,
`fer_keras.data.policies.POLICIES` and the declared model names (`fer_keras.papers`).
"""

import dataclasses
import json
import math
from pathlib import Path

from fer_keras.presets import PRESET_FIELDS, get_preset
from fer_keras.training.schedule import SCHEDULES

OPTIMIZERS = ("sgd", "adam")
AUTO = ("auto", True, False)
CLASS_WEIGHTS = (None, "balanced")
CHANNELS = (1, 3)
# "loop": one train_on_batch call per step (fit per epoch on JAX); "device": the JAX engine with
# the data on the device and compiled multi-step calls; "fit": model.fit over a tf.data pipeline
# (TensorFlow); "auto": the fastest that applies to the backend and hardware.
ENGINES = ("auto", "loop", "device", "fit")
# "none": one device; "data_parallel": training/distribution.py.
DISTRIBUTE = ("none", "data_parallel")


def _datasets():
    from fer_keras.data.registry import list_datasets

    return tuple(list_datasets())


def _models():
    """The registered model names: the papers' variants and those of `register_model` (the
    registry imports no Keras)."""
    from fer_keras.models.registry import list_models

    return tuple(list_models())


def _policies():
    from fer_keras.data.policies import POLICIES

    return POLICIES


def _field(default=None, help="", factory=None, **meta):
    """A dataclass field whose metadata documents it (see `fer_keras.training.cli`).

    Metadata keys: `help`; `choices` (a tuple, or a function returning one when the list lives
    in a module that is expensive to import); `flags` (command-line names, default
    `--field-name`); `metavar`; `cli=False` (not a flag); `bookkeeping=True` (does not change
    the result: left out of `run_key`); `on_resume="checked"` (bookkeeping that a resumed run
    may still not change freely: `resume_rules` checks it); `on_recover="free"` (may differ
    from a lost run's metrics.json under `--recover-from`); `all_flag` (a list field: the flag
    that resets it to None); `item` (a list field: its items' type).
    """
    meta["help"] = help
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass
class TrainConfig:
    """Everything that decides a run's result (and a few things that do not: output, verbose).

    Each field's `help` metadata says what it does; `python -m fer_keras.train --help` lists
    them all. In short: `dataset`, `data_dir`, `dataset_options` are what
    `fer_keras.data.load_dataset` gets; `model`, `model_kwargs` what `fer_keras.create_model`
    gets (input shape and class count come from the data); `protocol`, `protocol_options`,
    `split_seed` what `make_splits` gets (the splits depend on `split_seed` only, not on
    `seed`); the optimisation fields follow the papers' presets (`optimizer="sgd"` is PyTorch's
    SGD with coupled weight decay, see `TorchSGD`). `preset` and `overridden` record where the
    values came from (filled in by `resolve_config`).
    """

    dataset: str = _field("synthetic", "dataset name", choices=_datasets)
    model: str = _field("i_mobilenetv2", "any registered model (python -m fer_keras.models "
                        "lists them)", choices=_models, metavar="NAME")
    data_dir: str = _field(None, "the dataset folder as downloaded, or a pack (.npz.xz); not "
                           "for synthetic", on_recover="free")
    dataset_options: dict = _field(help="JSON object of loader options, e.g. "
                                   "'{\"num_examples\": 350}'", factory=dict)
    model_kwargs: dict = _field(help="JSON object of builder overrides, e.g. "
                                "'{\"alpha\": 0.35}'", factory=dict)
    protocol: str = _field(None, "split protocol (default: the dataset's leakage-free one)")
    protocol_options: dict = _field(help="JSON object of protocol options, e.g. "
                                    "'{\"num_folds\": 5}'", factory=dict)
    split_seed: int = _field(0, "seed of the protocol's splits")
    folds: list = _field(None, "run fold K (repeatable); default all folds", flags=("--fold",),
                         metavar="K", item=int, bookkeeping=True,
                         all_flag=("--all-folds", "run every fold of the protocol (the default)"))
    epochs: int = _field(10, "training epochs", bookkeeping=True, on_resume="checked")
    batch_size: int = _field(32, "training batch size")
    optimizer: str = _field("sgd", "sgd (PyTorch-style, coupled weight decay) or adam",
                            choices=OPTIMIZERS)
    learning_rate: float = _field(0.01, "initial learning rate",
                                  flags=("--learning-rate", "--lr"))
    momentum: float = _field(0.9, "SGD momentum")
    weight_decay: float = _field(0.0, "coupled (PyTorch-style) weight decay for sgd")
    lr_schedule: str = _field("step", "learning-rate schedule: step (lr_decay_* below; constant "
                              "by default) or cosine (to 0 over the run's epochs); "
                              "training/schedule.py", choices=SCHEDULES)
    lr_decay_factor: float = _field(1.0, "step schedule: multiply the learning rate by this "
                                    "every lr_decay_epochs epochs")
    lr_decay_epochs: int = _field(0, "step schedule: epochs between learning-rate decays (0: "
                                  "constant)")
    lr_decay_start: int = _field(0, "step schedule: epochs at the initial rate before the decay "
                                 "periods start counting")
    augment: str = _field("flip", "training augmentation policy", choices=_policies)
    label_smoothing: float = _field(0.0, "train against (1 - e) * one-hot + e / classes "
                                    "(in neither paper: product recipes; training/losses.py)")
    class_weight: str = _field(None, "balanced: scikit-learn's n / (k * count) on the training "
                               "split", choices=CLASS_WEIGHTS)
    channels: int = _field(3, "input channels fed to the model (grey images are repeated)",
                           choices=CHANNELS)
    seed: int = _field(0, "weights, dropout, shuffling, augmentation")
    init: str = _field(None, "a trained model.keras (or run folder) to fine-tune from",
                       bookkeeping=True, on_resume="checked")
    recover_from: str = _field(None, "continue the run in --output whose checkpoint was lost "
                               "from its best-epoch model.keras (fresh optimizer; noted in "
                               "metrics.json)", metavar="MODEL", bookkeeping=True)
    output: str = _field(None, "the run folder (default runs/DATASET-MODEL-PROTOCOL-seedSEED)",
                         bookkeeping=True)
    mixed_precision: object = _field("auto", "auto (on with a GPU, off on CPU), on, off",
                                     choices=AUTO)
    jit_compile: object = _field("auto", "auto (on with a GPU, off on CPU), on, off",
                                 choices=AUTO)
    time_limit: float = _field(None, "stop after the epoch during which this much time has "
                               "passed and write the artifacts of the best epoch so far; the "
                               "same command resumes later", metavar="SECONDS", bookkeeping=True)
    engine: str = _field("auto", "training engine: auto, loop (a call per step), device (JAX: "
                         "data on the device, compiled multi-step calls), fit (TensorFlow: "
                         "model.fit over tf.data)", choices=ENGINES, bookkeeping=True)
    models_together: int = _field(None, "device engine: train K of the selected folds together "
                                  "in one compiled program (0: all; 1: one at a time; default: "
                                  "all on a GPU, one at a time on CPU)",
                                  metavar="K", bookkeeping=True)
    test_each_epoch: bool = _field(False, "also evaluate the test split after every epoch "
                                   "(history.csv and metrics.json's peak_test_accuracy; "
                                   "reporting only, never selection)", bookkeeping=True,
                                   on_resume="checked")
    distribute: str = _field("none", "none (one device) or data_parallel (one model over the "
                             "local devices, or every host's; docs/scaling.md); batch_size stays "
                             "the global batch", choices=DISTRIBUTE, bookkeeping=True)
    devices: int = _field(0, "data_parallel: use the first N local devices (0: all)",
                          metavar="N", bookkeeping=True)
    scale_lr: bool = _field(False, "multiply the learning rate by batch_size / "
                            "reference_batch_size (linear scaling rule, for a raised global "
                            "batch)")
    reference_batch_size: int = _field(None, "scale_lr: the batch size learning_rate was set "
                                       "for (resolve_config records the preset's)", metavar="N")
    coordinator: str = _field(None, "multi-host JAX: the coordinator's HOST:PORT (else "
                              "KERAS_DISTRIBUTION_JOB_ADDRESSES)", metavar="HOST:PORT",
                              bookkeeping=True)
    num_processes: int = _field(None, "multi-host JAX: the number of processes (else "
                                "KERAS_DISTRIBUTION_NUM_PROCESSES)", metavar="N",
                                bookkeeping=True)
    process_id: int = _field(None, "multi-host JAX: this process's id, 0 is the chief (else "
                             "KERAS_DISTRIBUTION_PROCESS_ID)", metavar="I", bookkeeping=True)
    preset: str = _field("", "the preset the values started from", cli=False,
                         on_recover="free")
    preset_epochs: int = _field(None, "the preset's epochs, recorded by resolve_config: a run of "
                                "another length gets its own default folder (-epochsN)",
                                cli=False, bookkeeping=True)
    overridden: tuple = _field((), "the fields set by the user rather than the preset",
                               cli=False, bookkeeping=True)
    allow_empty_classes: bool = _field(False, "train although some classes have no images "
                                       "(recorded in metrics.json); otherwise refused",
                                       bookkeeping=True)
    accept_data_change: bool = _field(False, "resume a run although its data changed since it "
                                      "stopped (recorded in metrics.json); otherwise refused",
                                      bookkeeping=True)
    extend: bool = _field(False, "let a larger --epochs continue the finished or stopped run in "
                          "--output (recorded in metrics.json; training/resume_rules.py); "
                          "otherwise a run folder keeps its epochs", bookkeeping=True)

    def __post_init__(self):
        self.overridden = tuple(self.overridden or ())

    def validate(self):
        """Raises ValueError naming the first bad value."""
        for f in dataclasses.fields(self):
            choices = allowed_values(f)
            value = getattr(self, f.name)
            if choices is not None and value not in choices:
                raise ValueError(f"{f.name} must be one of {', '.join(map(repr, choices))}; "
                                 f"got {value!r}")
        for name in ("epochs", "batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be a finite number > 0, got "
                             f"{self.learning_rate!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {self.momentum!r}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be a finite number >= 0, got "
                             f"{self.weight_decay!r}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must lie in [0, 1), got {self.label_smoothing!r}")
        if self.lr_decay_epochs < 0 or not 0 < self.lr_decay_factor <= 1:
            raise ValueError("lr_decay_epochs must be >= 0 and lr_decay_factor in (0, 1], got "
                             f"{self.lr_decay_epochs!r}, {self.lr_decay_factor!r}")
        if not isinstance(self.lr_decay_start, int) or self.lr_decay_start < 0:
            raise ValueError(f"lr_decay_start must be an integer >= 0, got "
                             f"{self.lr_decay_start!r}")
        if self.folds is not None and (not self.folds or any(
                not isinstance(f, int) or f < 0 for f in self.folds)):
            raise ValueError(f"folds must be None or a list of fold numbers >= 0, got "
                             f"{self.folds!r}")
        if self.recover_from and self.init:
            raise ValueError(f"init ({self.init!r}) and recover_from ({self.recover_from!r}) "
                             "exclude each other: init starts a new run, recover_from continues "
                             "one")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValueError(f"time_limit must be a positive number of seconds, got "
                             f"{self.time_limit!r}")
        self._check_scaling()
        for f in dataclasses.fields(self):
            if f.type in (bool, "bool") and not isinstance(getattr(self, f.name), bool):
                raise ValueError(f"{f.name} must be True or False, got {getattr(self, f.name)!r}")
        from fer_keras.models.registry import check_model_kwargs

        check_model_kwargs(self.model, self.model_kwargs)
        return self

    def _check_scaling(self):
        """`validate`'s checks of the fields that spread a run over devices and processes."""
        if self.models_together is not None and (
                not isinstance(self.models_together, int) or self.models_together < 0):
            raise ValueError(f"models_together must be an integer >= 0 (0: all folds), got "
                             f"{self.models_together!r}")
        if not isinstance(self.devices, int) or self.devices < 0:
            raise ValueError(f"devices must be an integer >= 0 (0: all), got {self.devices!r}")
        if self.num_processes is not None and (
                not isinstance(self.num_processes, int) or self.num_processes < 1):
            raise ValueError(f"num_processes must be a positive integer, got "
                             f"{self.num_processes!r}")
        if self.process_id is not None and not (
                isinstance(self.process_id, int) and 0 <= self.process_id < (
                    self.num_processes or self.process_id + 1)):
            raise ValueError(f"process_id must lie in [0, num_processes), got "
                             f"{self.process_id!r} with num_processes {self.num_processes!r}")
        if self.scale_lr and not (isinstance(self.reference_batch_size, int)
                                  and self.reference_batch_size > 0):
            raise ValueError(f"scale_lr needs reference_batch_size, the batch size the learning "
                             f"rate was set for (resolve_config records the preset's); got "
                             f"{self.reference_batch_size!r}")

    def to_dict(self):
        """The fields as JSON-ready values (what config.json and metrics.json hold)."""
        d = dataclasses.asdict(self)
        d["overridden"] = list(self.overridden)
        return d

    @classmethod
    def from_dict(cls, values):
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - fields)
        if unknown:
            raise ValueError(f"unknown TrainConfig fields: {', '.join(unknown)}")
        return cls(**values)

    def run_key(self):
        """The values a resumed run must share with the run it resumes (all but bookkeeping)."""
        d = self.to_dict()
        for name in BOOKKEEPING:
            d.pop(name)
        if not self.scale_lr:  # the reference batch changes nothing without scale_lr
            d.pop("reference_batch_size")
        if not self.label_smoothing:  # no smoothing: the loss of every run before the option,
            d.pop("label_smoothing")  # whose checkpoints and notebook folders keep their key
        return json.dumps(d, sort_keys=True, default=str)

    def describe(self, overridden=None):
        """The configuration as aligned lines; overridden fields are marked with '*'."""
        overridden = self.overridden if overridden is None else overridden
        d = {k: v for k, v in self.to_dict().items() if k != "overridden"}
        width = max(map(len, d))
        lines = [f"configuration (preset {self.preset or '-'}; * = overridden):"]
        for k, v in d.items():
            lines.append(f"  {k.ljust(width)} {'*' if k in overridden else ' '} {v!r}")
        return "\n".join(lines)


def allowed_values(field):
    """The tuple of values a TrainConfig field accepts, or None when any value of its type does."""
    choices = field.metadata.get("choices")
    return choices() if callable(choices) else choices


# What may change between the sessions of one run, declared once by the fields' metadata:
# BOOKKEEPING does not change the result (left out of `run_key`); a resumed run may change
# RESUME_FREE without a check (`resume_rules`; `preset` only names where the values came from,
# the values themselves are compared); a recovered run may differ from the lost run's
# metrics.json in RECOVER_FREE (`recover`; the data's fingerprint is compared, not its folder).
BOOKKEEPING = tuple(f.name for f in dataclasses.fields(TrainConfig)
                    if f.metadata.get("bookkeeping"))
RESUME_FREE = tuple(sorted({f.name for f in dataclasses.fields(TrainConfig)
                            if f.metadata.get("bookkeeping")
                            and f.metadata.get("on_resume") != "checked"} | {"preset"}))
RECOVER_FREE = tuple(sorted({*BOOKKEEPING, *(f.name for f in dataclasses.fields(TrainConfig)
                                             if f.metadata.get("on_recover") == "free")}))


def resolve_config(dataset="synthetic", model="i_mobilenetv2", **overrides):
    """The preset for (model, dataset), updated with `overrides`, validated.

    The configuration is resolved here once: what training derives from the preset is recorded
    in the result (`preset_epochs` for the default run folder's name; `reference_batch_size`
    for `scale_lr`), so a saved config.json (`train --config`) reruns without the preset.
    `config.overridden` names the fields the overrides set (beside dataset and model).

    Example:
        config = resolve_config("ckplus", "light_ntwrn", data_dir="data/ckplus", epochs=50)

    Raises:
        ValueError: unknown field, model, dataset or a bad value.
    """
    from fer_keras.models import get_entry

    get_entry(model)  # unknown model: ValueError listing the registered ones
    preset = get_preset(model, dataset)
    values = {"dataset": dataset, "model": model, **preset.values,
              "preset_epochs": preset.values.get("epochs")}
    values.update(overrides)
    if values.get("scale_lr") and values.get("reference_batch_size") is None:
        values["reference_batch_size"] = preset.values.get("batch_size")
    overridden = tuple(k for k in overrides
                       if k in PRESET_FIELDS or k not in ("dataset", "model"))
    return TrainConfig.from_dict({**values, "preset": f"{preset.name} ({preset.source})",
                                  "overridden": overridden}).validate()


def load_config(path, **overrides):
    """The configuration saved in `path` (a run's config.json), with `overrides` applied.

    The file's values are taken as they are (the preset is not consulted again); the overrides
    join the fields it records as overridden.
    """
    try:
        values = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot read a configuration ({err})") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a JSON object of TrainConfig fields")
    values.update(overrides)
    recorded = tuple(values.get("overridden") or ())
    values["overridden"] = recorded + tuple(k for k in overrides if k not in recorded)
    return TrainConfig.from_dict(values).validate()


def save_config(config, path):
    """Writes `config` as JSON to `path`, atomically (what `load_config` reads)."""
    from fer_keras.training.artifacts import write_json

    write_json(path, config.to_dict())
    return Path(path)
