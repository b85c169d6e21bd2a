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

from fer_keras.training.config import TrainConfig, load_config, resolve_config, save_config


def __getattr__(name):
    if name in ("train", "train_fold", "TrainingDiverged", "TrainResult", "predict"):
        from fer_keras.training import loop

        return getattr(loop, name)
    if name == "build_model":
        from fer_keras.training import model_setup

        return model_setup.build_model
    if name in ("transfer_weights", "find_model_file"):
        from fer_keras.training import weights

        return getattr(weights, name)
    if name in ("TorchSGD", "make_optimizer", "step_schedule"):
        from fer_keras.training import optimizers

        return getattr(optimizers, name)
    raise AttributeError(f"module 'fer_keras.training' has no attribute {name!r}")


__all__ = ["TorchSGD", "TrainConfig", "TrainResult", "TrainingDiverged", "build_model",
           "load_config", "make_optimizer", "predict", "resolve_config", "save_config",
           "step_schedule", "train", "train_fold", "transfer_weights"]
