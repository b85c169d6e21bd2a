"""The speed reformulations compute the same function as the straightforward layers."""

import numpy as np
import pytest
import keras

from fer_keras.layers import GroupConv2D
from fer_keras.models import count_macs
from helpers import check_save_load

to_np = keras.ops.convert_to_numpy


@pytest.mark.parametrize("kernel_size, strides, groups", [(1, 1, 4), (1, 2, 2), (3, 1, 3)])
def test_group_conv2d_equals_keras_grouped_conv2d(kernel_size, strides, groups):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 7, 7, 12)).astype("float32")
    args = dict(filters=24, kernel_size=kernel_size, strides=strides, padding="same",
                groups=groups, use_bias=True)
    reference, fast = keras.layers.Conv2D(**args), GroupConv2D(**args)
    reference.build(x.shape)
    fast.build(x.shape)
    assert [w.shape for w in fast.weights] == [w.shape for w in reference.weights]
    fast.set_weights([rng.normal(size=w.shape).astype("float32") for w in fast.weights])
    reference.set_weights(fast.get_weights())
    np.testing.assert_allclose(to_np(fast(x)), to_np(reference(x)), rtol=1e-5, atol=1e-5)

    # the gradients too (what training uses)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        def grads(layer):
            xt = tf.constant(x)
            with tf.GradientTape() as tape:
                tape.watch(xt)
                loss = tf.reduce_sum(layer(xt) ** 2)
            return tape.gradient(loss, [xt] + layer.trainable_weights)

        for a, b in zip(grads(fast), grads(reference)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-3)


def test_group_conv2d_config_save_load_and_macs_are_conv2d_ones(tmp_path):
    layer = GroupConv2D(8, 1, groups=2, use_bias=False, name="pw")
    reference = keras.layers.Conv2D(8, 1, groups=2, use_bias=False, name="pw")
    assert layer.get_config() == reference.get_config()  # Conv2D's arguments, nothing else
    assert GroupConv2D.from_config(layer.get_config()).get_config() == layer.get_config()
    inputs = keras.Input((5, 5, 4))
    model = keras.Model(inputs, layer(inputs))
    x = np.random.default_rng(1).normal(size=(2, 5, 5, 4)).astype("float32")
    loaded = check_save_load(model, x, tmp_path)  # .keras round trip, safe_mode=True
    assert type(loaded.get_layer("pw")) is GroupConv2D
    assert count_macs(model) == 5 * 5 * 8 * 2
