"""The fast end-to-end path predicts what the slow one did (issue 32, item 4): one compiled batch
per photo against each face alone and against the eager model call; compiled MTCNN against the
package's own calls; and the benchmark's end-to-end section on a tiny input."""

import dataclasses
import importlib.util
import json
import math

import numpy as np
import pytest

from fer_keras.benchmark import cli, end_to_end
from fer_keras.inference import Predictor, faces
from inference_fixtures import draw_face, tiny_model, write_fold

HAS_MTCNN = importlib.util.find_spec("mtcnn") is not None
ATOL = 1e-5


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    return Predictor.load(write_fold(tmp_path_factory.mktemp("run") / "fold_0", tiny_model()))


@pytest.fixture(scope="module")
def two_faces():
    """A BGR photo with two drawn faces of different sizes, which the Haar cascade finds."""
    photo = np.full((360, 700), 40, np.uint8)
    photo[10:330, 10:330] = draw_face(320)
    photo[60:300, 400:640] = draw_face(240)
    return np.repeat(photo[..., None], 3, axis=-1)


def _probabilities(records):
    return np.array([[r["probabilities"][n] for n in sorted(r["probabilities"])]
                     for r in records])


def _eager(predictor):
    """The same predictor with the model called eagerly, as before issue 32."""
    model = dataclasses.replace(predictor.model,
                                predict=end_to_end.eager_predict(predictor.model.keras_model))
    return Predictor(model, predictor.detector, predictor.crop_scale)


def test_one_batch_per_photo_predicts_what_each_face_alone_does(predictor, two_faces):
    records = predictor.predict(two_faces)
    assert len(records) == 2 and records[0]["box"][2] > records[1]["box"][2]  # largest first
    gray = predictor.read(two_faces)
    h, w, _ = predictor.input_shape
    alone = [predictor.predict_faces([faces.crop_face(gray, r["crop_box"], (h, w))])[0]
             for r in records]
    np.testing.assert_allclose(_probabilities(records), _probabilities(alone), atol=ATOL)
    assert [r["label"] for r in records] == [r["label"] for r in alone]


def test_compiled_model_call_agrees_with_the_eager_call_at_any_batch(predictor, two_faces):
    rng = np.random.default_rng(0)
    eager = end_to_end.eager_predict(predictor.model.keras_model)
    for n in (1, 3, 7, 2):  # one trace serves every batch size
        x = rng.uniform(0, 255, (n, *predictor.input_shape)).astype(np.float32)
        out = predictor.model.predict(x)
        assert out.dtype == np.float32 and out.shape == (n, len(predictor.class_names))
        np.testing.assert_allclose(out, eager(x), atol=ATOL)
    np.testing.assert_allclose(_probabilities(predictor.predict(two_faces)),
                               _probabilities(_eager(predictor).predict(two_faces)), atol=ATOL)


def test_published_model_on_held_out_faces_predicts_as_before(shared_data):
    """The six-face photo of the benchmark, through the published FER2013 model: the compiled
    path gives the eager path's labels and probabilities."""
    from fer_keras.inference.loading import list_pretrained

    if "i_mobilenetv2_fer2013" not in list_pretrained():
        pytest.skip("the published i_mobilenetv2_fer2013 model is not here")
    photo = end_to_end.held_out_photo(shared_data / "fer2013")
    assert photo.shape == (700, 1000, 3) and photo.dtype == np.uint8
    fast = Predictor.from_pretrained("i_mobilenetv2_fer2013")
    records, before = fast.predict(photo), _eager(fast).predict(photo)
    assert len(records) >= 4  # the Haar cascade finds 5 of the 6 here
    assert [r["box"] for r in records] == [r["box"] for r in before]
    assert [r["label"] for r in records] == [r["label"] for r in before]
    np.testing.assert_allclose(_probabilities(records), _probabilities(before), atol=ATOL)


@pytest.mark.skipif(not HAS_MTCNN, reason="the optional mtcnn package is not installed")
def test_compiled_mtcnn_finds_the_same_boxes(shared_data):
    from fer_keras.inference.detectors import MTCNNFaceDetector

    photo = end_to_end.held_out_photo(shared_data / "fer2013", ("happy", "surprise"), side=160)
    gray = faces.to_gray(photo)
    compiled, eager = MTCNNFaceDetector()(gray), MTCNNFaceDetector(compiled=False)(gray)
    assert len(compiled) >= 1 and compiled == eager


def test_photo_and_video_inputs():
    canvas = end_to_end.face_canvas([np.zeros((48, 48), np.uint8)] * 4, side=60, cols=3)
    assert canvas.shape == (30 + 2 * 90, 30 + 3 * 90, 3)
    assert (canvas[30:90, 30:90] == 0).all() and (canvas[:30] == 110).all()
    frames = end_to_end.panned_frames(canvas, frames=3, step=2)
    assert len(frames) == 3 and all(f.shape == canvas.shape for f in frames)
    np.testing.assert_array_equal(frames[0], canvas)
    np.testing.assert_array_equal(frames[1][2:, 2:], canvas[:-2, :-2])


def _check_section(result):
    rows = result["rows"]
    assert {r["detector"] for r in rows} >= {"haar (minSize 60)", "haar (minSize 50, fer's)",
                                             end_to_end.GIVEN}
    assert any(r["pipeline"].endswith("(before)") for r in rows)
    for r in rows:
        assert r["faces"] == 2
        for key in ("ms_per_photo", "ms_per_face", "video_frames_per_s"):
            assert math.isfinite(r[key]) and r[key] > 0
    b = result["breakdown"]
    assert b["faces"] == 2 and set(b["stages_ms"]) >= {"detect", "crops", "preprocess"}
    assert all(d < ATOL for d in b["max_probability_difference"].values())
    table = end_to_end.format_end_to_end_markdown(result)
    assert "| fer_keras | haar (minSize 60) | 2 |" in table and "| detect |" in table
    json.dumps(result)


def test_end_to_end_section_runs_on_a_tiny_input(predictor, two_faces):
    result = end_to_end.run_end_to_end(predictor, two_faces, repeats=1, frames=2,
                                       detectors=("haar",), with_fer=False, litert=False)
    _check_section(result)


def test_end_to_end_flag_of_the_benchmark_command(predictor, two_faces, monkeypatch, capsys):
    real = end_to_end.run_end_to_end
    seen = {}

    def tiny(model, **kwargs):
        seen.update(model=model, **kwargs)
        return real(predictor, two_faces, repeats=kwargs["repeats"], frames=kwargs["frames"],
                    detectors=("haar",), with_fer=False, litert=kwargs["litert"])

    monkeypatch.setattr(end_to_end, "run_end_to_end", tiny)
    assert cli.main(["--end-to-end", "--tiny", "--quiet"]) == 0
    assert seen == {"model": "i_mobilenetv2_fer2013", "repeats": 1, "frames": 3,
                    "litert": False, "log": None}
    assert "| fer_keras | haar (minSize 60) | 2 |" in capsys.readouterr().out


def test_table_sets_each_row_against_the_matching_fer_row():
    def row(pipeline, detector, ms):
        return {"pipeline": pipeline, "detector": detector, "faces": 5, "ms_per_photo": ms,
                "ms_per_face": ms / 5, "video_frames_per_s": 1e3 / ms}

    result = {"machine": {"cpu_count": 2, "load_average_before": [1, 1, 1],
                          "load_average_after": [1, 1, 1]},
              "settings": {"photo_shape": [700, 1000, 3], "photo": "drawn", "frames": 2,
                           "repeats": 1},
              "rows": [row("fer_keras", "haar (minSize 50, fer's)", 90.0),
                       row("fer_keras", end_to_end.GIVEN, 12.0),
                       row("fer 25.10.3", "haar (minSize 50)", 100.0),
                       row("fer 25.10.3", end_to_end.GIVEN, 6.0)],
              "breakdown": {"faces": 5, "stages_ms": {"detect": 80.0}, "model_ms": {},
                            "max_probability_difference": {}}}
    table = end_to_end.format_end_to_end_markdown(result)
    assert "| fer_keras | haar (minSize 50, fer's) | 5 | 90.0 | 18.0 | 11.1 | 0.90x |" in table
    assert f"| fer_keras | {end_to_end.GIVEN} | 5 | 12.0 | 2.4 | 83.3 | 2.00x |" in table
