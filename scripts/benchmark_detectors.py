"""Recall, false positives and ms per image of the face detectors on generated photos.

    python scripts/benchmark_detectors.py --data ../shared/data --photos 60 --seed 0

JAFFE and CK+48 faces pasted on 480 x 640 textured canvases, 40-300 px, rotated up to +-30
degrees, with noise and blur (fer_keras/inference/detector_eval.py); half the photos from each
dataset. Prints a Markdown table (docs/deployment.md, "Face detectors") and the JSON figures.
Detectors: haar (the predictor's default, minimum face 60 px), haar with a 30 px minimum, and
mtcnn when the `mtcnn` package is importable.
"""

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def faces(data, count, rng):
    """[(gray face image, true face box)] from JAFFE (Haar box) and CK+48 (the whole crop)."""
    from fer_keras.data.jaffe import detect_face

    jaffe = sorted((Path(data) / "jaffe").glob("*.tiff"))
    ck = sorted((Path(data) / "ckplus" / "CK+48").glob("*/*.png"))
    out = []
    for path in rng.choice(jaffe, count // 2, replace=False):
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        box = detect_face(img)
        if box is not None:
            out.append((img, box))
    for path in rng.choice(ck, count - count // 2, replace=False):
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        out.append((img, (0, 0, img.shape[1], img.shape[0])))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from fer_keras.console import quiet_native_logs

    quiet_native_logs()
    from fer_keras.inference.detector_eval import evaluate, make_photo
    from fer_keras.inference.detectors import make_detector

    rng = np.random.default_rng(args.seed)
    photos = [make_photo(face, box, rng) for face, box in faces(args.data, args.photos, rng)]
    detectors = {"haar (min 60 px, default)": lambda: make_detector("haar"),
                 "haar (min 30 px)": lambda: make_detector("haar", min_size=30),
                 "mtcnn (min 20 px, confidence 0.9)": lambda: make_detector("mtcnn")}
    results = {}
    for name, build in detectors.items():
        try:
            detector = build()
        except ImportError as err:
            print(f"skipped {name}: {err}", file=sys.stderr)
            continue
        results[name] = evaluate(detector, photos)
    print("| detector | recall | recall, abs(angle) <= 10 / > 10 deg | recall, face < 80 / >= 80 px "
          "| false positives per image | ms per image |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {100 * r['recall']:.1f} % | {100 * r['recall_angle_le_10']:.0f} / "
              f"{100 * r['recall_angle_gt_10']:.0f} % | {100 * r['recall_side_lt_80']:.0f} / "
              f"{100 * r['recall_side_ge_80']:.0f} % | {r['false_positives_per_image']:.2f} | "
              f"{r['ms_per_image']:.0f} |")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
