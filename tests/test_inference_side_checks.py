"""scripts/inference_side_checks.py: its recomputed batch-normalisation statistics are the exact
averages over the batches it saw, in top-level and nested BN layers alike (docs/results.md
reports the figures it printed for the published FER2013 model)."""

import numpy as np
import pytest

from helpers import load_script

pytestmark = pytest.mark.tf


def _script():
    return load_script("inference_side_checks")


def _model():
    import keras

    class Block(keras.layers.Layer):  # a BN layer inside a layer, as in Light-NTWRN's blocks
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.norm = keras.layers.BatchNormalization()

        def call(self, x, training=None):
            return self.norm(x, training=training)

    inputs = keras.Input((4, 4, 3))
    outputs = keras.layers.Add()([keras.layers.BatchNormalization()(inputs), Block()(inputs)])
    return keras.Model(inputs, outputs)


def test_statistics_are_the_averages_over_the_batches_seen():
    import keras

    x = np.random.default_rng(0).normal(3.0, 2.0, (3 * 128 + 5, 4, 4, 3)).astype("float32")
    model = _model()
    layers, count = _script().recompute_statistics(model, x, batches=0)
    assert (layers, count) == (2, 3)
    order = np.random.default_rng(0).permutation(len(x))
    batches = [x[order[k * 128:(k + 1) * 128]] for k in range(3)]
    top = next(layer for layer in model.layers
               if isinstance(layer, keras.layers.BatchNormalization))
    nested = next(layer.norm for layer in model.layers if hasattr(layer, "norm"))
    for norm in (top, nested):
        np.testing.assert_allclose(norm.moving_mean.numpy(),
                                   np.mean([b.mean(axis=(0, 1, 2)) for b in batches], axis=0),
                                   rtol=1e-5)
        np.testing.assert_allclose(norm.moving_variance.numpy(),
                                   np.mean([b.var(axis=(0, 1, 2)) for b in batches], axis=0),
                                   rtol=1e-4)
