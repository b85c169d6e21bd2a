"""Images are opened with a size limit: a decompression bomb is refused, not decoded.

A few hundred bytes of PNG can declare 15000 x 15000 pixels; decoding it would take 225 MB (and
far more for colour), and Pillow's own guard raises `DecompressionBombError`, an exception that
is not an `OSError`, so it used to end a whole folder's prediction with a traceback. Every image
the package reads goes through `open_image`, which reads the header only and refuses an image
declaring more than `MAX_PIXELS` pixels with a `DataError` naming the file and the limit. The
caller reports it and goes on with the next file (`python -m fer_keras.predict` counts it as a
failed input; the dataset loaders skip or name it as they do any unreadable image).

`MAX_PIXELS` is 64 Mpixel (8192 x 8192; a 48-Mpixel phone photo passes); set the environment
variable `FER_KERAS_MAX_IMAGE_PIXELS` to change it (docs/deployment.md, "Inputs").
"""

import os
import re

from PIL import Image

from fer_keras.data.dataset import DataError

MAX_PIXELS_ENV = "FER_KERAS_MAX_IMAGE_PIXELS"
MAX_PIXELS = 8192 * 8192


def max_pixels():
    """The limit in pixels: `$FER_KERAS_MAX_IMAGE_PIXELS`, else MAX_PIXELS."""
    value = os.environ.get(MAX_PIXELS_ENV)
    if not value:
        return MAX_PIXELS
    try:
        limit = int(value)
    except ValueError:
        raise ValueError(f"{MAX_PIXELS_ENV} must be a whole number of pixels, got "
                         f"{value!r}") from None
    if limit < 1:
        raise ValueError(f"{MAX_PIXELS_ENV} must be positive, got {limit}")
    return limit


def _refuse(path, width, height, limit):
    return DataError(f"image declares {width}x{height} pixels, over the limit of {limit} pixels "
                     f"(possible decompression bomb; {MAX_PIXELS_ENV} raises the limit)", path)


def open_image(path):
    """`PIL.Image.open(path)` after checking the declared size (the pixels are not decoded).

    Raises:
        DataError: the image declares more than `max_pixels()` pixels.
        PIL.UnidentifiedImageError, OSError: as `Image.open`.
    """
    limit = max_pixels()
    try:
        img = Image.open(path)
    except Image.DecompressionBombError as err:  # Pillow's own, larger limit
        declared = re.search(r"\((\d+) pixels\)", str(err))
        raise DataError(f"image declares {declared.group(1) if declared else 'too many'} pixels, "
                        f"over the limit of {limit} pixels (possible decompression bomb; "
                        f"{MAX_PIXELS_ENV} raises the limit)", path) from None
    width, height = img.size
    if width * height > limit:
        img.close()
        raise _refuse(path, width, height, limit)
    return img
