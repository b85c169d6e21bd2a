"""One clear line, never a traceback or a misleading message, for the bad inputs the reliability
probe (issue 28) found: truncated --init models, --min-face 0, FIFOs, synthetic with a folder."""

import argparse
import os

import pytest

from fer_keras.data import DataError, load_dataset
from fer_keras.inference.sources import check_options, expand_inputs


def _options(**values):
    base = dict(every=1, max_faces=None, max_frames=None, smooth=None, min_face=None,
                crop_scale=None, annotate=None)
    return argparse.Namespace(**{**base, **values})


@pytest.mark.parametrize("value", [0, -5])
def test_min_face_must_be_positive(value):
    assert check_options(_options(min_face=value)) == f"--min-face must be >= 1, got {value}"
    assert check_options(_options(min_face=20)) is None


def test_a_fifo_is_named_as_such(tmp_path):
    fifo = tmp_path / "frames.png"
    os.mkfifo(fifo)
    [(kind, message)] = expand_inputs([str(fifo)])
    assert kind == "missing" and "not a regular file or folder (a FIFO" in message


def test_synthetic_data_with_a_folder_is_refused(tmp_path):
    with pytest.raises(DataError, match="'synthetic' is generated and reads no data folder"):
        load_dataset("synthetic", str(tmp_path))


def test_a_truncated_init_model_is_named_corrupt_not_missing(tmp_path):
    pytest.importorskip("keras")
    from fer_keras.training.weights import load_source_model

    path = tmp_path / "model.keras"
    path.write_bytes(b"PK\x03\x04 a truncated zip")
    with pytest.raises(ValueError, match=r"--init .*model.keras: corrupt or truncated"):
        load_source_model(path, "init")
    with pytest.raises(ValueError, match="--recover-from .*corrupt or truncated"):
        load_source_model(tmp_path, "recover_from")


def _renamed_layer_model(tmp_path):
    """A real .keras file whose config names a layer class no code defines (as one saved with
    someone else's custom layer does)."""
    import json
    import zipfile

    from inference_fixtures import tiny_model

    good, bad = tmp_path / "good.keras", tmp_path / "foreign.keras"
    tiny_model().save(good)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "config.json":
                text = json.dumps(json.loads(data))
                assert '"fer_keras>SqueezeExcite"' in text
                data = text.replace('"SqueezeExcite"', '"TheirLayer"').replace(
                    '"fer_keras>SqueezeExcite"', '"their_lab>TheirLayer"')
            out.writestr(item, data)
    return bad


def test_a_model_naming_unknown_code_is_one_line_in_every_loader(tmp_path, capsys):
    """predict, evaluate, --init and the Python loaders: the file and the unknown class named,
    no traceback."""
    pytest.importorskip("keras")
    from fer_keras import evaluate, predict
    from fer_keras.inference.loading import load_model
    from fer_keras.training.weights import load_source_model

    bad = _renamed_layer_model(tmp_path)
    expected = r"foreign.keras: the model names the class 'TheirLayer', which neither Keras nor"
    with pytest.raises(ValueError, match=expected):
        load_model(bad)
    with pytest.raises(ValueError, match="--init .*" + expected):
        load_source_model(bad, "init")
    assert evaluate.main(["--model", str(bad), "--dataset", "synthetic"]) == 2
    err = capsys.readouterr().err
    assert "'TheirLayer'" in err and "Traceback" not in err
    image = tmp_path / "face.png"
    import cv2

    from inference_fixtures import draw_face

    cv2.imwrite(str(image), draw_face(320))
    code = predict.main([str(image), "--model", str(bad)])
    err = capsys.readouterr().err
    assert code != 0 and "'TheirLayer'" in err and "Traceback" not in err


def test_a_corrupt_tflite_file_is_named(tmp_path):
    pytest.importorskip("keras")
    from fer_keras.inference.loading import load_model

    path = tmp_path / "model.tflite"
    path.write_bytes(b"TFL3 not a flatbuffer at all")
    with pytest.raises(ValueError, match=r"model.tflite: corrupt or not a TFLite model"):
        load_model(path)
