"""`engine_throughput`: images/s of the device engine's compiled training program.

It builds the model(s), puts synthetic uint8 grey images on the device, compiles one call of
`steps` scanned steps (K models vmapped), runs it once (the compile time) and times further
calls. The step is the one `train` runs: augmentation, forward, loss, gradient, optimizer.
"""

import time

import numpy as np


def _program(name, batch_size, num_models, steps, model_kwargs, input_shape, num_classes,
             augment):
    import keras

    from fer_keras.data.pipeline import resolve_augment
    from fer_keras.models import create_model
    from fer_keras.training.config import TrainConfig
    from fer_keras.training.jax_engine.members import Template, stack_states
    from fer_keras.training.jax_engine.step import Program
    from fer_keras.training.model_setup import logits_model
    from fer_keras.training.optimizers import make_optimizer

    layers = resolve_augment(augment)
    keras.utils.set_random_seed(0)
    model = create_model(name, input_shape=input_shape, num_classes=num_classes,
                         **(model_kwargs or {}))
    trainer = logits_model(model)
    config = TrainConfig(model=name, batch_size=batch_size, momentum=0.9, weight_decay=5e-4)
    template = Template(model, trainer, make_optimizer(config, steps),
                        make_optimizer(config, steps))
    program = Program(trainer, template.update_optimizer, trainer is not model, layers,
                      input_shape[-1], True, num_models, template.lr_pos)
    return program, stack_states([template.read()] * num_models)


def engine_throughput(name, batch_size, num_models=1, steps=20, model_kwargs=None,
                      input_shape=(48, 48, 3), num_classes=7, augment="flip", repeats=3,
                      mixed_precision=None):
    """Training images/s of `num_models` models of `name` trained together.

    Args:
        name: a registered model. batch_size: per model. num_models: K (vmapped).
        steps: optimizer steps per compiled call. model_kwargs: builder overrides.
        input_shape: the model's input; the data are grey uint8 images of its size.
        augment: the augmentation policy run inside the step. repeats: timed calls.
        mixed_precision: None (bfloat16 on a GPU), True or False.

    Returns:
        {"images_per_s" (summed over models), "compile_s" (first call), "steps", "num_models",
         "batch_size", "device" (JAX's device kind), "mixed_precision"}.
    """
    import jax
    import keras

    from fer_keras.training.device import has_gpu
    from fer_keras.training.jax_engine import data
    from fer_keras.training.jax_engine.cache import enable_compilation_cache

    enable_compilation_cache()
    mixed = has_gpu() if mixed_precision is None else bool(mixed_precision)
    policy = keras.config.dtype_policy().name
    keras.config.set_dtype_policy("mixed_bfloat16" if mixed else "float32")
    try:
        program, state = _program(name, batch_size, num_models, steps, model_kwargs,
                                  input_shape, num_classes, augment)
    finally:
        keras.config.set_dtype_policy(policy)
    num = steps * batch_size
    rng = np.random.default_rng(0)
    images = jax.device_put(rng.integers(0, 256, (num, *input_shape[:2], 1), dtype=np.uint8))
    labels = jax.device_put(rng.integers(0, num_classes, num).astype(np.int32))
    boxes = jax.device_put(np.tile(np.array([[6, 6, 36, 36]], np.int32), (num, 1)))
    weights = jax.device_put(np.ones((num_models, num_classes), np.float32))
    layers = len(program.layers)

    def call(state, epoch):
        plans = [data.epoch_batches(np.arange(num), batch_size, k, epoch, layers, True)[:2]
                 for k in range(num_models)]
        state, (losses, _) = program.epoch(state, images, labels, boxes, weights,
                                           *data.stack_epochs(plans))
        losses.block_until_ready()
        return state

    start = time.perf_counter()
    state = call(state, 0)
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    for epoch in range(1, repeats + 1):
        state = call(state, epoch)
    elapsed = time.perf_counter() - start
    return {"images_per_s": num_models * num * repeats / elapsed, "compile_s": compile_s,
            "steps": steps, "num_models": num_models, "batch_size": batch_size,
            "device": jax.devices()[0].device_kind, "mixed_precision": mixed}
