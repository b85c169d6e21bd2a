"""`weights=` on the builders and `create_model`, the published-model lookup order, and the
float16 I-MobileNetV2 for FER2013 shipped inside the package (fer_keras/pretrained)."""

import json

import numpy as np
import pytest

import fer_keras
from fer_keras import pretrained
from fer_keras.inference import Predictor
from fer_keras.training.calibration import apply_temperature
from inference_fixtures import CLASS_NAMES, tiny_model, write_fold

pytestmark = pytest.mark.tf
TINY = dict(alpha=0.35, scale_top_stage=True, input_shape=(48, 48, 1))
PACKAGED = pretrained.PACKAGE_DIR / "i_mobilenetv2_fer2013"


def same_weights(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model saved as a fold folder (model.keras) and as a bare .weights.h5 file."""
    root = tmp_path_factory.mktemp("weights")
    model = tiny_model(seed=3)
    write_fold(root / "fold", model)
    model.save_weights(root / "bare.weights.h5")
    return model, root


@pytest.fixture
def only_package(monkeypatch, tmp_path):
    """Published models found in the installed package only (no checkout, no env folder)."""
    monkeypatch.delenv(pretrained.MODELS_ENV, raising=False)
    monkeypatch.setattr(pretrained, "CHECKOUT_DIR", tmp_path / "no_checkout")


def test_weights_from_keras_and_weights_h5_files(trained):
    model, root = trained
    for path in (root / "fold" / "model.keras", root / "bare.weights.h5"):
        assert same_weights(fer_keras.create_model("i_mobilenetv2", weights=path, **TINY), model)
    assert same_weights(fer_keras.i_mobilenetv2(weights=str(root / "bare.weights.h5"),
                                                **TINY), model)


def test_weights_none_is_random_and_bad_values_say_what_is_accepted(trained, tmp_path):
    _, root = trained
    with pytest.raises(ValueError, match="no such file"):
        fer_keras.i_mobilenetv2(weights=tmp_path / "missing.weights.h5", **TINY)
    (tmp_path / "w.npz").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"expected a \.keras or \.weights\.h5"):
        fer_keras.i_mobilenetv2(weights=tmp_path / "w.npz", **TINY)
    with pytest.raises(ValueError, match="weights must be None"):
        fer_keras.i_mobilenetv2(weights=3, **TINY)
    # The right shapes but another architecture (alpha 0.75): the load error names the file.
    with pytest.raises(ValueError, match="does not fit the architecture"):
        fer_keras.i_mobilenetv2(input_shape=(48, 48, 1), weights=root / "bare.weights.h5")


def test_unknown_dataset_lists_the_published_models_and_where_it_looked(only_package):
    with pytest.raises(ValueError) as info:
        fer_keras.light_ntwrn(weights="fer2013")
    message = str(info.value)
    assert "no published light_ntwrn model 'light_ntwrn_fer2013'" in message
    assert "i_mobilenetv2_fer2013" in message and str(pretrained.PACKAGE_DIR) in message
    with pytest.raises(ValueError, match="holds i_mobilenetv2 weights, not light_ntwrn"):
        fer_keras.light_ntwrn(weights="i_mobilenetv2_fer2013")


def test_input_shape_or_classes_unlike_the_published_model_are_named(only_package):
    with pytest.raises(ValueError, match=r"input_shape=\(48, 48, 3\) and num_classes=7"):
        fer_keras.i_mobilenetv2(input_shape=(48, 48, 1), weights="fer2013")
    with pytest.raises(ValueError, match=r"num_classes=7; .* num_classes=8"):
        fer_keras.create_model("i_mobilenetv2", num_classes=8, weights="fer2013")


def test_lookup_order_env_then_checkout_then_package(trained, tmp_path, monkeypatch):
    _, root = trained
    env = tmp_path / "env"
    write_fold(env / "i_mobilenetv2_fer2013", tiny_model())
    monkeypatch.setenv(pretrained.MODELS_ENV, str(env))
    monkeypatch.setattr(pretrained, "CHECKOUT_DIR", tmp_path / "checkout")
    assert pretrained.find_published("i_mobilenetv2_fer2013") == env / "i_mobilenetv2_fer2013"
    monkeypatch.delenv(pretrained.MODELS_ENV)
    assert pretrained.find_published("i_mobilenetv2_fer2013") == PACKAGED
    write_fold(tmp_path / "checkout" / "i_mobilenetv2_fer2013", tiny_model())
    assert pretrained.find_published("i_mobilenetv2_fer2013").parent == tmp_path / "checkout"
    with pytest.raises(ValueError, match=r"looked in .*checkout .*the installed package"):
        pretrained.find_published("nothing_here")


def test_packaged_model_is_complete_and_close_to_the_published_one(only_package):
    info = json.loads((PACKAGED / "model_info.json").read_text())
    assert info["model"] == "i_mobilenetv2" and info["class_names"][0] == "angry"
    assert info["agreement"]["top1_agreement"] >= 0.998
    assert (PACKAGED / "model.weights.h5").stat().st_size < 9e6
    model = fer_keras.i_mobilenetv2(weights="fer2013")
    predictor = Predictor.from_pretrained("i_mobilenetv2_fer2013")
    assert predictor.model.path.endswith("model.weights.h5")
    assert predictor.class_names == tuple(info["class_names"]) and predictor.dataset == "fer2013"
    faces = np.random.default_rng(0).integers(0, 256, (4, 48, 48, 3)).astype(np.float32)
    probs = np.asarray(model(faces))
    # the Predictor applies the temperature fitted on PublicTest (model_info.json)
    assert predictor.temperature == info["calibration"]["temperature"]
    np.testing.assert_allclose(predictor.predict_proba(faces),
                               apply_temperature(probs, predictor.temperature), atol=1e-6)
    reference = pretrained.PACKAGE_DIR.parents[1] / "saved_models" / PACKAGED.name
    if not (reference / "model.keras").is_file():
        pytest.skip(f"no published float32 model at {reference} to compare with")
    full = fer_keras.i_mobilenetv2(weights=reference / "model.keras")
    assert np.abs(np.asarray(full(faces)) - probs).max() < 0.01
    assert CLASS_NAMES == info["class_names"]


def test_class_names_travel_with_every_published_model(only_package, monkeypatch):
    """`weights=` models carry their outputs' order; `fer_keras.class_names` names it."""
    model = fer_keras.i_mobilenetv2(weights="fer2013")
    assert model.class_names == fer_keras.class_names("i_mobilenetv2_fer2013") == (
        "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert not hasattr(fer_keras.i_mobilenetv2(input_shape=(48, 48, 3)), "class_names")
    monkeypatch.undo()  # the checkout's saved_models/: CK+'s order differs from FER2013's
    if "i_mobilenetv2_ckplus" not in pretrained.list_published():
        pytest.skip("no checkout saved_models/ here")
    assert fer_keras.class_names("i_mobilenetv2_ckplus")[:2] == ("anger", "contempt")
    with pytest.raises(ValueError, match="no published model 'nope'"):
        fer_keras.class_names("nope")
