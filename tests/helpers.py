"""One shared harness for every layer and model test (keras-hub's run_layer_test habit)."""

import importlib.util
from pathlib import Path

import numpy as np
import keras


def _weights_snapshot(model):
    return [np.array(keras.ops.convert_to_numpy(w)) for w in model.trainable_weights]


def check_gradients_reach_every_weight(model, x, y):
    """One SGD step must change every trainable weight tensor (backend-agnostic)."""
    # One step: on TensorFlow, tracing the graph costs more than running it eagerly; on JAX,
    # eager dispatch costs more than compiling.
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
                  loss="sparse_categorical_crossentropy" if y is not None else "mse",
                  run_eagerly=keras.backend.backend() == "tensorflow")
    before = _weights_snapshot(model)
    target = y if y is not None else np.ones_like(keras.ops.convert_to_numpy(model(x)))
    model.train_on_batch(x, target)
    after = _weights_snapshot(model)
    frozen = [w.path for w, b, a in zip(model.trainable_weights, before, after)
              if np.array_equal(a, b)]
    assert not frozen, f"no gradient reached: {frozen}"


def check_save_load(model, x, tmp_path):
    """`.keras` round trip with safe_mode=True gives identical outputs."""
    path = tmp_path / f"{model.name}.keras"
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    actual = keras.ops.convert_to_numpy(loaded(x, training=False))
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
    return loaded


def run_layer_test(layer_cls, init_kwargs, input_shape, expected_output_shape, tmp_path,
                   seed=0):
    """Builds ``layer_cls(**init_kwargs)`` inside a model and checks everything we promise.

    Output shape, ``get_config`` equal to the constructor arguments and a from_config round trip,
    a `.keras` save/load with ``safe_mode=True`` giving identical outputs, and gradients reaching
    every trainable weight.
    """
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    for key, value in init_kwargs.items():
        assert config[key] == value, (key, config[key], value)
    extra = set(config) - set(init_kwargs) - {"name", "trainable", "dtype"}
    assert not extra, f"get_config holds non-constructor keys: {extra}"
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config

    inputs = keras.Input(shape=input_shape[1:])
    outputs = layer(inputs)
    assert tuple(outputs.shape) == (None,) + tuple(expected_output_shape[1:])
    model = keras.Model(inputs, outputs, name=f"test_{layer_cls.__name__.lower()}")
    x = np.random.default_rng(seed).normal(size=input_shape).astype("float32")
    y = keras.ops.convert_to_numpy(model(x))
    assert y.shape == tuple(expected_output_shape)
    check_save_load(model, x, tmp_path)
    if model.trainable_weights:
        check_gradients_reach_every_weight(model, x, None)
    return layer


def run_model_test(model, tmp_path, num_classes=7, batch=2, seed=0):
    """Softmax outputs of the right shape, `.keras` round trip, gradients to every weight."""
    shape = (batch,) + tuple(model.input.shape[1:])
    x = np.random.default_rng(seed).uniform(0, 255, size=shape).astype("float32")
    probs = keras.ops.convert_to_numpy(model(x, training=False))
    assert probs.shape == (batch, num_classes)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert (probs >= 0).all()
    check_save_load(model, x, tmp_path)
    y = np.arange(batch) % num_classes
    check_gradients_reach_every_weight(model, x, y)


def max_weight_difference(fold_a, fold_b):
    """The largest absolute difference between the weights of two run folds' model.keras."""
    import fer_keras.models  # noqa: F401 - registers the custom layers model.keras names

    a, b = (keras.saving.load_model(f / "model.keras").get_weights() for f in (fold_a, fold_b))
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in zip(a, b))


def load_script(name):
    """`scripts/NAME.py` imported as a module (the scripts folder is not a package)."""
    path = Path(__file__).parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
