"""Predictor: loading every artifact kind, class names, detection, cropping, records, errors."""

import json
import os
import shutil

import cv2
import numpy as np
import pytest

from fer_keras.data import DataError
from fer_keras.inference import Predictor, faces, loading
from inference_fixtures import CLASS_NAMES, draw_face, tiny_model, write_fold


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    write_fold(root / "fold_0", tiny_model())
    return root


@pytest.fixture(scope="module")
def predictor(run_dir):
    return Predictor.load(run_dir)


def test_loads_run_fold_and_file_alike(run_dir, predictor):
    assert predictor.model.path == str(run_dir / "fold_0" / "model.keras")
    assert predictor.class_names == tuple(CLASS_NAMES)
    assert predictor.model.class_names_source.endswith("metrics.json")
    assert predictor.dataset == "synthetic" and predictor.input_shape == (48, 48, 1)
    for path in (run_dir / "fold_0", run_dir / "fold_0" / "model.keras"):
        assert loading.resolve_artifact(path) == (run_dir / "fold_0" / "model.keras", "keras")


def test_drawn_face_record(predictor):
    img = draw_face(320)
    bgr = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    records = predictor.predict(bgr)
    assert len(records) == 1
    rec = records[0]
    x, y, w, h = rec["box"]
    # The drawn face ellipse spans x 96..224, y 64..256; the box must sit on it.
    assert 40 <= x <= 110 and 30 <= y <= 110 and 150 <= w <= 260 and w == h
    assert rec["crop_box"][2] == round(w * predictor.crop_scale)
    probs = rec["probabilities"]
    assert list(probs) == CLASS_NAMES
    assert abs(sum(probs.values()) - 1) < 1e-4
    assert rec["label"] == max(probs, key=probs.get) and rec["score"] == probs[rec["label"]]
    json.dumps(rec)  # JSON-ready
    # Gray, BGR and RGB arrays of the same picture give the same answer.
    for image, color in ((img, "bgr"), (bgr[..., ::-1], "rgb"), (img.astype(np.float32), "bgr")):
        again = predictor.predict(image, color=color)
        assert again[0]["box"] == rec["box"]
        np.testing.assert_allclose(list(again[0]["probabilities"].values()),
                                   list(probs.values()), atol=1e-6)


def test_no_face_gives_empty_list(predictor):
    rng = np.random.default_rng(0)
    assert predictor.predict(np.full((200, 300), 128, np.uint8)) == []
    assert predictor.predict(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)) == []


def test_crop_matches_training_preprocessing(run_dir):
    """A pluggable detector; the crop fed to the model is the box scaled by crop_scale,
    resized with INTER_AREA and repeated to the model's channels."""
    img = draw_face(300)
    box = (100, 80, 100, 100)
    p = Predictor.load(run_dir, detector=lambda gray: [box], crop_scale=1.2)
    rec = p.predict(img)[0]
    assert rec["box"] == [100, 80, 100, 100] and rec["crop_box"] == [90, 70, 120, 120]
    expected_crop = cv2.resize(img[70:190, 90:210], (48, 48), interpolation=cv2.INTER_AREA)
    expected = p.predict_proba(expected_crop[None, ..., None].astype(np.float32))[0]
    np.testing.assert_allclose(list(rec["probabilities"].values()), expected, atol=1e-6)
    # predict_faces on pre-cropped faces of any size gives the same numbers.
    batch = p.predict_faces([img[70:190, 90:210], expected_crop])
    for r in batch:
        np.testing.assert_allclose(list(r["probabilities"].values()), expected, atol=1e-6)


def test_box_outside_image_is_padded_not_squashed():
    gray = np.arange(100 * 100, dtype=np.int64).reshape(100, 100) % 251
    gray = gray.astype(np.uint8)
    crop = faces.crop_face(gray, (-10, -10, 40, 40), (40, 40))
    np.testing.assert_array_equal(crop[10:, 10:], gray[:30, :30])
    np.testing.assert_array_equal(crop[:10, 10:], np.repeat(gray[:1, :30], 10, axis=0))
    assert faces.expand_box((10, 20, 30, 30), 1.0) == (10, 20, 30, 30)
    assert faces.expand_box((10, 20, 40, 40), 1.5) == (0, 10, 60, 60)


def test_to_gray_uses_luma_and_channel_order():
    red_bgr = np.zeros((2, 2, 3), np.uint8)
    red_bgr[..., 2] = 255
    assert faces.to_gray(red_bgr, "bgr")[0, 0] == 76            # 0.299 * 255
    assert faces.to_gray(red_bgr, "rgb")[0, 0] == 29            # 0.114 * 255
    assert faces.to_gray(np.dstack([red_bgr, np.full((2, 2), 255, np.uint8)]))[0, 0] == 76


@pytest.mark.parametrize("bad, message", [
    (np.zeros((0, 10), np.uint8), "empty"),
    (np.zeros((10, 10, 2), np.uint8), "shape"),
    (np.array([["a", "b"]]), "numeric"),
    (np.zeros((10, 10), bool), "boolean"),
    (np.full((10, 10), 300.0), "0-255"),
    (np.full((10, 10), np.nan), "NaN"),
])
def test_bad_arrays_raise_clear_errors(predictor, bad, message):
    with pytest.raises(ValueError, match=message):
        predictor.predict(bad)


def test_bad_files_raise_data_errors(predictor, tmp_path):
    with pytest.raises(DataError, match="missing.png"):
        predictor.predict(tmp_path / "missing.png")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(DataError, match="corrupt.jpg"):
        predictor.predict(corrupt)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        predictor.predict(empty)
    with pytest.raises(ValueError, match="N x 48 x 48 x 1"):
        predictor.predict_proba(np.zeros((1, 32, 32, 1), np.float32))


def test_unknown_artifacts_are_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="not a model"):
        loading.resolve_artifact(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="no model found"):
        loading.resolve_artifact(tmp_path)
    with pytest.raises(ValueError, match="no such file"):
        Predictor.load(tmp_path / "nothing.keras")


def test_missing_class_names_fall_back_to_a_labelled_default(run_dir, tmp_path):
    shutil.copy(run_dir / "fold_0" / "model.keras", tmp_path / "model.keras")
    with pytest.warns(UserWarning, match="no class names"):
        p = Predictor.load(tmp_path / "model.keras")
    assert p.class_names == tuple(f"class_{k}" for k in range(7))
    assert p.model.class_names_source.startswith("default")
    assert p.crop_scale == faces.DEFAULT_CROP_SCALE


def test_from_pretrained_looks_in_the_models_folder(run_dir, tmp_path, monkeypatch):
    models = tmp_path / "saved_models"
    shutil.copytree(run_dir / "fold_0", models / "demo_imnv2")
    p = Predictor.from_pretrained("demo_imnv2", models_dir=models)
    assert p.class_names == tuple(CLASS_NAMES)
    monkeypatch.setenv(loading.MODELS_ENV, str(models))
    assert "demo_imnv2" in loading.list_pretrained()
    assert Predictor.from_pretrained("demo_imnv2").model.path.endswith("model.keras")
    with pytest.raises(ValueError, match="available: demo_imnv2"):
        Predictor.from_pretrained("fer2013_imnv2")


def test_crop_scale_per_dataset(run_dir, tmp_path):
    write_fold(tmp_path / "jaffe_fold", tiny_model(), dataset="jaffe")
    assert Predictor.load(tmp_path / "jaffe_fold").crop_scale == 1.0
    assert faces.crop_scale_for("fer2013") == pytest.approx(1.19)


def test_explain_adds_a_heatmap(predictor):
    rec = predictor.predict(draw_face(320), explain=True)[0]
    heat = rec["heatmap"]
    assert heat.shape == (48, 48) and heat.min() >= 0 and heat.max() <= 1


def test_real_jaffe_face_pasted_into_a_photo(predictor, shared_data):
    files = sorted((shared_data / "jaffe").glob("*.tiff"))
    if not files:
        pytest.skip("no JAFFE files")
    from fer_keras.data.imageio import read_gray

    face, _ = read_gray(files[0])
    canvas = np.full((600, 800, 3), 90, np.uint8)
    canvas[200:456, 400:656] = face[..., None]
    records = predictor.predict(canvas)
    assert len(records) >= 1
    x, y, w, h = records[0]["box"]
    cx, cy = x + w / 2, y + h / 2
    assert 400 <= cx <= 656 and 200 <= cy <= 456
