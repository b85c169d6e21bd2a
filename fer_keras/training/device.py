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


def resolve_engine(config):
    """The engine a run uses: "device" (the JAX engine) for "auto" on JAX with a GPU and one
    process (the device engine splits batches over one host's devices), "loop" for "auto"
    elsewhere; ValueError for "device" on another backend."""
    backend = keras.backend.backend()
    if config.engine == "device" and backend != "jax":
        raise ValueError(f"engine 'device' needs the JAX backend (KERAS_BACKEND=jax); the "
                         f"backend is {backend!r}")
    if config.engine == "auto":
        from fer_keras.training.distribution import multi_process

        one_host = config.distribute == "none" or not multi_process(config)
        return "device" if backend == "jax" and one_host and has_gpu() else "loop"
    return config.engine


def describe_hardware():
    """What a run's figures were measured on: backend, accelerator (or CPU) and core count."""
    import os
    import platform

    backend = keras.backend.backend()
    accelerator = None
    try:
        if backend == "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform == "gpu"]
            accelerator = gpus[0].device_kind if gpus else None
        elif backend == "tensorflow" and has_gpu():
            import tensorflow as tf

            gpu = tf.config.list_physical_devices("GPU")[0]
            accelerator = tf.config.experimental.get_device_details(gpu).get("device_name", "GPU")
    except Exception:  # noqa: BLE001 - the description is informative only
        accelerator = None
    cpu = platform.processor() or platform.machine()
    return {"backend": backend, "accelerator": accelerator or "none", "cpu": cpu,
            "cpu_count": os.cpu_count(),
            "summary": f"{accelerator or f'CPU ({os.cpu_count()} cores)'}, {backend}"}
