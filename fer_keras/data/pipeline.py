"""Input pipelines: `tf.data` (`make_tf_dataset`) and a TensorFlow-free numpy iterator
(`iterate_batches`) that give the same batches for the same (seed, epoch).

Both put raw pixels out (float32, 0-255; the models normalise inside themselves), convert
grayscale to the model's channel count, and apply the augmentation layers of `augment.py` with
one seed per example and layer, drawn from (seed, epoch). The order of examples in an epoch is a
seeded permutation of the whole index set (a full-buffer shuffle), so a resumed run that asks for
epoch e sees exactly the batches of the original run's epoch e.
"""

import numpy as np


def epoch_plan(num, training, seed, epoch, num_layers):
    """(order, seeds): the example order of an epoch and the int32 seeds (num x layers)."""
    if not training:
        return np.arange(num), np.zeros((num, max(num_layers, 1)), np.int32)
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, int(epoch), 0x5EED])
    order = rng.permutation(num)
    seeds = rng.integers(0, 2**31 - 1, size=(num, max(num_layers, 1)), dtype=np.int64)
    return order, seeds.astype(np.int32)


def resolve_augment(augment):
    """A policy name (see `augment.augmentation_layers`), a list of layers, or None."""
    if augment is None or (isinstance(augment, str) and augment == "none"):
        return []
    if isinstance(augment, str):
        from fer_keras.data.augment import augmentation_layers

        return augmentation_layers(augment)
    return list(augment)


def apply_layers(layers, images, seeds, boxes=None):
    """Applies `layers` in order; layer i gets `seeds[:, i]`."""
    for i, layer in enumerate(layers):
        images = layer(images, seeds=seeds[:, i], boxes=boxes, training=True)
    return images


def to_channels_np(x, channels):
    if x.shape[-1] == channels:
        return x
    if x.shape[-1] == 1:
        return np.repeat(x, channels, axis=-1)
    if channels == 1:
        return (x[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    raise ValueError(f"cannot convert {x.shape[-1]} channels to {channels}")


def _check(ds, indices, batch_size, channels):
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    indices = np.arange(len(ds)) if indices is None else np.asarray(indices, np.int64)
    if len(indices) == 0:
        raise ValueError("no examples: the index array is empty")
    return indices


def iterate_batches(ds, indices, batch_size, training, channels=3, augment="flip", seed=0,
                    epoch=0, drop_remainder=False):
    """Yields numpy (images B x H x W x channels float32 0-255, labels int64 B); no TensorFlow.

    Args:
        ds: FERDataset. indices: indices into it (None: all).
        training: shuffle and augment; False keeps the order and does not augment.
        augment: policy name (`fer_keras.data.policies.POLICIES`) or list of layers.
        seed, epoch: the shuffle and every augmentation draw are functions of (seed, epoch).
    """
    indices = _check(ds, indices, batch_size, channels)
    layers = resolve_augment(augment) if training else []
    if layers:
        import keras
    order, seeds = epoch_plan(len(indices), training, seed, epoch, len(layers))
    for start in range(0, len(order), batch_size):
        pos = order[start:start + batch_size]
        if drop_remainder and len(pos) < batch_size:
            break
        idx = indices[pos]
        x = ds.images[idx].astype(np.float32)
        if layers:
            boxes = None if ds.boxes is None else ds.boxes[idx].astype(np.int32)
            x = keras.ops.convert_to_numpy(apply_layers(layers, x, seeds[pos], boxes))
        yield to_channels_np(x, channels), ds.labels[idx]


def make_tf_dataset(ds, indices, batch_size, training, channels=3, augment="flip", seed=0,
                    epoch=0, num_epochs=1, drop_remainder=False):
    """A `tf.data.Dataset` of (images float32 B x H x W x channels, 0-255; labels int64 B).

    The decoded images stay in memory as one tensor (the loaders cache them on disk); batches
    are gathered in the seeded order of `epoch_plan`, augmented by a parallel deterministic map
    and prefetched. `num_epochs` > 1 chains epochs epoch, epoch+1, ... (use `steps_per_epoch`
    in `fit`; the engines' `keras_engine.EpochBatches` iterates one such dataset over a fold's
    epochs). Same arguments, same batches as `iterate_batches`.
    """
    import keras
    import tensorflow as tf

    indices = _check(ds, indices, batch_size, channels)
    layers = resolve_augment(augment) if training else []
    images = tf.constant(ds.images[indices])
    labels = tf.constant(ds.labels[indices])
    boxes = tf.constant((ds.boxes[indices] if ds.boxes is not None
                         else np.zeros((len(indices), 4))).astype(np.int32))
    has_boxes = ds.boxes is not None

    plans = [epoch_plan(len(indices), training, seed, e, len(layers))
             for e in range(epoch, epoch + num_epochs)]
    # Tensors, not a Python generator: a `from_generator` iterator created before the first
    # training step slowed every later `train_on_batch` 2.7x on the 2-core CPU (62 against
    # 167 images/s, docs/performance.md, "The input pipeline's generator"). One row per epoch,
    # batched within its epoch, so an epoch's last partial batch stays its own.
    out = tf.data.Dataset.from_tensor_slices(
        (np.stack([order for order, _ in plans]).astype(np.int64),
         np.stack([seeds[order] for order, seeds in plans]).astype(np.int32))).flat_map(
            lambda order, seeds: tf.data.Dataset.from_tensor_slices((order, seeds)).batch(
                batch_size, drop_remainder=drop_remainder))

    if layers and keras.backend.backend() != "tensorflow":
        def run_layers(x, s, b):  # another Keras backend: run the layers eagerly on numpy
            y = apply_layers(layers, x, s, b if has_boxes else None)
            return keras.ops.convert_to_numpy(y).astype(np.float32)

    def load(pos, s):
        x = tf.cast(tf.gather(images, pos), tf.float32)
        b = tf.gather(boxes, pos)
        if layers:
            if keras.backend.backend() == "tensorflow":
                x = apply_layers(layers, x, s, b if has_boxes else None)
            else:
                shape = x.shape
                x = tf.numpy_function(run_layers, [x, s, b], tf.float32)
                x.set_shape(shape)
        if channels != x.shape[-1]:
            if x.shape[-1] == 1:
                x = tf.repeat(x, channels, axis=-1)
            else:
                x = tf.image.rgb_to_grayscale(x[..., :3])
        return x, tf.gather(labels, pos)

    return out.map(load, num_parallel_calls=tf.data.AUTOTUNE,
                   deterministic=True).prefetch(tf.data.AUTOTUNE)
