"""Finding and cropping faces the way each training set was cropped.

One face detector for training data and inference: OpenCV's frontal-face Haar cascade with
`DETECT_KWARGS` (scaleFactor 1.1, minNeighbors 5, minSize 60). The JAFFE loader crops its
training faces with `detect_face` (the largest box, made square), and `HaarFaceDetector` finds
every face in a photo at inference time with the same cascade and settings. Any callable
`detector(gray) -> [(x, y, w, h), ...]` can replace it.

Crop scale per dataset (docs/deployment.md, "Crop margins"): the side of the square crop divided
by the side of the square Haar box. JAFFE's training crops are the Haar box itself (1.0). FER2013
and CK+48 come pre-cropped at 48 x 48; running the same cascade on 4x-upscaled crops gives
the crop / box ratio (measured here, medians: FER2013 1.19 on 327 of 600 training images
detected, CK+48 1.18 on 395 of 400), with the box centred in the crop within half a percent.
"""

import warnings

import cv2
import numpy as np

from fer_keras.data.face_detection import (  # noqa: F401 - the one detector, shared with loaders
    CASCADE, DETECT_KWARGS, detect_face, haar_cascade, square)
from fer_keras.data.registry import BUILT_IN, DEFAULT_CROP_SCALE, crop_scale_of  # noqa: F401

# Side of the crop / side of the square Haar box, per training dataset (measured, see above),
# declared with each dataset (`fer_keras.data.registry`); unknown: FER2013's, the in-the-wild one.
CROP_SCALES = {s.name: s.crop_scale for s in BUILT_IN}


def crop_scale_for(dataset):
    """The crop scale of a training dataset name (None or unknown: FER2013's)."""
    return crop_scale_of(dataset)


class HaarFaceDetector:
    """OpenCV's frontal-face Haar cascade with the settings the JAFFE crops were made with.

    Calling it on a uint8 grayscale image returns every face as a square (x, y, w, h), largest
    first. `min_size` (pixels) overrides the loader's 60 x 60 minimum, e.g. for small faces.
    """

    def __init__(self, min_size=None, **detect_kwargs):
        self.cascade = haar_cascade()
        self.kwargs = {**DETECT_KWARGS, **detect_kwargs}
        if min_size is not None:
            self.kwargs["minSize"] = (int(min_size), int(min_size))
        self.name = CASCADE

    def __call__(self, gray):
        found = self.cascade.detectMultiScale(gray, **self.kwargs)
        return sorted((square(b) for b in found), key=lambda b: -b[2] * b[3])


def to_gray(image, color="bgr"):
    """A uint8 H x W grayscale copy of an image array.

    Args:
        image: H x W, H x W x 1, H x W x 3 or H x W x 4 array; uint8, or float in 0-255.
        color: channel order of a 3/4-channel array, "bgr" (OpenCV) or "rgb" (PIL, matplotlib).

    Raises:
        ValueError: empty image, wrong rank or channel count, non-numeric or non-finite values.
    """
    arr = np.asarray(image)
    if color not in ("bgr", "rgb"):
        raise ValueError(f"color must be 'bgr' or 'rgb', got {color!r}")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer)
                                   or np.issubdtype(arr.dtype, np.floating)
                                   or arr.dtype == bool):
        raise ValueError(f"image must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ValueError(f"image must be H x W, H x W x 1, 3 or 4, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"image is empty (shape {arr.shape})")
    if arr.dtype == bool:
        raise ValueError("image must hold pixel values, got a boolean array")
    if arr.dtype != np.uint8:
        f = arr.astype(np.float64)
        if not np.all(np.isfinite(f)):
            raise ValueError("image holds NaN or infinite values")
        if f.min() < 0 or f.max() > 255:
            raise ValueError(f"image values must lie in 0-255 (got {f.min():g}..{f.max():g}); "
                             "a float image scaled to 0-1 must be multiplied by 255 first")
        if f.max() <= 1.0 and f.size > 1:
            warnings.warn(f"float image with values in 0..{f.max():g}: pixels are read as 0-255, "
                          "so it is nearly black; multiply a 0-1 image by 255 first",
                          stacklevel=3)
        arr = np.round(f).astype(np.uint8)
    if arr.ndim == 2:
        return np.ascontiguousarray(arr)
    code = {("bgr", 3): cv2.COLOR_BGR2GRAY, ("rgb", 3): cv2.COLOR_RGB2GRAY,
            ("bgr", 4): cv2.COLOR_BGRA2GRAY, ("rgb", 4): cv2.COLOR_RGBA2GRAY}[color, arr.shape[-1]]
    return cv2.cvtColor(np.ascontiguousarray(arr), code)


def expand_box(box, scale):
    """The square of side `scale * max(w, h)` with the same centre as (x, y, w, h)."""
    x, y, w, h = box
    side = max(w, h) * scale
    cx, cy = x + w / 2.0, y + h / 2.0
    s = int(round(side))
    return (int(round(cx - s / 2.0)), int(round(cy - s / 2.0)), s, s)


def crop_face(gray, box, size):
    """Crops `box` (x, y, w, h; may extend past the image) and resizes to `size` (h, w).

    Parts of the box outside the image are filled by replicating the border (choice: keeps the
    face's aspect ratio; JAFFE's training boxes all lie inside the image, so no training crop
    needed it). Resizing uses INTER_AREA to shrink and INTER_LINEAR to enlarge, as the loaders do.
    """
    x, y, w, h = (int(v) for v in box)
    if w <= 0 or h <= 0:
        raise ValueError(f"face box must have a positive size, got {box}")
    H, W = gray.shape
    pad = max(0, -x, -y, x + w - W, y + h - H)
    if pad:
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x, y = x + pad, y + pad
    face = gray[y:y + h, x:x + w]
    out_h, out_w = size
    interp = cv2.INTER_AREA if face.shape[0] > out_h else cv2.INTER_LINEAR
    return cv2.resize(face, (out_w, out_h), interpolation=interp)
