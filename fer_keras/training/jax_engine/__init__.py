"""The device-resident training engine for the JAX backend (`--engine device`).

The split's uint8 images, labels and face boxes are put on the device once; each epoch's order
and augmentation seeds are the reference pipeline's (`data.py`); many steps run per compiled
call (`jax.lax.scan` of a stateless step, `step.py`), and K models of one architecture (the
folds of a protocol, several seeds) train together under `jax.vmap` (`runner.py`), each writing
its own fold folder as the loop would. `engine_throughput` measures it (`throughput.py`).
Importing this package imports JAX, never TensorFlow.
"""


def __getattr__(name):
    if name in ("train_members", "train_group"):
        from fer_keras.training.jax_engine import runner

        return getattr(runner, name)
    if name == "engine_throughput":
        from fer_keras.training.jax_engine.throughput import engine_throughput

        return engine_throughput
    if name == "enable_compilation_cache":
        from fer_keras.training.jax_engine.cache import enable_compilation_cache

        return enable_compilation_cache
    raise AttributeError(f"module 'fer_keras.training.jax_engine' has no attribute {name!r}")


__all__ = ["enable_compilation_cache", "engine_throughput", "train_group", "train_members"]
