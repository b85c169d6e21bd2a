"""`python -m fer_keras.predict`: images, folders, videos, JSON lines, annotation, clear errors."""

import io
import json

import cv2
import numpy as np
import pytest

from fer_keras import predict
from inference_fixtures import CLASS_NAMES, draw_face, tiny_model, write_fold


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    write_fold(root / "run" / "fold_0", tiny_model())
    photos = root / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "a_face.png"), draw_face(320))
    cv2.imwrite(str(photos / "b_blank.png"), np.full((200, 200), 120, np.uint8))
    (photos / "c_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    video = root / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (320, 320))
    for k in range(4):
        frame = draw_face(320) if k % 2 == 0 else np.full((320, 320), 90, np.uint8)
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return root


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    code = predict.main(argv, out, err)
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_folder_of_images(setup, tmp_path):
    code, rows, err = run([str(setup / "photos"), "--model", str(setup / "run"),
                           "--annotate", str(tmp_path)])
    assert code == 1  # the corrupt file
    assert len(rows) == 1 and rows[0]["source"].endswith("a_face.png")
    assert rows[0]["frame"] is None and rows[0]["face"] == 0
    assert rows[0]["label"] in CLASS_NAMES and len(rows[0]["box"]) == 4
    assert "b_blank.png: no face found" in err
    assert "c_corrupt.jpg" in err and "Traceback" not in err
    annotated = cv2.imread(str(tmp_path / "a_face.png"))
    assert annotated.shape == (320, 320, 3)
    x, y, w, h = rows[0]["box"]
    assert tuple(annotated[y, x + w // 2]) == (0, 255, 0)  # the box is drawn


def test_video_frames_and_heatmap(setup, tmp_path):
    code, rows, err = run([str(setup / "clip.avi"), "--model", str(setup / "run"),
                           "--annotate", str(tmp_path), "--heatmap"])
    assert code == 0
    assert [r["frame"] for r in rows] == [0, 2]
    assert "no face found in 2 of 4 frames" in err
    cap = cv2.VideoCapture(str(tmp_path / "clip.mp4"))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    cap.release()


@pytest.mark.slow
def test_clear_errors(setup, tmp_path):
    code, rows, err = run([str(tmp_path / "nope.png"), "--model", str(setup / "run")])
    assert code == 1 and rows == [] and "no such file" in err
    code, _, err = run([str(setup / "photos"), "--model", "no_such_model",
                        "--models-dir", str(tmp_path)])
    assert code == 2 and "no published model 'no_such_model'" in err
    code, _, err = run(["7", "--model", str(setup / "run")])  # no webcam 7 here
    assert code == 1 and "cannot open or read the webcam" in err


@pytest.mark.slow
def test_a_truncated_video_says_it_ended_early(setup, tmp_path):
    writer = cv2.VideoWriter(str(tmp_path / "full.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5,
                             (320, 320))
    for _ in range(8):
        writer.write(cv2.cvtColor(draw_face(320), cv2.COLOR_GRAY2BGR))
    writer.release()
    data = (tmp_path / "full.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[:len(data) // 2])
    code, rows, err = run([str(tmp_path / "cut.avi"), "--model", str(setup / "run")])
    assert code == 1 and "ended early" in err and "of the 8 frames its header declares" in err
    assert 0 < len({r["frame"] for r in rows}) < 8
    code, rows, err = run([str(tmp_path / "full.avi"), "--model", str(setup / "run")])
    assert code == 0 and "ended early" not in err and len({r["frame"] for r in rows}) == 8


def test_an_annotated_copy_that_cannot_be_written_leaves_nothing_and_says_so(
        setup, tmp_path, monkeypatch):
    monkeypatch.setattr(cv2, "imwrite", lambda path, image: False)  # a full disk, as OpenCV says it
    code, rows, err = run([str(setup / "photos" / "a_face.png"), "--model", str(setup / "run"),
                           "--annotate", str(tmp_path / "out")])
    assert code == 1 and len(rows) == 1  # the record is still written
    assert "a_face.png: the annotated copy was not written" in err and "Traceback" not in err
    assert list((tmp_path / "out").iterdir()) == []  # no half-written or temporary file


def test_face_crops_need_detector_none_and_nothing_predicted_is_exit_3(setup, tmp_path):
    """The datasets' own 48x48 crops: the Haar cascade finds no face in them (exit status 3 and
    a hint naming --detector none); with --detector none the whole image is the face, resized
    as the loaders resize, with no margin cut around it."""
    crop = cv2.resize(draw_face(320)[60:260, 60:260], (48, 48), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(tmp_path / "crop.png"), crop)
    code, rows, err = run([str(tmp_path / "crop.png"), "--model", str(setup / "run")])
    assert code == 3 and rows == []
    assert "a 48x48 image: if it is already a face crop, --detector none" in err
    assert "nothing was predicted" in err
    code, rows, err = run([str(tmp_path / "crop.png"), "--model", str(setup / "run"),
                           "--detector", "none"])
    assert code == 0 and len(rows) == 1, err
    assert rows[0]["box"] == rows[0]["crop_box"] == [0, 0, 48, 48]
    assert rows[0]["detector"] == "none"
    from fer_keras.inference import Predictor

    predictor = Predictor.load(setup / "run" / "fold_0")
    direct = predictor.predict_faces([crop])[0]["probabilities"]
    assert rows[0]["probabilities"] == pytest.approx(direct, abs=1e-6)  # no margin, same input


def test_a_missing_detector_package_is_named_as_the_detector_not_the_model(setup, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "mtcnn", None)  # `import mtcnn` fails
    code, rows, err = run([str(setup / "photos"), "--model", str(setup / "run"),
                           "--detector", "mtcnn"])
    assert code == 2 and rows == []
    assert err.startswith("error: cannot set up the mtcnn face detector: the mtcnn detector "
                          "needs the mtcnn package"), err
    assert "cannot load the model" not in err
