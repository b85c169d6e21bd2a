"""Training: a configuration as data and one function that runs it.

    from fer_keras.training import resolve_config, train
    config = resolve_config("synthetic", "i_mobilenetv2", epochs=5, output="runs/demo")
    result = train(config)            # result.folds[0]["accuracy"], result.run_dir

`python -m fer_keras.train` is a thin command line over these two functions (its parser is
generated from TrainConfig's fields: `fer_keras.training.cli`); `load_config` / `save_config`
read and write a configuration file (`train --config`). `fer_keras.train_model` is `train`. Presets, run-folder
layout and resume semantics: docs/training.md. Importing this package does not import Keras;
`train` and `TorchSGD` do.
"""

from fer_keras.lazy import lazy_attributes
from fer_keras.training.config import TrainConfig, load_config, resolve_config, save_config


__getattr__, __dir__ = lazy_attributes(__name__, {
    **{name: "fer_keras.training.loop"
       for name in ("train", "train_fold", "TrainingDiverged", "TrainResult", "predict")},
    "build_model": "fer_keras.training.model_setup",
    "transfer_weights": "fer_keras.training.weights",
    "find_model_file": "fer_keras.training.weights",
    **{name: "fer_keras.training.optimizers"
       for name in ("TorchSGD", "make_optimizer", "step_schedule")},
})

__all__ = ["TorchSGD", "TrainConfig", "TrainResult", "TrainingDiverged", "build_model",
           "load_config", "make_optimizer", "predict", "resolve_config", "save_config",
           "step_schedule", "train", "train_fold", "transfer_weights"]
