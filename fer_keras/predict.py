"""`python -m fer_keras.predict`: expressions of the faces in images, folders, videos or a webcam.

    python -m fer_keras.predict photo.jpg --model runs/synthetic-i_mobilenetv2-holdout-seed0
    python -m fer_keras.predict photos/ clip.mp4 --model exported/demo/model_int8.tflite \\
        --annotate annotated/ --heatmap
    python -m fer_keras.predict 0 --model demo_imnv2 --max-frames 300     # webcam 0

Prints one JSON object per line per face: `source`, `frame` (videos and webcams; null for
images), `face` (0 = largest), `box` [x, y, w, h], `crop_box`, `detector`, `label`, `score`,
`probabilities` (calibrated by the temperature the model carries: docs/deployment.md,
"Calibration and abstention"). `--min-confidence P` answers `label` "uncertain" where the top
probability is below P (exactly P is confident), adding `raw_label` (the top class) and
`uncertain` (true / false) to every record. `--smooth N` (videos and webcams) follows each face
over the frames and reports the mean of its last N frames' probabilities, adding `track`,
`smoothed_over` and the frame's own `raw_label`, `raw_score`, `raw_probabilities` (with
`--min-confidence`, "uncertain" then judges the smoothed probabilities). An unreadable file or
a frame without a face gets a one-line message on stderr, never a traceback. `--model` is a
path (any artifact `Predictor.load` accepts) or the name of a published model (`saved_models/`,
`$FER_KERAS_MODELS` or `--models-dir`). `--annotate DIR`
writes each image (PNG) or video (MP4) with boxes and labels, `--heatmap` adds Grad-CAM.
`--detector none` takes each image as the face itself (already cropped, as the datasets' 48x48
images): no detection, no margin, resized to the model's input.
Exit status: 0 every input read and at least one face predicted, 1 some input unreadable (or an
annotated copy unwritable), 2 bad model or arguments, 3 every input read but no face found in
any (nothing predicted).
The functions: `fer_keras.inference.sources` (inputs, JSON lines, annotation) and `Predictor`.
"""

import argparse
import os
import sys

from fer_keras.console import add_verbose_flag, parse_quietly
from fer_keras.inference.detectors import DETECTORS
from fer_keras.inference.sources import (
    check_options, expand_inputs, predict_image, predict_stream,
)

NOTHING_PREDICTED = 3  # exit status: every input read, no face found in any


def load_predictor(model, models_dir=None, format=None, crop_scale=None, min_face=None,
                   detector="haar", trust_saved_model=False, class_names=None,
                   min_confidence=None, temperature=None):
    """A Predictor from a path, else from a published model name (`loading.locate_model`);
    `detector` is a name (`make_detector`) or a detector."""
    from fer_keras.inference import Predictor
    from fer_keras.inference.detectors import make_detector
    from fer_keras.inference.loading import locate_model

    if isinstance(detector, str):
        detector = make_detector(detector, min_size=min_face)
    return Predictor.load(locate_model(model, models_dir), format=format, detector=detector,
                          crop_scale=crop_scale, trust_saved_model=trust_saved_model,
                          class_names=class_names, min_confidence=min_confidence,
                          temperature=temperature)


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
    p.add_argument("--trust-saved-model", action="store_true",
                   help="load a SavedModel even if it can run operations outside the inference "
                        "allow-list (only for models from a source you trust)")
    p.add_argument("--class-names", metavar="NAMES",
                   help="the model's class names in output order, for a model that carries none: "
                        "comma-separated, or a dataset name (ckplus, fer2013, jaffe)")
    p.add_argument("--annotate", metavar="DIR", help="write annotated images / videos here")
    p.add_argument("--heatmap", action="store_true",
                   help="Grad-CAM overlay on annotated output (needs the Keras artifact)")
    p.add_argument("--max-faces", type=int, help="largest N faces per image or frame")
    p.add_argument("--min-face", type=int,
                   help="smallest face side in pixels (default: haar 60, mtcnn 20)")
    p.add_argument("--detector", choices=DETECTORS, default="haar",
                   help="face detector: haar (OpenCV, default), mtcnn (pip install "
                        "'fer_keras[mtcnn]'; finds rotated and small faces, slower) or none "
                        "(each image is already a face crop, as the datasets' 48x48 images)")
    p.add_argument("--crop-scale", type=float, help="override the training set's crop scale")
    p.add_argument("--min-confidence", type=float, metavar="P",
                   help="answer label 'uncertain' (the top class kept as raw_label) where the "
                        "top probability is below P; exactly P is confident")
    p.add_argument("--temperature", type=float, metavar="T",
                   help="divide the log-probabilities by T (default: the temperature fitted on "
                        "the model's validation split, where it carries one; 1 turns it off)")
    p.add_argument("--every", type=int, default=1, help="video: every N-th frame")
    p.add_argument("--max-frames", type=int, help="video / webcam: stop after N frames")
    p.add_argument("--smooth", type=int, metavar="N",
                   help="video / webcam: report each tracked face's mean probabilities over "
                        "its last N processed frames (the frame's own in raw_*; docs/deployment.md)")
    return add_verbose_flag(p)


def main(argv=None, out=None, err=None):
    out, err = out or sys.stdout, err or sys.stderr
    args = parse_quietly(build_parser(), argv)
    problem = check_options(args)
    if problem:
        err.write(f"error: {problem}\n")
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from fer_keras.inference.detectors import make_detector

    try:
        detector = make_detector(args.detector, min_size=args.min_face)
    except (ValueError, ImportError) as e:
        err.write(f"error: cannot set up the {args.detector} face detector: {e}\n")
        return 2
    try:
        predictor = load_predictor(args.model, args.models_dir, args.format, args.crop_scale,
                                   args.min_face, detector, args.trust_saved_model,
                                   args.class_names, args.min_confidence, args.temperature)
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
    if all_read and not getattr(args, "faces", 0):
        err.write("error: no face found in any input: nothing was predicted (exit status 3; "
                  "for images that are already face crops, use --detector none)\n")
        return NOTHING_PREDICTED
    return 0 if all_read else 1


if __name__ == "__main__":
    sys.exit(main())
