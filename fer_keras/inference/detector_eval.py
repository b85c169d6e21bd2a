"""Face-detector recall, false positives and latency on photos generated from real faces.

Each photo is a canvas (480 x 640 by default) of smooth random texture with one face pasted at a
random place: a JAFFE or CK+ face image scaled so that its face is 40 to 300 pixels wide, rotated
by up to +-30 degrees, then Gaussian noise and blur over the whole photo. The face's true box is
known: for CK+48 the whole 48 x 48 crop (the dataset's crop is the face), for JAFFE the Haar box
of the untouched 256 x 256 original (the box the JAFFE loader crops), both carried through the
same scaling, rotation and shift as the pixels.

A detection finds the face when its centre lies inside the true box and its side is within a
factor of two of the true side (box conventions differ between detectors: MTCNN's box runs from
the brows to the chin, Haar's is larger); every other detection is a false positive.
"""

import time

import cv2
import numpy as np

ANGLE = 30.0          # degrees, either way
FACE_SIDES = (40, 300)  # pixels, the true face box's side in the photo
CANVAS = (480, 640)


def _texture(rng, shape):
    """Smooth grey background with some structure (blurred noise plus a gradient)."""
    noise = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), 8)
    noise = (noise - noise.min()) / (np.ptp(noise) + 1e-6)
    ramp = np.linspace(0, 1, shape[1], dtype=np.float32)[None, :]
    return 40 + 150 * (0.7 * noise + 0.3 * ramp)


def make_photo(face, box, rng, canvas=CANVAS):
    """(photo uint8, true box (x, y, s, s)) with `face` (gray uint8) whose face is `box`.

    Draws the face side, angle, place, noise sigma (0-12 grey levels) and blur sigma (0-2 px).
    """
    bx, by, bs, _ = box
    side = rng.uniform(*FACE_SIDES)
    scale = side / bs
    angle = rng.uniform(-ANGLE, ANGLE)
    h, w = face.shape
    centre_src = (bx + bs / 2, by + bs / 2)
    # Face centre in the photo: anywhere the face box stays inside the canvas.
    half = side * 0.75
    cx = rng.uniform(half, canvas[1] - half)
    cy = rng.uniform(half, canvas[0] - half)
    matrix = cv2.getRotationMatrix2D(centre_src, angle, scale)
    matrix[:, 2] += (cx - centre_src[0], cy - centre_src[1])
    warped = cv2.warpAffine(face.astype(np.float32), matrix, (canvas[1], canvas[0]),
                            flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.ones((h, w), np.float32), matrix, (canvas[1], canvas[0]))
    photo = _texture(rng, canvas) * (1 - mask) + warped * mask
    photo += rng.normal(0, rng.uniform(0, 12), canvas)
    blur = rng.uniform(0, 2)
    if blur > 0.3:
        photo = cv2.GaussianBlur(photo, (0, 0), blur)
    truth = (int(cx - side / 2), int(cy - side / 2), int(side), int(side))
    return np.clip(photo, 0, 255).astype(np.uint8), truth, {"side": side, "angle": angle}


def matches(detection, truth):
    """True when the detection's centre is inside the true box and its side within 2x."""
    x, y, w, h = detection
    tx, ty, ts, _ = truth
    cx, cy = x + w / 2, y + h / 2
    side = max(w, h)
    return tx <= cx <= tx + ts and ty <= cy <= ty + ts and 0.5 <= side / ts <= 2.0


def evaluate(detector, photos):
    """{recall, false_positives_per_image, ms_per_image, recall by angle and size, images}.

    `photos`: list of (photo, truth, params) from `make_photo`. The first call is a warm-up
    (not timed separately: detectors that build graphs pay it in their first image).
    """
    detector(photos[0][0])
    found, false_pos, seconds = [], 0, 0.0
    for photo, truth, _ in photos:
        start = time.perf_counter()
        boxes = detector(photo)
        seconds += time.perf_counter() - start
        hit = [b for b in boxes if matches(b, truth)]
        found.append(bool(hit))
        false_pos += len(boxes) - min(len(hit), 1)
    found = np.array(found)
    angle = np.array([abs(p["angle"]) for _, _, p in photos])
    side = np.array([p["side"] for _, _, p in photos])

    def rate(mask):
        return float(found[mask].mean()) if mask.any() else float("nan")

    return {"images": len(photos), "recall": float(found.mean()),
            "false_positives_per_image": false_pos / len(photos),
            "ms_per_image": 1000 * seconds / len(photos),
            "recall_angle_le_10": rate(angle <= 10), "recall_angle_gt_10": rate(angle > 10),
            "recall_side_lt_80": rate(side < 80), "recall_side_ge_80": rate(side >= 80)}
