"""Inference: a trained model applied to photos, video frames and face crops, and its files.

    from fer_keras.inference import Predictor
    predictor = Predictor.load("runs/.../fold_0")          # .keras, SavedModel, .tflite, folders
    records = predictor.predict("photo.jpg")               # one dict per face

Modules: `faces` (the Haar detector, also the JAFFE loader's; per-dataset crop scales, grayscale
and cropping), `loading` (artifact paths, class names, published models: the one loader behind
`evaluate`, `predict` and `Predictor`), `evaluation` (a model scored on its run's split), `tflite`
(LiteRT / tf.lite runner, op lists), `predictor` (`Predictor`). Importing this package imports neither Keras nor TensorFlow.
"""

from fer_keras.inference.faces import CROP_SCALES, HaarFaceDetector, crop_scale_for
from fer_keras.inference.loading import (
    LoadedModel, default_models_dir, list_pretrained, load_model, resolve_artifact,
)
from fer_keras.inference.predictor import Predictor

__all__ = ["CROP_SCALES", "HaarFaceDetector", "LoadedModel", "Predictor", "crop_scale_for",
           "default_models_dir", "list_pretrained", "load_model", "resolve_artifact"]
