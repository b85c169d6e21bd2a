"""FER2013 (Goodfellow et al., ICML 2013 challenge): the original CSV and the Kaggle image folders.

Label order is the CSV's: 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral.
In the folder layout (`train|test/<class>/<Usage>_<id>.jpg`) the usage comes from the file-name
prefix, so PublicTest and PrivateTest are told apart even when both sit in `test/`.
"""

import csv
import re
from pathlib import Path

import numpy as np

from fer_keras.data import cache
from fer_keras.data.dataset import DataError, FERDataset, crop_face_box
from fer_keras.data.folders import list_class_tree, require_dir
from fer_keras.data.imageio import read_many
from fer_keras.data.labels import FER2013_CLASSES, FER2013_FOLDER_ALIASES

USAGES = ("Training", "PublicTest", "PrivateTest")
SIZE = 48
_NAME = re.compile(r"^(Training|PublicTest|PrivateTest)_(\d+)\.[A-Za-z]+$")
_CACHE_VERSION = 1


def resolve(data_dir):
    """Returns ("csv", path) or ("folders", root) for a FER2013 download."""
    path = Path(data_dir).expanduser()
    if path.is_file():
        if path.suffix.lower() != ".csv":
            raise DataError("expected fer2013.csv or a folder holding train/ and test/", path)
        return "csv", path
    require_dir(path, "FER2013")
    for name in ("fer2013.csv", "icml_face_data.csv"):
        if (path / name).is_file():
            return "csv", path / name
    if (path / "train").is_dir() or (path / "test").is_dir():
        return "folders", path
    if (path / "fer2013").is_dir():
        return resolve(path / "fer2013")
    raise DataError("no fer2013.csv and no train/ or test/ folder inside", path)


def _read_csv(path, skip_bad):
    images, labels, usage, rows, skipped = [], [], [], [], []
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise DataError("empty CSV file", path)
        cols = {name.strip(): i for i, name in enumerate(header)}
        if "emotion" not in cols or "pixels" not in cols:
            raise DataError(f"CSV header must hold emotion,pixels[,Usage]; found {header}", path)
        iu = cols.get("Usage", cols.get("usage"))
        for line, row in enumerate(reader, start=2):
            try:
                if not row:
                    continue
                try:
                    label = int(row[cols["emotion"]])
                except (ValueError, IndexError):
                    raise DataError(f"row {line}: emotion is not an integer", path) from None
                if not 0 <= label < 7:
                    raise DataError(f"row {line}: emotion {label} outside 0..6", path)
                values = row[cols["pixels"]].split() if len(row) > cols["pixels"] else []
                if len(values) != SIZE * SIZE:
                    raise DataError(
                        f"row {line}: {len(values)} pixel values, expected {SIZE * SIZE}", path)
                try:
                    pix = np.array(values, dtype=np.int64)
                except ValueError:
                    raise DataError(f"row {line}: non-integer pixel value", path) from None
                if pix.min() < 0 or pix.max() > 255:
                    raise DataError(f"row {line}: pixel value outside 0..255", path)
                use = row[iu].strip() if iu is not None and len(row) > iu else "Training"
                if use not in USAGES:
                    raise DataError(f"row {line}: unknown Usage '{use}'", path)
            except DataError as err:
                if not skip_bad:
                    raise
                skipped.append((f"{path}:{line}", str(err)))
                continue
            images.append(pix.astype(np.uint8).reshape(SIZE, SIZE))
            labels.append(label)
            usage.append(use)
            rows.append(f"{path.name}:{line}")
    if not images:
        raise DataError("CSV holds no valid rows", path)
    return np.stack(images), np.array(labels), np.array(usage), np.array(rows), [], skipped


def _read_folders(root, skip_bad, progress):
    files, labels, usage, rels, skipped, mismatched = [], [], [], [], [], []
    for part in ("train", "test"):
        if not (root / part).is_dir():
            continue
        for f, cls in list_class_tree(root / part, FER2013_FOLDER_ALIASES):
            m = _NAME.match(f.name)
            if m is None:
                err = DataError(
                    "file name does not parse as <Training|PublicTest|PrivateTest>_<id>.<ext>", f)
                if not skip_bad:
                    raise err
                skipped.append((str(f), str(err)))
                continue
            files.append(f)
            labels.append(FER2013_CLASSES.index(cls))
            usage.append(m.group(1))
            if (part == "train") != (m.group(1) == "Training"):
                mismatched.append(str(f.relative_to(root)))
            rels.append(str(f.relative_to(root)))
    if not files:
        raise DataError("no images under train/ or test/", root)
    images, kept, conversions, bad = read_many(files, SIZE, skip_bad, progress, "FER2013")
    conversions = [(str(Path(p).relative_to(root)), c) for p, c in conversions]
    # The usage comes from the file-name prefix; a prefix that contradicts its folder is kept as
    # the prefix says and reported, never silently moved.
    conversions += [(p, "usage from the file-name prefix, which disagrees with its folder")
                    for p in mismatched]
    return (images, np.array(labels)[kept], np.array(usage)[kept], np.array(rels)[kept],
            conversions, skipped + bad)


def load_fer2013(data_dir, skip_bad=False, use_cache=True, progress=True):
    """Loads FER2013 from `fer2013.csv` or the Kaggle `train/`, `test/` image folders.

    Args:
        data_dir: the CSV's path, the folder holding it, or the folder holding train/ and test/.
        skip_bad: skip bad files or rows and report them in `meta["skipped"]` instead of raising.
        use_cache: keep the decoded array in the user cache, keyed by the file list, sizes and
            modification times, so the next load is fast.
        progress: show a tqdm bar while decoding images.

    Returns:
        FERDataset "fer2013" with `usage` per image, `paths` (relative file or "csv:row").
    """
    kind, path = resolve(data_dir)
    if kind == "csv":
        files, root = [path], path.parent
    else:
        root = path
        files = sorted(p for part in ("train", "test") if (path / part).is_dir()
                       for p in (path / part).rglob("*") if p.is_file())
    key = cache.file_list_key(root, files, _CACHE_VERSION, kind, skip_bad)
    hit = cache.load_npz("fer2013", key) if use_cache else None
    if hit is not None:
        images, labels, usage, paths = hit["images"], hit["labels"], hit["usage"], hit["paths"]
        conversions = [tuple(x) for x in hit["conversions"].reshape(-1, 2)]
        skipped = [tuple(x) for x in hit["skipped"].reshape(-1, 2)]
    else:
        reader = _read_csv(path, skip_bad) if kind == "csv" else _read_folders(path, skip_bad, progress)
        images, labels, usage, paths, conversions, skipped = reader
        if use_cache:
            cache.save_npz("fer2013", key, images=images, labels=labels, usage=usage, paths=paths,
                           conversions=np.array(conversions, dtype=str).reshape(-1, 2),
                           skipped=np.array(skipped, dtype=str).reshape(-1, 2))
    meta = {"source": kind, "data_dir": str(path), "conversions": conversions,
            "skipped": skipped, "usage_counts": {u: int((usage == u).sum()) for u in USAGES}}
    return FERDataset(name="fer2013", images=images, labels=labels, class_names=FER2013_CLASSES,
                      usage=usage, boxes=crop_face_box(len(labels), SIZE), paths=paths, meta=meta)
