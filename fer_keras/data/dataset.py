"""The two containers every loader and protocol returns: `FERDataset` and `Split`."""

import dataclasses
import hashlib
import warnings

import numpy as np


class DataError(ValueError):
    """Bad input: a missing folder, an unparsable file name, a corrupt image, a bad CSV row.

    `path` names the offending file or folder; the message says what is wrong with it.
    """

    def __init__(self, message, path=None):
        self.path = None if path is None else str(path)
        super().__init__(message if path is None else f"{path}: {message}")


class LeakageWarning(UserWarning):
    """Issued by the paper protocols, which let related images reach both train and test."""


def as_uint8_images(images):
    """`images` as uint8, converted by a stated rule instead of numpy's wrapping cast.

    uint8 stays as it is; other integers must lie in 0..255; floats must be finite and lie in
    0..1 (scaled by 255, with a warning) or 0..255 (rounded). Anything else (NaN, inf, negative,
    above 255, 16-bit ranges) is refused with the offending range named: a silent cast would make
    0..1 floats all 0 and wrap 1000 to 232.

    Raises:
        ValueError: values no rule covers.
    """
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    if images.size == 0:
        return images.astype(np.uint8)
    if images.dtype.kind in "iu":
        lo, hi = int(images.min()), int(images.max())
        if lo < 0 or hi > 255:
            raise ValueError(f"integer images must lie in 0..255, got {lo}..{hi} "
                             f"({images.dtype}); rescale them to 8 bits first")
        return images.astype(np.uint8)
    if images.dtype.kind != "f":
        raise ValueError(f"images must be numbers, got dtype {images.dtype}")
    if not np.isfinite(images).all():
        raise ValueError(f"images hold {int((~np.isfinite(images)).sum())} NaN or infinite "
                         "values; fix or drop those images")
    lo, hi = float(images.min()), float(images.max())
    if lo < 0 or hi > 255:
        raise ValueError(f"float images must lie in 0..1 or 0..255, got {lo:g}..{hi:g}")
    if hi <= 1.0:
        warnings.warn(f"float images in {lo:g}..{hi:g} read as 0..1 and scaled by 255",
                      stacklevel=3)
        images = images * 255.0
    return np.rint(images).astype(np.uint8)


@dataclasses.dataclass
class FERDataset:
    """Images and their metadata, all arrays aligned on the first axis.

    Attributes:
        name: dataset name ("fer2013", "ckplus", "jaffe", "imagefolder", "synthetic").
        images: uint8 array, N x H x W x C (N x 48 x 48 x 1 for the three datasets).
        labels: int64 array, N, indices into `class_names`.
        class_names: tuple of str, the dataset's fixed label space.
        subjects: str array (N) of subject IDs, or None where the dataset has none.
        sequences: str array (N) of sequence IDs (CK+), or None.
        usage: str array (N) of FER2013 usage (Training, PublicTest, PrivateTest), or None.
        boxes: int array N x 4 (x, y, w, h) of the face box in the coordinates of `images`,
            or None (then augmentation uses the layer's default box).
        paths: str array (N) of source files relative to the data folder, or None.
        meta: loader report: converted and skipped files, face detections, notes.
    """

    name: str
    images: np.ndarray
    labels: np.ndarray
    class_names: tuple
    subjects: np.ndarray = None
    sequences: np.ndarray = None
    usage: np.ndarray = None
    boxes: np.ndarray = None
    paths: np.ndarray = None
    meta: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        self.images = as_uint8_images(self.images)
        if self.images.ndim == 3:
            self.images = self.images[..., None]
        if self.images.ndim != 4:
            raise ValueError(f"images must be N x H x W x C, got shape {self.images.shape}")
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.class_names = tuple(self.class_names)
        n = len(self.images)
        if len(self.labels) != n:
            raise ValueError(f"{len(self.labels)} labels for {n} images")
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise ValueError(f"labels outside 0..{len(self.class_names) - 1}")
        for field in ("subjects", "sequences", "usage", "paths"):
            value = getattr(self, field)
            if value is not None:
                value = np.asarray(value, dtype=str)
                if len(value) != n:
                    raise ValueError(f"{field} has {len(value)} entries for {n} images")
                setattr(self, field, value)
        if self.boxes is not None:
            self.boxes = np.asarray(self.boxes, dtype=np.int64).reshape(n, 4)

    def __len__(self):
        return len(self.labels)

    @property
    def num_classes(self):
        return len(self.class_names)

    @property
    def image_shape(self):
        return tuple(self.images.shape[1:])

    def class_counts(self, indices=None):
        labels = self.labels if indices is None else self.labels[np.asarray(indices)]
        counts = np.bincount(labels, minlength=self.num_classes)
        return {name: int(c) for name, c in zip(self.class_names, counts)}

    def fingerprint(self):
        """A short stable hash of images, labels and class names (16 hex digits)."""
        h = hashlib.sha256()
        h.update(repr((self.images.shape, self.class_names)).encode())
        h.update(np.ascontiguousarray(self.images).tobytes())
        h.update(self.labels.astype("<i8").tobytes())
        return h.hexdigest()[:16]

    def subset(self, indices):
        """A new FERDataset holding the given examples, in the given order."""
        idx = np.asarray(indices, dtype=np.int64)

        def take(a):
            return None if a is None else a[idx]

        return FERDataset(
            name=self.name, images=self.images[idx], labels=self.labels[idx],
            class_names=self.class_names, subjects=take(self.subjects),
            sequences=take(self.sequences), usage=take(self.usage), boxes=take(self.boxes),
            paths=take(self.paths), meta=dict(self.meta),
        )

    def image_hashes(self):
        """Per-image digests (bytes) for the exact-duplicate audit."""
        flat = np.ascontiguousarray(self.images).reshape(len(self), -1)
        return np.array([hashlib.blake2b(row.tobytes(), digest_size=12).digest() for row in flat])


@dataclasses.dataclass
class Split:
    """One fold of a protocol: integer indices into a FERDataset.

    Attributes:
        name: e.g. "subject_kfold/3".
        fold: fold number (0 for single-split protocols).
        train, val, test: int64 index arrays (val or test may be empty).
        protocol: protocol name.
        notes: what the protocol did (validation carved from training subjects, leaks, drops).
        dataset: None when the indices point into the dataset given to `make_splits`; for
            `paper_lntwrn`, the expanded FERDataset they point into (see `split_dataset`).
    """

    name: str
    fold: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    protocol: str
    notes: list = dataclasses.field(default_factory=list)
    dataset: FERDataset = None

    def __post_init__(self):
        for field in ("train", "val", "test"):
            setattr(self, field, np.asarray(getattr(self, field), dtype=np.int64).reshape(-1))


def split_dataset(split, ds):
    """The dataset a Split's indices point into: `split.dataset` if set, else `ds`."""
    return ds if split.dataset is None else split.dataset


def crop_face_box(n, size=48):
    """Face box for images that are already face crops: the central 3/4 of the square.

    On FER2013, CK+48 and the JAFFE crops the eyes, brows, nose and mouth lie in the central
    36 x 36 pixels of 48 x 48; the outer ring is hair, ears, jaw line and background. The
    improved random erasing (Light-NTWRN eq. 12) draws its erase point inside this box.
    """
    m = size // 8
    return np.tile(np.array([[m, m, size - 2 * m, size - 2 * m]], dtype=np.int64), (n, 1))
