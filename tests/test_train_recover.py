"""`TrainConfig.recover_from` / `--recover-from`: continuing a run whose checkpoint was lost from
its best-epoch model.keras (`fer_keras.training.recover`).

The runs swap the registered model for a one-convolution network, so each costs seconds.
"""

import json
import shutil

import numpy as np
import pytest

from backends import require_backend

keras = require_backend("tensorflow", "the training tests run on the TensorFlow backend")

from data_fixtures import isolated_cache  # noqa: E402,F401
from fer_keras.training import checkpoint, keras_engine, loop, recover  # noqa: E402
from fer_keras.training.config import resolve_config  # noqa: E402
from test_train_time_limit import DATA, tiny  # noqa: E402,F401

pytestmark = pytest.mark.filterwarnings("ignore:The structure of `inputs`:UserWarning")

# A learning rate halved every epoch shows whether the schedule continues where it was.
# `extend`: the continuations train more epochs than the lost run's 4 (resume_rules).
BUDGET = dict(lr_decay_factor=0.5, lr_decay_epochs=1, learning_rate=0.05, extend=True, **DATA)


def _config(out, epochs, **extra):
    return resolve_config("synthetic", "i_mobilenetv2", epochs=epochs, output=str(out),
                          **{**BUDGET, **extra})


def _history(fold_dir):
    return (json.loads((fold_dir / "metrics.json").read_text()),
            checkpoint.read_checkpoint(fold_dir / "checkpoint.npz")["state"]["history"])


@pytest.fixture
def lost_run(tmp_path, tiny, isolated_cache):  # noqa: F811
    """A 4-epoch run whose checkpoint is gone; its best model copied aside as a GPU loan would
    bring it back (the fold's own model.keras removed too)."""
    out = tmp_path / "run"
    loop.train(_config(out, 4), verbose=0)
    fold = out / "fold_0"
    lost = checkpoint.read_checkpoint(fold / "checkpoint.npz")
    published = tmp_path / "published"
    published.mkdir()
    shutil.copy(fold / "model.keras", published / "model.keras")
    (fold / "checkpoint.npz").unlink()
    (fold / "model.keras").unlink()
    return out, published, lost


def test_continues_after_the_best_epoch_with_the_schedule_where_it_was(lost_run):
    out, published, lost = lost_run
    lost = lost["state"]
    best = lost["best_epoch"] + 1
    result = loop.train(_config(out, 6, recover_from=str(published)), verbose=0)
    fold = out / "fold_0"
    metrics, history = _history(fold)
    assert metrics["epochs_trained"] == 6 and len(history) == 6
    assert history[:best] == lost["history"][:best]  # kept as recorded
    # epoch `best + 1` starts with the learning rate an uninterrupted run would have had
    assert history[best]["learning_rate"] == pytest.approx(0.05 * 0.5 ** best, rel=1e-5)
    note = [n for n in metrics["notes"] if n.startswith("continued from")]
    assert len(note) == 1 and f"epoch {best}" in note[0]
    assert f"{4 - best} later epoch(s)" in note[0] and "zero momentum" in note[0]
    assert result.folds[0]["accuracy"] == metrics["accuracy"]
    # a second call finds the run finished; a third one with more epochs resumes normally
    state = checkpoint.read_checkpoint(fold / "checkpoint.npz")["state"]
    assert state["recovered"]["after_epoch"] == best
    loop.train(_config(out, 7, recover_from=str(published)), verbose=0)
    assert len(_history(fold)[1]) == 7


def test_momentum_restarts_at_zero_and_iterations_continue(lost_run, monkeypatch):
    out, published, lost = lost_run
    best = lost["state"]["best_epoch"] + 1
    steps = int(lost["optimizer"][0]) // 4  # optimizer.variables[0] is the iteration count

    def stop(*args, **kwargs):  # the recovered checkpoint is written before any epoch
        raise KeyboardInterrupt

    monkeypatch.setattr(keras_engine, "_run_epoch", stop)
    if best < 4:
        with pytest.raises(KeyboardInterrupt):
            loop.train(_config(out, 4, recover_from=str(published)), verbose=0)
    else:
        loop.train(_config(out, 4, recover_from=str(published)), verbose=0)
    saved = checkpoint.read_checkpoint(out / "fold_0" / "checkpoint.npz")
    assert int(saved["optimizer"][0]) == best * steps
    momentum = saved["optimizer"][1:]
    assert len(momentum) == len(lost["optimizer"]) - 1
    assert all(not np.any(m) for m in momentum)
    assert any(np.any(m) for m in lost["optimizer"][1:])


def test_discarded_epochs_count_history_beyond_a_stale_metrics_json(lost_run):
    """A session killed without writing metrics.json leaves history.csv ahead of it: the epochs
    a recovery discards are counted from the longer of the two."""
    out, published, lost = lost_run
    best = lost["state"]["best_epoch"] + 1
    metrics_path = out / "fold_0" / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    metrics["epochs_trained"] = best  # as if written when the best epoch was the last one
    metrics_path.write_text(json.dumps(metrics))
    recorded = lost["state"]["history"][best - 1]["val_accuracy"]
    state, _ = _recover_directly(_config(out, 6, recover_from=str(published)), out, recorded)
    assert state["recovered"]["discarded_epochs"] == 4 - best
    assert state["hardware"] == [{"first_epoch": 1, "summary": metrics["hardware"]["summary"]}]


def test_wrong_weights_are_refused(lost_run):
    out, published, _ = lost_run
    config = _config(out, 6, recover_from=str(published))
    with pytest.raises(recover.RecoveryError, match="not that epoch's weights"):
        _recover_directly(config, out, measured=0.0)


def test_a_model_of_another_architecture_is_refused(lost_run, tmp_path):
    out, _, _ = lost_run
    inputs = keras.Input((32, 32, 3))
    other = keras.Model(inputs, keras.layers.Dense(7, name="head")(
        keras.layers.GlobalAveragePooling2D()(inputs)))
    other.save(tmp_path / "other.keras")
    with pytest.raises(recover.RecoveryError, match="layer 'conv' is missing"):
        loop.train(_config(out, 6, recover_from=str(tmp_path / "other.keras")), verbose=0)


def test_another_configuration_or_dataset_is_refused(lost_run):
    out, published, _ = lost_run
    with pytest.raises(recover.RecoveryError, match="learning_rate=0.05.*learning_rate=0.1"):
        loop.train(_config(out, 6, recover_from=str(published), learning_rate=0.1), verbose=0)
    metrics = json.loads((out / "fold_0" / "metrics.json").read_text())
    with pytest.raises(recover.RecoveryError, match="fingerprint"):
        recover.check_compatible(_config(out, 6), metrics, "0000")


def test_missing_model_or_history_is_refused(lost_run, tmp_path):
    out, published, _ = lost_run
    with pytest.raises(recover.RecoveryError, match="no model.keras"):
        loop.train(_config(out, 6, recover_from=str(tmp_path / "nowhere")), verbose=0)
    (out / "fold_0" / "history.csv").unlink()
    with pytest.raises(recover.RecoveryError, match="history.csv is missing"):
        loop.train(_config(out, 6, recover_from=str(published)), verbose=0)


def test_init_and_recover_from_exclude_each_other(tmp_path):
    with pytest.raises(ValueError, match="exclude each other"):
        _config(tmp_path, 2, init="a.keras", recover_from="b.keras")


def test_hardware_summary_names_each_segment():
    state = {"epochs_done": 0}
    recover.note_session(state, "NVIDIA H200, jax")
    state["epochs_done"] = 10
    recover.note_session(state, "NVIDIA H200, jax")  # same machine kind: one segment
    state["epochs_done"] = 19
    recover.note_session(state, "CPU (2 cores), tensorflow")
    state["epochs_done"] = 50
    assert recover.hardware_summary(state, "CPU (2 cores), tensorflow") == (
        "NVIDIA H200, jax (epochs 1-19); CPU (2 cores), tensorflow (epochs 20-50)")
    assert recover.hardware_summary({"epochs_done": 3}, "CPU (2 cores), tensorflow") == (
        "CPU (2 cores), tensorflow")


def test_hardware_summary_unnests_the_summaries_of_earlier_recoveries():
    """Before recovered runs kept their segments, each recovery made the lost run's whole summary
    one segment, and the FER2013 paper row's metrics.json read as below (epochs 145-148 of the
    third part were discarded by the recovery after epoch 144)."""
    nested = ("NVIDIA H200, jax (epochs 1-19); CPU (2 cores), tensorflow (epochs 20-50) "
              "(epochs 1-50); CPU (2 cores), tensorflow (epochs 51-148)")
    state = {"epochs_done": 144, "hardware": [{"first_epoch": 1, "summary": nested}]}
    recover.note_session(state, "CPU (2 cores), tensorflow")
    state["epochs_done"] = 183
    expected = "NVIDIA H200, jax (epochs 1-19); CPU (2 cores), tensorflow (epochs 20-183)"
    assert recover.hardware_summary(state, "CPU (2 cores), tensorflow") == expected
    # a summary is parsed back into the segments it was made from, cut where a recovery resumed
    state = {"epochs_done": 40, "hardware": recover._clipped(recover._parsed(
        "A (epochs 1-19); B (epochs 20-50)"), 30)}
    assert state["hardware"] == [{"first_epoch": 1, "summary": "A"},
                                 {"first_epoch": 20, "summary": "B"}]
    recover.note_session(state, "A")
    assert state["hardware"][-1] == {"first_epoch": 41, "summary": "A"}
    state["epochs_done"] = 45
    assert recover.hardware_summary(state, "A") == (
        "A (epochs 1-19); B (epochs 20-40); A (epochs 41-45)")
    cut = recover._clipped(recover._parsed("A (epochs 1-19); B (epochs 20-50)"), 12)
    assert cut == [{"first_epoch": 1, "summary": "A"}]


def _recover_directly(config, out, measured):
    """`recovered_state` with a validation accuracy that is off by a lot."""
    from fer_keras.data import load_dataset, make_splits
    from fer_keras.models import create_model

    ds = load_dataset("synthetic", None, **config.dataset_options)
    make_splits(ds, config.protocol, seed=config.split_seed)
    model = create_model(config.model, input_shape=ds.image_shape[:2] + (3,),
                         num_classes=ds.num_classes)
    model.compile(optimizer=keras.optimizers.SGD(), loss="sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    return recover.recovered_state(config, out / "fold_0", model, model, 4,
                                   lambda: measured, ds.fingerprint())
