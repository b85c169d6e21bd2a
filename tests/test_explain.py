"""Grad-CAM: heatmap shape and range, and the peak on a planted discriminative patch."""

import numpy as np
import pytest

from fer_keras.explain import find_target_layer, grad_cam


def _patch_images(n, size=32, patch=8, seed=0):
    """Class = quadrant of a bright patch on a noisy dark background.

    Channels 1 and 2 are x and y coordinate ramps (CoordConv), so convolutions followed by
    global pooling can tell where the patch is; channel 0 is the picture.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 60, (n, size, size, 3)).astype(np.float32)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    x[..., 1] = ramp[None, None, :]
    x[..., 2] = ramp[None, :, None]
    y = rng.integers(0, 4, n)
    corners = []
    for i, label in enumerate(y):
        qy, qx = divmod(int(label), 2)
        half = size // 2
        py = qy * half + rng.integers(0, half - patch + 1)
        px = qx * half + rng.integers(0, half - patch + 1)
        x[i, py:py + patch, px:px + patch, 0] = 230
        corners.append((py, px))
    return x, y, corners


@pytest.fixture(scope="module")
def patch_model():
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3), name="image")
    h = keras.layers.Rescaling(1 / 255.0)(inputs)
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(h)
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(h)
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="last_conv")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    h = keras.layers.Dense(4)(h)
    outputs = keras.layers.Softmax(name="predictions")(h)
    model = keras.Model(inputs, outputs)
    x, y, _ = _patch_images(600)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=32, epochs=10, verbose=0)
    return model


def test_heatmap_peaks_on_the_patch(patch_model):
    x, y, corners = _patch_images(20, seed=1)
    acc = np.mean(patch_model.predict(x, verbose=0).argmax(1) == y)
    assert acc >= 0.9, f"the patch model did not learn ({acc:.2f})"
    assert find_target_layer(patch_model).name == "last_conv"
    hits = 0
    for img, label, (py, px) in zip(x, y, corners):
        heat, k, probs = grad_cam(patch_model, img, class_index=int(label))
        assert heat.shape == (32, 32) and heat.min() >= 0 and heat.max() == pytest.approx(1)
        iy, ix = np.unravel_index(np.argmax(heat), heat.shape)
        hits += (py - 3 <= iy < py + 8 + 3) and (px - 3 <= ix < px + 8 + 3)
    assert hits >= 18, f"heatmap peak on the patch (+-3 px) in {hits} of 20 images"


def test_fer_model_heatmap_has_input_size():
    import fer_keras

    model = fer_keras.create_model("i_mobilenetv2", alpha=0.35, scale_top_stage=True,
                                   input_shape=(48, 48, 1))
    image = np.random.default_rng(0).uniform(0, 255, (48, 48, 1)).astype(np.float32)
    heat, k, probs = grad_cam(model, image)
    assert heat.shape == (48, 48) and 0 <= heat.min() and heat.max() <= 1
    assert k == int(np.argmax(probs))
    with pytest.raises(ValueError, match="class_index"):
        grad_cam(model, image, class_index=9)
    with pytest.raises(ValueError, match="shape"):
        grad_cam(model, image[:32])
