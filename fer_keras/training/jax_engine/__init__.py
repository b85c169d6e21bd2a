"""The device-resident training engine for the JAX backend (`--engine device`).

The split's uint8 images, labels and face boxes are put on the device once; each epoch's order
and augmentation seeds are the reference pipeline's (`data.py`); many steps run per compiled
call (`jax.lax.scan` of a stateless step, `step.py`), and K models of one architecture (the
folds of a protocol, several seeds) train together under `jax.vmap` (`runner.py`), each writing
its own fold folder as the loop would. `engine_throughput` measures it (`throughput.py`).
Importing this package imports JAX, never TensorFlow.
"""

from fer_keras.lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {
    "train_members": "fer_keras.training.jax_engine.runner",
    "train_group": "fer_keras.training.jax_engine.runner",
    "engine_throughput": "fer_keras.training.jax_engine.throughput",
    "enable_compilation_cache": "fer_keras.training.jax_engine.cache",
})

__all__ = ["enable_compilation_cache", "engine_throughput", "train_group", "train_members"]
