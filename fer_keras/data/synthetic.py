"""Procedurally drawn cartoon faces with seven expressions, for tests and a download-free demo.

Classes follow the FER2013 order. The expression lives only in shape: mouth curve and opening,
brow slant and height, eye openness. Position, scale, head tilt, face and background brightness,
contrast and noise vary at random, so the mean intensity says nothing about the class. Each
"subject" has a fixed face shape (width, eye spacing, brow length), so subject-level protocols can
be tested on it.
"""

import cv2
import numpy as np

from fer_keras.data.dataset import FERDataset
from fer_keras.data.labels import SYNTHETIC_CLASSES

# Per class: mouth curve (+ smile, - frown), mouth opening (fraction of mouth width), mouth width
# factor, brow slant (+ inner end lowered, - inner end raised), brow lift, eye openness.
_EXPRESSIONS = {
    "angry":    dict(curve=-0.05, open=0.00, width=0.9, slant=0.80, lift=-0.10, eye=0.55),
    "disgust":  dict(curve=-0.35, open=0.30, width=0.8, slant=0.40, lift=-0.05, eye=0.25),
    "fear":     dict(curve=-0.10, open=0.55, width=1.3, slant=-0.60, lift=0.15, eye=1.00),
    "happy":    dict(curve=0.60, open=0.10, width=1.3, slant=0.00, lift=0.00, eye=0.60),
    "sad":      dict(curve=-0.60, open=0.00, width=0.9, slant=-0.70, lift=0.00, eye=0.55),
    "surprise": dict(curve=0.00, open=1.40, width=0.7, slant=0.00, lift=0.30, eye=1.00),
    "neutral":  dict(curve=0.00, open=0.00, width=1.0, slant=0.00, lift=0.00, eye=0.70),
}


def _draw(rng, expr, subject_shape, size):
    s = 4  # draw at 4x and shrink, for anti-aliased strokes
    big = size * s
    bg = rng.uniform(0, 255)
    face_v = rng.uniform(90, 245)
    feat_v = max(0.0, face_v - rng.uniform(70, 120))  # features darker than skin
    img = np.full((big, big), bg, np.float32)
    scale = rng.uniform(0.8, 1.0)
    cx = big / 2 + rng.uniform(-0.08, 0.08) * big
    cy = big / 2 + rng.uniform(-0.06, 0.06) * big
    fw = 0.36 * big * scale * subject_shape["width"]
    fh = 0.46 * big * scale
    cv2.ellipse(img, (int(cx), int(cy)), (int(fw), int(fh)), 0, 0, 360, float(face_v), -1)
    u = fh / 2.3  # feature unit
    jit = lambda a: a * rng.uniform(0.9, 1.1) + rng.normal(0, 0.02)
    thick = max(2, int(u * 0.16))
    eye_dx = u * subject_shape["eye_gap"]
    eye_y = cy - 0.35 * u
    eye_open = max(0.12, jit(expr["eye"]))
    for side in (-1, 1):
        ex = cx + side * eye_dx
        cv2.ellipse(img, (int(ex), int(eye_y)), (int(0.32 * u), max(2, int(0.26 * u * eye_open))),
                    0, 0, 360, float(feat_v), -1)
        # Brow: a line whose inner end is lowered (anger) or raised (sadness, fear).
        blen = 0.45 * u * subject_shape["brow"]
        by = eye_y - (0.55 + jit(expr["lift"]) * 1.6 + 0.25 * (eye_open - 0.7)) * u
        slant = jit(expr["slant"]) * u
        inner = (int(ex - side * blen * 0.6), int(by + slant * 0.5))
        outer = (int(ex + side * blen), int(by - slant * 0.5))
        cv2.line(img, inner, outer, float(feat_v), thick)
    # Mouth: a parabola y = curve * x^2, optionally opened into a filled shape.
    mw = 0.75 * u * jit(expr["width"])
    my = cy + 0.95 * u
    xs = np.linspace(-1, 1, 25)
    curve = jit(expr["curve"]) * u * 0.9
    top = np.stack([cx + xs * mw, my - curve * (xs ** 2 - 0.5)], 1)
    opening = max(0.0, jit(expr["open"])) * mw
    if opening > 0.06 * mw:
        bottom = np.stack([cx + xs[::-1] * mw, my - curve * (xs[::-1] ** 2 - 0.5)
                           + opening * (1 - xs[::-1] ** 2)], 1)
        cv2.fillPoly(img, [np.concatenate([top, bottom]).astype(np.int32)], float(feat_v))
    else:
        cv2.polylines(img, [top.astype(np.int32)], False, float(feat_v), thick)
    angle = rng.uniform(-10, 10)
    rot = cv2.getRotationMatrix2D((big / 2, big / 2), angle, 1.0)
    img = cv2.warpAffine(img, rot, (big, big), borderMode=cv2.BORDER_REPLICATE)
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    img += rng.normal(0, rng.uniform(2, 8), img.shape)
    box = (cx - fw, cy - fh, 2 * fw, 2 * fh)
    return np.clip(img, 0, 255).astype(np.uint8), [int(round(v / s)) for v in box]


def load_synthetic(num_examples=700, num_subjects=20, image_size=48, seed=0):
    """Draws `num_examples` faces, balanced over the seven classes and `num_subjects` subjects.

    The same arguments always give the same images. Boxes are the drawn face ellipse's bounds.
    """
    if num_examples < 1 or num_subjects < 1:
        raise ValueError(f"num_examples and num_subjects must be >= 1, got {num_examples}, "
                         f"{num_subjects}")
    rng = np.random.default_rng(seed)
    shapes = [dict(width=rng.uniform(0.85, 1.1), eye_gap=rng.uniform(0.65, 0.85),
                   brow=rng.uniform(0.8, 1.2)) for _ in range(num_subjects)]
    labels = np.arange(num_examples) % len(SYNTHETIC_CLASSES)
    subjects = (np.arange(num_examples) // len(SYNTHETIC_CLASSES)) % num_subjects
    images, boxes = [], []
    for y, subj in zip(labels, subjects):
        img, box = _draw(rng, _EXPRESSIONS[SYNTHETIC_CLASSES[y]], shapes[subj], image_size)
        images.append(img)
        x0, y0 = np.clip(box[:2], 0, image_size - 1)
        x1 = np.clip(box[0] + box[2], x0 + 1, image_size)
        y1 = np.clip(box[1] + box[3], y0 + 1, image_size)
        boxes.append((x0, y0, x1 - x0, y1 - y0))
    return FERDataset(
        name="synthetic", images=np.stack(images)[..., None], labels=labels,
        class_names=SYNTHETIC_CLASSES, subjects=np.array([f"P{s:02d}" for s in subjects]),
        boxes=np.array(boxes), meta={"seed": seed},
    )
