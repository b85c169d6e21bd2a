"""Offline dataset expansion for the Light-NTWRN protocol (section 4.2).

The paper expands CK+ to 1,500 images and FER2013 to 80,000 with improved random erasing, and
JAFFE to 3,408 (16 x 213) with rotation, flip, contrast, panning, cropping, scaling and improved
random erasing, before splitting. The expanded set holds the originals plus `target - N` variants,
drawn from the originals in a seeded round-robin order (every original gets a variant before any
gets two); `meta["source_index"]` says which original each image came from.
"""

import numpy as np

from fer_keras.data.dataset import FERDataset


def expansion_layers(dataset_name):
    from fer_keras.data.augment import ImprovedRandomErasing, augmentation_layers

    if dataset_name == "jaffe":
        return augmentation_layers("jaffe_expansion")
    # Every variant is erased (p = 1): a variant left unchanged would be an exact duplicate.
    return [ImprovedRandomErasing(probability=1.0)]


def expand_dataset(ds, target, seed=0, layers=None, chunk=4096):
    """Returns a FERDataset of `target` images: the originals, then augmented variants."""
    import keras

    from fer_keras.data.pipeline import apply_layers

    n = len(ds)
    if target < n:
        raise ValueError(f"target {target} is smaller than the dataset ({n} images)")
    layers = expansion_layers(ds.name) if layers is None else layers
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0xE4])
    extra = target - n
    source = np.concatenate([rng.permutation(n) for _ in range(-(-extra // n))])[:extra]
    seeds = rng.integers(0, 2**31 - 1, size=(extra, max(len(layers), 1))).astype(np.int32)
    variants = np.empty((extra,) + ds.images.shape[1:], np.uint8)
    for start in range(0, extra, chunk):
        src = source[start:start + chunk]
        boxes = None if ds.boxes is None else ds.boxes[src].astype(np.int32)
        x = apply_layers(layers, ds.images[src].astype(np.float32), seeds[start:start + chunk],
                         boxes)
        variants[start:start + chunk] = np.clip(np.round(keras.ops.convert_to_numpy(x)), 0, 255)
    all_src = np.concatenate([np.arange(n), source])

    def take(a):
        return None if a is None else a[all_src]

    meta = dict(ds.meta, source_index=all_src, expanded_from=n, expansion_seed=seed)
    return FERDataset(name=ds.name, images=np.concatenate([ds.images, variants]),
                      labels=ds.labels[all_src], class_names=ds.class_names,
                      subjects=take(ds.subjects), sequences=take(ds.sequences),
                      usage=take(ds.usage), boxes=take(ds.boxes), paths=take(ds.paths), meta=meta)
