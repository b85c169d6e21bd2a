"""A fold's epochs at the raw step's speed (issue 32, item 5): the fold's pipeline gives each
epoch the batches of `make_tf_dataset(seed, epoch)`, and `benchmark --training`'s fold path
(train epochs alternating with the raw step) runs."""

import math

import numpy as np
import pytest

from backends import require_backend

keras = require_backend(
    "tensorflow", "the fold pipeline and the benchmark's fold path are TensorFlow's")

from fer_keras.data import load_dataset, make_tf_dataset  # noqa: E402
from fer_keras.training import keras_engine  # noqa: E402
from fer_keras.training.config import resolve_config  # noqa: E402


@pytest.mark.parametrize("start", [0, 2])
def test_fold_batches_are_each_epochs_own(monkeypatch, start):
    """Epoch by epoch, across a rebuilt pipeline (3 epochs each) and from a resumed epoch."""
    ds = load_dataset("synthetic", num_examples=50, image_size=16)
    indices = np.arange(3, 50)  # 47 examples: a partial last batch of 7
    config = resolve_config("synthetic", "i_mobilenetv2", batch_size=10, augment="flip",
                            epochs=8, seed=3)
    monkeypatch.setattr(keras_engine, "PIPELINE_EXAMPLES", 3 * len(indices))
    batches = keras_engine.EpochBatches(config, ds, indices)
    for epoch in range(start, config.epochs):
        got = list(batches.epoch(epoch))
        want = list(make_tf_dataset(ds, indices, 10, training=True, channels=config.channels,
                                    augment="flip", seed=3, epoch=epoch))
        assert len(got) == len(want) == 5
        for (x, y), (wx, wy) in zip(got, want):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(wx))
            np.testing.assert_array_equal(np.asarray(y), np.asarray(wy))


@pytest.mark.slow
def test_fold_ratio_runs_on_a_tiny_fold():
    from fer_keras.benchmark import epoch_speed

    fold = epoch_speed.fold_section(tiny=True, epochs=3)
    assert [r["epoch"] for r in fold["rounds"]] == [2, 3]
    for r in fold["rounds"]:
        assert r["train_images_per_s"] > 0 and r["raw_images_per_s"] > 0
        assert math.isclose(r["ratio"], r["train_images_per_s"] / r["raw_images_per_s"])
        assert r["parts"]["train steps"] > 0 and r["parts"]["checkpoint write"] > 0
        assert math.isclose(sum(r["parts"].values()), r["seconds"])
    table = epoch_speed.format_fold_markdown(fold)
    assert "| train / raw |" in table and "| 3 |" in table
