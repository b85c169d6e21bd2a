"""fer_keras: Keras 3 reference implementation of I-MobileNetV2 and Light-NTWRN.

``import fer_keras`` is cheap: it imports neither Keras nor TensorFlow. The public names below
load their modules on first use, so ``fer_keras.light_ntwrn()`` works as expected in a script or
notebook while ``import fer_keras`` alone stays fast. The layers and models use ``keras.ops``
only and run on every Keras backend.

``fer_keras.train_model(config)`` trains a configuration (it is ``fer_keras.training.train``);
``fer_keras.train`` is the module behind ``python -m fer_keras.train``.

After ``import fer_keras``, ``keras.saving.load_model(path, safe_mode=True)`` loads every
fer_keras model, whichever of the two was imported first (``fer_keras.registration``).
"""

from fer_keras.lazy import lazy_attributes
from fer_keras.registration import register_with_keras

__version__ = "0.1.0"
register_with_keras()

_LAZY = {
    "i_mobilenetv2": "fer_keras.models.builders.i_mobilenetv2:i_mobilenetv2",
    "light_ntwrn": "fer_keras.models.builders.light_ntwrn:light_ntwrn",
    "create_model": "fer_keras.models.registry",
    "class_names": "fer_keras.pretrained",
    "list_published": "fer_keras.pretrained",
    "list_models": "fer_keras.models.registry",
    "model_summary": "fer_keras.models.complexity",
    "count_macs": "fer_keras.models.complexity",
    "layers": "fer_keras.layers",
    "models": "fer_keras.models",
    "data": "fer_keras.data",
    "training": "fer_keras.training",
    "train": "fer_keras.train",  # the `python -m fer_keras.train` module, whatever the import order
    "train_model": "fer_keras.training.loop:train",  # the function: fer_keras.training.train
    "resolve_config": "fer_keras.training.config",
    "Predictor": "fer_keras.inference.predictor",
    "inference": "fer_keras.inference",
    "explain": "fer_keras.explain",
}

__all__ = sorted(_LAZY) + ["__version__"]
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
