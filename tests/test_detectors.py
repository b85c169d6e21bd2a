"""Face detectors: choosing one by name, the detector in every record, the optional MTCNN, and
the generated photos and matching rule behind docs/deployment.md's detector table."""

import importlib.util
import io
import json

import cv2
import numpy as np
import pytest

from fer_keras import predict
from fer_keras.inference import HaarFaceDetector, Predictor
from fer_keras.inference.detector_eval import evaluate, make_photo, matches
from fer_keras.inference.detectors import detector_name, make_detector, square
from inference_fixtures import draw_face, tiny_model, write_fold

HAS_MTCNN = importlib.util.find_spec("mtcnn") is not None


def test_detectors_by_name_and_their_names():
    assert isinstance(make_detector("haar", min_size=30), HaarFaceDetector)
    assert detector_name(make_detector("haar")) == "haar"
    with pytest.raises(ValueError, match="unknown face detector 'dlib'; accepted: haar, mtcnn"):
        make_detector("dlib")

    def my_detector(gray):
        return []

    assert detector_name(my_detector) == "my_detector"
    assert square((10, 10, 20, 40)) == (0, 10, 40, 40)


def test_generated_photo_keeps_its_true_box_and_matching_is_tolerant():
    rng = np.random.default_rng(0)
    face = draw_face(200)
    photo, truth, params = make_photo(face, (40, 40, 120, 120), rng)
    assert photo.shape == (480, 640) and photo.dtype == np.uint8
    x, y, s, _ = truth
    assert 40 <= s <= 300 and abs(params["angle"]) <= 30
    assert 0 <= x and x + s <= 640 + s * 0.25 and 0 <= y + s / 2 <= 480
    assert matches((x + 5, y + 5, s - 10, s - 10), truth)
    assert not matches((x + s, y, s, s), truth) and not matches((x, y, 3 * s, 3 * s), truth)
    photos = [make_photo(face, (40, 40, 120, 120), rng) for _ in range(3)]
    perfect = evaluate(lambda gray, it=iter([p[1] for p in photos[:1] + photos]): [next(it)],
                       photos)
    assert perfect["recall"] == 1.0 and perfect["false_positives_per_image"] == 0.0


@pytest.mark.tf
def test_records_name_the_detector_and_predict_takes_detector_flag(tmp_path):
    write_fold(tmp_path / "fold_0", tiny_model())
    predictor = Predictor.load(tmp_path / "fold_0", detector="haar")
    assert predictor.predict(draw_face(320))[0]["detector"] == "haar"
    cv2.imwrite(str(tmp_path / "face.png"), draw_face(320))
    out, err = io.StringIO(), io.StringIO()
    args = [str(tmp_path / "face.png"), "--model", str(tmp_path / "fold_0"), "--detector"]
    if not HAS_MTCNN:
        assert predict.main(args + ["mtcnn"], out, err) == 2
        assert "pip install 'fer_keras[mtcnn]'" in err.getvalue()
    assert predict.main(args + ["haar"], out, err) == 0
    assert json.loads(out.getvalue().splitlines()[-1])["detector"] == "haar"


@pytest.mark.tf
@pytest.mark.skipif(not HAS_MTCNN, reason="the optional mtcnn package is not installed")
def test_mtcnn_finds_a_rotated_small_real_face(shared_data):
    from fer_keras.data.jaffe import detect_face

    files = sorted((shared_data / "jaffe").glob("*.tiff"))
    if not files:
        pytest.skip("no JAFFE files")
    img = cv2.imread(str(files[0]), cv2.IMREAD_GRAYSCALE)
    rng = np.random.default_rng(3)
    photo, truth, _ = make_photo(img, detect_face(img), rng)
    boxes = make_detector("mtcnn")(photo)
    assert any(matches(b, truth) for b in boxes)
