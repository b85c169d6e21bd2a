"""The training loss every engine compiles: sparse categorical cross-entropy, optionally against
label-smoothed targets.

Neither paper smooths its labels; `label_smoothing` (`--label-smoothing`) is for product recipes
(issue 31: "a separately named product recipe, e.g. label smoothing"), never a paper row. With
smoothing ``e`` and ``K`` classes the target of an example of class ``y`` is
``(1 - e) * onehot(y) + e / K`` (Szegedy et al. 2016, section 7; Keras's
`CategoricalCrossentropy(label_smoothing=e)` and PyTorch's `CrossEntropyLoss(label_smoothing=e)`
compute the same). Only the training objective changes: the validation and test losses in
history.csv and metrics.json stay the plain cross-entropy (`training.metrics`), so runs with and
without smoothing compare on the same scale.
"""

import keras


@keras.saving.register_keras_serializable(package="fer_keras")
class SparseSmoothedCrossentropy(keras.losses.Loss):
    """Cross-entropy of integer labels against label-smoothed one-hot targets.

    Args:
        label_smoothing: ``e`` in [0, 1): the target is ``(1 - e) * onehot + e / K``.
        from_logits: whether `y_pred` holds logits (else probabilities).
    """

    def __init__(self, label_smoothing=0.1, from_logits=False, reduction="sum_over_batch_size",
                 name="sparse_smoothed_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ValueError(f"label_smoothing must lie in [0, 1), got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        ops = keras.ops
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        onehot = ops.one_hot(labels, ops.shape(y_pred)[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            onehot, y_pred, from_logits=self.from_logits, label_smoothing=self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing,
                "from_logits": self.from_logits}


def training_loss(label_smoothing=0.0, from_logits=True):
    """The loss object `model_setup.compile_trainer` compiles: Keras's
    `SparseCategoricalCrossentropy` without smoothing (bit-identical to the runs before the
    option), `SparseSmoothedCrossentropy` with it."""
    if not label_smoothing:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    return SparseSmoothedCrossentropy(label_smoothing, from_logits=from_logits)
