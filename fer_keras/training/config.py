"""The configuration of one training run, as data: `TrainConfig` and `resolve_config`.

`resolve_config(dataset, model, **overrides)` starts from the paper preset for the model's family
and the dataset (`fer_keras.presets`), applies the overrides and checks every value; the result
is printed at the start of each run and saved as `config.json` beside its artifacts.
"""

import dataclasses
import json

from fer_keras.presets import PRESET_FIELDS, get_preset

_OPTIMIZERS = ("sgd", "adam")
_AUGMENT = ("none", "flip", "erasing", "jaffe_expansion")
_AUTO = ("auto", True, False)
# "loop": one train_on_batch call per step (fit per epoch on JAX); "device": the JAX engine with
# the data on the device and compiled multi-step calls; "fit": model.fit over a tf.data pipeline
# (TensorFlow); "auto": the fastest that applies to the backend and hardware.
ENGINES = ("auto", "loop", "device", "fit")


@dataclasses.dataclass
class TrainConfig:
    """Everything that decides a run's result (and a few things that do not: output, verbose).

    Attributes:
        dataset, data_dir, dataset_options: what `fer_keras.data.load_dataset` gets.
        model, model_kwargs: what `fer_keras.create_model` gets (input shape and class count
            come from the data).
        protocol, protocol_options, split_seed: what `make_splits` gets (None: the dataset's
            leakage-free default); the splits depend on `split_seed` only, not on `seed`.
        folds: fold numbers to run, or None for all folds of the protocol.
        epochs, batch_size, optimizer, learning_rate, momentum, weight_decay: the optimisation.
            `optimizer="sgd"` is PyTorch's SGD (coupled weight decay, see `TorchSGD`).
        lr_decay_factor, lr_decay_epochs: multiply the learning rate by the factor every that
            many epochs (0: constant).
        augment: training augmentation policy ("none", "flip", "erasing", "jaffe_expansion").
        class_weight: None or "balanced" (scikit-learn's n / (k * count) on the training split).
        channels: input channels fed to the model (grey images are repeated).
        seed: weights, dropout, shuffling and augmentation.
        init: a trained `model.keras` (or a run folder holding one) to start from.
        recover_from: the best-epoch `model.keras` (or its folder) of a run in `output` whose
            checkpoint was lost: the run continues after its best epoch with a fresh optimizer
            (`fer_keras.training.recover`). Only used when the fold has no checkpoint.
        output: the run folder.
        mixed_precision, jit_compile: "auto" (on with a GPU, off on CPU), True or False.
        time_limit: seconds; when set, training stops after the epoch during which it runs out
            (artifacts come from the best epoch so far; the same call resumes later).
        engine: the training engine, one of ENGINES (does not change the result's definition).
        models_together: with the device engine, how many of the selected folds train
            together in one compiled program (0: all of them; 1: one at a time).
        test_each_epoch: also evaluate the test split after every epoch, for reporting only
            (history.csv columns test_loss, test_accuracy; metrics.json peak_test_accuracy): it
            never feeds selection, early stopping or the checkpoint choice.
        preset: the preset the values started from (filled in by `resolve_config`).
    """

    dataset: str = "synthetic"
    model: str = "i_mobilenetv2"
    data_dir: str = None
    dataset_options: dict = dataclasses.field(default_factory=dict)
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    protocol: str = None
    protocol_options: dict = dataclasses.field(default_factory=dict)
    split_seed: int = 0
    folds: list = None
    epochs: int = 10
    batch_size: int = 32
    optimizer: str = "sgd"
    learning_rate: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    lr_decay_factor: float = 1.0
    lr_decay_epochs: int = 0
    augment: str = "flip"
    class_weight: str = None
    channels: int = 3
    seed: int = 0
    init: str = None
    recover_from: str = None
    output: str = None
    mixed_precision: object = "auto"
    jit_compile: object = "auto"
    time_limit: float = None
    engine: str = "auto"
    models_together: int = 0
    test_each_epoch: bool = False
    preset: str = ""

    def validate(self):
        """Raises ValueError naming the first bad value."""
        from fer_keras.data import DATASETS
        from fer_keras.models import list_models

        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; known: {', '.join(DATASETS)}")
        if self.model not in list_models():
            raise ValueError(f"unknown model {self.model!r}; registered: "
                             f"{', '.join(list_models())}")
        for name in ("epochs", "batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {_OPTIMIZERS}, got {self.optimizer!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {self.momentum!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.lr_decay_epochs < 0 or not 0 < self.lr_decay_factor <= 1:
            raise ValueError("lr_decay_epochs must be >= 0 and lr_decay_factor in (0, 1], got "
                             f"{self.lr_decay_epochs!r}, {self.lr_decay_factor!r}")
        if self.augment not in _AUGMENT:
            raise ValueError(f"augment must be one of {_AUGMENT}, got {self.augment!r}")
        if self.class_weight not in (None, "balanced"):
            raise ValueError(f"class_weight must be None or 'balanced', got {self.class_weight!r}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels!r}")
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
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {self.engine!r}")
        if not isinstance(self.models_together, int) or self.models_together < 0:
            raise ValueError(f"models_together must be an integer >= 0 (0: all folds), got "
                             f"{self.models_together!r}")
        if not isinstance(self.test_each_epoch, bool):
            raise ValueError(f"test_each_epoch must be True or False, got "
                             f"{self.test_each_epoch!r}")
        for name in ("mixed_precision", "jit_compile"):
            if getattr(self, name) not in _AUTO:
                raise ValueError(f"{name} must be 'auto', True or False, got "
                                 f"{getattr(self, name)!r}")
        return self

    def to_dict(self):
        return dataclasses.asdict(self)

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
        for name in ("output", "folds", "epochs", "init", "time_limit", "recover_from", "engine",
                     "models_together", "test_each_epoch"):
            d.pop(name)
        return json.dumps(d, sort_keys=True, default=str)

    def describe(self, overridden=()):
        """The configuration as aligned lines; overridden fields are marked with '*'."""
        d = self.to_dict()
        width = max(map(len, d))
        lines = [f"configuration (preset {self.preset or '-'}; * = overridden):"]
        for k, v in d.items():
            lines.append(f"  {k.ljust(width)} {'*' if k in overridden else ' '} {v!r}")
        return "\n".join(lines)


def resolve_config(dataset="synthetic", model="i_mobilenetv2", **overrides):
    """The preset for (model, dataset), updated with `overrides`, validated.

    Example:
        config = resolve_config("ckplus", "light_ntwrn", data_dir="data/ckplus", epochs=50)

    Raises:
        ValueError: unknown field, model, dataset or a bad value.
    """
    from fer_keras.models import get_entry

    get_entry(model)  # unknown model: ValueError listing the registered ones
    preset = get_preset(model, dataset)
    values = {"dataset": dataset, "model": model, **preset.values}
    values.update({k: v for k, v in overrides.items()})
    config = TrainConfig.from_dict({**values, "preset": f"{preset.name} ({preset.source})"})
    config.overridden = tuple(k for k in overrides
                              if k in PRESET_FIELDS or k not in ("dataset", "model"))
    return config.validate()
