"""End to end: a photo to labels, and the frames of a video, through `Predictor`, beside the
`fer` package's pipeline (issue 32, item 4).

    python -m fer_keras.benchmark --end-to-end                       # i_mobilenetv2_fer2013
    python -m fer_keras.benchmark --end-to-end light_ntwrn_ckplus --repeats 9

The photo is six held-out faces: the first FER2013 PublicTest image (sorted file names) of six
classes, each enlarged to 200 x 200 and set on a flat gray canvas (`held_out_photo`); the video is
that photo panned two pixels a frame (`panned_frames`), held in memory, so decoding is not timed.
Every pipeline is timed in the same process, in turns (one call of each per round), so a busy
machine slows them alike; each figure is the median over the rounds.

Rows: the published model through `Predictor` with the Haar cascade (its own settings, and
`fer`'s: minSize 50), with MTCNN, the model called eagerly as before issue 32 (`eager_predict`;
MTCNN with the package's own eager calls), and the model as LiteRT float32 (`litert_runner`);
`fer.FER().detect_emotions` with its Haar cascade (and MTCNN where `facenet_pytorch` is
installed) when `fer` can be imported. `breakdown` splits one photo's time into reading,
detection, crops, preprocessing and the model call, the model timed eagerly, compiled, face by
face and, where the model folder has a SavedModel, as LiteRT float32.
"""

import dataclasses
import os
import platform
import statistics
import time

import numpy as np

DEFAULT_MODEL = "i_mobilenetv2_fer2013"
PHOTO_CLASSES = ("angry", "fear", "happy", "sad", "surprise", "neutral")
FACE_SIDE = 200
FRAMES = 10
FER_HAAR_MIN_SIZE = 50  # fer.FER's default min_face_size (scaleFactor 1.1, minNeighbors 5 as ours)
GIVEN = "none: the photo's boxes given"  # rows that time everything but detection


# === Inputs ===
def held_out_photo(fer2013_dir, classes=PHOTO_CLASSES, side=FACE_SIDE, cols=3):
    """A BGR uint8 photo of held-out faces: the first PublicTest image of each class in
    `classes` (a FER2013 folder with `test/<class>/PublicTest_*.jpg`), enlarged to side x side
    (bilinear), in rows of `cols` on a flat gray (110) canvas with gaps of side / 2."""
    from fer_keras.data.imageio import read_gray

    faces = []
    for name in classes:
        files = sorted((os.fspath(p) for p in (fer2013_dir / "test" / name).glob("PublicTest_*")))
        if not files:
            raise ValueError(f"{fer2013_dir}/test/{name}: no PublicTest images")
        faces.append(read_gray(files[0])[0])
    return face_canvas(faces, side, cols)


def face_canvas(faces, side=FACE_SIDE, cols=3, background=110):
    """Gray face images enlarged to side x side on one BGR canvas, `cols` a row."""
    import cv2

    rows = -(-len(faces) // cols)
    gap = side // 2
    canvas = np.full((gap + rows * (side + gap), gap + min(cols, len(faces)) * (side + gap)),
                     background, np.uint8)
    for k, face in enumerate(faces):
        r, c = divmod(k, cols)
        y, x = gap + r * (side + gap), gap + c * (side + gap)
        canvas[y:y + side, x:x + side] = cv2.resize(np.asarray(face, np.uint8), (side, side),
                                                    interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR)


def panned_frames(photo, frames=FRAMES, step=2):
    """`frames` copies of the photo moved `step` pixels right and down per frame (the edge
    repeated): a slowly panning camera."""
    import cv2

    h, w = photo.shape[:2]
    return [cv2.warpAffine(photo, np.float32([[1, 0, k * step], [0, 1, k * step]]), (w, h),
                           borderMode=cv2.BORDER_REPLICATE) for k in range(frames)]


# === Pipelines: (name, detector, callable photo -> list of faces) ===
def eager_predict(keras_model):
    """The model called eagerly, `model(x, training=False)`: the Keras path before issue 32."""
    import keras

    return lambda x: np.asarray(keras.ops.convert_to_numpy(
        keras_model(np.asarray(x, np.float32), training=False)), np.float32)


def fer_keras_pipelines(predictor, detectors=("haar", "mtcnn"), litert=None, boxes=None,
                        log=None):
    """[(name, detector, photo -> records)] of one loaded `Predictor`: Haar with its settings and
    with `fer`'s minimum size, the eager model call (Keras artifacts), the model as LiteRT
    (`litert`, a runner of the same model, where given), the face `boxes` given in place of
    detection (where given), and MTCNN (when the mtcnn package is installed), eager and
    compiled."""
    from fer_keras.inference import Predictor
    from fer_keras.inference.detectors import MTCNNFaceDetector
    from fer_keras.inference.faces import HaarFaceDetector

    log = log or (lambda m: None)
    model = predictor.model
    eager = None
    if model.keras_model is not None:
        eager = dataclasses.replace(model, predict=eager_predict(model.keras_model))

    def with_detector(detector, loaded=model):
        return Predictor(loaded, detector, predictor.crop_scale).predict

    rows = []
    if "haar" in detectors:
        rows.append(("fer_keras", "haar (minSize 60)", with_detector(HaarFaceDetector())))
        rows.append(("fer_keras", f"haar (minSize {FER_HAAR_MIN_SIZE}, fer's)",
                     with_detector(HaarFaceDetector(min_size=FER_HAAR_MIN_SIZE))))
        if eager is not None:
            rows.append(("fer_keras, eager model call (before)", "haar (minSize 60)",
                         with_detector(HaarFaceDetector(), eager)))
        if litert is not None:
            as_litert = dataclasses.replace(model, predict=litert)
            rows.append(("fer_keras, model as LiteRT float32", "haar (minSize 60)",
                         with_detector(HaarFaceDetector(), as_litert)))
            rows.append(("fer_keras, model as LiteRT float32",
                         f"haar (minSize {FER_HAAR_MIN_SIZE}, fer's)",
                         with_detector(HaarFaceDetector(min_size=FER_HAAR_MIN_SIZE), as_litert)))
    if boxes is not None:
        rows.append(("fer_keras", GIVEN, with_detector(lambda gray: boxes)))
        if litert is not None:
            rows.append(("fer_keras, model as LiteRT float32", GIVEN,
                         with_detector(lambda gray: boxes, as_litert)))
    if "mtcnn" in detectors:
        try:
            compiled_mtcnn, eager_mtcnn = MTCNNFaceDetector(), MTCNNFaceDetector(compiled=False)
        except ImportError as err:
            log(f"MTCNN skipped: {err}")
        else:
            rows.append(("fer_keras", "mtcnn", with_detector(compiled_mtcnn)))
            if eager is not None:
                rows.append(("fer_keras, eager model and MTCNN (before)", "mtcnn",
                             with_detector(eager_mtcnn, eager)))
    return rows


def fer_pipelines(detectors=("haar", "mtcnn"), boxes=None, log=None):
    """[(name, detector, photo -> faces)] of the `fer` package's `FER().detect_emotions` (its
    defaults: Haar minSize 50, its quantised TFLite model one face at a time; with the face
    `boxes` given in place of detection, where given), or [] when `fer` cannot be imported;
    MTCNN needs `facenet_pytorch`."""
    log = log or (lambda m: None)
    try:
        import fer
        from fer.fer import FER
    except ImportError as err:
        log(f"the fer package is not importable ({err}); its rows are skipped")
        return []
    version = getattr(fer, "__version__", "?")
    rows = []
    if "haar" in detectors:
        haar = FER()
        rows.append((f"fer {version}", f"haar (minSize {FER_HAAR_MIN_SIZE})",
                     haar.detect_emotions))
        if boxes is not None:
            rows.append((f"fer {version}", GIVEN,
                         lambda photo: haar.detect_emotions(photo, face_rectangles=boxes)))
    if "mtcnn" in detectors:
        try:
            rows.append((f"fer {version}", "mtcnn (facenet-pytorch)",
                         FER(mtcnn=True).detect_emotions))
        except Exception as err:  # fer raises a bare Exception without facenet_pytorch
            log(f"fer's MTCNN skipped: {err}")
    return rows


# === Timing ===
def _timed(fn, arg):
    start = time.perf_counter()
    out = fn(arg)
    return time.perf_counter() - start, out


def time_pipelines(pipelines, photo, frames, repeats, log=None):
    """One dict per pipeline: faces found, median ms per photo and per face, video frames/s.

    Every round calls each pipeline once on the photo, then each runs the frames; a first
    untimed call warms each up (tracing, allocation). Frames/s is the number of frames over the
    median time of a whole pass.
    """
    log = log or (lambda m: None)
    photo_s = {k: [] for k in range(len(pipelines))}
    video_s = {k: [] for k in range(len(pipelines))}
    found = {}
    for k, (name, detector, fn) in enumerate(pipelines):
        log(f"warm-up: {name}, {detector}")
        found[k] = len(fn(photo))
        fn(frames[0])
    for r in range(repeats):
        log(f"round {r + 1} of {repeats}")
        for k, (_, _, fn) in enumerate(pipelines):
            seconds, _ = _timed(fn, photo)
            photo_s[k].append(seconds)
        for k, (_, _, fn) in enumerate(pipelines):
            start = time.perf_counter()
            for frame in frames:
                fn(frame)
            video_s[k].append(time.perf_counter() - start)
    rows = []
    for k, (name, detector, _) in enumerate(pipelines):
        ms = statistics.median(photo_s[k]) * 1e3
        rows.append({"pipeline": name, "detector": detector, "faces": found[k],
                     "ms_per_photo": ms, "ms_per_face": ms / found[k] if found[k] else None,
                     "video_frames_per_s": len(frames) / statistics.median(video_s[k])})
    return rows


def _median_ms(fn, repeats):
    fn()
    return statistics.median(_timed(lambda _: fn(), None)[0] for _ in range(repeats)) * 1e3


def breakdown(predictor, photo, repeats, litert=None):
    """Where one photo's time goes in `Predictor.predict` (Haar as the predictor's detector):
    {stage: median ms} plus the model call timed three ways (four with `litert`, a LiteRT
    runner of the same model), and the largest probability difference of each way from the
    batch as loaded."""
    from fer_keras.inference import faces as _faces

    gray = predictor.read(photo)
    boxes = predictor.detect(gray)
    h, w, _ = predictor.input_shape

    def crops():
        return [_faces.crop_face(gray, _faces.expand_box(b, predictor.crop_scale), (h, w))
                for b in boxes]

    x = predictor.preprocess(crops())
    model = predictor.model
    compiled = model.predict(x)
    out = {"faces": len(boxes),
           "stages_ms": {"read and gray": _median_ms(lambda: predictor.read(photo), repeats),
                         "detect": _median_ms(lambda: predictor.detect(gray), repeats),
                         "crops": _median_ms(crops, repeats),
                         "preprocess": _median_ms(lambda: predictor.preprocess(crops()),
                                                  repeats),
                         "model (as loaded, one batch)": _median_ms(lambda: model.predict(x),
                                                                    repeats)},
           "model_ms": {}, "max_probability_difference": {}}
    ways = {"one batch, as loaded": model.predict,
            "face by face, as loaded": lambda b: np.concatenate(
                [model.predict(b[i:i + 1]) for i in range(len(b))])}
    if model.keras_model is not None:
        ways["one batch, eager Keras call"] = eager_predict(model.keras_model)
    if litert is not None:
        ways["one batch, LiteRT float32"] = litert
    for name, fn in ways.items():
        out["model_ms"][name] = _median_ms(lambda fn=fn: fn(x), repeats)
        out["max_probability_difference"][name] = float(np.abs(fn(x) - compiled).max())
    out["stages_ms"]["total (Predictor.predict)"] = _median_ms(lambda: predictor.predict(photo),
                                                               repeats)
    return out


def litert_runner(model):
    """A LiteRT float32 runner converted from the SavedModel beside a Keras artifact, as
    `export` converts it; None where there is none or the conversion fails."""
    from pathlib import Path

    saved = Path(model.path).parent / "saved_model"
    if model.format != "keras" or not (saved / "saved_model.pb").is_file():
        return None
    try:
        from fer_keras.benchmark.tflite_timing import tflite_bytes
        from fer_keras.inference.tflite import TFLiteRunner

        return TFLiteRunner(model_content=tflite_bytes(saved, "float32"))
    except Exception:  # noqa: BLE001 - an optional row; the table says n/a
        return None


# === The section ===
def run_end_to_end(predictor=None, photo=None, repeats=5, frames=FRAMES,
                   detectors=("haar", "mtcnn"), with_fer=True, litert=True, log=None):
    """The end-to-end section as one JSON-ready dict (the Python API behind
    `python -m fer_keras.benchmark --end-to-end`).

    Args:
        predictor: a `Predictor` or a published model's name (default `DEFAULT_MODEL`).
        photo: BGR uint8 photo; default `held_out_photo` of the shared FER2013 data.
        repeats: timed rounds after one warm-up call of each pipeline.
        frames: number of video frames (`panned_frames` of the photo).
        detectors: "haar" and/or "mtcnn".
        with_fer: add the `fer` package's rows when it can be imported.
        litert: also run the model as LiteRT float32, converted from the SavedModel beside a
            Keras artifact as `export` converts it (10-15 s here), in the breakdown and in two
            rows.
    """
    import keras

    from fer_keras.inference import Predictor

    log = log or (lambda m: None)
    if predictor is None or isinstance(predictor, str):
        log(f"loading {predictor or DEFAULT_MODEL}")
        predictor = Predictor.from_pretrained(predictor or DEFAULT_MODEL)
    photo_source = "given"
    if photo is None:
        from fer_keras.notebook.locations import find_data

        fer2013 = find_data("fer2013")
        if fer2013 is None:
            raise ValueError("the end-to-end photo needs the FER2013 test images "
                             "(set $FER_KERAS_DATA to the shared data folder) or a photo")
        photo = held_out_photo(fer2013)
        photo_source = (f"first PublicTest image of {', '.join(PHOTO_CLASSES)} from "
                        f"{fer2013}, {FACE_SIDE} px each")
    load_before = os.getloadavg()
    runner = None
    if litert:
        log("LiteRT float32 conversion")
        runner = litert_runner(predictor.model)
    # The boxes both Haar pipelines find with fer's settings, given to each in place of detection
    boxes = None
    if "haar" in detectors:
        from fer_keras.inference.faces import HaarFaceDetector

        boxes = HaarFaceDetector(min_size=FER_HAAR_MIN_SIZE)(predictor.read(photo))
    pipelines = fer_keras_pipelines(predictor, detectors, runner, boxes, log)
    if with_fer:
        pipelines += fer_pipelines(detectors, boxes, log)
    log("breakdown")
    parts = breakdown(predictor, photo, repeats, runner)
    rows = time_pipelines(pipelines, photo, panned_frames(photo, frames), repeats, log)
    return {
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "keras": keras.__version__, "backend": keras.backend.backend(),
                    "load_average_before": load_before, "load_average_after": os.getloadavg()},
        "settings": {"model": predictor.model.path, "format": predictor.model.format,
                     "repeats": repeats, "frames": frames, "photo_shape": list(photo.shape),
                     "photo": photo_source},
        "breakdown": parts,
        "rows": rows,
    }


def _fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def format_end_to_end_markdown(result):
    """The section's tables: the pipelines, then one photo's breakdown."""
    m, s = result["machine"], result["settings"]
    fer_rows = [r for r in result["rows"] if r["pipeline"].startswith("fer ")]
    # each row against fer's row with the boxes given where it has them, else fer's Haar row
    fer_ms = {r["detector"] == GIVEN: r["ms_per_photo"] for r in reversed(fer_rows)
              if r["detector"] == GIVEN or r["detector"].startswith("haar")}
    lines = [
        f"Photo {s['photo_shape'][1]} x {s['photo_shape'][0]} ({s['photo']}); video: "
        f"{s['frames']} frames of it panned 2 px a frame, in memory. Medians of "
        f"{s['repeats']} rounds, pipelines in turns in one process; load average before/after "
        f"{' '.join(f'{v:.2f}' for v in m['load_average_before'])} / "
        f"{' '.join(f'{v:.2f}' for v in m['load_average_after'])} on {m['cpu_count']} CPUs.",
        "",
        "| pipeline | detector | faces | ms / photo | ms / face | video frames/s |"
        + (" photo time / fer's |" if fer_rows else ""),
        "|---|---|---:|---:|---:|---:|" + ("---:|" if fer_rows else ""),
    ]
    for r in result["rows"]:
        line = (f"| {r['pipeline']} | {r['detector']} | {r['faces']} | "
                f"{r['ms_per_photo']:.1f} | {_fmt(r['ms_per_face'], '.1f')} | "
                f"{r['video_frames_per_s']:.1f} |")
        if fer_rows:
            ref = fer_ms.get(r["detector"] == GIVEN)
            line += f" {_fmt(r['ms_per_photo'] / ref if ref else None, '.2f')}x |"
        lines.append(line)
    b = result["breakdown"]
    lines += ["", f"Where one photo's time goes (`Predictor.predict`, Haar, {b['faces']} faces):",
              "", "| stage | ms |", "|---|---:|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in b["stages_ms"].items()]
    lines += ["", "The model call on those faces:", "",
              "| model call | ms | max probability difference from one compiled batch |",
              "|---|---:|---:|"]
    lines += [f"| {k} | {v:.2f} | {b['max_probability_difference'][k]:.1e} |"
              for k, v in b["model_ms"].items()]
    return "\n".join(lines)
