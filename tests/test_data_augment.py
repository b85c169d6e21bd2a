"""Augmentation layers: improved random erasing geometry and rate, flips, the JAFFE set, config."""

import keras
import numpy as np
import pytest

from fer_keras.data.augment import (HorizontalFlip, ImprovedRandomErasing, RandomAffine,
                                    RandomContrast, RandomCropResize, augmentation_layers,
                                    seeded_uniform)

N = 4000


def _boxes(n, rng):
    """Face boxes that are not the whole image."""
    x = rng.integers(0, 20, n)
    y = rng.integers(0, 20, n)
    w = rng.integers(4, 28, n)
    h = rng.integers(4, 28, n)
    return np.stack([x, y, w, h], 1).astype(np.int32)


def _params(layer, seeds, boxes, size=48):
    return {k: keras.ops.convert_to_numpy(v) for k, v in layer.sample(seeds, size, size, boxes).items()}


def test_erase_point_in_face_box_and_rectangle_covers_it():
    rng = np.random.default_rng(0)
    boxes = _boxes(N, rng)
    seeds = rng.integers(0, 2**31 - 1, N).astype(np.int32)
    p = _params(ImprovedRandomErasing(probability=1.0), seeds, boxes)
    x, y, w, h = boxes.T
    assert ((p["xe"] >= x) & (p["xe"] < x + w) & (p["ye"] >= y) & (p["ye"] < y + h)).all()
    # The erase point reaches every corner region of the box, not only its centre.
    rel = (p["xe"] - x) / w
    assert rel.min() < 0.05 and rel.max() > 0.9
    assert ((p["x0"] <= p["xe"]) & (p["xe"] < p["x0"] + p["w"])).all()
    assert ((p["y0"] <= p["ye"]) & (p["ye"] < p["y0"] + p["h"])).all()
    assert (p["x0"] >= 0).all() and (p["x0"] + p["w"] <= 48).all()
    assert (p["y0"] >= 0).all() and (p["y0"] + p["h"] <= 48).all()


def test_erased_pixels_are_the_sampled_rectangle():
    rng = np.random.default_rng(1)
    n = 64
    boxes = _boxes(n, rng)
    seeds = rng.integers(0, 2**31 - 1, n).astype(np.int32)
    layer = ImprovedRandomErasing(probability=1.0, fill="constant", fill_value=-1.0)
    images = np.full((n, 48, 48, 1), 100.0, np.float32)
    out = keras.ops.convert_to_numpy(layer(images, seeds=seeds, boxes=boxes))
    p = _params(layer, seeds, boxes)
    for i in range(n):
        expect = np.zeros((48, 48), bool)
        expect[p["y0"][i]:p["y0"][i] + p["h"][i], p["x0"][i]:p["x0"][i] + p["w"][i]] = True
        np.testing.assert_array_equal(out[i, :, :, 0] == -1.0, expect)
        assert expect[p["ye"][i], p["xe"][i]]


def test_erase_area_and_aspect_follow_parameters():
    seeds = np.arange(N, dtype=np.int32) * 7919 + 11
    p = _params(ImprovedRandomErasing(probability=1.0, area_range=(0.05, 0.3), aspect=0.3),
                seeds, None)
    frac = p["h"] * p["w"] / (48.0 * 48.0)
    # Rounding H_e and W_e to whole pixels moves the area by at most about one row and column.
    assert frac.min() > 0.05 * 0.75 and frac.max() < 0.3 * 1.25
    assert abs(np.median(frac) - 0.175) < 0.02  # S_e ~ U(S_l, S_h)
    ratio = p["h"] / p["w"]
    assert ratio.min() > 0.3 * 0.8 and ratio.max() < (1 / 0.3) * 1.25
    assert abs(np.median(np.log(ratio))) < 0.1  # log-uniform in [r_e, 1/r_e]
    assert (ratio < 0.5).mean() > 0.2 and (ratio > 2.0).mean() > 0.2


@pytest.mark.parametrize("p", [0.0, 0.5, 0.8])
def test_erase_rate_matches_p(p):
    seeds = np.arange(N, dtype=np.int32) * 104729 + 3
    applied = _params(ImprovedRandomErasing(probability=p), seeds, None)["apply"]
    assert abs(applied.mean() - p) < 3 * np.sqrt(max(p * (1 - p), 1e-9) / N) + 1e-9
    layer = ImprovedRandomErasing(probability=p, fill="constant", fill_value=-1.0)
    out = keras.ops.convert_to_numpy(layer(np.zeros((N, 48, 48, 1), np.float32), seeds=seeds))
    np.testing.assert_array_equal((out == -1).any((1, 2, 3)), applied)


def test_erase_default_box_and_noise_fill():
    layer = ImprovedRandomErasing(probability=1.0)
    seeds = np.arange(500, dtype=np.int32) * 31 + 1
    p = _params(layer, seeds, None)
    assert p["xe"].min() >= 6 and p["xe"].max() < 42 and p["ye"].min() >= 6 and p["ye"].max() < 42
    out = keras.ops.convert_to_numpy(layer(np.full((500, 48, 48, 1), -5.0, np.float32), seeds=seeds))
    noise = out[out != -5.0]
    assert noise.min() >= 0 and noise.max() < 256 and abs(noise.mean() - 127.5) < 5


def test_seeded_layers_are_deterministic_and_unseeded_vary():
    x = np.random.default_rng(0).uniform(0, 255, (16, 48, 48, 1)).astype(np.float32)
    seeds = np.arange(16, dtype=np.int32)
    for layer in augmentation_layers("jaffe_expansion"):
        a = keras.ops.convert_to_numpy(layer(x, seeds=seeds))
        b = keras.ops.convert_to_numpy(layer(x, seeds=seeds))
        np.testing.assert_array_equal(a, b)
        assert a.shape == x.shape and a.min() >= -1e-3 and a.max() <= 255 + 1e-3
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    flip = HorizontalFlip(seed=1)
    c, d = (keras.ops.convert_to_numpy(flip(x)) for _ in range(2))
    assert not np.array_equal(c, d)


def test_flip_affine_policy_flips_then_jitters_within_its_ranges():
    """"flip_affine" is a flip and the product recipe's milder affine jitter; each image moves
    (a shift or a turn of a few pixels), and a centred dot stays near the centre."""
    from fer_keras.data.augment import FLIP_AFFINE

    flip, affine = augmentation_layers("flip_affine")
    assert isinstance(flip, HorizontalFlip) and isinstance(affine, RandomAffine)
    assert (affine.rotation, affine.translation, affine.scale_range) == (
        FLIP_AFFINE["rotation"], FLIP_AFFINE["translation"], FLIP_AFFINE["scale_range"])
    x = np.zeros((64, 48, 48, 1), np.float32)
    x[:, 22:26, 22:26] = 255.0
    y = keras.ops.convert_to_numpy(affine(x, seeds=np.arange(64, dtype=np.int32)))
    assert (np.abs(y - x).max(axis=(1, 2, 3)) > 100).mean() > 0.9
    rows, cols = np.indices((48, 48))
    mass = y[..., 0].sum(axis=(1, 2))
    cy = (y[..., 0] * rows).sum(axis=(1, 2)) / mass
    cx = (y[..., 0] * cols).sum(axis=(1, 2)) / mass
    # a shift of at most 10 % of 48 px per axis, plus rotation and zoom about the centre
    assert np.abs(cy - 23.5).max() <= 4.8 + 1.0 and np.abs(cx - 23.5).max() <= 4.8 + 1.0


def test_flip_probability_and_exactness():
    x = np.random.default_rng(0).uniform(0, 255, (N, 4, 5, 1)).astype(np.float32)
    out = keras.ops.convert_to_numpy(HorizontalFlip(0.5)(x, seeds=np.arange(N, dtype=np.int32)))
    flipped = (out == x[:, :, ::-1]).all((1, 2, 3))
    assert ((out == x).all((1, 2, 3)) | flipped).all()
    assert abs(flipped.mean() - 0.5) < 0.03


def test_contrast_and_affine_keep_mean_roughly():
    x = np.random.default_rng(0).uniform(50, 200, (32, 48, 48, 1)).astype(np.float32)
    s = np.arange(32, dtype=np.int32)
    y = keras.ops.convert_to_numpy(RandomContrast(0.3)(x, seeds=s))
    np.testing.assert_allclose(y.mean((1, 2, 3)), x.mean((1, 2, 3)), atol=1.0)
    const = np.full((4, 48, 48, 1), 80.0, np.float32)
    for layer in (RandomAffine(), RandomCropResize()):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(const, seeds=s[:4])), 80.0,
                                   atol=1e-3)


def test_seeded_uniform_is_uniform_and_independent():
    u = keras.ops.convert_to_numpy(seeded_uniform(np.arange(20000), 4))
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.std() - np.sqrt(1 / 12)) < 0.01
    assert np.abs(np.corrcoef(u.T) - np.eye(4)).max() < 0.03
    hist = np.histogram(u[:, 0], bins=10, range=(0, 1))[0]
    assert hist.min() > 1800 and hist.max() < 2200


@pytest.mark.parametrize("cls, kwargs", [
    (HorizontalFlip, {"probability": 0.3, "seed": 4}),
    (ImprovedRandomErasing, {"probability": 0.5, "area_range": (0.05, 0.3), "aspect": 0.3,
                             "fill": "constant", "fill_value": 0.0,
                             "default_box": (0.1, 0.1, 0.8, 0.8), "seed": None}),
    (RandomAffine, {"rotation": 10.0, "translation": 0.05, "scale_range": (0.9, 1.2),
                    "fill_mode": "reflect", "seed": 2}),
    (RandomCropResize, {"area_range": (0.6, 0.9), "seed": 1}),
    (RandomContrast, {"factor": 0.2, "seed": 0}),
])
def test_config_round_trip(cls, kwargs):
    layer = cls(**kwargs)
    config = layer.get_config()
    for k, v in kwargs.items():
        assert config[k] == v
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(clone) is cls and clone.get_config() == config
    assert keras.saving.get_registered_name(cls) == f"fer_keras>{cls.__name__}"


def test_argument_checks():
    with pytest.raises(ValueError, match="probability"):
        ImprovedRandomErasing(probability=1.5)
    with pytest.raises(ValueError, match="area_range"):
        ImprovedRandomErasing(area_range=(0.4, 0.2))
    with pytest.raises(ValueError, match="fill"):
        ImprovedRandomErasing(fill="zeros")
    with pytest.raises(ValueError, match="unknown augmentation policy"):
        augmentation_layers("mixup")


def test_layers_inside_a_saved_model(tmp_path):
    model = keras.Sequential([keras.Input((48, 48, 1)), ImprovedRandomErasing(probability=1.0),
                              HorizontalFlip(), RandomContrast(0.2)])
    x = np.full((2, 48, 48, 1), 100.0, np.float32)
    erased = keras.ops.convert_to_numpy(model(x, training=True))
    assert (erased != 100.0).any((1, 2, 3)).all()  # seeds from the layers' SeedGenerators
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x, training=False)), x)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert [type(la).__name__ for la in loaded.layers] == [
        "ImprovedRandomErasing", "HorizontalFlip", "RandomContrast"]
    assert loaded.layers[0].get_config()["probability"] == 1.0
