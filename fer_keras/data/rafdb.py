"""RAF-DB, basic emotions (Li, Deng & Du, "Reliable crowdsourcing and deep locality-preserving
learning for expression recognition in the wild", CVPR 2017), in the official release's layout.

Layout (`basic/` as unpacked from the release; `data_dir` is `basic/` or the folder holding it):

    basic/EmoLabel/list_patition_label.txt      "train_00001.jpg 5", one image a line
    basic/Image/aligned/train_00001_aligned.jpg 100 x 100 RGB, faces already aligned

Label order is the label file's, 1..7 = surprise, fear, disgust, happiness, sadness, anger,
neutral, stored as 0..6 in `RAFDB_CLASSES` (spelt so that `labels.CANONICAL_EMOTION` maps them
onto FER2013 and CK+). Split: `train_*` names are the official training set (usage "Training",
12,271 images), `test_*` names the official test set (usage "PrivateTest", 3,068 images). There
is no validation set, so the `official` protocol carves one from Training (seeded), like FER2013
without PublicTest.

Images: the aligned face is read as 8-bit grayscale (ITU-R 601 luma) and shrunk to 48 x 48 with
cv2 INTER_AREA (`imageio.read_gray`); no face detection. The `Image/original/` photos are unused.

Traps: the label file's official name is misspelt "patition" (a corrected
`list_partition_label.txt` is accepted too); the label file names `train_00001.jpg` but the
aligned image is `train_00001_aligned.jpg`; labels start at 1, not 0.
"""

import re
from pathlib import Path

import numpy as np

from fer_keras.data import cache
from fer_keras.data.dataset import DataError, FERDataset, crop_face_box
from fer_keras.data.folders import require_dir
from fer_keras.data.imageio import read_many
from fer_keras.data.registry import get_dataset

__all__ = ["LABEL_FILE", "RAFDB_CLASSES", "RAFDB_USAGES", "load_rafdb", "resolve"]

# Label file order (labels 1..7 in list_patition_label.txt), as 0..6.
RAFDB_CLASSES = get_dataset("rafdb").class_names  # declared once, in the registry
# File-name prefix -> usage, in the project's official-split vocabulary (see fer2013.USAGES).
RAFDB_USAGES = {"train": "Training", "test": "PrivateTest"}
LABEL_FILE = "EmoLabel/list_patition_label.txt"  # sic: the release's own spelling
_LABEL_FILE_NAMES = ("list_patition_label.txt", "list_partition_label.txt")
ALIGNED_DIR = "Image/aligned"
SIZE = 48
_NAME = re.compile(r"^(train|test)_(\d+)\.(jpe?g|png)$", re.IGNORECASE)
# What read_gray reports for every official image; only other conversions go into meta.
_EXPECTED_CONVERSION = f"mode RGB->L; size 100x100->{SIZE}x{SIZE}"
_CACHE_VERSION = 1


def resolve(data_dir):
    """The `basic/` folder: `data_dir` itself, or its `basic/` subfolder."""
    path = require_dir(data_dir, "RAF-DB")
    if (path / "basic").is_dir():
        return path / "basic"
    if (path / "EmoLabel").is_dir() or (path / "Image").is_dir():
        return path
    raise DataError("no basic/ folder and no EmoLabel/ or Image/ folder inside (expected RAF-DB's "
                    f"basic/{LABEL_FILE} and basic/{ALIGNED_DIR}/)", path)


def _label_file(root):
    for name in _LABEL_FILE_NAMES:
        if (root / "EmoLabel" / name).is_file():
            return root / "EmoLabel" / name
    raise DataError("RAF-DB label file not found (the release names it "
                    "'list_patition_label.txt', misspelt)", root / LABEL_FILE)


def _parse_line(text, line, label_file):
    """(file name, 0-based label, usage) of one label-file line; DataError naming the line."""
    parts = text.split()
    if len(parts) != 2:
        raise DataError(f"line {line}: expected '<image> <label>', got {text.strip()!r}",
                        label_file)
    name, label = parts
    m = _NAME.match(name)
    if m is None:
        raise DataError(f"line {line}: image name {name!r} does not parse as "
                        "train_<n>.jpg or test_<n>.jpg", label_file)
    try:
        label = int(label)
    except ValueError:
        raise DataError(f"line {line}: label {label!r} is not an integer", label_file) from None
    if not 1 <= label <= len(RAFDB_CLASSES):
        raise DataError(f"line {line}: label {label} outside 1..{len(RAFDB_CLASSES)}", label_file)
    return name, label - 1, RAFDB_USAGES[m.group(1).lower()]


def _read_label_file(root, label_file, skip_bad):
    """Entries (image Path, label, usage) of the label file, plus what was skipped."""
    entries, skipped, seen = [], [], {}
    counts = {"num_listed": 0, "num_missing": 0}
    with open(label_file, encoding="utf-8-sig") as f:
        lines = f.read().splitlines()
    for line, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        counts["num_listed"] += 1
        try:
            name, label, usage = _parse_line(text, line, label_file)
            if name in seen:
                raise DataError(f"line {line}: {name} listed again (first at line {seen[name]})",
                                label_file)
            seen[name] = line
        except DataError as err:
            if not skip_bad:
                raise
            skipped.append((f"{label_file}:{line}", str(err)))
            continue
        stem, dot, ext = name.rpartition(".")
        image = root / ALIGNED_DIR / f"{stem}_aligned{dot}{ext}"
        if not image.is_file():
            err = DataError(f"aligned image not found (listed at line {line} of "
                            f"{label_file.name})", image)
            if not skip_bad:
                raise err
            skipped.append((str(image), str(err)))
            counts["num_missing"] += 1
            continue
        entries.append((image, label, usage))
    if not entries:
        raise DataError("the label file lists no readable entries", label_file)
    return entries, skipped, counts


def load_rafdb(data_dir, skip_bad=False, progress=False, use_cache=True):
    """Loads RAF-DB (basic) as 48 x 48 grayscale faces: 15,339 images, 7 classes.

    Args:
        data_dir: the `basic/` folder of the release, or the folder holding it.
        skip_bad: skip bad label lines, missing and unreadable images, and report them in
            `meta["skipped"]` (pairs of where, error) instead of raising.
        progress: show a tqdm bar while decoding (above 500 images).
        use_cache: keep the decoded array in the user cache, keyed by the label file and the
            images' paths, sizes and modification times.

    Returns:
        FERDataset "rafdb": `usage` "Training" (train_*) or "PrivateTest" (test_*), `paths`
        relative to `basic/` ("Image/aligned/train_00001_aligned.jpg"), no subjects. `meta`:
        data_dir, label_file, num_listed, num_read, num_skipped, num_missing, skipped,
        conversions (only those other than RGB 100 x 100 -> gray 48 x 48), usage_counts.

    Raises:
        DataError: missing folder or label file, a bad line (named by number), a missing or
            unreadable image (named by path), unless `skip_bad`.
    """
    root = resolve(data_dir)
    label_file = _label_file(root)
    if not (root / ALIGNED_DIR).is_dir():
        raise DataError("aligned images folder not found (unpack the release's "
                        "Image/aligned.zip here; Image/original is not used)", root / ALIGNED_DIR)
    entries, skipped, counts = _read_label_file(root, label_file, skip_bad)
    files = [image for image, _, _ in entries]
    key = cache.file_list_key(root, [label_file, *files], _CACHE_VERSION, skip_bad, SIZE)
    hit = cache.load_npz("rafdb", key) if use_cache else None
    if hit is None:
        hit = _decode(root, entries, skip_bad, progress)
        if use_cache:
            cache.save_npz("rafdb", key, **hit)
    usage = hit["usage"]
    skipped += [tuple(x) for x in hit["skipped"].reshape(-1, 2)]
    meta = {"data_dir": str(root), "label_file": str(label_file), **counts,
            "num_read": len(usage), "num_skipped": len(skipped), "skipped": skipped,
            "conversions": [tuple(x) for x in hit["conversions"].reshape(-1, 2)],
            "usage_counts": {u: int((usage == u).sum()) for u in RAFDB_USAGES.values()}}
    return FERDataset(name="rafdb", images=hit["images"], labels=hit["labels"],
                      class_names=RAFDB_CLASSES, usage=usage,
                      boxes=crop_face_box(len(usage), SIZE), paths=hit["paths"], meta=meta)


def _decode(root, entries, skip_bad, progress):
    files = [image for image, _, _ in entries]
    images, kept, conversions, bad = read_many(files, SIZE, skip_bad, progress, "RAF-DB")
    conversions = [(str(Path(p).relative_to(root)), c) for p, c in conversions
                   if c != _EXPECTED_CONVERSION]
    return {
        "images": images[..., None],
        "labels": np.array([label for _, label, _ in entries], dtype=np.int64)[kept],
        "usage": np.array([usage for _, _, usage in entries])[kept],
        "paths": np.array([str(f.relative_to(root)) for f in files])[kept],
        "conversions": np.array(conversions, dtype=str).reshape(-1, 2),
        "skipped": np.array(bad, dtype=str).reshape(-1, 2),
    }
