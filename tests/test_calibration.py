"""Probabilities that mean what they say, and can abstain (issue 30, item 3): temperature
scaling (Guo et al. 2017) fitted on synthetic logits of a known temperature, ECE re-derived by
hand, abstention exact at the threshold, the Predictor and `predict --min-confidence`, the
training hook, and the published models' temperatures."""

import io
import json

import numpy as np
import pytest

from conftest import ROOT
from fer_keras.training.calibration import (
    BINS, UNCERTAIN, abstain, apply_temperature, calibrate, expected_calibration_error,
    fit_temperature, negative_log_likelihood, reliability, reliability_diagram,
)

MODELS_DIR = ROOT / "saved_models"
PUBLISHED = sorted(p.name for p in MODELS_DIR.iterdir()
                   if (p / "metrics.json").is_file()) if MODELS_DIR.is_dir() else []


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sampled(n=20000, k=7, scale=1.5, seed=0):
    """Logits and labels drawn from softmax(logits): softmax(logits) is calibrated exactly."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, scale, (n, k))
    p = softmax(logits)
    labels = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return logits, labels


# === Temperature scaling ===
@pytest.mark.parametrize("true_t", [0.5, 2.0, 5.0])
def test_the_fitted_temperature_recovers_a_known_one(true_t):
    """Labels drawn from softmax(z), the model reporting softmax(z / true_t): the fitted T
    undoes the division, T = 1 / true_t."""
    logits, labels = sampled()
    reported = softmax(logits / true_t)
    t = fit_temperature(labels, reported)
    assert 1 / t == pytest.approx(true_t, rel=0.05)


def test_calibration_lowers_ece_on_an_over_confident_model():
    logits, labels = sampled()
    overconfident = softmax(5 * logits)  # logits scaled x5
    result = calibrate(labels, overconfident)
    assert result["temperature"] == pytest.approx(5, rel=0.05)
    assert result["ece_before"] > 0.15
    assert result["ece_after"] < 0.02 < result["ece_before"] / 10
    assert result["nll_after"] < result["nll_before"]
    # the accuracy (argmax) does not change
    after = apply_temperature(overconfident, result["temperature"])
    np.testing.assert_array_equal(after.argmax(1), overconfident.argmax(1))
    # an already calibrated model keeps T near 1 and its ECE
    calibrated = calibrate(labels, softmax(logits))
    assert calibrated["temperature"] == pytest.approx(1, abs=0.05)


def test_apply_temperature_is_the_softmax_of_log_p_over_t():
    p = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    t = 2.0
    by_hand = np.sqrt(p) / np.sqrt(p).sum(axis=1, keepdims=True)  # p^(1/2), renormalised
    np.testing.assert_allclose(apply_temperature(p, t), by_hand, rtol=1e-12)
    np.testing.assert_allclose(apply_temperature(p, 1.0), p, rtol=1e-12)
    assert negative_log_likelihood([0, 2], p) == pytest.approx(-np.mean(np.log([0.7, 0.5])))
    with pytest.raises(ValueError, match="positive"):
        apply_temperature(p, 0)
    with pytest.raises(ValueError, match="labels"):
        fit_temperature([], np.zeros((0, 3)))


def test_ece_by_hand():
    # top probabilities 0.9, 0.9 (bin 13: (13/15, 14/15]) and 0.5 (bin 7: (7/15, 8/15])
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.5, 0.5]])
    labels = np.array([0, 1, 0])
    r = reliability(labels, p)
    assert r["count"][13] == 2 and r["count"][7] == 1 and r["count"].sum() == 3
    # bin 13: accuracy 1/2, confidence 0.9; bin 7: accuracy 1 (argmax 0 == 0), confidence 0.5
    assert expected_calibration_error(labels, p) == pytest.approx(
        (2 * abs(0.5 - 0.9) + 1 * abs(1 - 0.5)) / 3)
    assert BINS == 15
    # a confidence exactly on a bin edge belongs to the bin below: (b / 15, (b + 1) / 15]
    edge = np.array([[1 / 3, 1 / 3, 1 / 3]])
    assert reliability([0], edge)["count"][4] == 1


def test_the_reliability_figure_is_written(tmp_path):
    logits, labels = sampled(n=500)
    reliability_diagram(labels, softmax(3 * logits), 3.0, tmp_path / "reliability.png", "t")
    assert (tmp_path / "reliability.png").read_bytes()[:4] == b"\x89PNG"


# === Abstention ===
def test_abstention_is_exact_at_the_threshold():
    record = {"label": "happy", "score": 0.5, "probabilities": {"happy": 0.5, "sad": 0.5}}
    at = abstain(record, 0.5)
    assert at["label"] == "happy" and at["raw_label"] == "happy" and at["uncertain"] is False
    above = abstain(record, np.nextafter(0.5, 1))
    assert above["label"] == UNCERTAIN and above["raw_label"] == "happy"
    assert above["uncertain"] is True and above["score"] == 0.5
    assert abstain(record, None) is record
    assert abstain(record, 0.0)["label"] == "happy"


def _loaded(probs, info=None):
    from fer_keras.inference.loading import LoadedModel

    probs = np.asarray(probs, np.float32)
    return LoadedModel(predict=lambda x: np.repeat(probs[None], len(x), 0),
                       input_shape=(48, 48, 1), class_names=("happy", "sad", "fear"),
                       class_names_source="test", dataset="fer2013", info=info or {})


def test_the_predictor_abstains_exactly_at_min_confidence_and_applies_the_temperature():
    from fer_keras.inference.predictor import Predictor

    face = [np.zeros((48, 48), np.uint8)]
    probs = [0.5, 0.25, 0.25]  # exact in float32
    at = Predictor(_loaded(probs), min_confidence=0.5).predict_faces(face)[0]
    assert at["label"] == "happy" and at["score"] == 0.5 and at["uncertain"] is False
    below = Predictor(_loaded(probs), min_confidence=0.5000001).predict_faces(face)[0]
    assert below["label"] == UNCERTAIN and below["raw_label"] == "happy"
    assert "raw_label" not in Predictor(_loaded(probs)).predict_faces(face)[0]

    fitted = {"calibration": {"temperature": 2.0}}
    hot = Predictor(_loaded(probs, fitted))
    assert hot.temperature == 2.0
    np.testing.assert_allclose(hot.predict_proba(np.zeros((1, 48, 48, 1))),
                               apply_temperature(np.array([probs]), 2.0), rtol=1e-6)
    assert Predictor(_loaded(probs, fitted), temperature=1.0).predict_faces(face)[0][
        "score"] == 0.5
    with pytest.raises(ValueError, match="min_confidence"):
        Predictor(_loaded(probs), min_confidence=1.5)


def test_predict_prints_uncertain_with_the_raw_label(tmp_path):
    """`predict --min-confidence` on a model whose temperature (100) makes every answer nearly
    uniform: label "uncertain", the top class as raw_label; --temperature 1 and P 0 answer."""
    import cv2

    from fer_keras import predict
    from inference_fixtures import write_fold
    from test_train_time_limit import tiny_model  # one convolution: loads in a second

    fold = write_fold(tmp_path / "fold_0", tiny_model())
    metrics = json.loads((fold / "metrics.json").read_text())
    metrics["calibration"] = {"temperature": 100.0}
    (fold / "metrics.json").write_text(json.dumps(metrics))
    face = tmp_path / "face.png"
    cv2.imwrite(str(face), np.random.default_rng(0).integers(0, 256, (48, 48), np.uint8))

    def run(*flags):
        out, err = io.StringIO(), io.StringIO()
        code = predict.main([str(face), "--model", str(fold), "--detector", "none", *flags],
                            out, err)
        assert code == 0, err.getvalue()
        return json.loads(out.getvalue().splitlines()[0])

    row = run("--min-confidence", "0.5")
    top = max(row["probabilities"], key=row["probabilities"].get)
    assert row["label"] == "uncertain" and row["raw_label"] == top and row["uncertain"] is True
    assert row["score"] < 0.5
    raw = run("--temperature", "1", "--min-confidence", "0")
    assert raw["label"] == raw["raw_label"] == top and raw["uncertain"] is False
    assert raw["score"] > row["score"]  # T = 100 flattened the probabilities
    out, err = io.StringIO(), io.StringIO()
    assert predict.main([str(face), "--model", str(fold), "--min-confidence", "2"], out,
                        err) == 2
    assert "--min-confidence must be a probability" in err.getvalue()


# === Where temperatures come from ===
def test_training_fits_the_temperature_on_the_validation_split(tmp_path, monkeypatch,
                                                                capsys):
    pytest.importorskip("tensorflow")
    import fer_keras.models
    from fer_keras.training import train
    from fer_keras.training.config import resolve_config
    from test_train_time_limit import DATA, tiny_model

    monkeypatch.setattr(fer_keras.models, "create_model", tiny_model)
    config = resolve_config("synthetic", "i_mobilenetv2", output=str(tmp_path / "run"),
                            **{**DATA, "epochs": 1})
    metrics = train(config, verbose=0).folds[0]
    c = metrics["calibration"]
    assert c["split"] == "val" and c["num_examples"] == metrics["validation"]["num_examples"]
    assert c["temperature"] > 0 and c["nll_after"] <= c["nll_before"] + 1e-9
    assert c["nll_before"] == pytest.approx(metrics["validation"]["loss"], abs=1e-4)
    assert c["test"]["num_examples"] == metrics["num_examples"]
    assert (tmp_path / "run" / "fold_0" / "reliability.png").is_file()
    fold = tmp_path / "run" / "fold_0"
    saved = json.loads((fold / "metrics.json").read_text())
    assert saved["calibration"]["temperature"] == c["temperature"]
    # python -m fer_keras.calibrate on the fold refits the same T from the saved model
    from fer_keras import calibrate

    assert calibrate.main(["--model", str(fold), "--json", "--figure",
                           str(tmp_path / "r.png")]) == 0
    refit = json.loads(capsys.readouterr().out)
    assert refit["temperature"] == pytest.approx(c["temperature"], rel=1e-3)
    split = ("dataset", "protocol", "fold", "split_seed")  # named as calibrate names them
    assert [c[k] for k in split] == [refit[k] for k in split] == [metrics[k] for k in split]
    assert refit["test"]["num_examples"] == c["test"]["num_examples"]
    assert (tmp_path / "r.png").is_file()
    assert calibrate.main(["--model", str(tmp_path / "run")]) == 2
    assert "is a run folder: calibrate one fold" in capsys.readouterr().err


def test_publishing_names_the_split_of_a_runs_temperature(tmp_path):
    """A fold trained before training named its calibration split is published with it (the
    campaign publishes runs started by older code)."""
    pytest.importorskip("tensorflow")
    from fer_keras.reproduce.cards import publish
    from inference_fixtures import tiny_model

    fold = tmp_path / "run" / "fold_0"
    fold.mkdir(parents=True)
    tiny_model(seed=1).save(fold / "model.keras")
    (fold / "history.csv").write_text("epoch,accuracy\n1,0.5\n")
    m = {"model": "i_mobilenetv2", "dataset": "fer2013", "protocol": "official", "fold": 0,
         "split_seed": 3, "protocol_notes": [], "params": 1, "seed": 0, "best_epoch": 1,
         "epochs_trained": 1, "split": "val", "num_examples": 7, "accuracy": 0.5,
         "balanced_accuracy": 0.5, "macro_f1": 0.5, "per_class": {},
         "class_names": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
         "config": {"epochs": 1, "batch_size": 2, "optimizer": "sgd", "learning_rate": 0.1,
                    "momentum": 0.9, "weight_decay": 0.0, "augment": "flip"},
         "calibration": {"temperature": 1.5, "split": "val", "num_examples": 7, "bins": 15,
                         "ece_before": 0.1, "ece_after": 0.1, "nll_before": 1.0,
                         "nll_after": 0.9}}
    (fold / "metrics.json").write_text(json.dumps(m))
    target = publish(fold, "tiny_fer2013", tmp_path / "models")
    c = json.loads((target / "metrics.json").read_text())["calibration"]
    assert (c["dataset"], c["protocol"], c["fold"], c["split_seed"]) == ("fer2013", "official",
                                                                        0, 3)
    assert c["temperature"] == 1.5 and (target / "saved_model" / "saved_model.pb").is_file()
    card = (target / "README.md").read_text()
    assert "temperature 1.500, fitted on the validation split" in card


@pytest.mark.skipif(not PUBLISHED, reason="no published models")
@pytest.mark.parametrize("name", PUBLISHED)
def test_published_models_carry_the_temperature_fitted_on_their_validation_split(name):
    m = json.loads((MODELS_DIR / name / "metrics.json").read_text())
    c = m["calibration"]
    assert 0.05 < c["temperature"] < 20
    assert c["split"] == "val" and c["num_examples"] == m["validation"]["num_examples"]
    assert (c["dataset"], c["protocol"], c["fold"]) == (m["dataset"], m["protocol"], m["fold"])
    # the same loss as training measured (models trained on a GPU differ by about 1e-4)
    assert c["nll_before"] == pytest.approx(m["validation"]["loss"], rel=1e-3)
    assert c["nll_after"] <= c["nll_before"]
    card = (MODELS_DIR / name / "README.md").read_text()
    assert f"temperature {c['temperature']:.3f}" in card
    assert (ROOT / "docs" / "figures" / f"calibration-{name}.png").is_file()
    # docs/deployment.md's table states the stored numbers
    doc = (ROOT / "docs" / "deployment.md").read_text()
    row = next(line for line in doc.splitlines() if line.startswith(f"| [`{name}`]"))
    assert (f"| {c['temperature']:.3f} | {c['ece_before'] * 100:.2f} -> "
            f"{c['ece_after'] * 100:.2f} |") in row


def test_the_predictor_applies_a_published_temperature():
    from fer_keras.inference.loading import artifact_info
    from fer_keras.pretrained import PACKAGE_DIR

    packaged = json.loads((PACKAGE_DIR / "i_mobilenetv2_fer2013" / "model_info.json").read_text())
    assert 0.05 < packaged["calibration"]["temperature"] < 20
    for name in PUBLISHED:
        info = artifact_info(MODELS_DIR / name / "model.keras")
        assert info["calibration"]["temperature"] > 0, name
