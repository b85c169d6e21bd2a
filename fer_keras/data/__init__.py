"""Datasets, protocols, augmentation and input pipelines for FER2013, CK+, JAFFE and your own data.

    from fer_keras.data import load_dataset, make_splits, make_tf_dataset, iterate_batches
    ds = load_dataset("ckplus", data_dir="../shared/data/ckplus")
    for split in make_splits(ds, seed=0):          # 10 subject-independent folds
        train = make_tf_dataset(ds, split.train, 32, training=True, augment="erasing")

Importing this package does not import TensorFlow or Keras; `make_tf_dataset` and the TFDS
builders import TensorFlow when called, and the augmentation layers (`HorizontalFlip`,
`ImprovedRandomErasing`, ...) import Keras on first access. Layouts, label spaces, protocols and
every choice made: docs/data.md.
"""

from fer_keras.data.audit import audit_duplicates, drop_cross_duplicates, summarize
from fer_keras.data.cache import cache_dir
from fer_keras.data.dataset import DataError, FERDataset, LeakageWarning, Split, split_dataset
from fer_keras.data.labels import (
    CANONICAL_EMOTION, CKPLUS_CLASSES, FER2013_CLASSES, JAFFE_CLASSES, label_mapping, map_labels,
)
from fer_keras.data.packed import is_packed, load_packed, save_packed
from fer_keras.data.pipeline import iterate_batches, make_tf_dataset
from fer_keras.data.protocols import default_protocol, list_protocols, make_splits
from fer_keras.options import check_options

DATASETS = ("fer2013", "ckplus", "jaffe", "imagefolder", "synthetic")
_AUGMENT_NAMES = ("HorizontalFlip", "ImprovedRandomErasing", "RandomAffine", "RandomCropResize",
                  "RandomContrast", "augmentation_layers", "POLICIES")


def list_datasets():
    return list(DATASETS)


def load_dataset(name, data_dir=None, **options):
    """Loads a dataset by name.

    Args:
        name: "fer2013", "ckplus", "jaffe", "imagefolder" or "synthetic".
        data_dir: the folder as downloaded (see docs/data.md), or a packed file written by
            `save_packed` (`.npz.xz`); None only for "synthetic".
        **options: loader options, e.g. skip_bad=True (skip and report bad files),
            image_size (imagefolder, synthetic), num_examples (synthetic): the keyword
            parameters of the dataset's loader; any other name is a ValueError listing them.

    Returns:
        FERDataset.

    Raises:
        DataError: missing folder or bad file (the message names it).
        ValueError: unknown dataset name.
    """
    loader = dataset_loader(name)
    check_options(options, loader, f"dataset {name!r}", skip=("data_dir",))
    if name == "synthetic" and data_dir is not None and not is_packed(data_dir):
        raise DataError(f"dataset 'synthetic' is generated and reads no data folder (got "
                        f"data_dir {str(data_dir)!r}); drop --data-dir, or name the dataset "
                        "that folder holds")
    if name == "synthetic" and data_dir is None:
        return loader(**options)
    if data_dir is not None and is_packed(data_dir):
        return load_packed(data_dir, name=None if name == "imagefolder" else name)
    if data_dir is None:
        raise DataError(f"dataset {name!r} needs data_dir, the folder as downloaded "
                        "(see docs/data.md); only 'synthetic' loads without one")
    return loader(data_dir, **options)


def dataset_loader(name):
    """The loader function of a dataset name (`load_fer2013`, ..., `load_synthetic`)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    if name == "synthetic":
        from fer_keras.data.synthetic import load_synthetic as loader
    elif name == "fer2013":
        from fer_keras.data.fer2013 import load_fer2013 as loader
    elif name == "ckplus":
        from fer_keras.data.ckplus import load_ckplus as loader
    elif name == "jaffe":
        from fer_keras.data.jaffe import load_jaffe as loader
    else:
        from fer_keras.data.imagefolder import load_imagefolder as loader
    return loader


def __getattr__(name):
    if name in _AUGMENT_NAMES:
        from fer_keras.data import augment

        return getattr(augment, name)
    raise AttributeError(f"module 'fer_keras.data' has no attribute {name!r}")


__all__ = [
    "CANONICAL_EMOTION", "CKPLUS_CLASSES", "DATASETS", "DataError", "FER2013_CLASSES", "FERDataset",
    "JAFFE_CLASSES", "LeakageWarning", "Split", "audit_duplicates", "cache_dir", "dataset_loader",
    "default_protocol", "drop_cross_duplicates", "iterate_batches", "label_mapping",
    "list_datasets", "list_protocols", "load_dataset", "load_packed", "make_splits",
    "make_tf_dataset", "map_labels", "save_packed", "split_dataset", "summarize",
    *_AUGMENT_NAMES,
]
