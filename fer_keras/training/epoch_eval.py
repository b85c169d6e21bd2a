"""What is measured after each epoch, and what may choose the reported epoch.

Selection is on validation only: the epoch with the best validation accuracy is the run's model.
A split without validation examples (protocol option `validation="none"`, the papers' practice of
training on the whole training side) allows no selection, so the last epoch is the run's model.

Test accuracy after every epoch (`TrainConfig.test_each_epoch`) is for reporting only: both papers
report the best test accuracy seen during training ("the highest accuracy reaches 73.21 %",
Light-NTWRN section 4.3; I-MobileNetV2's CK+ test curves), and reproducing that figure needs the
per-epoch test accuracy. It is written to history.csv (`test_loss`, `test_accuracy`) and
summarised in metrics.json as `peak_test_accuracy` ("papers' practice", optimistic), never fed to
selection, early stopping or the checkpoint choice.
"""

import numpy as np

SELECTION_VALIDATION = "validation"
SELECTION_LAST = "last_epoch"


def selection(split):
    """"validation" where the split has validation examples, else "last_epoch"."""
    return SELECTION_VALIDATION if len(split.val) else SELECTION_LAST


def check_validation(config, split):
    """A split without validation is only accepted when the user asked for it.

    Raises:
        ValueError: the split has no validation examples and `validation="none"` was not given.
    """
    if len(split.val) == 0 and config.protocol_options.get("validation") != "none":
        raise ValueError(f"fold {split.fold} of '{split.protocol}' has no validation examples; "
                         "the best epoch is chosen on validation, never on test (pass the "
                         "protocol option validation='none' to train on the whole training side "
                         "and report the last epoch)")


def epoch_figures(predict, config, ds, split):
    """The per-epoch row entries: val_* (NaN without validation) and, if asked, test_*.

    `predict(indices)` returns the model's class probabilities for those examples.
    """
    from fer_keras.training.metrics import classification_metrics

    row = {"val_loss": np.nan, "val_accuracy": np.nan, "val_balanced_accuracy": np.nan}
    if len(split.val):
        val = classification_metrics(ds.labels[split.val], predict(split.val), ds.class_names)
        row.update(val_loss=val["loss"], val_accuracy=val["accuracy"],
                   val_balanced_accuracy=val["balanced_accuracy"])
    if config.test_each_epoch and len(split.test):
        test = classification_metrics(ds.labels[split.test], predict(split.test), ds.class_names)
        row.update(test_loss=test["loss"], test_accuracy=test["accuracy"])
    return row


def is_better(state, row, split):
    """Whether this epoch replaces the selected one: best validation accuracy, or the latest."""
    if selection(split) == SELECTION_LAST:
        return True
    return state["best_score"] is None or row["val_accuracy"] > state["best_score"]


def test_figures(history):
    """metrics.json's per-epoch test summary, or {} when test accuracy was not recorded."""
    scores = [row.get("test_accuracy") for row in history]
    if not scores or any(s is None for s in scores):
        return {}
    peak = int(np.argmax(scores))
    return {"last_epoch_test_accuracy": float(scores[-1]),
            "peak_test_accuracy": float(scores[peak]), "peak_test_epoch": peak + 1,
            "peak_test_note": "papers' practice: the best test accuracy over epochs, chosen on "
                              "the test split itself (optimistic; never used for selection)"}
