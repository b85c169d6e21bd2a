"""`python -m fer_keras.predict`: expressions of the faces in images, folders, videos or a webcam.

    python -m fer_keras.predict photo.jpg --model runs/synthetic-i_mobilenetv2-holdout-seed0
    python -m fer_keras.predict photos/ clip.mp4 --model exported/demo/model_int8.tflite \\
        --annotate annotated/ --heatmap
    python -m fer_keras.predict 0 --model demo_imnv2 --max-frames 300     # webcam 0

Prints one JSON object per line per face: `source`, `frame` (videos and webcams; null for
images), `face` (0 = largest), `box` [x, y, w, h], `crop_box`, `detector`, `label`, `score`,
`probabilities`. An unreadable file or a frame without a face gets a one-line message on stderr,
never a traceback. `--model` is a path (any artifact `Predictor.load` accepts) or the name of a
published model (`saved_models/`, `$FER_KERAS_MODELS` or `--models-dir`). `--annotate DIR`
writes each image (PNG) or video (MP4) with boxes and labels, `--heatmap` adds Grad-CAM.
Exit status: 0 every input read, 1 some input unreadable, 2 bad model or arguments.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from fer_keras.console import add_verbose_flag, parse_quietly
from fer_keras.inference.detectors import DETECTORS

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


def expand_inputs(inputs):
    """[(kind, source)] with kind "image", "video", "webcam" or "missing"; folders are listed
    (images and videos, recursively, sorted)."""
    from fer_keras.data.imageio import IMAGE_EXTENSIONS, is_ignored

    out = []
    for item in inputs:
        path = Path(item)
        if item.isdigit() and not path.exists():
            out.append(("webcam", int(item)))
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not is_ignored(p)
                           and p.suffix.lower() in IMAGE_EXTENSIONS + VIDEO_EXTENSIONS)
            if not files:
                out.append(("missing", f"{path}: no image or video files in the folder"))
            out.extend(("video" if p.suffix.lower() in VIDEO_EXTENSIONS else "image", p)
                       for p in files)
        elif path.is_file():
            out.append(("video" if path.suffix.lower() in VIDEO_EXTENSIONS else "image", path))
        else:
            out.append(("missing", f"{path}: no such file or folder"))
    return out


def annotate(frame_bgr, records, heatmap=False):
    """A copy of the frame with each face's box, label and score (and Grad-CAM overlay)."""
    import cv2

    from fer_keras.explain import overlay

    out = frame_bgr.copy()
    for rec in records:
        if heatmap and "heatmap" in rec:
            out = overlay(out, rec["heatmap"], rec["crop_box"])
        x, y, w, h = rec["box"]
        thick = max(1, round(min(out.shape[:2]) / 300))
        cv2.rectangle(out, (x, y), (x + w, y + h), (0, 255, 0), thick)
        text = f"{rec['label']} {rec['score']:.2f}"
        scale = max(0.4, min(out.shape[:2]) / 800)
        cv2.putText(out, text, (x, max(12, y - 6)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (0, 255, 0), thick, cv2.LINE_AA)
    return out


def _emit(records, source, frame, stream):
    for k, rec in enumerate(records):
        row = {"source": str(source), "frame": frame, "face": k,
               **{key: rec[key] for key in ("box", "crop_box", "detector", "label", "score",
                                           "probabilities")}}
        stream.write(json.dumps(row) + "\n")
    stream.flush()


def _read_bgr(path, gray):
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None or img.shape[:2] != gray.shape:
        img = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    return img


def predict_image(predictor, path, args, out=sys.stdout, err=sys.stderr):
    """Predicts one image file; returns False when it cannot be read."""
    from fer_keras.data import DataError

    try:
        gray = predictor.read(path)
    except DataError as e:
        err.write(f"error: {e}\n")
        return False
    records = predictor.predict(gray, explain=args.heatmap, max_faces=args.max_faces)
    if not records:
        err.write(f"{path}: no face found\n")
    _emit(records, path, None, out)
    if args.annotate:
        import cv2

        target = Path(args.annotate) / (Path(path).stem + ".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(target), annotate(_read_bgr(path, gray), records, args.heatmap))
    return True


def predict_stream(predictor, source, args, out=sys.stdout, err=sys.stderr):
    """Predicts the frames of a video file or a webcam index; False when it cannot be opened."""
    import cv2

    cap = cv2.VideoCapture(source)
    ok, frame = cap.read() if cap.isOpened() else (False, None)
    if not ok:
        what = "webcam" if isinstance(source, int) else "video"
        err.write(f"error: {source}: cannot open or read the {what}\n")
        cap.release()
        return False
    writer, index, no_face = None, 0, []
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    try:
        while ok:
            if index % args.every == 0:
                records = predictor.predict(frame, color="bgr", explain=args.heatmap,
                                            max_faces=args.max_faces)
                if not records:
                    no_face.append(index)
                _emit(records, source, index, out)
                if args.annotate:
                    if writer is None:
                        name = (f"webcam{source}" if isinstance(source, int)
                                else Path(source).stem) + ".mp4"
                        target = Path(args.annotate) / name
                        target.parent.mkdir(parents=True, exist_ok=True)
                        writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"),
                                                 fps / args.every, frame.shape[1::-1])
                    writer.write(annotate(frame, records, args.heatmap))
            index += 1
            if args.max_frames and index >= args.max_frames:
                break
            ok, frame = cap.read()
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    if no_face:
        shown = ", ".join(map(str, no_face[:10])) + (" ..." if len(no_face) > 10 else "")
        err.write(f"{source}: no face found in {len(no_face)} of "
                  f"{len(range(0, index, args.every))} frames read (frames {shown})\n")
    return True


def load_predictor(model, models_dir=None, format=None, crop_scale=None, min_face=None,
                   detector="haar"):
    """A Predictor from a path, else from a published model name."""
    from fer_keras.inference import Predictor
    from fer_keras.inference.detectors import make_detector

    detector = make_detector(detector, min_size=min_face)
    kwargs = dict(format=format, detector=detector, crop_scale=crop_scale)
    if Path(model).exists():
        return Predictor.load(model, **kwargs)
    return Predictor.from_pretrained(model, models_dir=models_dir, **kwargs)


def build_parser():
    p = argparse.ArgumentParser(prog="python -m fer_keras.predict",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files, folders, video files or a webcam index (0, 1, ...)")
    p.add_argument("--model", required=True, help="artifact path or published model name")
    p.add_argument("--models-dir", help="folder of published models (default: "
                                        "$FER_KERAS_MODELS, else saved_models/)")
    p.add_argument("--format", choices=("keras", "saved_model", "tflite", "onnx"),
                   help="which artifact of a folder to load")
    p.add_argument("--annotate", metavar="DIR", help="write annotated images / videos here")
    p.add_argument("--heatmap", action="store_true",
                   help="Grad-CAM overlay on annotated output (needs the Keras artifact)")
    p.add_argument("--max-faces", type=int, help="largest N faces per image or frame")
    p.add_argument("--min-face", type=int,
                   help="smallest face side in pixels (default: haar 60, mtcnn 20)")
    p.add_argument("--detector", choices=DETECTORS, default="haar",
                   help="face detector: haar (OpenCV, default) or mtcnn (pip install "
                        "'fer_keras[mtcnn]'; finds rotated and small faces, slower)")
    p.add_argument("--crop-scale", type=float, help="override the training set's crop scale")
    p.add_argument("--every", type=int, default=1, help="video: every N-th frame")
    p.add_argument("--max-frames", type=int, help="video / webcam: stop after N frames")
    return add_verbose_flag(p)


def main(argv=None, out=None, err=None):
    out, err = out or sys.stdout, err or sys.stderr
    args = parse_quietly(build_parser(), argv)
    if args.every < 1:
        err.write(f"error: --every must be >= 1, got {args.every}\n")
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        predictor = load_predictor(args.model, args.models_dir, args.format, args.crop_scale,
                                   args.min_face, args.detector)
    except (ValueError, ImportError, OSError) as e:
        err.write(f"error: cannot load the model: {e}\n")
        return 2
    if args.heatmap and predictor.model.keras_model is None:
        err.write(f"error: --heatmap needs the Keras artifact; {predictor.model.path} is "
                  f"{predictor.model.format}\n")
        return 2
    all_read = True
    for kind, source in expand_inputs(args.inputs):
        if kind == "missing":
            err.write(f"error: {source}\n")
            all_read = False
        elif kind == "image":
            all_read &= predict_image(predictor, source, args, out, err)
        else:
            all_read &= predict_stream(predictor, str(source) if kind == "video" else source,
                                       args, out, err)
    return 0 if all_read else 1


if __name__ == "__main__":
    sys.exit(main())
