"""`python -m fer_keras.train`: the command line over `resolve_config` and the training loop.

    python -m fer_keras.train --dataset synthetic                      # zero-download demo
    python -m fer_keras.train --dataset ckplus --data-dir data/ckplus --model light_ntwrn --fold 0
    python -m fer_keras.train --config runs/demo/config.json --epochs 20   # a saved config

Every flag left out takes the preset's value (see --help and docs/training.md); the resolved
configuration is printed first and saved as config.json in the run folder. Run the same command
again after an interruption and it resumes. The flags are generated from `TrainConfig`
(`fer_keras.training.cli`). In Python, the same run is
`fer_keras.training.train(fer_keras.resolve_config(...))` (also `fer_keras.train_model`):
`fer_keras.train` is this module.
"""

import sys

from fer_keras.training.cli import build_parser, config_from_args, main

__all__ = ["build_parser", "config_from_args", "main"]

if __name__ == "__main__":
    sys.exit(main())
