"""JAFFE (Lyons et al., 1998), original release: 213 TIFFs of 10 Japanese posers, 256 x 256.

File names are `<poser>.<EXPR><n>.<serial>.tiff` (e.g. `KA.AN1.39.tiff`); EXPR in AN DI FE HA NE
SA SU maps onto the FER2013 label order. OpenCV's frontal-face Haar cascade finds the face
(`fer_keras.data.face_detection.detect_face`, the detector `predict` uses on photos too); the
largest detection is cropped and resized to 48 x 48. When nothing is detected the loader falls
back to `DEFAULT_BOX`, the median of the detections on the real 213 images, and reports it.
Crops are cached in the user cache folder, never next to the data.
"""

import re

import cv2
import numpy as np

from fer_keras.data import cache
from fer_keras.data.dataset import DataError, FERDataset, crop_face_box
from fer_keras.data.folders import require_dir
from fer_keras.data.imageio import is_ignored, read_gray
from fer_keras.data.labels import JAFFE_CLASSES, JAFFE_EXPRESSIONS
from fer_keras.data.face_detection import DETECT_KWARGS, detect_face, haar_cascade

SIZE = 48
# (x, y, w, h) on the 256 x 256 original, scaled for other sizes; the median Haar box on JAFFE.
DEFAULT_BOX = (48, 64, 160, 160)
_NAME = re.compile(r"^([A-Z]{2})\.([A-Z]{2})(\d+)\.(\d+)\.tiff?$", re.IGNORECASE)
_CACHE_VERSION = 1


def _default_box(shape):
    h, w = shape
    fy, fx = h / 256.0, w / 256.0
    x, y, bw, bh = DEFAULT_BOX
    return (round(x * fx), round(y * fy), round(bw * fx), round(bh * fy))


def crop(gray, box):
    """Crops (x, y, w, h), clipped to the image, and resizes to 48 x 48 (INTER_AREA)."""
    x, y, w, h = box
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(gray.shape[1], x + w), min(gray.shape[0], y + h)
    face = gray[y0:y1, x0:x1]
    return cv2.resize(face, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def load_jaffe(data_dir, skip_bad=False, use_cache=True, detect=True):
    """Loads JAFFE as 48 x 48 face crops.

    Args:
        data_dir: the folder holding the `*.tiff` files (or a `jaffe/` folder holding them).
        skip_bad: skip bad files and report them in `meta["skipped"]` instead of raising.
        use_cache: keep the crops in the user cache folder.
        detect: run the Haar cascade; False uses the default box for every image.

    Returns:
        FERDataset "jaffe", `subjects` = poser initials; `meta` reports `num_detected`,
        `num_default_crop`, `default_crop_files` and `source_boxes` (boxes on the originals).
    """
    root = require_dir(data_dir, "JAFFE")
    if not any(_NAME.match(p.name) for p in root.iterdir()) and (root / "jaffe").is_dir():
        root = root / "jaffe"
    files = sorted(p for p in root.iterdir() if p.is_file() and not is_ignored(p))
    if not files:
        raise DataError("no files found (expected KA.AN1.39.tiff ...)", root)
    key = cache.file_list_key(root, files, _CACHE_VERSION, skip_bad, detect, DEFAULT_BOX,
                              sorted(DETECT_KWARGS.items()), cv2.__version__)
    hit = cache.load_npz("jaffe", key) if use_cache else None
    if hit is None:
        hit = _build(root, files, skip_bad, detect)
        if use_cache:
            cache.save_npz("jaffe", key, **hit)
    detected = hit["detected"].astype(bool)
    paths = hit["paths"]
    meta = {
        "data_dir": str(root),
        "num_detected": int(detected.sum()),
        "num_default_crop": int((~detected).sum()),
        "default_crop_files": [str(p) for p in paths[~detected]],
        "source_boxes": hit["source_boxes"],
        "conversions": [tuple(x) for x in hit["conversions"].reshape(-1, 2)],
        "skipped": [tuple(x) for x in hit["skipped"].reshape(-1, 2)],
    }
    return FERDataset(name="jaffe", images=hit["images"], labels=hit["labels"],
                      class_names=JAFFE_CLASSES, subjects=hit["subjects"],
                      boxes=crop_face_box(len(paths), SIZE), paths=paths, meta=meta)


def _build(root, files, skip_bad, detect):
    detector = haar_cascade() if detect else None
    images, labels, subjects, paths, boxes, detected, conversions, skipped = ([] for _ in range(8))
    for f in files:
        try:
            m = _NAME.match(f.name)
            if m is None:
                raise DataError("file name does not parse as <poser>.<EXPR><n>.<serial>.tiff", f)
            expr = JAFFE_EXPRESSIONS.get(m.group(2).upper())
            if expr is None:
                raise DataError(f"unknown expression code '{m.group(2)}' "
                                f"(known: {' '.join(JAFFE_EXPRESSIONS)})", f)
            gray, conv = read_gray(f)
        except DataError as err:
            if not skip_bad:
                raise
            skipped.append((str(f), str(err)))
            continue
        if gray.shape != (256, 256):
            conversions.append((f.name, f"size {gray.shape[1]}x{gray.shape[0]}: face box "
                                        "searched at this size" + (f"; {conv}" if conv else "")))
        elif conv:
            conversions.append((f.name, conv))
        box = detect_face(gray, detector) if detect else None
        detected.append(box is not None)
        box = box or _default_box(gray.shape)
        images.append(crop(gray, box))
        boxes.append(box)
        labels.append(JAFFE_CLASSES.index(expr))
        subjects.append(m.group(1).upper())
        paths.append(f.name)
    if not images:
        raise DataError("no JAFFE images could be read", root)
    return {
        "images": np.stack(images)[..., None], "labels": np.array(labels, dtype=np.int64),
        "subjects": np.array(subjects), "paths": np.array(paths),
        "source_boxes": np.array(boxes, dtype=np.int64).reshape(-1, 4),
        "detected": np.array(detected), "conversions": np.array(conversions, dtype=str).reshape(-1, 2),
        "skipped": np.array(skipped, dtype=str).reshape(-1, 2),
    }
