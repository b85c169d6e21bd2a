"""Images, folders, videos and webcams through a `Predictor`: JSON lines out, annotated copies.

`expand_inputs` turns the command line's inputs into (kind, source) pairs; `predict_image` and
`predict_stream` predict one image file or the frames of one video / webcam, write one JSON
object per face to `out`, a one-line message per unreadable input or faceless frame to `err`,
and, when asked, an annotated PNG / MP4 (`annotate`). `options` carries the command line's
choices: `heatmap`, `max_faces`, `annotate` (a folder or None), `every`, `max_frames` and
`smooth` (video / webcam: the mean over a tracked face's last N frames, `smoothing.FaceTracker`).
`python -m fer_keras.predict` is the command line over these.
"""

import json
import os
import sys
from pathlib import Path

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
        elif path.exists():
            out.append(("missing", f"{path}: not a regular file or folder (a FIFO, device or "
                                   "socket); give an image, a video or a folder"))
        else:
            out.append(("missing", f"{path}: no such file or folder"))
    return out


def annotate(frame_bgr, records, heatmap=False):
    """A copy of the frame with each face's box, label and score (and Grad-CAM overlay)."""
    import cv2

    from fer_keras.inference.gradcam import overlay

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


_RECORD_KEYS = ("box", "crop_box", "detector", "label", "score", "probabilities", "uncertain",
                "track", "smoothed_over", "raw_label", "raw_score", "raw_probabilities")


def _emit(records, source, frame, stream):
    for k, rec in enumerate(records):
        row = {"source": str(source), "frame": frame, "face": k,
               **{key: rec[key] for key in _RECORD_KEYS if key in rec}}
        stream.write(json.dumps(row) + "\n")
    stream.flush()


def _crop_hint(predictor, gray):
    """A hint for an image about the model's input size where the detector found nothing: it is
    most likely a face crop already (the datasets' 48 x 48 images)."""
    if getattr(predictor.detector, "crops_whole_image", False):
        return ""
    side = max(predictor.input_shape[:2])
    if max(gray.shape[:2]) <= 2 * side:
        return (f" (a {gray.shape[1]}x{gray.shape[0]} image: if it is already a face crop, "
                "--detector none uses the whole image)")
    return ""


def _read_bgr(path, gray):
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None or img.shape[:2] != gray.shape:
        img = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    return img


def predict_image(predictor, path, options, out=sys.stdout, err=sys.stderr):
    """Predicts one image file; returns False when it cannot be read."""
    from fer_keras.data import DataError

    try:
        gray = predictor.read(path)
        records = predictor.predict(gray, explain=options.heatmap, max_faces=options.max_faces)
    except DataError as e:
        err.write(f"error: {e}\n")
        return False
    except Exception as e:  # noqa: BLE001 - one bad input is reported; the others go on
        err.write(f"error: {path}: cannot predict ({type(e).__name__}: {e})\n")
        return False
    if not records:
        err.write(f"{path}: no face found{_crop_hint(predictor, gray)}\n")
    options.faces = getattr(options, "faces", 0) + len(records)
    _emit(records, path, None, out)
    if options.annotate:
        target = _annotation_target(options, path)
        return write_image(target, annotate(_read_bgr(path, gray), records, options.heatmap),
                           err)
    return True


def write_image(target, image, err):
    """Writes an annotated copy atomically (a temporary name, then one rename): a full or
    read-only disk leaves no half-written file under `target` and says so in one line.
    Returns False when it could not be written."""
    import cv2

    from fer_keras.files import atomic_path

    try:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            if not cv2.imwrite(str(tmp), image):
                raise OSError("OpenCV could not write it (disk full, read-only or unwritable)")
    except OSError as e:
        err.write(f"error: {target}: the annotated copy was not written ({e}); the JSON "
                  "records are complete\n")
        return False
    return True


def _annotation_target(options, path):
    """`--annotate DIR/STEM.png`, made unique within the run (`a/face.jpg` and `a/sub/face.png`
    must not overwrite each other): later ones get `STEM_EXT.png`, then `STEM_EXT_2.png`, ..."""
    taken = options.__dict__.setdefault("annotated", set())
    path = Path(path)
    candidates = [path.stem, f"{path.stem}_{path.suffix.lstrip('.')}"]
    candidates += [f"{candidates[1]}_{k}" for k in range(2, len(taken) + 3)]
    name = next(c for c in candidates if c not in taken)
    taken.add(name)
    return Path(options.annotate) / (name + ".png")


def check_options(options):
    """The message for a bad option value of `predict`, or None."""
    for name in ("every", "max_faces", "max_frames", "smooth", "min_face"):
        value = getattr(options, name, None)
        if value is not None and value < 1:
            return f"--{name.replace('_', '-')} must be >= 1, got {value}"
    if options.crop_scale is not None and not 0 < options.crop_scale < float("inf"):
        return f"--crop-scale must be a positive number, got {options.crop_scale}"
    confidence = getattr(options, "min_confidence", None)
    if confidence is not None and not 0 <= confidence <= 1:  # also NaN
        return f"--min-confidence must be a probability in [0, 1], got {confidence}"
    temperature = getattr(options, "temperature", None)
    if temperature is not None and not 0 < temperature < float("inf"):
        return f"--temperature must be a positive number, got {temperature}"
    if options.annotate and Path(options.annotate).exists() and not Path(
            options.annotate).is_dir():
        return f"--annotate {options.annotate} is a file; it must name a folder"
    return None


def predict_stream(predictor, source, options, out=sys.stdout, err=sys.stderr):
    """Predicts the frames of a video file or a webcam index; False when it cannot be opened or
    a file ends before the frame count its header declares (a truncated or damaged file: the
    records are partial, and stderr says how many frames were read)."""
    import cv2

    cap = cv2.VideoCapture(source)
    ok, frame = cap.read() if cap.isOpened() else (False, None)
    if not ok:
        what = "webcam" if isinstance(source, int) else "video"
        err.write(f"error: {source}: cannot open or read the {what}\n")
        cap.release()
        return False
    from fer_keras.inference.smoothing import FaceTracker
    from fer_keras.training.calibration import abstain

    writer, index, no_face = None, 0, []
    tracker = FaceTracker(options.smooth) if options.smooth else None
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    expected = 0 if isinstance(source, int) else int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    stopped = False
    try:
        while ok:
            if index % options.every == 0:
                records = predictor.predict(frame, color="bgr", explain=options.heatmap,
                                            max_faces=options.max_faces)
                if not records:
                    no_face.append(index)
                options.faces = getattr(options, "faces", 0) + len(records)
                if tracker is not None:  # abstain on the smoothed probabilities
                    records = [abstain(r, predictor.min_confidence)
                               for r in tracker.update(records)]
                _emit(records, source, index, out)
                if options.annotate:
                    if writer is None:
                        name = (f"webcam{source}" if isinstance(source, int)
                                else Path(source).stem) + ".mp4"
                        writer = AnnotatedVideo(Path(options.annotate) / name,
                                                fps / options.every, frame.shape[1::-1])
                    writer.write(annotate(frame, records, options.heatmap))
            index += 1
            if options.max_frames and index >= options.max_frames:
                stopped = True
                break
            ok, frame = cap.read()
    finally:
        cap.release()
        written = writer is None or writer.close(err)
    if no_face:
        shown = ", ".join(map(str, no_face[:10])) + (" ..." if len(no_face) > 10 else "")
        err.write(f"{source}: no face found in {len(no_face)} of "
                  f"{len(range(0, index, options.every))} frames read (frames {shown})\n")
    if not stopped and 0 < index < expected:
        err.write(f"error: {source}: the video ended early: {index} of the {expected} frames "
                  "its header declares were read (a truncated or damaged file); the records "
                  "above cover those frames only\n")
        return False
    return written


class AnnotatedVideo:
    """An annotated MP4 written whole or not at all: frames go to a hidden temporary file
    beside `target` (`fer_keras.files.temporary_path`); `close` reopens it, checks that it
    holds every frame written (OpenCV's writer reports no failed write: a full disk shows only
    here), then renames it onto `target`, or removes it and says so in one line."""

    def __init__(self, target, fps, size):
        import cv2

        from fer_keras.files import temporary_path

        self.target, self.frames = Path(target), 0
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = temporary_path(self.target)
        self.writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                      tuple(size))
        self.opened = self.writer.isOpened()

    def write(self, image):
        if self.opened:
            self.writer.write(image)
            self.frames += 1

    def close(self, err=sys.stderr):
        """Releases the writer; True when `target` now holds every frame, else False after one
        error line on `err` (and no file under `target`)."""
        import cv2

        self.writer.release()
        found = 0
        if self.opened and self.tmp.is_file():
            cap = cv2.VideoCapture(str(self.tmp))
            found = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if cap.isOpened() else 0
            cap.release()
        try:
            if self.opened and found == self.frames:
                os.replace(self.tmp, self.target)
                return True
            why = (f"it holds {found} of the {self.frames} frames written (disk full or "
                   "unwritable?)" if self.opened else "OpenCV could not open it for writing")
        except OSError as e:
            why = str(e)
        self.tmp.unlink(missing_ok=True)
        err.write(f"error: {self.target}: the annotated video was not written ({why}); the "
                  "JSON records are complete\n")
        return False
