"""Only finite state is saved (issue 21; `fer_keras.training.finite`): a diverged epoch is never
checkpointed or selected, the message says how to continue, and a lower `--learning-rate` then
continues from the last good epoch, recorded in metrics.json.
"""

import csv
import json
import math

import numpy as np
import pytest

from backends import require_backend

keras = require_backend("tensorflow", "the training tests run on the TensorFlow backend")

from data_fixtures import isolated_cache  # noqa: E402,F401
from fer_keras.train import main as train_main  # noqa: E402
from fer_keras.training import checkpoint, finite, keras_engine, loop  # noqa: E402
from test_run_folder import _config as _run_config  # noqa: E402
from test_train_time_limit import DATA, tiny  # noqa: E402,F401

pytestmark = pytest.mark.filterwarnings("ignore:The structure of `inputs`:UserWarning")


def _config(out, **overrides):  # a constant rate: the resume below changes it
    return _run_config(out, **{"epochs": 3, "lr_decay_epochs": 0, **overrides})


def _assert_all_finite(fold):
    with np.load(fold / "checkpoint.npz") as data:
        bad = [k for k in data.files if data[k].dtype.kind == "f"
               and not np.isfinite(data[k]).all()]
    assert not bad, bad
    with open(fold / "history.csv", newline="") as f:
        for row in csv.DictReader(f):
            assert all(math.isfinite(float(v)) for v in row.values()), row


def test_a_large_learning_rate_never_leaves_a_non_finite_checkpoint(tmp_path, tiny, capsys):
    out = tmp_path / "run"
    args = ["--dataset", "synthetic", "--output", str(out), "--epochs", "4",
            "--learning-rate", "1e6", "--lr-decay-epochs", "0", "--quiet", "--batch-size", "32",
            "--dataset-options", json.dumps(DATA["dataset_options"])]
    assert train_main(args) == 3
    err = capsys.readouterr().err
    assert "training diverged" in err and "--learning-rate" in err and "Traceback" not in err
    fold = out / "fold_0"
    assert not (fold / "metrics.json").exists()
    if (fold / "checkpoint.npz").exists():
        _assert_all_finite(fold)


@pytest.mark.parametrize("poison", ["val_loss", "weights"])
def test_a_diverged_epoch_is_not_saved_and_a_lower_rate_continues(tmp_path, tiny, monkeypatch,
                                                                   poison):
    out, fold = tmp_path / "run", tmp_path / "run" / "fold_0"
    real = keras_engine._run_epoch

    def diverging(engine, trainer, model, fold, *args, **kwargs):
        epoch = fold.epoch
        row = real(engine, trainer, model, fold, *args, **kwargs)
        if epoch == 1:  # the second epoch ends with NaN validation loss or a NaN weight
            if poison == "val_loss":
                row["val_loss"] = float("nan")
                row["val_accuracy"] = 1.0  # would be selected as the best epoch
            else:
                weight = model.trainable_weights[0]
                weight.assign(np.full(weight.shape, np.nan, "float32"))
        return row

    monkeypatch.setattr(keras_engine, "_run_epoch", diverging)
    with pytest.raises(finite.TrainingDiverged) as err:
        loop.train(_config(out, learning_rate=0.05), verbose=0)
    message = str(err.value)
    assert "after epoch 2" in message and "after epoch 1) is kept" in message
    assert "--learning-rate 0.005" in message
    saved = checkpoint.read_checkpoint(fold / "checkpoint.npz")  # finite, else ValueError
    assert saved["state"]["epochs_done"] == 1 and saved["state"]["best_epoch"] == 0
    _assert_all_finite(fold)
    assert (fold / "diverged.json").exists() and not (fold / "metrics.json").exists()

    monkeypatch.setattr(keras_engine, "_run_epoch", real)
    with pytest.raises(ValueError, match="seed"):  # only the learning rate may change
        loop.train(_config(out, learning_rate=0.005, seed=1), verbose=0)
    metrics = loop.train(_config(out, learning_rate=0.005), verbose=0).folds[0]
    assert metrics["epochs_trained"] == 3
    assert metrics["resume_changes"] == [{"field": "learning_rate", "from": 0.05, "to": 0.005,
                                          "after_epoch": 1,
                                          "reason": "continued after a divergence"}]
    with open(fold / "history.csv", newline="") as f:
        rates = [float(row["learning_rate"]) for row in csv.DictReader(f)]
    assert rates == pytest.approx([0.05, 0.005, 0.005])
    assert not (fold / "diverged.json").exists()
    _assert_all_finite(fold)
    # the learning rate is fixed again once the run continues
    with pytest.raises(ValueError, match="learning_rate"):
        loop.train(_config(out, learning_rate=0.05), verbose=0)


def test_a_checkpoint_holding_nan_is_refused_on_resume(tmp_path):
    state = {"run_key": "{}", "epochs_done": 1}
    with pytest.raises(ValueError, match="non-finite arrays.*--recover-from"):
        finite.check_checkpoint({"state": state, "model": [np.ones(2), np.array([np.nan])],
                                 "optimizer": [np.zeros(1, np.int64)], "best": []},
                                tmp_path / "checkpoint.npz")


def test_no_validation_split_leaves_val_figures_nan_without_divergence():
    row = {"epoch": 0, "loss": 1.0, "accuracy": 0.5, "val_loss": float("nan"),
           "val_accuracy": float("nan"), "learning_rate": 0.01}
    assert finite.non_finite_row_entries(row, has_validation=False) == []
    assert finite.non_finite_row_entries(row, has_validation=True) == ["val_loss",
                                                                      "val_accuracy"]
