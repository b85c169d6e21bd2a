"""The benchmark's settings and timing helpers: a median of timed calls, random images, the
compile options, and whether the TensorFlow-only parts can run."""

import statistics
import time

from fer_keras import papers

DEFAULT_MODELS = ("i_mobilenetv2", "light_ntwrn", "keras_mobilenetv2")
INPUT_SHAPE = (48, 48, 3)
NUM_CLASSES = 7
INFERENCE_BATCH = 256
# {family: tiny widths for the smoke test} (every block type, a fraction of the cost), from each
# family's `Family.tiny_kwargs` (fer_keras/papers/).
TINY_KWARGS = papers.LiveView(
    lambda: {name: dict(f.tiny_kwargs) for name, f in papers.families().items()})


def median_time(fn, repeats, warmup=1):
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def tensorflow_available():
    import keras

    if keras.backend.backend() != "tensorflow":
        return False, f"the {keras.backend.backend()} backend (TensorFlow parts need TensorFlow)"
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return False, "TensorFlow is not installed"
    return True, ""


def compile_kwargs():
    import keras

    # Never XLA on CPU under TensorFlow (depthwise convolutions run ~10x slower there).
    return {"jit_compile": False} if keras.backend.backend() == "tensorflow" else {}


def images(batch, input_shape=INPUT_SHAPE, seed=0):
    import numpy as np

    return np.random.default_rng(seed).uniform(0, 255, (batch,) + tuple(input_shape)).astype(
        "float32")
