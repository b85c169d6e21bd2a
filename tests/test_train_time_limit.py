"""`TrainConfig.time_limit` / `--time-limit`: stop after the epoch that passes the limit, write the
best epoch's artifacts, resume later; and the two helpers that came with it, `logits_model` and
`artifacts.inference_copy` (float32 artifacts from mixed-precision runs).

The training runs swap the registered model for a one-convolution network (through
`fer_keras.models.create_model`, which `build_model` calls), so each run costs seconds.
"""

import csv
import json

import numpy as np
import pytest

from backends import require_backend

keras = require_backend("tensorflow", "the training tests run on the TensorFlow backend")

from data_fixtures import isolated_cache  # noqa: E402,F401
from fer_keras.training import artifacts, keras_engine, loop, model_setup  # noqa: E402
from fer_keras.training.config import resolve_config  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:The structure of `inputs`:UserWarning")

DATA = dict(dataset_options=dict(num_examples=140, image_size=32), batch_size=32)
LIMIT = 0.5  # seconds; every epoch below is made to last longer than this


def tiny_model(name="tiny", input_shape=(32, 32, 3), num_classes=7, **_):
    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1, name="rescale")(inputs)
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu", name="conv")(x)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dense(num_classes, name="logits")(x)
    outputs = keras.layers.Softmax(name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


@pytest.fixture
def tiny(monkeypatch):
    import fer_keras.models

    monkeypatch.setattr(fer_keras.models, "create_model", tiny_model)


@pytest.fixture
def slow_epochs(monkeypatch):
    """Every epoch lasts at least LIMIT + 0.3 s, so a LIMIT run stops after its first epoch."""
    import time

    real = keras_engine._run_epoch

    def slow(*args, **kwargs):
        row = real(*args, **kwargs)
        time.sleep(LIMIT + 0.3)
        return row

    monkeypatch.setattr(keras_engine, "_run_epoch", slow)
    return lambda: monkeypatch.setattr(keras_engine, "_run_epoch", real)


def _history(fold):
    with open(fold / "history.csv", newline="") as f:
        return list(csv.reader(f))


def test_time_limit_stops_after_the_epoch_then_the_same_run_resumes(tmp_path, tiny, slow_epochs,
                                                                     capsys):
    out = tmp_path / "run"
    config = resolve_config("synthetic", "i_mobilenetv2", output=str(out), epochs=3,
                            time_limit=LIMIT, **DATA)
    result = loop.train(config, verbose=1)
    fold = out / "fold_0"
    metrics = json.loads((fold / "metrics.json").read_text())
    assert result.folds == [metrics]
    assert metrics["epochs_trained"] == 1 and metrics["epochs_configured"] == 3
    assert metrics["complete"] is False
    assert metrics["best_epoch"] == 1 and metrics["config"]["time_limit"] == LIMIT
    assert "stopped by the time limit after 1 of 3 epochs" in metrics["notes"]
    assert metrics["params"] < 1000  # the tiny model
    for name in ("model.keras", "saved_model/saved_model.pb", "checkpoint.npz", "curves.png"):
        assert (fold / name).exists(), name
    first = _history(fold)
    assert len(first) == 2 and first[1][0] == "1"  # header and epoch 1 (counted from 1)
    log = capsys.readouterr().out
    assert f"time limit of {LIMIT:g} s reached after epoch 1 of 3" in log
    assert "epoch 2/3" not in log

    # The same configuration without the limit resumes after epoch 1; it does not restart, also
    # from a checkpoint written before history.csv counted epochs from 1.
    _count_epochs_from_zero(fold / "checkpoint.npz")
    slow_epochs()  # epochs at full speed again
    again = resolve_config("synthetic", "i_mobilenetv2", output=str(out), epochs=3, **DATA)
    assert again.run_key() == config.run_key()
    metrics = loop.train(again, verbose=1).folds[0]
    log = capsys.readouterr().out
    assert "fold 0: resuming after epoch 1" in log and "epoch 1/3" not in log
    assert metrics == json.loads((fold / "metrics.json").read_text())
    assert metrics["epochs_trained"] == metrics["epochs_configured"] == 3
    assert metrics["complete"] is True
    assert not any("time limit" in n for n in metrics.get("notes", []))
    history = _history(fold)
    assert [row[0] for row in history[1:]] == ["1", "2", "3"]
    assert history[:2] == first  # epoch 1's row, time included, is the one written before
    # Finished: a third call (with or without a limit) trains nothing.
    assert loop.train(config, verbose=1).folds[0] == metrics
    assert "already finished" in capsys.readouterr().out
    assert len(_history(fold)) == 4


def test_time_limit_starts_no_new_fold_after_the_deadline(tmp_path, tiny, slow_epochs):
    out = tmp_path / "run"
    config = resolve_config("synthetic", "i_mobilenetv2", output=str(out), epochs=2,
                            time_limit=LIMIT, protocol="subject_kfold",
                            protocol_options={"num_folds": 3}, **DATA)
    result = loop.train(config, verbose=0)
    assert [m["fold"] for m in result.folds] == [0] and result.summary == {}
    assert result.folds[0]["epochs_trained"] == 1 and result.folds[0]["epochs_configured"] == 2
    assert (out / "fold_0" / "metrics.json").is_file()
    assert not (out / "fold_1").exists() and not (out / "summary.json").exists()


@pytest.mark.parametrize("bad", [0, 0.0, -5])
def test_time_limit_must_be_positive(bad):
    with pytest.raises(ValueError, match=f"time_limit .*got {bad!r}"):
        resolve_config("synthetic", "i_mobilenetv2", time_limit=bad)


def test_cli_time_limit_flag():
    from fer_keras.train import build_parser, config_from_args

    parser = build_parser()
    config = config_from_args(parser.parse_args(["--time-limit", "90"]))
    assert config.time_limit == 90.0
    assert config_from_args(parser.parse_args([])).time_limit is None
    with pytest.raises(ValueError, match="-1"):
        config_from_args(parser.parse_args(["--time-limit", "-1"]))


def test_cli_rejects_a_zero_time_limit(capsys):
    from fer_keras.train import main

    assert main(["--time-limit", "0", "--quiet"]) == 2
    assert "time_limit must be a positive number of seconds, got 0.0" in capsys.readouterr().err


def test_run_key_ignores_time_limit_but_not_the_schedule():
    base = resolve_config("synthetic", "i_mobilenetv2", epochs=3)
    assert resolve_config("synthetic", "i_mobilenetv2", epochs=3,
                          time_limit=60).run_key() == base.run_key()
    assert resolve_config("synthetic", "i_mobilenetv2", epochs=5).run_key() == base.run_key()
    assert resolve_config("synthetic", "i_mobilenetv2", epochs=3,
                          learning_rate=0.1).run_key() != base.run_key()
    assert "time_limit" not in json.loads(base.run_key())


# === logits_model ===
def _x(shape=(4, 32, 32, 3), seed=0):
    return np.random.default_rng(seed).uniform(0, 255, shape).astype("float32")


def test_logits_model_is_the_softmax_input_sharing_weights():
    model = tiny_model()
    logits = model_setup.logits_model(model)
    assert logits is not model and logits.name == "tiny_logits"
    assert [id(w) for w in logits.weights] == [id(w) for w in model.weights]
    x = _x()
    z = keras.ops.convert_to_numpy(logits(x, training=False))
    p = keras.ops.convert_to_numpy(model(x, training=False))
    assert z.shape == p.shape == (4, 7)
    assert not np.allclose(z.sum(axis=1), 1.0)  # logits, not probabilities
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.softmax(z)), p, atol=1e-6)
    # Training the logits model trains the model.
    model.get_layer("logits").kernel.assign(np.ones((4, 7), "float32"))
    assert np.allclose(keras.ops.convert_to_numpy(logits.get_layer("logits").kernel), 1.0)


def test_logits_model_of_a_registered_model():
    from fer_keras.models import create_model

    model = create_model("i_mobilenetv2", input_shape=(32, 32, 3), num_classes=7, alpha=0.35,
                         scale_top_stage=True)
    logits = model_setup.logits_model(model)
    assert logits is not model and len(logits.weights) == len(model.weights)
    x = _x((2, 32, 32, 3), seed=1)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(keras.ops.softmax(logits(x, training=False))),
        keras.ops.convert_to_numpy(model(x, training=False)), atol=1e-6)


def _dense_model(activation=None, final=None, name="plain"):
    inputs = keras.Input((5,))
    x = keras.layers.Dense(3, activation=activation, name="predictions" if final is None else "d")(
        inputs)
    if final is not None:
        x = final(x)
    return keras.Model(inputs, x, name=name)


@pytest.mark.parametrize("build", [
    lambda: _dense_model(),                                   # no Softmax layer at all
    lambda: _dense_model(activation="softmax"),               # "predictions" is a Dense
    lambda: _dense_model(final=keras.layers.Softmax(name="probabilities")),  # another name
    lambda: keras.Sequential([keras.Input((5,)), keras.layers.Softmax(name="predictions"),
                              keras.layers.Dense(3, name="after")]),  # Softmax not the last
], ids=["no_softmax", "dense_predictions", "other_name", "softmax_not_last"])
def test_logits_model_returns_the_model_without_a_final_softmax(build):
    model = build()
    assert model_setup.logits_model(model) is model


# === inference_copy ===
def _policies(model, recursive):
    layers = (model._flatten_layers(include_self=False, recursive=True) if recursive
              else model.layers)
    return {layer.name: layer.dtype_policy.name for layer in layers
            if not isinstance(layer, keras.layers.InputLayer)}


@pytest.fixture
def mixed_model():
    """A tiny model built under the global mixed_float16 policy (the policy restored after)."""
    policy = keras.config.dtype_policy().name
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = tiny_model()
        model.get_layer("bn").moving_mean.assign(np.linspace(0.1, 0.4, 4).astype("float32"))
    finally:
        keras.config.set_dtype_policy(policy)
    return model


def test_inference_copy_is_float32_with_the_same_weights(mixed_model):
    assert set(_policies(mixed_model, False).values()) == {"mixed_float16"}
    copy = artifacts.inference_copy(mixed_model)
    assert copy is not mixed_model and getattr(copy, "optimizer", None) is None
    assert set(_policies(copy, False).values()) == {"float32"}
    assert all(w.dtype == "float32" for w in copy.weights)
    for a, b in zip(copy.get_weights(), mixed_model.get_weights()):
        np.testing.assert_array_equal(a, b)
    # The original is left as it was.
    assert set(_policies(mixed_model, False).values()) == {"mixed_float16"}
    x = _x()
    expected = np.asarray(keras.ops.convert_to_numpy(mixed_model(x, training=False)), np.float32)
    actual = keras.ops.convert_to_numpy(copy(x, training=False))
    assert actual.dtype == np.float32 and expected.dtype == np.float32
    np.testing.assert_allclose(actual, expected, atol=2e-3)
    np.testing.assert_allclose(actual.sum(axis=1), 1.0, atol=1e-5)


def test_inference_copy_of_a_registered_model_under_float32(tmp_path):
    from fer_keras.models import create_model

    policy = keras.config.dtype_policy().name
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = create_model("i_mobilenetv2", input_shape=(32, 32, 3), num_classes=7, alpha=0.35,
                             scale_top_stage=True)
    finally:
        keras.config.set_dtype_policy(policy)
    copy = artifacts.inference_copy(model)
    assert set(_policies(copy, True).values()) == {"float32"}
    assert len(copy.weights) == len(model.weights)
    for a, b in zip(copy.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = _x((2, 32, 32, 3), seed=2)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(copy(x, training=False)),
                               np.asarray(model(x, training=False), np.float32), atol=5e-3)
    artifacts.save_keras_model(model, tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert set(_policies(loaded, True).values()) == {"float32"}


def test_inference_copy_made_during_a_mixed_precision_run_is_all_float32():
    from fer_keras.models import create_model

    policy = keras.config.dtype_policy().name
    keras.config.set_dtype_policy("mixed_float16")  # as in train_fold while artifacts are written
    try:
        model = create_model("i_mobilenetv2", input_shape=(32, 32, 3), num_classes=7, alpha=0.35,
                             scale_top_stage=True)
        copy = artifacts.inference_copy(model)
    finally:
        keras.config.set_dtype_policy(policy)
    assert set(_policies(copy, False).values()) == {"float32"}  # the top-level layers are
    mixed = {k: v for k, v in _policies(copy, True).items() if v != "float32"}
    assert not mixed, mixed


def test_inference_copy_returns_an_unclonable_model_as_it_is():
    class Subclassed(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Subclassed()
    model(np.zeros((1, 3), "float32"))
    assert artifacts.inference_copy(model) is model


def _count_epochs_from_zero(path):
    """Rewrites the checkpoint's history as versions before 2026-12-06 kept it (epochs from 0)."""
    with np.load(path) as data:
        arrays = dict(data)
    state = json.loads(arrays["state"].tobytes().decode())
    state["history"] = [{**row, "epoch": row["epoch"] - 1} for row in state["history"]]
    arrays["state"] = np.frombuffer(json.dumps(state).encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)
