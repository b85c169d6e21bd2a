"""Shared helpers for the inference, export and explain tests: a drawn face the Haar cascade
finds, and a tiny model saved as a training run's fold folder."""

import json

import cv2
import numpy as np

CLASS_NAMES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def draw_face(size=320, face=None, background=40):
    """A uint8 gray image with a blurred cartoon face (skin ellipse, dark eyes, brows, nose
    ridge and mouth) that OpenCV's frontal-face cascade detects at sizes from about 200 px."""
    img = np.full((size, size), background, np.uint8)
    c, r = size // 2, int(size * 0.3)
    cv2.ellipse(img, (c, c), (int(r * 0.8), r), 0, 0, 360, 200, -1)
    ey, ex = c - r // 4, int(r * 0.35)
    for s in (-1, 1):
        cv2.ellipse(img, (c + s * ex, ey), (r // 6, r // 12), 0, 0, 360, 50, -1)
        cv2.line(img, (c + s * ex - r // 6, ey - r // 5), (c + s * ex + r // 6, ey - r // 5),
                 60, max(2, r // 20))
    cv2.ellipse(img, (c, c + r // 2), (r // 3, r // 10), 0, 0, 360, 70, -1)
    cv2.line(img, (c, ey + r // 10), (c, c + r // 5), 150, max(2, r // 25))
    return cv2.GaussianBlur(img, (0, 0), size / 150)


def tiny_model(channels=1, seed=0):
    import keras

    import fer_keras

    keras.utils.set_random_seed(seed)
    return fer_keras.create_model("i_mobilenetv2", alpha=0.35, scale_top_stage=True,
                                  input_shape=(48, 48, channels))


def write_fold(folder, model, dataset="synthetic", class_names=CLASS_NAMES):
    """A fold folder as training writes it: model.keras and metrics.json (class names)."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    metrics = {"dataset": dataset, "protocol": "holdout", "fold": 0, "split_seed": 0}
    if class_names is not None:
        metrics["class_names"] = list(class_names)
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder
