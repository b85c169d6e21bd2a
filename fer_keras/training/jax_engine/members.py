"""The models a device-engine program trains, and the one Keras model their states pass through.

A `Member` is one fold (`fer_keras.training.fold.Fold`: its config, split, bookkeeping `state`
and best weights, started, ended and finished as with every engine) with what the program needs
beside it: its steps per epoch and class weights. The
`Template` is one built Keras model of the architecture, compiled with the optimizer the loop
would use: a member's arrays are assigned into it to write its checkpoint (the loop's format,
so either engine resumes the other's run), to recover it, and to write its artifacts.
"""

import dataclasses

import numpy as np

from fer_keras.training.fold import Fold


@dataclasses.dataclass
class Member(Fold):
    """One fold trained by the program (see the module docstring)."""

    drop_remainder: bool = True
    steps: int = 0
    class_weights: np.ndarray = None


def scheduled_learning_rate(config, epoch):
    """The learning rate of `epoch` under the configured schedule (`training.schedule`: constant
    over an epoch, so it is the same whatever the fold's steps per epoch), from the configured
    rate as `--scale-lr` scales it (`distribution.scaled_learning_rate`)."""
    from fer_keras.training.distribution import scaled_learning_rate
    from fer_keras.training.schedule import epoch_learning_rate

    return float(np.float32(epoch_learning_rate(config, epoch, scaled_learning_rate(config))))


def _values(variables):
    import keras

    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


def _assign(variables, values):
    for var, value in zip(variables, values):
        var.assign(value)


class Template:
    """A built model, its trainer (`model_setup.logits_model`) compiled with the loop's optimizer, and
    the engine's update optimizer (the same class with a constant learning-rate variable).

    Args:
        model: the built Keras model. trainer: its logits model.
        optimizer: `make_optimizer(config, steps)`, the checkpoint's optimizer.
        update_optimizer: `make_optimizer` with a constant rate, used by the compiled step.
        label_smoothing: the loss's (`training.losses`; the config's `label_smoothing`).
    """

    def __init__(self, model, trainer, optimizer, update_optimizer, label_smoothing=0.0):
        from fer_keras.training.model_setup import compile_trainer

        self.model, self.trainer = model, trainer
        compile_trainer(trainer, model, optimizer, label_smoothing=label_smoothing)
        update_optimizer.build(trainer.trainable_variables)
        self.update_optimizer = update_optimizer
        ids = [id(v) for v in update_optimizer.variables]
        self.lr_pos = ids.index(id(update_optimizer._learning_rate))
        self.fresh_optimizer = _values(trainer.optimizer.variables)

    def read(self):
        """(trainable, non_trainable, update-optimizer values) of the Keras variables."""
        opt = _values(self.trainer.optimizer.variables)
        if len(opt) < len(self.update_optimizer.variables):
            opt.insert(self.lr_pos, np.zeros((), np.float32))
        return (_values(self.trainer.trainable_variables),
                _values(self.trainer.non_trainable_variables), opt)

    def write(self, values):
        """Assigns (trainable, non_trainable, update-optimizer values) to the Keras variables."""
        trainable, non_trainable, opt = values
        opt = list(opt)
        if len(opt) > len(self.trainer.optimizer.variables):
            del opt[self.lr_pos]
        _assign(self.trainer.trainable_variables, trainable)
        _assign(self.trainer.non_trainable_variables, non_trainable)
        _assign(self.trainer.optimizer.variables, opt)

    def start(self, initial):
        """Loads a fresh model's variables (`_values(model.variables)` of a build under the
        member's seed) with a fresh optimizer."""
        _assign(self.trainer.variables, initial)
        _assign(self.trainer.optimizer.variables, self.fresh_optimizer)

    def weights(self):
        """What the loop keeps as best weights: the model's `weights` as arrays."""
        return _values(self.model.weights)


def initial_variables(model):
    return _values(model.variables)


def stack_states(values):
    """K models' (trainable, non_trainable, optimizer) lists stacked into device arrays K x ..."""
    import jax.numpy as jnp

    return tuple([jnp.asarray(np.stack(leaves)) for leaves in zip(*parts)]
                 for parts in zip(*values))


def member_values(host_state, k):
    """Model k's values from a stacked state fetched to the host (`jax.device_get`)."""
    return tuple([np.asarray(leaf[k]) for leaf in part] for part in host_state)
