"""The JAX device engine (`--engine device`, fer_keras/training/jax_engine/): its batches are the
reference pipeline's, K models trained together equal K separate runs, a run stopped and resumed
ends where an uninterrupted one does, and its run folder has the loop's form.

Run under KERAS_BACKEND=jax (they skip otherwise); TensorFlow is not needed. Tiny models on
small synthetic data keep each test within about a minute on two CPU cores.
"""

import csv
import json

import numpy as np
import pytest

from backends import require_backend

keras = require_backend("jax")

from fer_keras.training import checkpoint, resolve_config, train  # noqa: E402
from fer_keras.training.jax_engine import data as device_data  # noqa: E402
from fer_keras.training.jax_engine import runner  # noqa: E402
from fer_keras.training.loop import TrainingDiverged  # noqa: E402

# A narrow WRN (Light-NTWRN's Table 5 base: basic blocks, dropout 0.3, so the dropout
# seed-generator state is trained too); few operations, so XLA compiles it quickly.
MODEL = "wrn"
TINY_MODEL = dict(widths=(8, 8, 8), depths=(1, 1, 1), stem_filters=8)
DATA = dict(num_examples=120, num_subjects=7, image_size=32)
KEYS = ("dataset", "model", "protocol", "fold", "seed", "epochs_trained", "split",
        "num_examples", "accuracy", "balanced_accuracy", "macro_f1", "per_class", "class_names",
        "confusion_matrix", "params", "config", "data_fingerprint", "package_version",
        "git_revision", "best_epoch", "validation")


def _config(out, **overrides):
    values = dict(output=str(out), epochs=2, batch_size=16, augment="erasing",
                  engine="device", protocol="subject_kfold", protocol_options={"num_folds": 3},
                  folds=[0], dataset_options=DATA, model_kwargs=TINY_MODEL)
    return resolve_config("synthetic", MODEL, **{**values, **overrides})


def _history(fold_dir):
    with open(fold_dir / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


def _weights(fold_dir):
    return checkpoint.read_checkpoint(fold_dir / checkpoint.FILENAME)["model"]


# === the batches ===
@pytest.mark.parametrize("policy", ["flip", "erasing"])
@pytest.mark.parametrize("drop_remainder", [True, False])
def test_device_batches_equal_the_reference_pipeline(policy, drop_remainder):
    import jax

    from fer_keras.data import iterate_batches, load_dataset
    from fer_keras.data.pipeline import resolve_augment

    ds = load_dataset("synthetic", **DATA)
    assert ds.boxes is not None  # the erasing is restricted to each face's box
    indices = np.arange(3, 100)
    layers = resolve_augment(policy)
    device = device_data.DeviceData(ds)
    gather = jax.jit(lambda idx, seeds: device_data.batch_inputs(
        device.images, idx, 3, layers, seeds, device.boxes))
    for epoch in (0, 3):
        idx, seeds, rest = device_data.epoch_batches(indices, 16, 7, epoch, len(layers),
                                                     drop_remainder)
        batches = [(i, s) for i, s in zip(idx, seeds)] + ([rest] if rest else [])
        reference = list(iterate_batches(ds, indices, 16, True, channels=3, augment=policy,
                                         seed=7, epoch=epoch, drop_remainder=drop_remainder))
        assert len(batches) == len(reference) == (6 if drop_remainder else 7)
        for (i, s), (x, y) in zip(batches, reference):
            np.testing.assert_array_equal(ds.labels[i], y)
            # Pixels agree to float rounding of the noise fill; a different flip or erasing
            # rectangle would differ by up to 255.
            np.testing.assert_allclose(np.asarray(gather(i, s)), x, atol=1e-3)


def test_stacked_epochs_pad_and_mask_shorter_folds():
    a = device_data.epoch_batches(np.arange(50), 8, 0, 0, 2, True)
    b = device_data.epoch_batches(np.arange(30), 8, 1, 0, 2, True)
    idx, seeds, active = device_data.stack_epochs([a[:2], b[:2]])
    assert idx.shape == (6, 2, 8) and seeds.shape == (6, 2, 8, 2)
    assert active[:, 0].all() and active[:, 1].tolist() == [True] * 3 + [False] * 3
    np.testing.assert_array_equal(idx[:3, 1], b[0])


# === many models at once ===
def test_folds_trained_together_equal_separate_runs(tmp_path):
    together = _config(tmp_path / "together", folds=[0, 1, 2], models_together=0)
    alone = _config(tmp_path / "alone", folds=[0, 1, 2], models_together=1)
    train(together, verbose=0)
    train(alone, verbose=0)
    for k in range(3):
        a, b = tmp_path / "together" / f"fold_{k}", tmp_path / "alone" / f"fold_{k}"
        for x, y in zip(_weights(a), _weights(b)):
            np.testing.assert_allclose(x, y, atol=1e-4, rtol=1e-4)
        for row_a, row_b in zip(_history(a), _history(b), strict=True):
            for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
                assert float(row_a[key]) == pytest.approx(float(row_b[key]), abs=1e-4), key
    metrics = [json.loads((tmp_path / "together" / f"fold_{k}" / "metrics.json").read_text())
               for k in range(3)]
    assert len({m["validation"]["num_examples"] for m in metrics}) > 1  # folds of other sizes


# === resume, time limit, NaN stop, artifacts ===
def test_stopped_killed_and_resumed_run_ends_with_the_uninterrupted_weights(tmp_path,
                                                                            monkeypatch):
    train(_config(tmp_path / "full", epochs=3), verbose=0)
    # 1. the time limit passes during epoch 1 (the check before the fold starts says not yet)
    checks = []
    monkeypatch.setattr(runner, "_past", lambda deadline: checks.append(deadline) or
                        len(checks) > 1)
    first = train(_config(tmp_path / "cut", epochs=3, time_limit=3600), verbose=0).folds[0]
    assert first["epochs_trained"] == 1 and len(checks) == 2
    assert any("time limit" in note for note in first["notes"])
    monkeypatch.undo()
    # 2. resumed, and killed after epoch 2's checkpoint
    real = runner._finish_epoch

    def killed_after_epoch_2(*args):
        real(*args)
        if args[2].state["epochs_done"] == 2:
            raise KeyboardInterrupt  # the process dies after epoch 2's checkpoint

    monkeypatch.setattr(runner, "_finish_epoch", killed_after_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train(_config(tmp_path / "cut", epochs=3), verbose=0)
    assert checkpoint.read_checkpoint(tmp_path / "cut" / "fold_0" / checkpoint.FILENAME)[
        "state"]["epochs_done"] == 2
    monkeypatch.setattr(runner, "_finish_epoch", real)
    # 3. resumed to the end
    assert train(_config(tmp_path / "cut", epochs=3), verbose=0).folds[0]["epochs_trained"] == 3
    for x, y in zip(_weights(tmp_path / "full" / "fold_0"), _weights(tmp_path / "cut" / "fold_0")):
        np.testing.assert_allclose(x, y, atol=1e-5, rtol=1e-5)
    assert float(_history(tmp_path / "full" / "fold_0")[2]["loss"]) == pytest.approx(
        float(_history(tmp_path / "cut" / "fold_0")[2]["loss"]), abs=1e-5)


def test_run_folder_has_the_loops_form(tmp_path):
    result = train(_config(tmp_path, augment="flip", class_weight="balanced"), verbose=0)
    fold = tmp_path / "fold_0"
    metrics = json.loads((fold / "metrics.json").read_text())
    assert set(KEYS) <= set(metrics) and result.folds[0]["accuracy"] == metrics["accuracy"]
    assert metrics["epochs_trained"] == 2 and 1 <= metrics["best_epoch"] <= 2
    assert sum(map(sum, metrics["confusion_matrix"])) == metrics["num_examples"]
    history = _history(fold)
    assert list(history[0]) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy",
                                "val_balanced_accuracy", "time_s", "learning_rate"]
    assert len(history) == 2 and all(np.isfinite(float(r["loss"])) for r in history)
    for name in ("model.keras", "confusion_matrix.png", "curves.png", "checkpoint.npz"):
        assert (fold / name).exists(), name
    assert not [p.name for p in fold.iterdir() if p.name.startswith(".")]
    model = keras.saving.load_model(fold / "model.keras", safe_mode=True)
    assert model.output_shape == (None, 7)
    # The checkpoint is the loop's: the loop's train_fold resumes it (here: finds it finished).
    saved = checkpoint.read_checkpoint(fold / "checkpoint.npz")
    assert saved["state"]["epochs_done"] == 2 and len(saved["best"]) == len(model.weights)
    again = train(_config(tmp_path, augment="flip", class_weight="balanced", engine="loop"),
                  verbose=0)
    assert again.folds[0]["accuracy"] == metrics["accuracy"]


def test_validation_none_and_test_each_epoch(tmp_path):
    """The papers'-practice options as the loop honours them (tests/test_papers_practice.py):
    no validation -> the last epoch; test accuracy per epoch, for reporting only."""
    options = {"num_folds": 3, "validation": "none"}
    metrics = train(_config(tmp_path, augment="none", protocol_options=options,
                            test_each_epoch=True), verbose=0).folds[0]
    assert metrics["selection"] == "last_epoch" and metrics["best_epoch"] == 2
    assert metrics["validation"] is None
    assert metrics["accuracy"] == pytest.approx(metrics["last_epoch_test_accuracy"], abs=1e-6)
    history = _history(tmp_path / "fold_0")
    assert "test_accuracy" in history[0] and len(history) == 2
    assert float(history[1]["test_accuracy"]) == pytest.approx(metrics["accuracy"], abs=1e-6)
    assert 1 <= metrics["peak_test_epoch"] <= 2


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real = runner._epoch_round

    def poisoned(program, state, device, members, num_layers):
        epoch = members[0].state["epochs_done"]
        state, results = real(program, state, device, members, num_layers)
        if epoch == 1:  # the second epoch's first batch
            total, correct, seen, _, lr = results[0]
            results[0] = (float("nan"), correct, seen, 0, lr)
        return state, results

    monkeypatch.setattr(runner, "_epoch_round", poisoned)
    with pytest.raises(TrainingDiverged, match="loss became nan at epoch 2, batch 1"):
        train(_config(tmp_path, epochs=3, augment="none"), verbose=0)
    saved = checkpoint.read_checkpoint(tmp_path / "fold_0" / "checkpoint.npz")
    assert saved["state"]["epochs_done"] == 1
    assert not (tmp_path / "fold_0" / "model.keras").exists()


def test_non_finite_weights_stop_before_the_epoch_is_saved_and_a_lower_rate_continues(
        tmp_path, monkeypatch):
    """Issue 21 in the device engine: a finite loss with NaN weights is caught before the
    epoch is selected or checkpointed; the rerun at a lower rate continues from the last good
    epoch and records the change (`finite.check_epoch`, `resume_rules.start_training`)."""
    real = runner._epoch_round

    def poisoned(program, state, device, members, num_layers):
        epoch = members[0].state["epochs_done"]
        state, results = real(program, state, device, members, num_layers)
        if epoch == 1:
            trainable = list(state[0])
            trainable[0] = trainable[0] * float("nan")
            state = (trainable, state[1], state[2])
        return state, results

    monkeypatch.setattr(runner, "_epoch_round", poisoned)
    config = _config(tmp_path, epochs=3, augment="none")
    with pytest.raises(TrainingDiverged, match="non-finite .*after epoch 2.*--learning-rate"):
        train(config, verbose=0)
    fold = tmp_path / "fold_0"
    saved = checkpoint.read_checkpoint(fold / "checkpoint.npz")
    assert saved["state"]["epochs_done"] == 1 and (fold / "diverged.json").exists()
    assert all(np.isfinite(w).all() for w in saved["model"])
    monkeypatch.setattr(runner, "_epoch_round", real)
    metrics = train(_config(tmp_path, epochs=3, augment="none",
                            learning_rate=config.learning_rate / 10), verbose=0).folds[0]
    assert metrics["epochs_trained"] == 3 and not (fold / "diverged.json").exists()
    change = metrics["resume_changes"][0]
    assert change["field"] == "learning_rate" and change["after_epoch"] == 1


# === wiring ===
def test_engine_choice(monkeypatch):
    from fer_keras.training import device

    config = resolve_config("synthetic", "i_mobilenetv2")
    monkeypatch.setattr(device, "has_gpu", lambda: False)
    assert device.resolve_engine(config) == "loop"
    monkeypatch.setattr(device, "has_gpu", lambda: True)
    assert device.resolve_engine(config) == "device"
    config.engine = "loop"
    assert device.resolve_engine(config) == "loop"
    config.engine = "device"
    monkeypatch.setattr(device.keras.backend, "backend", lambda: "tensorflow")
    with pytest.raises(ValueError, match="needs the JAX backend"):
        device.resolve_engine(config)
    with pytest.raises(ValueError, match="models_together"):
        resolve_config("synthetic", "i_mobilenetv2", models_together=-1)


def test_models_together_defaults_to_all_on_a_gpu_and_one_at_a_time_on_cpu(monkeypatch):
    from fer_keras.training import device

    for gpu, expected in ((True, 10), (False, 1)):
        monkeypatch.setattr(device, "has_gpu", lambda: gpu)
        assert runner.models_together(None, 10) == expected
        assert runner.models_together(0, 10) == 10  # explicit: all, on either
        assert runner.models_together(3, 10) == 3
    assert resolve_config("synthetic", "i_mobilenetv2").models_together is None


def test_engine_throughput_reports_its_keys():
    from fer_keras.training.jax_engine import engine_throughput

    out = engine_throughput(MODEL, 8, num_models=2, steps=2, model_kwargs=TINY_MODEL,
                            input_shape=(32, 32, 3), repeats=1)
    assert out["num_models"] == 2 and out["steps"] == 2 and out["images_per_s"] > 0
    assert out["compile_s"] > 0 and isinstance(out["device"], str)


def test_benchmark_raw_step_rate_needs_no_tensorflow():
    """`benchmark --training` under JAX without TensorFlow (the H200's setup): the raw-step
    batch comes from the NumPy pipeline (it used `make_tf_dataset` and failed there)."""
    from fer_keras.benchmark.training_speed import engine_rates

    rates = engine_rates("i_mobilenetv2", batch_size=4, num_examples=8,
                         model_kwargs=dict(alpha=0.35, scale_top_stage=True))
    assert rates["raw"] > 0 and rates["loop"] is None and rates["fit"] is None
