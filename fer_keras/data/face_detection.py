"""The one face detector of training data and inference: OpenCV's frontal-face Haar cascade with
`DETECT_KWARGS` (scaleFactor 1.1, minNeighbors 5, minSize 60).

The JAFFE loader crops its training faces with `detect_face` (the largest box, made square);
`fer_keras.inference.faces.HaarFaceDetector` finds every face of a photo with the same cascade
and settings, and cuts each dataset's crop around it (docs/deployment.md, "Crop margins").
"""

from pathlib import Path

import cv2

CASCADE = "haarcascade_frontalface_default.xml"
DETECT_KWARGS = {"scaleFactor": 1.1, "minNeighbors": 5, "minSize": (60, 60)}


def haar_cascade():
    """OpenCV's frontal-face Haar cascade (`CASCADE`), loaded."""
    path = Path(cv2.data.haarcascades) / CASCADE
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise RuntimeError(f"OpenCV could not load its Haar cascade {path}")
    return cascade


def square(box):
    """(x, y, w, h) made square (side max(w, h)) about the same centre, in integers."""
    x, y, w, h = (int(v) for v in box)
    s = max(w, h)
    return (x + (w - s) // 2, y + (h - s) // 2, s, s)


def detect_face(gray, cascade=None):
    """The largest face box (x, y, w, h) made square, or None: the JAFFE loader's crop rule."""
    found = (cascade or haar_cascade()).detectMultiScale(gray, **DETECT_KWARGS)
    if len(found) == 0:
        return None
    return square(max(found, key=lambda b: b[2] * b[3]))


__all__ = ["CASCADE", "DETECT_KWARGS", "detect_face", "haar_cascade", "square"]
