"""A user's own `<class>/<image>` folders, any image size, for training on their own data."""

from pathlib import Path

import numpy as np

from fer_keras.data.dataset import DataError, FERDataset, crop_face_box
from fer_keras.data.folders import list_class_tree, require_dir
from fer_keras.data.imageio import read_many


def load_imagefolder(data_dir, image_size=48, class_names=None, skip_bad=False, progress=True):
    """Loads `data_dir/<class>/<image>` as grayscale image_size x image_size faces.

    Args:
        data_dir: folder with one sub-folder per class.
        image_size: output side; other sizes are centre-cropped to a square and resized, and
            reported in `meta["conversions"]`.
        class_names: the label space, in order. None: the folder names, sorted. Given: a folder
            not in it is an error, and a class with no folder keeps its index.
        skip_bad: skip bad files and report them in `meta["skipped"]` instead of raising.
    """
    root = require_dir(data_dir, "image")
    aliases = None if class_names is None else {c.lower(): c for c in class_names}
    items = list_class_tree(root, aliases)
    names = tuple(class_names) if class_names is not None else tuple(sorted({c for _, c in items}))
    files = [f for f, _ in items]
    labels = np.array([names.index(c) for _, c in items], dtype=np.int64)
    images, kept, conversions, skipped = read_many(files, image_size, skip_bad, progress, "images")
    if not kept.any():
        raise DataError("no readable images", root)
    rels = np.array([str(f.relative_to(root)) for f in files])[kept]
    conversions = [(str(Path(p).relative_to(root)), c) for p, c in conversions]
    meta = {"data_dir": str(root), "conversions": conversions, "skipped": skipped}
    return FERDataset(name="imagefolder", images=images, labels=labels[kept], class_names=names,
                      boxes=crop_face_box(len(rels), image_size), paths=rels, meta=meta)
