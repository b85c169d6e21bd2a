"""End-to-end training on synthetic faces: accuracy, every artifact, SavedModel == .keras,
`evaluate` reproduces metrics.json, a finished run is not redone, NaN stops the run.

A tiny, short run is trained once per module for the artifact checks; the accuracy check runs
the synthetic demo preset itself and is marked slow (about 2-3 minutes on 2 CPU cores).
"""

import json
import math

import numpy as np
import pytest

from backends import require_backend

keras = require_backend("tensorflow", "the end-to-end tests run on the TensorFlow backend")

from fer_keras.training import artifacts, keras_engine, loop  # noqa: E402
from fer_keras.training.config import resolve_config  # noqa: E402

TINY = dict(model_kwargs=dict(alpha=0.35, scale_top_stage=True), epochs=2,
            dataset_options=dict(num_examples=280, image_size=32))
KEYS = ("dataset", "model", "protocol", "fold", "seed", "epochs_trained", "split",
        "num_examples", "accuracy", "balanced_accuracy", "macro_f1", "per_class", "class_names",
        "confusion_matrix", "params", "config", "data_fingerprint", "package_version",
        "git_revision")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "run"
    config = resolve_config("synthetic", "i_mobilenetv2", output=str(out), **TINY)
    result = loop.train(config, verbose=0)
    return result, out / "fold_0"


@pytest.mark.slow
def test_demo_preset_reaches_80_percent_on_the_test_split(tmp_path):
    config = resolve_config("synthetic", "i_mobilenetv2", output=str(tmp_path))
    metrics = loop.train(config, verbose=0).folds[0]
    assert metrics["split"] == "test" and metrics["num_examples"] == 280
    assert metrics["accuracy"] >= 0.8, metrics["accuracy"]


def test_writes_every_artifact(run):
    result, fold = run
    metrics = json.loads((fold / "metrics.json").read_text())
    assert set(KEYS) <= set(metrics)
    assert metrics["epochs_trained"] == metrics["config"]["epochs"]
    assert 1 <= metrics["best_epoch"] <= metrics["epochs_trained"]
    assert sum(map(sum, metrics["confusion_matrix"])) == metrics["num_examples"]
    n = metrics["num_examples"]
    assert math.isclose(metrics["accuracy"], np.trace(metrics["confusion_matrix"]) / n)
    for name in ("model.keras", "saved_model/saved_model.pb", "confusion_matrix.png",
                 "curves.png", "history.csv", "checkpoint.npz"):
        assert (fold / name).exists(), name
    assert any((fold / "logs").iterdir())  # TensorBoard events
    assert (fold / "history.csv").read_text().count("\n") == metrics["epochs_trained"] + 1
    history = artifacts.read_history_csv(fold / "history.csv")
    assert [r["epoch"] for r in history] == list(range(1, metrics["epochs_trained"] + 1))
    best = max(history, key=lambda r: r["val_accuracy"])  # the console's and metrics' numbering
    assert metrics["best_epoch"] == best["epoch"]
    assert (fold / "history.csv").read_text().splitlines()[1].startswith("1,")
    assert (result.run_dir / "config.json").exists()
    assert not [p.name for p in fold.iterdir() if p.name.startswith(".")]  # no temp files
    assert (fold / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_saved_model_agrees_with_keras_model(run):
    from fer_keras.data import load_dataset
    from fer_keras.inference.loading import load_model

    _, fold = run
    x = np.repeat(load_dataset("synthetic", **TINY["dataset_options"]).images[:16].astype(np.float32), 3, axis=-1)
    keras_model = load_model(fold / "model.keras")
    saved_model = load_model(fold / "saved_model")
    assert saved_model.format == "saved_model"
    p = saved_model.predict(x)
    np.testing.assert_allclose(p, keras_model.predict(x), atol=1e-5)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, atol=1e-5)


def test_evaluate_reproduces_metrics_json(run, capsys):
    from fer_keras import evaluate

    _, fold = run
    metrics = json.loads((fold / "metrics.json").read_text())
    assert evaluate.main(["--model", str(fold / "saved_model"), "--dataset", "synthetic",
                          "--split", "test", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "confusion_matrix", "per_class",
                "num_examples", "data_fingerprint", "protocol", "fold", "params"):
        assert out[key] == metrics[key], key
    val = evaluate.evaluate_model(fold / "model.keras", split="val")  # dataset from the run
    assert math.isclose(val["accuracy"], metrics["validation"]["accuracy"])


def test_evaluate_writes_a_plot_only_where_asked(run, tmp_path, capsys):
    from fer_keras import evaluate

    _, fold = run
    before = sorted(p.name for p in fold.rglob("*"))
    assert evaluate.main(["--model", str(fold)]) == 0
    assert "confusion matrix:" not in capsys.readouterr().out
    assert sorted(p.name for p in fold.rglob("*")) == before  # nothing written beside the model
    plot = tmp_path / "cm.png"
    assert evaluate.main(["--model", str(fold), "--plot", str(plot)]) == 0
    assert f"confusion matrix: {plot}" in capsys.readouterr().out
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_evaluate_over_folds_summarises(run, tmp_path, capsys):
    import shutil

    from fer_keras import evaluate

    _, fold = run
    for k in (0, 1):
        shutil.copytree(fold, tmp_path / f"fold_{k}", ignore=shutil.ignore_patterns(
            "saved_model", "logs", "checkpoint.npz"))
    results, summary = evaluate.evaluate_run(tmp_path)
    assert len(results) == 2 and summary["accuracy"]["std"] == 0.0
    assert evaluate.main(["--model", str(tmp_path)]) == 0
    assert "mean +- std" in capsys.readouterr().out


def test_finished_run_is_not_redone(run, monkeypatch):
    result, _ = run
    monkeypatch.setattr(keras_engine, "_run_epoch", lambda *a, **k: pytest.fail("trained again"))
    config = resolve_config("synthetic", "i_mobilenetv2", output=str(result.run_dir), **TINY)
    again = loop.train(config, verbose=0)
    assert again.folds[0]["accuracy"] == result.folds[0]["accuracy"]
    other = resolve_config("synthetic", "i_mobilenetv2", output=str(result.run_dir),
                           learning_rate=0.5, **TINY)
    with pytest.raises(ValueError, match="another configuration"):
        loop.train(other, verbose=0)


@pytest.mark.slow
def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    from fer_keras.training import checkpoint

    real_step, calls = keras_engine.train_step, []

    def step(*args):
        calls.append(1)
        loss, acc = real_step(*args)
        return (float("nan"), acc) if len(calls) > 5 else (loss, acc)  # epoch 2 of 5 batches

    monkeypatch.setattr(keras_engine, "train_step", step)
    small = {**TINY, "epochs": 3, "dataset_options": dict(num_examples=210, image_size=32)}
    config = resolve_config("synthetic", "i_mobilenetv2", output=str(tmp_path), **small)
    with pytest.raises(loop.TrainingDiverged, match="loss became nan at epoch 2, batch 1"):
        loop.train(config, verbose=0)
    saved = checkpoint.read_checkpoint(tmp_path / "fold_0" / "checkpoint.npz")
    assert saved["state"]["epochs_done"] == 1
    assert not (tmp_path / "fold_0" / "model.keras").exists()


def test_balanced_class_weights():
    config = resolve_config("synthetic", "i_mobilenetv2", class_weight="balanced")
    w = keras_engine.class_weights(config, np.array([0, 0, 0, 1]), 3)
    np.testing.assert_allclose(w, [4 / 9, 4 / 3, 0.0])
    assert keras_engine.class_weights(resolve_config("synthetic", "i_mobilenetv2"), [0], 3) is None
