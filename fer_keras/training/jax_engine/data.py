"""The device engine's data: a dataset's images put on the device once, and each epoch's batches
as index and seed arrays equal to the reference pipeline's.

`iterate_batches` (fer_keras/data/pipeline.py) reads epoch e as `order, seeds =
epoch_plan(n, True, seed, e, L)`, batch b holding the examples `indices[order[bB:(b+1)B]]`
with the seeds `seeds[order[bB:(b+1)B]]` (one column per augmentation layer). `epoch_batches`
writes the same arrays (a few kB per epoch, uploaded once per epoch) and `batch_inputs` gathers,
augments and converts the batch on the device with the same `keras.ops` layers, so the engine's
batch (epoch, step) is the pipeline's.
"""

import jax
import jax.numpy as jnp
import numpy as np

from fer_keras.data.pipeline import apply_layers, epoch_plan

_GREY = (0.299, 0.587, 0.114)  # pipeline.to_channels_np's RGB -> grey weights


def to_channels(x, channels):
    """`pipeline.to_channels_np` on the device: grey repeated to 3 channels, or RGB to grey."""
    if x.shape[-1] == channels:
        return x
    if x.shape[-1] == 1:
        return jnp.repeat(x, channels, axis=-1)
    if channels == 1:
        return (x[..., :3] @ jnp.asarray(_GREY, jnp.float32))[..., None]
    raise ValueError(f"cannot convert {x.shape[-1]} channels to {channels}")


def batch_inputs(images, idx, channels, layers=(), seeds=None, boxes=None):
    """The float32 (0-255) model inputs of `images[idx]`: augmented by `layers` (layer i gets
    `seeds[:, i]`, and `boxes[idx]` when given) and converted to `channels`."""
    x = images[idx].astype(jnp.float32)
    if layers:
        x = apply_layers(layers, x, seeds, None if boxes is None else boxes[idx])
    return to_channels(x, channels)


class DeviceData:
    """A dataset's uint8 images, int32 labels and int32 face boxes (zeros where it has none),
    put on the default device once (on every device of `mesh`, data parallel)."""

    def __init__(self, ds, mesh=None):
        from fer_keras.training.distribution import replicated

        self.has_boxes = ds.boxes is not None
        boxes = ds.boxes if self.has_boxes else np.zeros((len(ds.labels), 4))
        self.images, self.labels, self.boxes = replicated(
            (np.ascontiguousarray(ds.images), np.asarray(ds.labels, np.int32),
             np.asarray(boxes, np.int32)), mesh)


def steps_per_epoch(num, batch_size, drop_remainder):
    """Optimizer steps of an epoch of `num` examples (the loop's count)."""
    return num // batch_size if drop_remainder else -(-num // batch_size)


def epoch_batches(indices, batch_size, seed, epoch, num_layers, drop_remainder):
    """One model's epoch: (idx S x B, seeds S x B x L, rest) with S the full batches and `rest`
    None or the (idx, seeds) of the last, partial batch (kept unless `drop_remainder`)."""
    order, seeds = epoch_plan(len(indices), True, seed, epoch, num_layers)
    idx = np.asarray(indices, np.int32)[order]
    seeds = seeds[order]
    full = len(idx) // batch_size
    cut = full * batch_size
    rest = None if drop_remainder or cut == len(idx) else (idx[cut:], seeds[cut:])
    return (idx[:cut].reshape(full, batch_size),
            seeds[:cut].reshape(full, batch_size, seeds.shape[-1]), rest)


def stack_epochs(batches, num_steps=None):
    """K models' (idx, seeds) padded to the longest (or `num_steps`): idx S x K x B,
    seeds S x K x B x L and `active` S x K (False on the padding steps)."""
    num_steps = num_steps or max(len(idx) for idx, _ in batches)
    k, b, layers = len(batches), batches[0][0].shape[1], batches[0][1].shape[-1]
    idx = np.zeros((num_steps, k, b), np.int32)
    seeds = np.zeros((num_steps, k, b, layers), np.int32)
    active = np.zeros((num_steps, k), bool)
    for m, (i, s) in enumerate(batches):
        idx[:len(i), m], seeds[:len(i), m], active[:len(i), m] = i, s, True
    return idx, seeds, active


def prediction_batches(index_sets, batch_size=256):
    """K index sets padded into one array K x nb x PB (PB: the longest set's length rounded up
    to a power of two, at most `batch_size`, so folds of similar sizes share one compiled
    shape), and their lengths; predictions at padded places are dropped."""
    longest = max(len(i) for i in index_sets)
    pb = min(batch_size, 1 << max(longest - 1, 7).bit_length())
    nb = -(-longest // pb)
    out = np.zeros((len(index_sets), nb * pb), np.int32)
    for m, i in enumerate(index_sets):
        out[m, :len(i)] = i
    return out.reshape(len(index_sets), nb, pb), [len(i) for i in index_sets]
