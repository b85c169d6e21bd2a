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
from fer_keras.data.registry import DatasetSpec, get_dataset, list_datasets, register_dataset
from fer_keras.lazy import lazy_attributes
from fer_keras.options import check_options

# The built-in datasets' names (fer_keras.data.registry: one record each); `list_datasets()`
# also names those registered later.
DATASETS = tuple(list_datasets())
_AUGMENT_NAMES = ("HorizontalFlip", "ImprovedRandomErasing", "RandomAffine", "RandomCropResize",
                  "RandomContrast", "augmentation_layers", "POLICIES")


def load_dataset(name, data_dir=None, **options):
    """Loads a dataset by name.

    Args:
        name: a registered dataset (`list_datasets()`: "fer2013", "ckplus", "jaffe", "rafdb",
            "affectnet", "imagefolder", "synthetic", ...).
        data_dir: the folder as downloaded (see docs/data.md), or a packed file written by
            `save_packed` (`.npz.xz`); None only for a generated dataset ("synthetic").
        **options: loader options, e.g. skip_bad=True (skip and report bad files),
            image_size (imagefolder, synthetic), num_examples (synthetic): the keyword
            parameters of the dataset's loader; any other name is a ValueError listing them.

    Returns:
        FERDataset.

    Raises:
        DataError: missing folder or bad file (the message names it).
        ValueError: unknown dataset name.
    """
    spec = get_dataset(name)
    loader = spec.load_function()
    check_options(options, loader, f"dataset {name!r}", skip=("data_dir",))
    if spec.generated and data_dir is not None and not is_packed(data_dir):
        raise DataError(f"dataset {name!r} is generated and reads no data folder (got "
                        f"data_dir {str(data_dir)!r}); drop --data-dir, or name the dataset "
                        "that folder holds")
    if spec.generated and data_dir is None:
        return loader(**options)
    if data_dir is not None and is_packed(data_dir):
        # a pack of one's own images may carry any name; a named dataset's must carry its own
        return load_packed(data_dir, name=name if spec.class_names else None)
    if data_dir is None:
        raise DataError(f"dataset {name!r} needs data_dir, the folder as downloaded "
                        "(see docs/data.md); only generated datasets load without one")
    return loader(data_dir, **options)


def dataset_loader(name):
    """The loader function of a dataset name (`load_fer2013`, ..., `load_synthetic`)."""
    return get_dataset(name).load_function()


__getattr__, __dir__ = lazy_attributes(__name__, {
    name: "fer_keras.data.augment" for name in _AUGMENT_NAMES})


__all__ = [
    "CANONICAL_EMOTION", "CKPLUS_CLASSES", "DATASETS", "DataError", "DatasetSpec",
    "FER2013_CLASSES", "FERDataset", "JAFFE_CLASSES", "LeakageWarning", "Split",
    "audit_duplicates", "cache_dir", "dataset_loader", "default_protocol",
    "drop_cross_duplicates", "get_dataset", "iterate_batches", "label_mapping", "list_datasets",
    "list_protocols", "load_dataset", "load_packed", "make_splits", "make_tf_dataset",
    "map_labels", "register_dataset", "save_packed", "split_dataset", "summarize",
    *_AUGMENT_NAMES,
]
