"""Reading one image file, with the documented conversion rule for odd sizes and colour modes.

Rule (docs/data.md, "Odd images"): the image is decoded fully (a truncated file is an error);
colour and palette images become 8-bit grayscale by ITU-R 601 luma (PIL "L"); 16-bit images are
scaled to 8 bits; an image whose size differs from the expected one is centre-cropped to a square
and resized (INTER_AREA when shrinking, INTER_LINEAR when enlarging). Every change is reported
as a conversion, except a palette image whose palette is the identity gray ramp (JAFFE has 23),
which is read losslessly.
"""

import concurrent.futures
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import UnidentifiedImageError

from fer_keras.data.dataset import DataError
from fer_keras.data.safe_image import open_image

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".pgm", ".webp")
IGNORED_NAMES = ("thumbs.db", "desktop.ini")


def is_ignored(path):
    """Hidden files (".DS_Store", "._x.jpg") and OS droppings are skipped silently."""
    name = Path(path).name
    return name.startswith(".") or name.lower() in IGNORED_NAMES


def _is_gray_palette(img):
    palette = img.getpalette()
    if palette is None:
        return False
    pal = np.asarray(palette, dtype=np.int64).reshape(-1, 3)
    used = np.unique(np.asarray(img))
    used = used[used < len(pal)]
    return bool(np.all(pal[used] == used[:, None]))


def resize_square(gray, size):
    """Centre-crops a 2-D array to a square, then resizes it to size x size."""
    h, w = gray.shape
    if h != w:
        s = min(h, w)
        y, x = (h - s) // 2, (w - s) // 2
        gray = gray[y:y + s, x:x + s]
    if gray.shape[0] == size:
        return gray
    interp = cv2.INTER_AREA if gray.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(gray, (size, size), interpolation=interp)


def read_gray(path, size=None):
    """Reads `path` as a uint8 grayscale array.

    Args:
        path: image file.
        size: expected side in pixels; an image of another size is converted (see module doc).
            None keeps the decoded size.

    Returns:
        (array H x W uint8, conversion) with `conversion` None or a short description.

    Raises:
        DataError naming the file: empty, not an image, corrupt or truncated.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise DataError("empty file (0 bytes)", path)
        with open_image(path) as img:  # refuses decompression bombs
            img.load()
            mode = img.mode
            notes = []
            if mode == "L":
                gray = np.asarray(img, dtype=np.uint8)
            elif mode == "P" and _is_gray_palette(img):
                gray = np.asarray(img, dtype=np.uint8)
            elif mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                arr = np.asarray(img, dtype=np.float64)
                top = 65535.0 if mode.startswith("I;16") else max(float(arr.max()), 1.0)
                gray = np.clip(np.round(arr * 255.0 / top), 0, 255).astype(np.uint8)
                notes.append(f"mode {mode}->L")
            else:
                gray = np.asarray(img.convert("L"), dtype=np.uint8)
                notes.append(f"mode {mode}->L")
    except DataError:
        raise
    except UnidentifiedImageError:
        raise DataError("not an image (unrecognised format)", path) from None
    except (OSError, SyntaxError, ValueError) as err:
        raise DataError(f"corrupt or truncated image ({err})", path) from None
    if size is not None and gray.shape != (size, size):
        notes.append(f"size {gray.shape[1]}x{gray.shape[0]}->{size}x{size}")
        gray = resize_square(gray, size)
    return gray, ("; ".join(notes) or None)


def read_many(paths, size, skip_bad=False, progress=False, desc="decoding"):
    """Decodes many files with a thread pool.

    Returns:
        (images N x size x size uint8 for the files kept, kept mask (bool, len(paths)),
         conversions list of (path, what), skipped list of (path, error)).

    Raises:
        DataError for the first bad file unless `skip_bad`.
    """
    paths = list(paths)
    out = np.zeros((len(paths), size, size), dtype=np.uint8)
    kept = np.ones(len(paths), dtype=bool)
    conversions, skipped = [], []

    def work(i):
        try:
            gray, conv = read_gray(paths[i], size)
        except DataError as err:
            return i, None, err
        out[i] = gray
        return i, conv, None

    workers = min(8, (os.cpu_count() or 2) * 2)
    pool = concurrent.futures.ThreadPoolExecutor(workers)
    try:
        results = pool.map(work, range(len(paths)), chunksize=64)
        if progress and len(paths) > 500:
            from tqdm import tqdm

            results = tqdm(results, total=len(paths), desc=desc, unit="img")
        for i, conv, err in results:
            if err is not None:
                if not skip_bad:
                    raise err
                kept[i] = False
                skipped.append((str(paths[i]), str(err)))
            elif conv:
                conversions.append((str(paths[i]), conv))
    finally:
        # On the first bad file, stop at once instead of decoding the rest.
        pool.shutdown(wait=True, cancel_futures=True)
    return out[kept], kept, conversions, skipped
