"""The model a fold trains: built from the configuration, its logits model and its compilation.

Shared by the training engines (`loop`, `tf_fit` through the loop, `jax_engine`), so that every
engine trains the same model with the same loss and optimizer.
"""

import numpy as np

from fer_keras.training import distribution, tf_fit
from fer_keras.training.weights import load_source_model, transfer_weights


def build_model(config, ds):
    """The configured model for the dataset's image size and classes (weights from `init`)."""
    from fer_keras.models import create_model

    h, w = ds.image_shape[:2]
    model = create_model(config.model, input_shape=(h, w, config.channels),
                         num_classes=ds.num_classes, **config.model_kwargs)
    if config.init:
        source = load_source_model(config.init, "init")
        copied = transfer_weights(source, model)
        if not copied:
            raise ValueError(f"--init {config.init}: no layer of it matches {config.model}")
    return model


def class_weights(config, labels, num_classes):
    """Per-class loss weights for `config.class_weight="balanced"` (else None)."""
    if config.class_weight != "balanced":
        return None
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    return np.where(counts > 0, len(labels) / (num_classes * np.maximum(counts, 1)), 0.0)


def logits_model(model):
    """The model up to its softmax layer (`predictions`), sharing every layer and weight.

    Training minimises cross-entropy on these logits (`from_logits=True`): computed on softmax
    outputs, Keras clips probabilities to [1e-7, 1 - 1e-7], and an example whose true-class
    probability falls under 1e-7 then contributes no gradient at all. Models without a softmax
    layer are returned as they are.
    """
    import keras

    try:
        head = model.get_layer("predictions")
    except ValueError:
        return model
    if not isinstance(head, keras.layers.Softmax) or model.layers[-1] is not head:
        return model
    return keras.Model(model.inputs, head.input, name=f"{model.name}_logits")


def drop_remainder(config, num_train, jit):
    """Whether an epoch skips its last partial batch: with compiled steps (XLA compiles one
    batch shape once) and with several replicas (each gets an equal share), when there is more
    than one batch. Every engine's step count follows from it."""
    return ((bool(jit) or distribution.plan(config).replicas > 1)
            and num_train > config.batch_size)


def compiled_trainer(config, ds, split, jit):
    """(model, trainer, drop_remainder, steps per epoch): the fold's model built under its seed
    and its logits model compiled with the configured optimizer (built, so a checkpoint can be
    restored into it). With `--distribute` it is built inside the plan's scope (`loop.train`
    enters it), and `scale_lr` scales the learning rate (`distribution.optimizer_config`)."""
    import keras

    from fer_keras.training.optimizers import make_optimizer

    keras.utils.set_random_seed(config.seed)
    model = build_model(config, ds)
    distribution.synchronize_batch_norm(model, distribution.plan(config))
    trainer = logits_model(model)
    drop = drop_remainder(config, len(split.train), jit)
    steps = tf_fit.num_steps(len(split.train), config.batch_size, drop)
    compile_trainer(trainer, model, make_optimizer(distribution.optimizer_config(config), steps),
                    jit, config.label_smoothing)
    return model, trainer, drop, steps


def compile_trainer(trainer, model, optimizer, jit=False, label_smoothing=0.0):
    """Compiles `trainer` (`logits_model(model)`, or `model` itself) as every engine trains it:
    sparse categorical cross-entropy (on logits when the trainer is the logits model; against
    label-smoothed targets with `label_smoothing`, `training.losses`), the accuracy metric,
    `optimizer` built on its variables so that a checkpoint can be restored into it. The device
    engine's compiled step calls this same loss object (`trainer.loss`)."""
    from fer_keras.training.losses import training_loss

    trainer.compile(optimizer=optimizer, loss=training_loss(label_smoothing,
                                                            from_logits=trainer is not model),
                    metrics=["accuracy"], jit_compile=jit)
    trainer.optimizer.build(trainer.trainable_variables)
