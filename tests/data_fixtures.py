"""Tiny datasets written to tmp_path, in the layouts the loaders accept, plus each kind of bad file.

Import the `isolated_cache` fixture into a test module to keep its cache under tmp_path.
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def real(name):
    """The real dataset folder, or a pytest skip when it is absent."""
    path = REAL_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data not present: {path}")
    return path


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def face(seed, size=48):
    """A deterministic gray image (distinct per seed)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (size, size), dtype=np.uint8)


def save(path, array, **kwargs):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)
    return path


FER_FOLDERS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


def make_fer_folders(root, per_class=2, test_usages=("PublicTest", "PrivateTest")):
    """train/<class>/Training_<id>.png and test/<class>/<usage>_<id>.png (PNG: exact pixels)."""
    root = Path(root)
    n = 0
    for c in FER_FOLDERS:
        for _ in range(per_class):
            save(root / "train" / c / f"Training_{n}.png", face(n))
            n += 1
        for usage in test_usages:
            save(root / "test" / c / f"{usage}_{n}.png", face(n))
            n += 1
    return root


def fer_csv_row(label, pixels, usage="Training"):
    return f"{label},{' '.join(str(int(v)) for v in np.ravel(pixels))},{usage}\n"


def make_fer_csv(path, rows=None):
    """A fer2013.csv with 3 rows per usage unless `rows` (list of (label, pixels, usage))."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if rows is None:
        rows = [(i % 7, face(100 + i), u) for i, u in
                enumerate(["Training"] * 3 + ["PublicTest"] * 3 + ["PrivateTest"] * 3)]
    with open(path, "w") as f:
        f.write("emotion,pixels,Usage\n")
        for label, pixels, usage in rows:
            f.write(fer_csv_row(label, pixels, usage))
    return path


CK_CLASSES = ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")


def make_ckplus(root, num_subjects=12, seqs_per_subject=2):
    """root/CK+48/<class>/S<subj>_<seq>_<frame>.png, 3 frames per sequence."""
    root = Path(root)
    k = 0
    for s in range(num_subjects):
        for q in range(seqs_per_subject):
            c = CK_CLASSES[(s + q) % 7]
            for fr in range(3):
                save(root / "CK+48" / c / f"S{s + 10:03d}_{q + 1:03d}_{fr + 10:08d}.png", face(k))
                k += 1
    return root


JAFFE_CODES = ("AN", "DI", "FE", "HA", "NE", "SA", "SU")


def make_jaffe(root, posers=("KA", "KL", "YM"), per_expression=1):
    """root/<poser>.<EXPR><n>.<serial>.tiff, 256 x 256 gray, the first one a palette image."""
    root = Path(root)
    serial = 1
    for p in posers:
        for code in JAFFE_CODES:
            for n in range(per_expression):
                arr = face(serial, 256)
                name = root / f"{p}.{code}{n + 1}.{serial}.tiff"
                if serial == 1:
                    img = Image.fromarray(arr).convert("P")
                    img.putpalette([v for i in range(256) for v in (i, i, i)])
                    root.mkdir(parents=True, exist_ok=True)
                    img.save(name)
                else:
                    save(name, arr)
                serial += 1
    return root


def write_bad(path, kind):
    """Writes one bad file: 'empty', 'text', 'truncated', 'corrupt'."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not an image\n")
    elif kind == "truncated":
        save(path.with_suffix(".tmp.png"), face(1))
        data = path.with_suffix(".tmp.png").read_bytes()
        path.with_suffix(".tmp.png").unlink()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "corrupt":
        save(path.with_suffix(".tmp.png"), face(2))
        data = bytearray(path.with_suffix(".tmp.png").read_bytes())
        path.with_suffix(".tmp.png").unlink()
        data[40:80] = b"\x00" * 40
        path.write_bytes(bytes(data))
    else:
        raise ValueError(kind)
    return path
