"""AffectNet, manually annotated part (Mollahosseini, Hasani & Mahoor, "AffectNet: A database for
facial expression, valence, and arousal computing in the wild", IEEE Transactions on Affective
Computing, 2017), in the official release's layout.

Layout (`data_dir` holds both folders):

    Manually_Annotated_file_lists/training.csv     about 415k rows
    Manually_Annotated_file_lists/validation.csv   5,500 rows (500 per expression code)
    Manually_Annotated_Images/689/737db2...ca.jpg  any size, colour

Each CSV has a header row naming the columns subDirectory_filePath, face_x, face_y, face_width,
face_height, facial_landmarks (a quoted ';'-separated list of floats), expression, valence,
arousal. A CSV without the header row is read in that official column order (and noted).

Expression codes 0..7 = neutral, happy, sad, surprise, fear, disgust, anger, contempt are the
labels (`AFFECTNET_CLASSES_8`, same order; `classes=7` drops contempt, as most papers' 7-class
results do). Codes 8, 9, 10 = none, uncertain, no-face are no expression: always dropped and
counted in `meta["dropped"]`.

Split: the test labels were never released, so the official validation set serves as the test
set (usage "PrivateTest") and training.csv is usage "Training"; the `official` protocol carves a
seeded validation split from Training. About 284k training and 3,500 test images remain with 7
classes (288k and 4,000 with 8); `limit_per_class` keeps the first N of each class per CSV.

Images: the face box of the CSV (clipped to the image) is cropped from the 8-bit grayscale
image (ITU-R 601 luma) and resized to 48 x 48 with cv2 INTER_AREA. The facial landmarks,
valence and arousal are not used.

Traps: codes 8..10 are not emotions; the validation set is the test set (do not tune on it);
boxes may reach past the image edge; the 7- and 8-class label spaces share a name, so
`meta["num_classes"]` says which one was loaded.
"""

import concurrent.futures
import csv
import math
import os
from pathlib import Path

import cv2
import numpy as np

from fer_keras.data import cache
from fer_keras.data.dataset import DataError, FERDataset, crop_face_box
from fer_keras.data.folders import require_dir
from fer_keras.data.imageio import read_gray
from fer_keras.data.registry import get_dataset

__all__ = ["AFFECTNET_CLASSES_7", "AFFECTNET_CLASSES_8", "COLUMNS", "CSV_FILES", "DROPPED_CODES",
           "IMAGE_DIR", "load_affectnet", "read_face_crop", "resolve"]

# Expression codes 0..6 of the CSVs, in order, declared once, in the registry: the 7-class label space; contempt (code 7) is the 8th
AFFECTNET_CLASSES_7 = get_dataset("affectnet").class_names
AFFECTNET_CLASSES_8 = (*AFFECTNET_CLASSES_7, "contempt")
DROPPED_CODES = {8: "none", 9: "uncertain", 10: "no-face"}
# Usage (the project's official-split vocabulary) -> CSV; the validation set is the test set.
CSV_FILES = {"Training": "Manually_Annotated_file_lists/training.csv",
             "PrivateTest": "Manually_Annotated_file_lists/validation.csv"}
IMAGE_DIR = "Manually_Annotated_Images"
COLUMNS = ("subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
           "facial_landmarks", "expression", "valence", "arousal")
_BOX = ("face_x", "face_y", "face_width", "face_height")
_REQUIRED = ("subDirectory_filePath", *_BOX, "expression")
SIZE = 48
_CACHE_VERSION = 1


def resolve(data_dir):
    """The folder holding `Manually_Annotated_file_lists/` and `Manually_Annotated_Images/`."""
    path = require_dir(data_dir, "AffectNet")
    lists = path / Path(CSV_FILES["Training"]).parent
    if not lists.is_dir():
        raise DataError(f"no {lists.name}/ folder inside (expected AffectNet's "
                        f"{CSV_FILES['Training']}, {CSV_FILES['PrivateTest']} and {IMAGE_DIR}/)",
                        path)
    for rel in CSV_FILES.values():
        if not (path / rel).is_file():
            raise DataError("AffectNet CSV file not found", path / rel)
    if not (path / IMAGE_DIR).is_dir():
        raise DataError("AffectNet images folder not found (unpack Manually_Annotated.tar here)",
                        path / IMAGE_DIR)
    return path


def read_face_crop(path, box):
    """Reads `path` as grayscale and crops `box` = (x, y, w, h), clipped to the image, to 48 x 48.

    Returns:
        (48 x 48 uint8 array, conversion note or None; colour -> gray is expected, not noted).

    Raises:
        DataError naming the file: unreadable, or a box that misses the image entirely.
    """
    gray, conv = read_gray(path)
    x, y, w, h = box
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(gray.shape[1], x + w), min(gray.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        raise DataError(f"face box (x={x}, y={y}, w={w}, h={h}) lies outside the "
                        f"{gray.shape[1]}x{gray.shape[0]} image", path)
    face = cv2.resize(gray[y0:y1, x0:x1], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    return face, (None if conv in (None, "mode RGB->L") else conv)


def _columns(first, path):
    """(column name -> index, whether `first` was a header row)."""
    names = [c.strip() for c in first]
    if any(name in names for name in _REQUIRED):
        for name in _REQUIRED:
            if name not in names:
                raise DataError(f"column {name!r} missing from the header row (found: "
                                f"{', '.join(names)}; expected {', '.join(COLUMNS)})", path)
        return {name: i for i, name in enumerate(names)}, True
    if len(names) >= len(COLUMNS) and Path(names[0]).suffix:
        return {name: i for i, name in enumerate(COLUMNS)}, False
    raise DataError(f"no header row (expected {', '.join(COLUMNS)}); first row: {first}", path)


def _field(row, cols, name, line, path):
    i = cols[name]
    if i >= len(row):
        raise DataError(f"line {line}: {len(row)} fields, no {name!r}", path)
    return row[i].strip()


def _expression(row, cols, line, path):
    text = _field(row, cols, "expression", line, path)
    try:
        code = int(text)
    except ValueError:
        raise DataError(f"line {line}: expression {text!r} is not an integer", path) from None
    if not 0 <= code <= max(DROPPED_CODES):
        raise DataError(f"line {line}: expression {code} outside 0..{max(DROPPED_CODES)}", path)
    return code


def _location(row, cols, line, path):
    """(relative image path, (x, y, w, h)) of a row; DataError naming the CSV line."""
    box = []
    for name in _BOX:
        text = _field(row, cols, name, line, path)
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise DataError(f"line {line}: {name} {text!r} is not a number", path)
        box.append(int(round(value)))
    if box[2] <= 0 or box[3] <= 0:
        raise DataError(f"line {line}: empty face box {box[2]}x{box[3]}", path)
    rel = Path(_field(row, cols, "subDirectory_filePath", line, path))
    if not rel.parts or rel.is_absolute() or ".." in rel.parts:
        raise DataError(f"line {line}: subDirectory_filePath {str(rel)!r} is not a relative "
                        "path inside the images folder", path)
    return rel, tuple(box)


def _read_csv(root, usage, options, report):
    """Entries (image, label, box, usage, "csv:line") of one CSV; counts go into `report`."""
    classes, limit, skip_bad = options
    path = root / CSV_FILES[usage]
    entries, taken = [], {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        first = next(reader, None)
        if first is None:
            raise DataError("empty CSV file", path)
        cols, has_header = _columns(first, path)
        rows = reader if has_header else _chain(first, reader)
        if not has_header:
            report["notes"].append(f"{path.name} has no header row: read in the official order")
        for row in rows:
            line = reader.line_num
            if not any(c.strip() for c in row):
                continue
            report["num_rows"] += 1
            try:
                code = _expression(row, cols, line, path)
                if code in DROPPED_CODES or code >= classes:
                    report["dropped"][DROPPED_CODES.get(code, "contempt")] += 1
                    continue
                rel, box = _location(row, cols, line, path)
            except DataError as err:
                if not skip_bad:
                    raise
                report["skipped"].append((f"{path}:{line}", str(err)))
                continue
            if limit is not None and taken.get(code, 0) >= limit:
                report["num_over_limit"] += 1
                continue
            image = root / IMAGE_DIR / rel
            if not image.is_file():
                err = DataError(f"image not found (listed at line {line} of {path.name})", image)
                if not skip_bad:
                    raise err
                report["skipped"].append((str(image), str(err)))
                report["num_missing"] += 1
                continue
            taken[code] = taken.get(code, 0) + 1
            entries.append((image, code, box, usage, f"{path.name}:{line}"))
    return entries


def _chain(first, rows):
    yield first
    yield from rows


def _check_options(classes, limit_per_class):
    if isinstance(classes, bool) or classes not in (7, 8):
        raise ValueError(f"classes must be 7 (no contempt) or 8, got {classes!r}")
    if limit_per_class is not None and (isinstance(limit_per_class, bool)
                                        or not isinstance(limit_per_class, int)
                                        or limit_per_class < 1):
        raise ValueError(f"limit_per_class must be a positive integer or None, "
                         f"got {limit_per_class!r}")


def load_affectnet(data_dir, classes=7, skip_bad=False, progress=False, use_cache=True,
                   limit_per_class=None):
    """Loads AffectNet's manually annotated images as 48 x 48 grayscale face crops.

    Args:
        data_dir: the folder holding `Manually_Annotated_file_lists/` and
            `Manually_Annotated_Images/`.
        classes: 7 (drops contempt) or 8 (keeps it, label 7).
        skip_bad: skip bad rows, missing and unreadable images, and report them in
            `meta["skipped"]` (pairs of where, error) instead of raising.
        progress: show a tqdm bar while decoding (above 500 images).
        use_cache: keep the crops in the user cache, keyed by the CSVs and the images' paths,
            sizes and modification times.
        limit_per_class: keep at most this many images per class from each CSV, the first in
            file order (rows with a missing image do not count); None keeps all.

    Returns:
        FERDataset "affectnet", `usage` "Training" (training.csv) or "PrivateTest"
        (validation.csv), `paths` relative to `data_dir`, no subjects. `meta`: data_dir,
        num_classes, limit_per_class, csv_files, num_rows, dropped (counts of "none",
        "uncertain", "no-face", "contempt"), num_over_limit, num_missing, num_read,
        num_skipped, skipped, conversions, usage_counts, notes.

    Raises:
        ValueError: `classes` not 7 or 8, or a bad `limit_per_class`.
        DataError: missing folder or CSV, a missing column, a bad row (named by CSV line), a
            missing or unreadable image, unless `skip_bad`.
    """
    _check_options(classes, limit_per_class)
    root = resolve(data_dir)
    dropped = {name: 0 for name in (*DROPPED_CODES.values(), "contempt")}
    report = {"num_rows": 0, "dropped": dropped,
              "num_over_limit": 0, "num_missing": 0, "skipped": [], "notes": []}
    entries = [e for usage in CSV_FILES
               for e in _read_csv(root, usage, (classes, limit_per_class, skip_bad), report)]
    if not entries:
        raise DataError("the CSVs list no usable images", root / Path(CSV_FILES["Training"]).parent)
    files = [root / rel for rel in CSV_FILES.values()] + [e[0] for e in entries]
    key = cache.file_list_key(root, files, _CACHE_VERSION, classes, limit_per_class, skip_bad,
                              SIZE, cv2.__version__)
    hit = cache.load_npz("affectnet", key) if use_cache else None
    if hit is None:
        hit = _decode(root, entries, skip_bad, progress)
        if use_cache:
            cache.save_npz("affectnet", key, **hit)
    usage = hit["usage"]
    skipped = report.pop("skipped") + [tuple(x) for x in hit["skipped"].reshape(-1, 2)]
    meta = {"data_dir": str(root), "num_classes": classes, "limit_per_class": limit_per_class,
            "csv_files": [str(root / rel) for rel in CSV_FILES.values()], **report,
            "num_read": len(usage), "num_skipped": len(skipped), "skipped": skipped,
            "conversions": [tuple(x) for x in hit["conversions"].reshape(-1, 2)],
            "usage_counts": {u: int((usage == u).sum()) for u in CSV_FILES}}
    names = AFFECTNET_CLASSES_8 if classes == 8 else AFFECTNET_CLASSES_7
    return FERDataset(name="affectnet", images=hit["images"], labels=hit["labels"],
                      class_names=names, usage=usage, boxes=crop_face_box(len(usage), SIZE),
                      paths=hit["paths"], meta=meta)


def _decode(root, entries, skip_bad, progress):
    """Crops every entry with a thread pool; the first bad image raises unless `skip_bad`."""
    out = np.zeros((len(entries), SIZE, SIZE), dtype=np.uint8)
    kept = np.ones(len(entries), dtype=bool)
    conversions, skipped = [], []

    def work(i):
        image, _, box, _, where = entries[i]
        try:
            out[i], conv = read_face_crop(image, box)
        except DataError as err:
            located = DataError(f"{err} (listed at {where})")
            located.path = err.path
            return i, None, located
        return i, conv, None

    pool = concurrent.futures.ThreadPoolExecutor(min(8, (os.cpu_count() or 2) * 2))
    try:
        results = pool.map(work, range(len(entries)), chunksize=64)
        if progress and len(entries) > 500:
            from tqdm import tqdm

            results = tqdm(results, total=len(entries), desc="AffectNet", unit="img")
        for i, conv, err in results:
            if err is not None:
                if not skip_bad:
                    raise err
                kept[i] = False
                skipped.append((str(entries[i][0]), str(err)))
            elif conv:
                conversions.append((str(entries[i][0].relative_to(root)), conv))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return {
        "images": out[kept][..., None],
        "labels": np.array([e[1] for e in entries], dtype=np.int64)[kept],
        "usage": np.array([e[3] for e in entries])[kept],
        "paths": np.array([str(e[0].relative_to(root)) for e in entries])[kept],
        "conversions": np.array(conversions, dtype=str).reshape(-1, 2),
        "skipped": np.array(skipped, dtype=str).reshape(-1, 2),
    }
