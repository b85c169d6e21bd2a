"""The numpy and tf.data pipelines: shapes, raw pixels, seeding by (seed, epoch), equivalence."""

import numpy as np
import pytest

from data_fixtures import isolated_cache  # noqa: F401
from fer_keras.data import iterate_batches, load_dataset


@pytest.fixture(scope="module")
def ds():
    return load_dataset("synthetic", num_examples=70, seed=0)


def _epoch(ds, **kw):
    return list(iterate_batches(ds, np.arange(10, 60), 16, **kw))


def test_numpy_batches_shapes_and_values(ds):
    batches = _epoch(ds, training=False, channels=3)
    assert [len(y) for _, y in batches] == [16, 16, 16, 2]
    x, y = batches[0]
    assert x.dtype == np.float32 and x.shape == (16, 48, 48, 3)
    np.testing.assert_array_equal(x[..., 0], ds.images[10:26, :, :, 0])  # raw 0-255, in order
    np.testing.assert_array_equal(x[..., 0], x[..., 2])
    np.testing.assert_array_equal(y, ds.labels[10:26])
    x1, _ = _epoch(ds, training=False, channels=1)[0]
    assert x1.shape == (16, 48, 48, 1)
    assert len(_epoch(ds, training=True, drop_remainder=True)) == 3


def test_training_shuffle_is_a_seeded_permutation(ds):
    def labels_and_first_pixels(seed, epoch):
        out = _epoch(ds, training=True, augment="none", seed=seed, epoch=epoch)
        return np.concatenate([x[:, 0, 0, 0] * 1000 + x[:, 20, 20, 0] for x, _ in out])

    a, b = labels_and_first_pixels(0, 0), labels_and_first_pixels(0, 0)
    np.testing.assert_array_equal(a, b)
    c, d = labels_and_first_pixels(0, 1), labels_and_first_pixels(1, 0)
    assert not np.array_equal(a, c) and not np.array_equal(a, d)
    ref = ds.images[10:60, 0, 0, 0].astype(np.float32) * 1000 + ds.images[10:60, 20, 20, 0]
    np.testing.assert_array_equal(np.sort(a), np.sort(ref))  # every example exactly once


def test_augmentation_seeded_by_seed_and_epoch(ds):
    a = _epoch(ds, training=True, augment="erasing", seed=5, epoch=2)
    b = _epoch(ds, training=True, augment="erasing", seed=5, epoch=2)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    c = _epoch(ds, training=True, augment="erasing", seed=5, epoch=3)
    assert not np.array_equal(a[0][0], c[0][0])
    assert min(x.min() for x, _ in a) >= 0 and max(x.max() for x, _ in a) <= 255


@pytest.mark.tf
def test_tf_dataset_matches_numpy_path(ds):
    pytest.importorskip("tensorflow")
    from fer_keras.data import make_tf_dataset

    for training, augment in ((False, "flip"), (True, "erasing"), (True, "jaffe_expansion")):
        tfd = make_tf_dataset(ds, np.arange(10, 60), 16, training, channels=3, augment=augment,
                              seed=3, epoch=1)
        ref = _epoch(ds, training=training, channels=3, augment=augment, seed=3, epoch=1)
        got = [(x.numpy(), y.numpy()) for x, y in tfd]
        assert len(got) == len(ref)
        for (xg, yg), (xr, yr) in zip(got, ref):
            assert xg.dtype == np.float32 and xg.shape == xr.shape
            np.testing.assert_array_equal(yg, yr)
            np.testing.assert_allclose(xg, xr, atol=1e-3)


@pytest.mark.tf
def test_tf_dataset_epochs_chain_like_resumed_runs(ds):
    pytest.importorskip("tensorflow")
    from fer_keras.data import make_tf_dataset

    two = [y.numpy() for _, y in make_tf_dataset(ds, None, 32, True, seed=1, epoch=0, num_epochs=2)]
    second = [y.numpy() for _, y in make_tf_dataset(ds, None, 32, True, seed=1, epoch=1)]
    assert len(two) == 6
    for a, b in zip(two[3:], second):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments(ds):
    with pytest.raises(ValueError, match="batch_size"):
        next(iterate_batches(ds, None, 0, True))
    with pytest.raises(ValueError, match="channels"):
        next(iterate_batches(ds, None, 4, True, channels=2))
    with pytest.raises(ValueError, match="empty"):
        next(iterate_batches(ds, [], 4, True))


def test_jax_backend_gives_the_same_batches_without_tensorflow(ds, tmp_path):
    """Runs where JAX is installed: the numpy path on the JAX backend matches this backend's."""
    import os
    import subprocess
    import sys

    pytest.importorskip("jax")
    out = tmp_path / "jax.npz"
    code = ("import sys, numpy as np; from fer_keras.data import load_dataset, iterate_batches;"
            "ds = load_dataset('synthetic', num_examples=70, seed=0);"
            "x = np.concatenate([x for x, _ in iterate_batches(ds, np.arange(10, 60), 16, True,"
            " augment='jaffe_expansion', seed=5, epoch=2)]);"
            "assert 'tensorflow' not in sys.modules; np.save(sys.argv[1], x)")
    env = dict(os.environ, KERAS_BACKEND="jax")
    subprocess.run([sys.executable, "-c", code, str(out) + ".npy"], check=True, env=env)
    ref = np.concatenate([x for x, _ in _epoch(ds, training=True, augment="jaffe_expansion",
                                               seed=5, epoch=2)])
    np.testing.assert_allclose(np.load(str(out) + ".npy"), ref, atol=1e-2)
