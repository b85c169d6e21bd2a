"""The learning-rate schedules, written once: per epoch in Python and per step in Keras.

Every engine trains with the rate `epoch_learning_rate(config, epoch)` gives for each (0-based)
epoch; the rate is constant over an epoch. Two shapes (`TrainConfig.lr_schedule`):

- `"step"`: `lr * factor ** (max(0, epoch - start) // every)` with `factor = lr_decay_factor`,
  `every = lr_decay_epochs` and `start = lr_decay_start`; constant when `every` is 0 or the
  factor is 1. Light-NTWRN's Table 4 ("0.5/50") is factor 0.5, every 50, start 0. The I-MobileNetV2
  FER2013 preset reads the paper's "initial learning rate 0.01" as the schedule of the public
  PyTorch FER code whose optimiser settings the paper repeats (factor 0.9 every 5 epochs after
  epoch 80; docs/paper_notes.md, "Learning-rate schedule").
- `"cosine"`: `lr * (1 + cos(pi * epoch / epochs)) / 2`, PyTorch's `CosineAnnealingLR` with
  `T_max = epochs`, `eta_min = 0`, stepped once per epoch.

`optimizers.EpochSchedule` is the same function of the optimizer's step count (`epoch = step //
steps_per_epoch`, through `rate` with Keras ops); the JAX device engine reads
`epoch_learning_rate`. This module imports no Keras.
"""

import math

SCHEDULES = ("step", "cosine")
# The TrainConfig fields that decide the schedule (with `learning_rate` and `epochs`).
SCHEDULE_FIELDS = ("lr_schedule", "lr_decay_factor", "lr_decay_epochs", "lr_decay_start")


def rate(base, epoch, schedule, factor, every, start, epochs, cos, floor, maximum, power):
    """The schedule written once over the math functions given (Python's or Keras ops)."""
    if schedule == "cosine":
        return base * 0.5 * (1.0 + cos(math.pi * epoch / epochs))
    if not every or factor == 1.0:
        return base * (epoch * 0 + 1)
    return base * power(factor, floor(maximum(epoch - start, 0) / every))


def learning_rate_at(base, epoch, schedule="step", factor=1.0, every=0, start=0, epochs=1):
    """The learning rate of 0-based `epoch` (Python floats)."""
    return float(rate(float(base), epoch, schedule, float(factor), int(every), int(start),
                       int(epochs), math.cos, math.floor, max, pow))


def schedule_arguments(config):
    """The schedule keywords of `learning_rate_at` / `EpochSchedule` a TrainConfig sets."""
    return dict(schedule=config.lr_schedule, factor=config.lr_decay_factor,
                every=config.lr_decay_epochs, start=config.lr_decay_start, epochs=config.epochs)


def epoch_learning_rate(config, epoch, base=None):
    """The learning rate of 0-based `epoch` under `config`'s schedule, from `base` (default
    `config.learning_rate`)."""
    return learning_rate_at(config.learning_rate if base is None else base, epoch,
                            **schedule_arguments(config))


def is_constant(config):
    return config.lr_schedule == "step" and (not config.lr_decay_epochs
                                             or config.lr_decay_factor == 1.0)


def same_rates(old, new, epochs):
    """True when configs `old` and `new` give the same rate to each of the first `epochs`
    epochs (a schedule may change when a run continues only if the epochs kept agree)."""
    return all(math.isclose(epoch_learning_rate(old, e), epoch_learning_rate(new, e),
                            rel_tol=1e-9) for e in range(epochs))


__all__ = ["SCHEDULES", "SCHEDULE_FIELDS", "epoch_learning_rate", "is_constant",
           "learning_rate_at", "rate", "same_rates", "schedule_arguments"]
