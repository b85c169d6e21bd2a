"""`Predictor`: a trained expression model applied to photos, frames and face crops.

    from fer_keras import Predictor
    predictor = Predictor.load("runs/synthetic-i_mobilenetv2-holdout-seed0")   # or from_pretrained
    for face in predictor.predict("photo.jpg"):
        print(face["box"], face["label"], face["probabilities"])

One image goes: file or array -> grayscale (ITU-R 601 luma, as the loaders convert) -> Haar
faces (`faces.HaarFaceDetector`, replaceable) -> a square crop `crop_scale` times the detected box,
the scale that matches the training set's crops (`faces.CROP_SCALES`) -> resized to the model's
input size -> repeated to the model's channels -> raw 0-255 float32 (the models normalise
inside) -> probabilities by class name, divided in log space by the temperature fitted on the
validation split where the model carries one (`fer_keras.training.calibration`) -> the top class,
or "uncertain" below `min_confidence`.
"""

from pathlib import Path

import numpy as np

from fer_keras.inference import faces as _faces
from fer_keras.inference.detectors import detector_name, make_detector
from fer_keras.inference.loading import load_model, resolve_pretrained
from fer_keras.training import calibration as _calibration


class Predictor:
    """Face detection, cropping and classification with one trained model.

    Args:
        model: a `LoadedModel` (see `Predictor.load` and `Predictor.from_pretrained`).
        detector: "haar" or "mtcnn" (`detectors.make_detector`), or a callable
            `detector(gray uint8 H x W) -> [(x, y, w, h), ...]`; None uses `HaarFaceDetector()`,
            the JAFFE loader's cascade and settings.
        crop_scale: side of the crop / side of the detected box; None takes the training
            dataset's (`faces.CROP_SCALES`, from the run's metrics.json or model_info.json).
        temperature: T of `softmax(log p / T)` applied to the model's probabilities; None takes
            the one fitted on its validation split (`calibration` in its metrics.json or
            model_info.json, `python -m fer_keras.calibrate`), else 1 (as the model gives them);
            1.0 turns it off.
        min_confidence: answer `label` "uncertain" (the top class kept as `raw_label`) where the
            top probability is below this; a probability equal to it is confident. None (the
            default) always answers the top class.
    """

    def __init__(self, model, detector=None, crop_scale=None, temperature=None,
                 min_confidence=None):
        self.model = model
        self._detector = make_detector(detector) if isinstance(detector, str) else detector
        self.dataset = model.dataset
        self.crop_scale = float(crop_scale) if crop_scale is not None else \
            _faces.crop_scale_for(model.dataset)
        if not self.crop_scale > 0:  # also NaN
            raise ValueError(f"crop_scale must be positive, got {crop_scale}")
        self.class_names = tuple(model.class_names)
        self.input_shape = tuple(model.input_shape)
        fitted = _calibration.temperature_of(model.info)
        self.temperature = float(temperature if temperature is not None else fitted or 1.0)
        if not self.temperature > 0:  # also NaN
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.min_confidence = _calibration.check_min_confidence(min_confidence)

    # === Construction ===
    @classmethod
    def load(cls, path, format=None, fold=None, detector=None, crop_scale=None, num_threads=None,
             trust_saved_model=False, class_names=None, temperature=None, min_confidence=None):
        """From a `.keras` file, SavedModel, `.tflite` or `.onnx` file, or a fold, run or export
        folder.

        `format` ("keras", "saved_model", "tflite", "onnx") picks the artifact inside a folder;
        `fold` the fold of a run folder (default: its lowest); `trust_saved_model` loads a
        SavedModel whose operations are outside the inference allow-list
        (`fer_keras.inference.trust`); `class_names` names the outputs of a model that carries
        no names (a list, "a,b,c" or a dataset name: `class_check.parse_class_names`);
        `temperature` and `min_confidence` as in the class docstring.
        """
        return cls(load_model(path, format, fold, num_threads, trust_saved_model, class_names),
                   detector, crop_scale, temperature, min_confidence)

    @classmethod
    def from_pretrained(cls, name, models_dir=None, **kwargs):
        """A published model: the folder `name` in `models_dir`, `$FER_KERAS_MODELS` or the
        repository's `saved_models/`. Nothing is downloaded."""
        return cls.load(resolve_pretrained(name, models_dir), **kwargs)

    @property
    def detector(self):
        if self._detector is None:
            self._detector = _faces.HaarFaceDetector()
        return self._detector

    # === Preprocessing ===
    def preprocess(self, faces, color="bgr"):
        """Face crops -> the model's batch.

        `faces` is a list of crops (each H x W, H x W x 1/3/4, any size) or one array N x H x W
        (gray) or N x H x W x C.

        Each crop is made grayscale, centre-cropped to a square and resized to the model's input
        size, as `fer_keras.data.imageio.resize_square` does for training images, then repeated to
        the model's channels; values stay raw 0-255 float32.
        """
        from fer_keras.data.imageio import resize_square

        if isinstance(faces, np.ndarray):
            if faces.ndim not in (3, 4):
                raise ValueError("faces must be a list of crops or an N x H x W (gray) or "
                                 f"N x H x W x C array, got shape {faces.shape}; wrap a single "
                                 "crop in a list")
            faces = list(faces)
        h, w, c = self.input_shape
        batch = []
        for face in faces:
            gray = _faces.to_gray(face, color)
            if h == w:
                gray = resize_square(gray, h)
            else:
                gray = _faces.crop_face(gray, (0, 0, gray.shape[1], gray.shape[0]), (h, w))
            batch.append(gray)
        if not batch:
            return np.zeros((0, h, w, c), np.float32)
        x = np.stack(batch).astype(np.float32)[..., None]
        return np.repeat(x, c, axis=-1) if c != 1 else x

    # === Prediction ===
    def predict_proba(self, batch):
        """Probabilities N x K of a preprocessed float32 batch (raw 0-255 pixels), calibrated
        by `temperature` (the model's own outputs: `self.model.predict`)."""
        x = np.asarray(batch, np.float32)
        if x.ndim != 4 or tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"batch must be N x {' x '.join(map(str, self.input_shape))}, "
                             f"got shape {x.shape}")
        probs = self.model.predict(x)
        if self.temperature == 1.0:
            return probs
        return _calibration.apply_temperature(probs, self.temperature).astype(np.float32)

    def _record(self, probs):
        k = int(np.argmax(probs))
        return _calibration.abstain(
            {"label": self.class_names[k], "score": float(probs[k]),
             "probabilities": {n: float(p) for n, p in zip(self.class_names, probs)}},
            self.min_confidence)

    def predict_faces(self, faces, color="bgr", explain=False):
        """Records for face crops that are already cropped (no detection): one per crop."""
        x = self.preprocess(faces, color)
        probs = self.predict_proba(x) if len(x) else np.zeros((0, len(self.class_names)))
        records = [self._record(p) for p in probs]
        if explain:
            for rec, xi in zip(records, x):
                rec["heatmap"] = self.explain_batch_item(xi)
        return records

    def detect(self, gray):
        """Face boxes (x, y, w, h) in a uint8 grayscale image, largest first."""
        boxes = [tuple(int(v) for v in b) for b in self.detector(gray)]
        return sorted(boxes, key=lambda b: -b[2] * b[3])

    def predict(self, image, color="bgr", explain=False, max_faces=None):
        """One record per detected face, largest first; [] when no face is found.

        Args:
            image: a file path, or an array H x W (gray), H x W x 3/4 (`color` order), uint8 or
                float in 0-255, any size.
            color: "bgr" (OpenCV frames, default) or "rgb" for 3/4-channel arrays.
            explain: add a Grad-CAM `heatmap` (model-input size, [0, 1]) per face; needs the
                Keras artifact.
            max_faces: keep only the largest N faces.

        Returns:
            list of dicts: `box` [x, y, w, h] (the detection, image pixels), `crop_box` (the
            square fed to the model), `detector` ("haar", "mtcnn", ...), `label`, `score`,
            `probabilities` {class name: p}; with `min_confidence`, also `raw_label` (the top
            class) and `uncertain` (True where `label` is "uncertain").

        Raises:
            fer_keras.data.DataError: unreadable file; ValueError: bad array.
        """
        gray = self.read(image, color)
        boxes = self.detect(gray)[:max_faces]
        h, w, _ = self.input_shape
        crops, crop_boxes = [], []
        whole = getattr(self.detector, "crops_whole_image", False)  # --detector none
        for box in boxes:
            crop_box = tuple(box) if whole else _faces.expand_box(box, self.crop_scale)
            crops.append(_faces.crop_face(gray, crop_box, (h, w)))
            crop_boxes.append(crop_box)
        records = self.predict_faces(crops, explain=explain)
        for rec, box, crop_box in zip(records, boxes, crop_boxes):
            rec["box"] = list(box)
            rec["crop_box"] = list(crop_box)
            rec["detector"] = detector_name(self.detector)
        return [{k: r[k] for k in ("box", "crop_box", "detector", "label", "score",
                                   "probabilities", "raw_label", "uncertain", "heatmap")
                 if k in r} for r in records]

    @staticmethod
    def read(image, color="bgr"):
        """A uint8 grayscale array from a path (read as the loaders read) or an array."""
        if isinstance(image, (str, Path)):
            from fer_keras.data.imageio import read_gray

            return read_gray(image)[0]
        return _faces.to_gray(image, color)

    # === Explanation ===
    def explain_batch_item(self, x):
        """Grad-CAM heatmap of one preprocessed face (H x W x C) for its predicted class."""
        if self.model.keras_model is None:
            raise ValueError(f"Grad-CAM needs the Keras model; {self.model.path} is a "
                             f"{self.model.format} artifact (load model.keras instead)")
        from fer_keras.inference.gradcam import grad_cam

        return grad_cam(self.model.keras_model, x)[0]

    def __repr__(self):
        return (f"Predictor({self.model.path!r}, format={self.model.format!r}, "
                f"input={self.input_shape}, classes={list(self.class_names)}, "
                f"dataset={self.dataset!r}, crop_scale={self.crop_scale})")
