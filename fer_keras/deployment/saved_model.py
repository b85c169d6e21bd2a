"""The SavedModel every part of the package writes (training runs, `export`, `benchmark`).

Signature `serving_default` / `serve`: `images`, a float32 batch of raw-pixel images (0-255,
N x H x W x C) -> `probabilities`; given class names, a `class_names` signature returns them
(a string variable saved with the model). Loaded back by `fer_keras.inference.loading`.
"""

import shutil
from pathlib import Path


def write_saved_model(model, path, class_names=None):
    """Writes `model` as a SavedModel folder at `path` (replacing one there); returns `path`.

    Every weight is stored once. `ExportArchive.track` (Keras 3.15) tracks the `keras.Variable`
    wrappers while the traced endpoint captures the `tf.Variable`s inside them; TensorFlow's
    checkpoint sees two objects and writes each weight twice (keras-team/keras#23553), so a
    `model.export()` SavedModel is twice the model's size and loads every weight twice. The
    tracked lists are given the `tf.Variable`s themselves (`_track_tf_variables`).
    """
    import keras
    import tensorflow as tf

    shape = list(model.inputs[0].shape)  # the batch is None, or fixed by a deploy form
    archive = keras.export.ExportArchive()
    archive.track(model)
    _track_tf_variables(archive)
    archive.add_endpoint(
        "serve", lambda images: {"probabilities": model(images, training=False)},
        input_signature=[tf.TensorSpec(shape, tf.float32, name="images")])
    if class_names is not None:
        names = tf.Variable(list(class_names), trainable=False, dtype=tf.string,
                            name="class_names")
        archive.add_variable_collection("class_names_variable", [names])
        archive.add_endpoint("class_names", lambda: {"class_names": tf.identity(names)},
                             input_signature=[])
    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    archive.write_out(str(path), verbose=False)
    return path


def _track_tf_variables(archive):
    """Replaces the `keras.Variable`s that `archive.track` listed by their `tf.Variable`s (the
    fix proposed in keras-team/keras#23563), so each weight is one checkpoint object. A variable
    without a `tf.Variable` inside is left as it is (stored twice, still correct)."""
    import tensorflow as tf

    trackable = archive._tf_trackable  # noqa: SLF001 - Keras keeps the tracked lists here
    for attr in ("variables", "trainable_variables", "non_trainable_variables"):
        unwrapped = []
        for v in getattr(trackable, attr):
            inner = getattr(v, "value", v)
            unwrapped.append(inner if isinstance(inner, tf.Variable) else v)
        setattr(trackable, attr, unwrapped)
