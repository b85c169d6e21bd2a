"""PyTorch-style SGD with coupled weight decay, and the learning-rate schedules in Keras.

I-MobileNetV2 (Sci. Rep. 2024) trained with PyTorch 1.8's `torch.optim.SGD(lr=0.01,
momentum=0.9, weight_decay=5e-4)` ("learning rate weighting factor 5e-4"). PyTorch adds the decay
to the gradient before the momentum (an L2 term in the loss, not Keras's decoupled
`weight_decay`) and keeps a momentum buffer of gradients, not of steps:

    g = grad + wd * w
    buf = g                     (first step)
    buf = momentum * buf + g    (later steps; dampening 0)
    w = w - lr * (g + momentum * buf if nesterov else buf)

Keras's `SGD` keeps `m = momentum * m - lr * g` instead, which differs from PyTorch once the
learning rate changes (Light-NTWRN halves it every 50 epochs). `TorchSGD` follows PyTorch.
"""

import keras
from keras import ops

from fer_keras.training.schedule import SCHEDULES, rate, schedule_arguments


@keras.saving.register_keras_serializable(package="fer_keras")
class TorchSGD(keras.optimizers.Optimizer):
    """SGD exactly as `torch.optim.SGD` (momentum, dampening 0, coupled weight decay).

    Args:
        learning_rate: float or a `LearningRateSchedule`.
        momentum: float in [0, 1).
        weight_decay: coupled L2 factor added to the gradient (PyTorch's `weight_decay`),
            applied to every trainable variable, biases and normalisation included, as PyTorch
            does by default.
        nesterov: PyTorch's Nesterov variant.
        **kwargs: the Keras optimizer options (clipnorm, loss_scale_factor, name, ...); Keras's
            own decoupled `weight_decay` is not available here.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, weight_decay=0.0, nesterov=False,
                 name="torch_sgd", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=None, **kwargs)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.momentum = float(momentum)
        self.coupled_weight_decay = float(weight_decay)
        self.nesterov = bool(nesterov)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(variables, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        if self.coupled_weight_decay:
            g = ops.add(g, ops.multiply(ops.cast(self.coupled_weight_decay, variable.dtype),
                                        variable))
        if self.momentum:
            buf = self.momentums[self._get_variable_index(variable)]
            mu = ops.cast(self.momentum, variable.dtype)
            # PyTorch sets buf = g on the first step; buf starts at zero, so mu * 0 + g is that.
            self.assign(buf, ops.add(ops.multiply(mu, buf), g))
            g = ops.add(g, ops.multiply(mu, buf)) if self.nesterov else buf
        self.assign_sub(variable, ops.multiply(lr, g))

    def get_config(self):
        config = super().get_config()
        config.update(momentum=self.momentum, weight_decay=self.coupled_weight_decay,
                      nesterov=self.nesterov)
        return config


@keras.saving.register_keras_serializable(package="fer_keras")
class EpochSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """`schedule.learning_rate_at` as a function of the optimizer step (constant within an
    epoch: `epoch = step // steps_per_epoch`).

    Args:
        initial_learning_rate: the rate of epoch 0.
        steps_per_epoch: optimizer steps per epoch.
        schedule: "step" or "cosine" (`fer_keras.training.schedule`).
        factor, every, start: the step schedule's decay factor, period (epochs) and the epoch
            after which decay begins.
        epochs: the run's length (the cosine's period).
    """

    def __init__(self, initial_learning_rate, steps_per_epoch, schedule="step", factor=1.0,
                 every=0, start=0, epochs=1):
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
        if int(steps_per_epoch) < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch!r}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.steps_per_epoch = int(steps_per_epoch)
        self.schedule = schedule
        self.factor = float(factor)
        self.every = int(every)
        self.start = int(start)
        self.epochs = int(epochs)

    def __call__(self, step):
        epoch = ops.floor(ops.divide(ops.cast(step, "float32"), float(self.steps_per_epoch)))
        value = rate(self.initial_learning_rate, epoch, self.schedule, self.factor, self.every,
                     float(self.start), float(self.epochs), ops.cos, ops.floor, ops.maximum,
                     ops.power)
        return ops.cast(value, "float32")

    def get_config(self):
        return dict(initial_learning_rate=self.initial_learning_rate,
                    steps_per_epoch=self.steps_per_epoch, schedule=self.schedule,
                    factor=self.factor, every=self.every, start=self.start, epochs=self.epochs)


def step_schedule(learning_rate, steps_per_epoch, decay_factor=1.0, decay_epochs=0, start=0):
    """lr * factor ** (max(0, epoch - start) // decay_epochs), counted in optimizer steps;
    constant (a float) when `decay_epochs` is 0 or the factor is 1 (Light-NTWRN Table 4:
    "0.5/50").

    Without a start it is Keras's staircase `ExponentialDecay`: the runs before `EpochSchedule`
    existed trained with it, and although `EpochSchedule` gives the same rates, TensorFlow's
    float32 training took another path with its graph (the 12-epoch synthetic demo ended at
    75.4 % instead of >= 80 %), so their arithmetic is kept.
    """
    if not decay_epochs or decay_factor == 1.0:
        return float(learning_rate)
    if not start:
        return keras.optimizers.schedules.ExponentialDecay(
            float(learning_rate), decay_steps=int(steps_per_epoch * decay_epochs),
            decay_rate=float(decay_factor), staircase=True)
    return EpochSchedule(learning_rate, steps_per_epoch, "step", decay_factor, decay_epochs,
                         start)


def learning_rate_schedule(config, steps_per_epoch):
    """A float for a constant rate, `step_schedule` for a step schedule, else the cosine
    `EpochSchedule` of `config`'s schedule fields."""
    if config.lr_schedule == "step":
        return step_schedule(config.learning_rate, steps_per_epoch, config.lr_decay_factor,
                             config.lr_decay_epochs, config.lr_decay_start)
    return EpochSchedule(config.learning_rate, steps_per_epoch, **schedule_arguments(config))


def make_optimizer(config, steps_per_epoch):
    """The optimizer a TrainConfig names, with its learning-rate schedule."""
    lr = learning_rate_schedule(config, steps_per_epoch)
    if config.optimizer == "sgd":
        return TorchSGD(lr, momentum=config.momentum, weight_decay=config.weight_decay)
    # Adam with coupled L2 is not offered; Adam's weight_decay here is Keras's decoupled one.
    return keras.optimizers.Adam(lr, weight_decay=config.weight_decay or None)


def current_learning_rate(optimizer):
    lr = optimizer.learning_rate
    return float(ops.convert_to_numpy(lr))
