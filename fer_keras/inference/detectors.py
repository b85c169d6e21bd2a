"""Face detectors to choose from: OpenCV's Haar cascade (default), MTCNN (optional extra), and
"none" for faces that are already cropped (the whole image is the face).

    from fer_keras.inference.detectors import make_detector
    detector = make_detector("mtcnn")          # or "haar", "none"; any callable gray -> boxes
    boxes = detector(gray_uint8)               # [(x, y, w, h), ...], square, largest first

MTCNN (Zhang et al., "Joint Face Detection and Alignment using Multi-task Cascaded
Convolutional Networks", IEEE SPL 2016) comes from the `mtcnn` package (`pip install
fer_keras[mtcnn]`), which carries its weights inside its wheel and runs on TensorFlow, so it works
offline. It finds rotated and small faces that the frontal Haar cascade misses, at a higher cost
per image (docs/deployment.md, "Face detectors"). Its boxes are made square around their centre
with the longer side, as the Haar boxes are, so the per-dataset crop scales apply to both.
"""

DETECTORS = ("haar", "mtcnn", "none")


def square(box):
    """(x, y, w, h) -> the square with side max(w, h) around the same centre."""
    x, y, w, h = (int(round(v)) for v in box)
    s = max(w, h)
    return (x + (w - s) // 2, y + (h - s) // 2, s, s)


class MTCNNFaceDetector:
    """MTCNN from the `mtcnn` package; called on a uint8 grayscale image like `HaarFaceDetector`.

    Args:
        min_size: smallest face side in pixels (MTCNN's `min_face_size`, default 20).
        confidence: keep faces whose final-stage confidence is at least this (default 0.9).
        compiled: run each stage's network through one `tf.function` (free input shape, traced
            once) instead of the package's eager calls; the same boxes at about half the time
            (docs/performance.md, "End to end"). False keeps the package's own calls.
        **stage_kwargs: passed to `MTCNN.detect_faces` (`threshold_pnet`, `scale_factor`, ...).
    """

    name = "mtcnn"

    def __init__(self, min_size=None, confidence=0.9, compiled=True, **stage_kwargs):
        try:
            from mtcnn import MTCNN
        except ImportError:
            raise ImportError("the mtcnn detector needs the mtcnn package: "
                              "pip install 'fer_keras[mtcnn]' (or pip install mtcnn lz4)") from None
        self.mtcnn = MTCNN()
        if compiled:
            _compile_stages(self.mtcnn)
        self.confidence = float(confidence)
        self.kwargs = dict(stage_kwargs)
        if min_size is not None:
            self.kwargs["min_face_size"] = int(min_size)

    def __call__(self, gray):
        import numpy as np

        rgb = np.repeat(np.asarray(gray, np.uint8)[..., None], 3, axis=-1)
        found = self.mtcnn.detect_faces(rgb, **self.kwargs)
        boxes = [square(f["box"]) for f in found if f["confidence"] >= self.confidence]
        return sorted(boxes, key=lambda b: -b[2] * b[3])


def _compile_stages(mtcnn):
    """Each stage network of an `mtcnn.MTCNN` (PNet on every pyramid scale, RNet, ONet) called
    through a `tf.function` whose input signature leaves batch and size free, so it is traced
    once. The package calls its Keras networks eagerly, one Python dispatch per layer; it keeps
    them in the stages' `_model`, which is replaced here only where it is a Keras model."""
    import keras
    import tensorflow as tf

    spec = tf.TensorSpec((None, None, None, 3), tf.float32)
    for stage in getattr(mtcnn, "stages", ()):
        network = getattr(stage, "_model", None)
        if isinstance(network, keras.Model):
            stage._model = tf.function(network, input_signature=[spec], jit_compile=False)


class WholeImage:
    """No detection: the whole image is the face, as the datasets ship their 48 x 48 crops. One
    box covering the image; the predictor cuts no margin around it (`crops_whole_image`) and
    resizes it to the model's input, as the loaders resize their images."""

    name = "none"
    crops_whole_image = True

    def __call__(self, gray):
        h, w = gray.shape[:2]
        return [(0, 0, int(w), int(h))]


def make_detector(name="haar", min_size=None, **kwargs):
    """A detector by name ("haar", "mtcnn" or "none"); ValueError naming the accepted ones
    otherwise."""
    if name == "none":
        return WholeImage()
    if name == "haar":
        from fer_keras.inference.faces import HaarFaceDetector

        return HaarFaceDetector(min_size=min_size, **kwargs)
    if name == "mtcnn":
        return MTCNNFaceDetector(min_size=min_size, **kwargs)
    raise ValueError(f"unknown face detector {name!r}; accepted: {', '.join(DETECTORS)}")


def detector_name(detector):
    """"haar", "mtcnn", or the name of a user's callable (the records' `detector`)."""
    from fer_keras.inference.faces import HaarFaceDetector

    if isinstance(detector, HaarFaceDetector):
        return "haar"
    if isinstance(detector, MTCNNFaceDetector):
        return "mtcnn"
    if isinstance(detector, WholeImage):
        return "none"
    return getattr(detector, "__name__", type(detector).__name__)
