"""`fer_keras.export`: SavedModel and three TFLite models round-trip, agree, list their ops."""

import io
import json
import shutil

import numpy as np
import pytest

from inference_fixtures import CLASS_NAMES, draw_face, tiny_model, write_fold

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from fer_keras.export import export

    root = tmp_path_factory.mktemp("export")
    write_fold(root / "run" / "fold_0", tiny_model())
    report = export(root / "run", root / "out", val_limit=60, calibration_size=40,
                    min_agreement=0.0, latency_repeats=5, log=lambda *a: None)
    return root, report


def test_every_format_agrees_with_keras(exported):
    root, report = exported
    assert report["passed"]
    f = report["formats"]
    assert set(f) == {"keras", "saved_model", "float32", "dynamic_range", "int8"}
    for fmt in ("saved_model", "float32"):
        assert f[fmt]["agreement"] == 1.0 and f[fmt]["max_abs_diff"] < 1e-5
    for fmt in ("dynamic_range", "int8"):  # an untrained model: probabilities near 1/7
        assert f[fmt]["max_abs_diff"] < 0.05
    assert f["int8"]["size_bytes"] < f["float32"]["size_bytes"] / 2
    saved = json.loads((root / "out" / "export_report.json").read_text())
    assert saved["formats"]["int8"]["file"] == "model_int8.tflite"


def test_ops_are_builtins_static_and_integer(exported):
    _, report = exported
    for fmt in ("float32", "dynamic_range", "int8"):
        ops = report["formats"][fmt]["ops"]
        assert not report["formats"][fmt]["non_builtin_ops"]
        assert {"CONV_2D", "DEPTHWISE_CONV_2D", "SOFTMAX"} <= set(ops)
        assert not {"SELECT", "SELECT_V2", "CUSTOM", "SHAPE", "PACK"} & set(ops)
        assert "EXP" not in ops  # SELU is one ELU op (int8: fused by deployment.int8_elu)
    assert "ELU" in report["formats"]["int8"]["ops"]
    assert not report["formats"]["int8"]["float_ops"]  # fully integer, int8 input and output
    assert report["deploy_form"]


def test_predictor_loads_each_export_with_class_names(exported, tmp_path):
    from fer_keras.inference import Predictor

    root, _ = exported
    out = root / "out"
    image = draw_face(320)
    keras_rec = Predictor.load(out, format="keras").predict(image)[0]
    ref = np.array(list(keras_rec["probabilities"].values()))
    for fmt, path, tol in (("saved_model", out / "saved_model", 1e-5),
                           ("tflite", out / "model_float32.tflite", 1e-5),
                           ("tflite", out / "model_int8.tflite", 0.05)):
        p = Predictor.load(path)
        assert p.model.format == fmt and p.class_names == tuple(CLASS_NAMES)
        rec = p.predict(image)[0]
        assert rec["box"] == keras_rec["box"]
        np.testing.assert_allclose(list(rec["probabilities"].values()), ref, atol=tol)
    # The SavedModel carries its class names alone, away from every sidecar.
    shutil.copytree(out / "saved_model", tmp_path / "alone")
    p = Predictor.load(tmp_path / "alone")
    assert p.class_names == tuple(CLASS_NAMES) and "embedded" in p.model.class_names_source


def test_cli_errors(tmp_path, capsys):
    from fer_keras import export

    assert export.main([str(tmp_path / "missing"), "--output", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert export.main([str(tmp_path), "--output", str(tmp_path / "o"),
                        "--formats", "float32,fp16"]) == 2
    assert "unknown format" in capsys.readouterr().err


def test_export_refuses_a_saved_model_and_an_output_file(exported, capsys):
    """Issue 21: a SavedModel folder given to export, and --output naming a file, are clear
    errors (they were IsADirectoryError and FileExistsError tracebacks)."""
    from fer_keras import export

    root, _ = exported
    code = export.main([str(root / "out" / "saved_model"), "--output", str(root / "o2")])
    err = capsys.readouterr().err
    assert code == 2 and "export starts from the Keras model" in err
    assert "model.keras is beside it" in err and "Traceback" not in err
    a_file = root / "a_file"
    a_file.write_text("x")
    code = export.main([str(root / "run"), "--output", str(a_file)])
    assert code == 2 and "is a file, not a folder" in capsys.readouterr().err
    assert a_file.read_text() == "x"


def test_saved_model_stores_each_weight_once(exported):
    """`model.export()` writes every weight twice (keras-team/keras#23553); ours once: the
    checkpoint holds the model's parameters plus the class-name strings, nothing more."""
    import keras
    import tensorflow as tf

    root, _ = exported
    model = keras.saving.load_model(root / "out" / "model.keras")
    stored = tf.train.list_variables(str(root / "out" / "saved_model" / "variables" / "variables"))
    values = sum(int(np.prod(shape)) for name, shape in stored if shape)
    assert values == model.count_params() + len(CLASS_NAMES)


@pytest.mark.slow
def test_a_failed_export_leaves_the_previous_set_untouched(exported, monkeypatch):
    from fer_keras.deployment import exporter
    from fer_keras.export import export

    root, _ = exported
    out = root / "atomic"
    shutil.copytree(root / "out", out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exporter._Job, "tflite_entry", full_disk)
    with pytest.raises(OSError, match="No space left"):
        export(root / "run", out, val_limit=20, latency_repeats=1, log=lambda *a: None)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # the old set, byte for byte
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []  # no staging left


def test_a_folder_mixing_two_exports_is_refused(exported, tmp_path):
    from fer_keras.inference.digests import ArtifactMismatch
    from fer_keras.inference.loading import load_model

    root, _ = exported
    mixed = tmp_path / "mixed"
    shutil.copytree(root / "out", mixed)
    info = json.loads((mixed / "model_info.json").read_text())
    assert set(info["digests"]) >= {"model.keras", "saved_model", "model_float32.tflite"}
    load_model(mixed / "model_float32.tflite")  # as exported: loads
    (mixed / "model_float32.tflite").write_bytes(
        (root / "out" / "model_dynamic_range.tflite").read_bytes())  # another model's file
    with pytest.raises(ArtifactMismatch, match="mixes files of two exports"):
        load_model(mixed / "model_float32.tflite")


def test_export_never_replaces_a_folder_of_the_users_files(exported, tmp_path):
    from fer_keras.export import export

    root, _ = exported
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match=r"holds files an export does not write \(notes.txt\)"):
        export(root / "run", mine, val_limit=20, latency_repeats=1, log=lambda *a: None)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


@pytest.mark.slow
def test_a_second_export_adds_its_formats_and_the_temperature_travels(exported, tmp_path):
    """Issue 30: exporting ONNX (here: float32 again) into a folder keeps the formats an earlier
    export of the same model wrote; model_info.json carries the model's temperature."""
    from fer_keras.export import export

    root, _ = exported
    run = tmp_path / "run"
    shutil.copytree(root / "run", run)
    metrics = json.loads((run / "fold_0" / "metrics.json").read_text())
    metrics["calibration"] = {"temperature": 1.5}
    (run / "fold_0" / "metrics.json").write_text(json.dumps(metrics))
    out = tmp_path / "out"
    export(run, out, formats=("saved_model", "dynamic_range"), val_limit=20,
           min_agreement=0.0, latency_repeats=1, log=lambda *a: None)
    report = export(run, out, formats=("float32",), val_limit=20, min_agreement=0.0,
                    latency_repeats=1, log=lambda *a: None)
    assert set(report["formats"]) == {"keras", "saved_model", "dynamic_range", "float32"}
    info = json.loads((out / "model_info.json").read_text())
    assert set(info["formats"]) == set(report["formats"])
    assert (out / "model_dynamic_range.tflite").is_file() and (out / "saved_model").is_dir()
    assert set(info["digests"]) >= {"model_dynamic_range.tflite", "model_float32.tflite"}
    assert info["calibration"] == {"temperature": 1.5}
