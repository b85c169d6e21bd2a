"""ONNX export (Keras's model.export(format="onnx"), tf2onnx) checked like the TFLite ones, and
`Predictor.load` on the .onnx file; skipped unless the optional fer_keras[onnx] is installed."""

import importlib.util
import sys

import numpy as np
import pytest

from fer_keras.inference import Predictor
from inference_fixtures import CLASS_NAMES, draw_face, tiny_model, write_fold

pytestmark = pytest.mark.tf
HAS_ONNX = all(importlib.util.find_spec(m) for m in ("tf2onnx", "onnx", "onnxruntime"))


@pytest.mark.skipif(not HAS_ONNX, reason="fer_keras[onnx] (tf2onnx, onnx, onnxruntime) absent")
def test_onnx_export_agrees_with_keras_and_loads_in_the_predictor(tmp_path):
    from fer_keras.export import export

    write_fold(tmp_path / "fold_0", tiny_model())
    report = export(tmp_path / "fold_0", tmp_path / "out", formats=("onnx",), val_limit=32,
                    latency_repeats=3, log=lambda *a: None)
    entry = report["formats"]["onnx"]
    assert entry["passed"] and entry["agreement"] == 1.0 and entry["max_abs_diff"] < 1e-4
    assert entry["file"] == "model.onnx" and entry["size_bytes"] > 0 and entry["latency_ms"] > 0
    for path, fmt in ((tmp_path / "out" / "model.onnx", None), (tmp_path / "out", "onnx")):
        predictor = Predictor.load(path, format=fmt)
        assert predictor.model.format == "onnx" and predictor.class_names == tuple(CLASS_NAMES)
        keras_probs = Predictor.load(tmp_path / "fold_0").predict(draw_face(320))[0]
        onnx_probs = predictor.predict(draw_face(320))[0]
        assert onnx_probs["label"] == keras_probs["label"]
        np.testing.assert_allclose(list(onnx_probs["probabilities"].values()),
                                   list(keras_probs["probabilities"].values()), atol=1e-4)


def test_onnx_without_onnxruntime_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    (tmp_path / "model.onnx").write_bytes(b"not really")
    with pytest.raises(ImportError, match=r"fer_keras\[onnx\]"):
        Predictor.load(tmp_path / "model.onnx")


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None,
                    reason="onnxruntime absent: its error for a corrupt file cannot be seen")
def test_a_corrupt_onnx_file_is_one_line_naming_it(tmp_path, capsys):
    from fer_keras import predict

    (tmp_path / "model.onnx").write_bytes(b"\x08\x07 a truncated protobuf")
    with pytest.raises(ValueError, match=r"model.onnx: corrupt or not an ONNX model"):
        Predictor.load(tmp_path / "model.onnx")
    image = tmp_path / "face.png"
    import cv2

    cv2.imwrite(str(image), draw_face(320))
    assert predict.main([str(image), "--model", str(tmp_path / "model.onnx")]) != 0
    err = capsys.readouterr().err
    assert "corrupt or not an ONNX model" in err and "Traceback" not in err
