"""Layer tests: the shared harness for each layer, then the maths checked by hand."""

import numpy as np
import pytest
import keras

from fer_keras.layers import (
    SCAM,
    Act,
    ChannelShuffle,
    GroupBottleneck,
    ReverseFusion,
    SqueezeExcite,
    selu,
)
from helpers import run_layer_test

to_np = keras.ops.convert_to_numpy


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --- the shared harness, once per layer and notable configuration -------------------------

@pytest.mark.parametrize(
    "layer_cls, kwargs, in_shape, out_shape",
    [
        (ChannelShuffle, {"groups": 3}, (2, 5, 5, 12), (2, 5, 5, 12)),
        (SqueezeExcite, {"reduction": 4}, (2, 6, 6, 16), (2, 6, 6, 16)),
        (ReverseFusion, {"activation": "selu", "mode": "difference"}, (2, 4, 4, 8), (2, 4, 4, 8)),
        (ReverseFusion, {"activation": "relu6", "mode": "weighted"}, (2, 4, 4, 8), (2, 4, 4, 8)),
        (ReverseFusion, {"activation": "selu", "mode": "concat"}, (2, 4, 4, 8), (2, 4, 4, 16)),
        (SCAM, {"reduction": 4, "kernel_size": 7, "order": "spatial_first"}, (2, 9, 9, 16),
         (2, 9, 9, 16)),
        (SCAM, {"reduction": 2, "kernel_size": 3, "order": "channel_first"}, (2, 9, 9, 8),
         (2, 9, 9, 8)),
        (GroupBottleneck, {"filters": 16, "strides": 2, "bottleneck_ratio": 1.0,
                           "dropout_rate": 0.0, "attention": True, "scam_reduction": 4,
                           "scam_order": "spatial_first", "stride_in": "conv1",
                           "bn_momentum": 0.9}, (2, 8, 8, 8), (2, 4, 4, 16)),
        (GroupBottleneck, {"filters": 8, "strides": 1, "bottleneck_ratio": 0.5,
                           "dropout_rate": 0.1, "attention": False, "scam_reduction": 16,
                           "scam_order": "channel_first", "stride_in": "grouped",
                           "bn_momentum": 0.99}, (2, 8, 8, 8), (2, 8, 8, 8)),
        (Act, {"activation": "selu"}, (2, 3, 3, 4), (2, 3, 3, 4)),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_layer_harness(layer_cls, kwargs, in_shape, out_shape, tmp_path):
    run_layer_test(layer_cls, kwargs, in_shape, out_shape, tmp_path)


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: ChannelShuffle(groups=0), "groups"),
        (lambda: ChannelShuffle(groups=5)(np.zeros((1, 2, 2, 12), "float32")), "12 channels"),
        (lambda: SqueezeExcite(reduction=0), "reduction"),
        (lambda: ReverseFusion(mode="sum"), "'sum'"),
        (lambda: ReverseFusion(activation="tanhh"), "'tanhh'"),
        (lambda: SCAM(order="both"), "'both'"),
        (lambda: SCAM(kernel_size=0), "kernel_size"),
        (lambda: GroupBottleneck(filters=8, strides=3), "strides"),
        (lambda: GroupBottleneck(filters=8, stride_in="middle"), "'middle'"),
        (lambda: GroupBottleneck(filters=8, dropout_rate=1.5), "dropout_rate"),
        (lambda: Act("gelu2"), "'gelu2'"),
    ],
)
def test_invalid_arguments_raise_clear_errors(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


# --- ChannelShuffle ------------------------------------------------------------------------

def test_channel_shuffle_matches_reshape_transpose_definition():
    x = np.arange(12, dtype="float32").reshape(1, 1, 1, 12)
    y = to_np(ChannelShuffle(groups=3)(x)).reshape(-1)
    # groups of 4: [0 1 2 3 | 4 5 6 7 | 8 9 10 11] -> take one from each group in turn
    np.testing.assert_array_equal(y, [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
    expected = x.reshape(1, 1, 1, 3, 4).transpose(0, 1, 2, 4, 3).reshape(1, 1, 1, 12)
    np.testing.assert_array_equal(y, expected.reshape(-1))


def test_channel_shuffle_is_a_permutation_of_every_pixel():
    x = np.random.default_rng(1).normal(size=(2, 3, 4, 24)).astype("float32")
    y = to_np(ChannelShuffle(groups=4)(x))
    np.testing.assert_array_equal(np.sort(y, axis=-1), np.sort(x, axis=-1))
    assert not np.array_equal(y, x)
    # shuffling with g groups, then with C/g groups, restores the order
    back = to_np(ChannelShuffle(groups=6)(y))
    np.testing.assert_array_equal(back, x)


# --- SqueezeExcite ----------------------------------------------------------------------------

def test_squeeze_excite_matches_numpy_equations_6_to_8():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 3, 8)).astype("float32")
    layer = SqueezeExcite(reduction=4)
    layer.build(x.shape)
    w1, b1 = rng.normal(size=(8, 2)), rng.normal(size=2)
    w2, b2 = rng.normal(size=(2, 8)), rng.normal(size=8)
    layer.set_weights([w.astype("float32") for w in (w1, b1, w2, b2)])
    z = x.mean(axis=(1, 2))  # eq. 6
    a = sigmoid(np.maximum(z @ w1 + b1, 0) @ w2 + b2)  # eq. 7
    expected = x * a[:, None, None, :]  # eq. 8
    np.testing.assert_allclose(to_np(layer(x)), expected, rtol=1e-5, atol=1e-6)


# --- ReverseFusion -------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ["selu", "relu6", "relu", "elu"])
@pytest.mark.parametrize("mode", ["difference", "weighted", "concat"])
def test_reverse_fusion_keeps_the_sign(activation, mode):
    x = np.random.default_rng(3).normal(size=(1, 4, 4, 6)).astype("float32") * 3
    layer = ReverseFusion(activation, mode=mode)
    y_pos, y_neg = to_np(layer(x)), to_np(layer(-x))
    assert np.abs(y_pos).max() > 0.1, "output is identically zero"
    assert not np.allclose(y_pos, y_neg), "output does not depend on the sign of the input"
    # the fused response is odd: the inverse input gives the negated output (for "concat",
    # with the two halves [f(x), -f(-x)] swapped)
    if mode == "concat":
        y_neg = np.concatenate(np.split(y_neg, 2, axis=-1)[::-1], axis=-1)
    np.testing.assert_allclose(y_neg, -y_pos, rtol=1e-5, atol=1e-5)


def test_reverse_fusion_with_relu6_recovers_the_clipped_signed_input():
    x = np.linspace(-9, 9, 37, dtype="float32").reshape(1, 1, 37, 1)
    y = to_np(ReverseFusion("relu6")(x))
    np.testing.assert_allclose(y, np.clip(x, -6, 6), atol=1e-6)


def test_selu_from_builtins_equals_keras_selu():
    x = np.linspace(-8, 8, 161, dtype="float32")
    np.testing.assert_allclose(to_np(selu(x)), to_np(keras.activations.selu(x)),
                               rtol=1e-6, atol=1e-6)


# --- SCAM ----------------------------------------------------------------------------------

def _scam_numpy(x, layer, order):
    conv_k, conv_b, w1, b1, w2, b2 = [np.asarray(w, "float64") for w in layer.get_weights()]
    k = conv_k.shape[0]
    pad = k // 2

    def spatial(f):
        pooled = np.concatenate([f.mean(-1, keepdims=True), f.max(-1, keepdims=True)], -1)
        p = np.pad(pooled, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        out = np.zeros(f.shape[:3] + (1,))
        for i in range(f.shape[1]):
            for j in range(f.shape[2]):
                out[:, i, j, 0] = np.einsum("bhwc,hwc->b", p[:, i:i + k, j:j + k, :],
                                            conv_k[..., 0]) + conv_b[0]
        return sigmoid(out)

    def channel(f):
        mlp = lambda v: np.maximum(v @ w1 + b1, 0) @ w2 + b2  # noqa: E731
        return sigmoid(mlp(f.mean((1, 2))) + mlp(f.max((1, 2))))[:, None, None, :]

    if order == "spatial_first":
        f1 = x * spatial(x)
        return f1 * channel(f1)
    f1 = x * channel(x)
    return f1 * spatial(f1)


def test_scam_applies_spatial_then_channel_attention_by_default():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 6, 6, 8)).astype("float32")
    layer = SCAM(reduction=2, kernel_size=3)
    layer.build(x.shape)
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    y = to_np(layer(x))
    spatial_first = _scam_numpy(x.astype("float64"), layer, "spatial_first")
    channel_first = _scam_numpy(x.astype("float64"), layer, "channel_first")
    assert np.abs(spatial_first - channel_first).max() > 1e-2  # the order matters here
    np.testing.assert_allclose(y, spatial_first, rtol=1e-4, atol=1e-5)

    cbam = SCAM(reduction=2, kernel_size=3, order="channel_first")
    cbam.build(x.shape)
    cbam.set_weights(layer.get_weights())
    np.testing.assert_allclose(to_np(cbam(x)), channel_first, rtol=1e-4, atol=1e-5)


def test_scam_attention_maps_lie_in_unit_interval():
    x = np.random.default_rng(5).normal(size=(2, 5, 5, 16)).astype("float32")
    layer = SCAM(reduction=4)
    layer.build(x.shape)
    ms, mc = to_np(layer.spatial_attention(x)), to_np(layer.channel_attention(x))
    assert ms.shape == (2, 5, 5, 1) and mc.shape == (2, 1, 1, 16)
    for m in (ms, mc):
        assert (m > 0).all() and (m < 1).all()
        assert m.std() > 1e-3  # not a constant map


# --- GroupBottleneck -----------------------------------------------------------------------

def test_group_bottleneck_grouped_conv_has_one_group_per_channel():
    layer = GroupBottleneck(filters=12, attention=False)
    layer.build((None, 8, 8, 12))
    assert tuple(layer.gconv.kernel.shape) == (3, 3, 12, 1)
    # conv1 12*12 + gconv 9*12 + conv2 12*12 + 3 BN layers of 4*12 (no projection needed)
    assert layer.count_params() == 144 + 108 + 144 + 3 * 48


def test_group_bottleneck_sums_its_input_element_wise():
    x = np.random.default_rng(6).normal(size=(2, 6, 6, 8)).astype("float32")
    layer = GroupBottleneck(filters=8, attention=True, scam_reduction=2)
    layer.build(x.shape)
    layer.conv2.kernel.assign(np.zeros(layer.conv2.kernel.shape, "float32"))
    # a silent residual branch (relu(BN(0)) = 0, SCAM(0) = 0) leaves exactly the input
    np.testing.assert_allclose(to_np(layer(x, training=False)), x, atol=1e-6)


def test_group_bottleneck_downsamples_where_the_paper_says():
    layer = GroupBottleneck(filters=16, strides=2)
    y = layer(np.zeros((1, 8, 8, 8), "float32"))
    assert tuple(y.shape) == (1, 4, 4, 16)
    assert layer.conv1.strides == (2, 2) and layer.gconv.strides == (1, 1)
    moved = GroupBottleneck(filters=16, strides=2, stride_in="grouped")
    moved(np.zeros((1, 8, 8, 8), "float32"))
    assert moved.conv1.strides == (1, 1) and moved.gconv.strides == (2, 2)
