"""Accelerator detection and the "auto" settings: mixed precision and XLA on with a GPU.

On CPU both stay off with TensorFlow (XLA would compile slowly and mixed float16 is slower on
CPU). JAX always compiles with XLA (it has no fast uncompiled path), so `jit_compile="auto"`
means True there.
"""

import keras


def has_gpu():
    """True when the active Keras backend sees a GPU."""
    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return bool(tf.config.list_physical_devices("GPU"))
        if backend == "jax":
            import jax

            return any(d.platform == "gpu" for d in jax.devices())
        if backend == "torch":
            import torch

            return torch.cuda.is_available()
    except Exception:  # noqa: BLE001 - a broken driver means no usable GPU
        return False
    return False


def resolve_auto(config):
    """(mixed_precision, jit_compile) as booleans for this machine."""
    gpu = has_gpu()
    mixed = gpu if config.mixed_precision == "auto" else bool(config.mixed_precision)
    if config.jit_compile == "auto":
        jit = gpu or keras.backend.backend() == "jax"
    else:
        jit = bool(config.jit_compile)
    return mixed, jit
