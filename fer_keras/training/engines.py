"""Which engine trains a run, decided in one place.

An engine trains a fold's epochs; the fold's life around them (start, resume, the end of each
epoch, the artifacts) is `fer_keras.training.fold`, the same for all. `TrainConfig.engine` names
what the user asked for; `choose` says what runs on this backend and machine:

- "device" (`jax_engine`): JAX with the data on the device and compiled multi-epoch programs,
  several folds at once; what "auto" takes on JAX with a GPU and one host;
- "fit" (`keras_engine` over `tf_fit`): TensorFlow, one `model.fit` call per epoch over the
  `tf.data` pipeline, several steps per call; what "auto" takes on TensorFlow with
  `--distribute` (and what `--engine fit` asks for);
- "jax_fit" (`keras_engine`): engine "loop" on JAX: one `model.fit` call per epoch over the same
  batches, because JAX's `train_on_batch` copies every variable at each step;
- "steps" (`keras_engine`): engine "loop" elsewhere: one `train_on_batch` call per step.
"""

KERAS_ENGINES = ("fit", "jax_fit", "steps")
ENGINES = ("device", *KERAS_ENGINES)


def choose(config):
    """The engine (one of ENGINES) that trains `config` on this backend.

    Raises:
        ValueError: engine "device" off JAX, or engine "fit" off TensorFlow.
    """
    import keras

    from fer_keras.training import tf_fit
    from fer_keras.training.device import resolve_engine

    if resolve_engine(config) == "device":
        return "device"
    if tf_fit.use_tf_fit(config):
        return "fit"
    return "jax_fit" if keras.backend.backend() == "jax" else "steps"
