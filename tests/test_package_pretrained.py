"""scripts/package_pretrained.py: the float16 package copy of a published model, its agreement
with the source, and its own temperature (the campaign refreshes the copy whenever it publishes,
so a copy without `calibration` would silently stop calibrating `Predictor`'s outputs)."""

import json

import pytest

from helpers import load_script

from data_fixtures import make_fer_folders
from inference_fixtures import CLASS_NAMES, tiny_model

pytestmark = pytest.mark.tf


def _script():
    return load_script("package_pretrained")


def _published(folder):
    """A published FER2013 model folder as `reproduce.cards.publish` leaves it (no SavedModel:
    the script reads model.keras and metrics.json only)."""
    folder.mkdir(parents=True)
    tiny_model(seed=5).save(folder / "model.keras")
    metrics = {"model": "i_mobilenetv2", "dataset": "fer2013", "protocol": "official",
               "fold": 0, "split_seed": 0, "split": "val", "accuracy": 0.25,
               "class_names": CLASS_NAMES, "git_revision": "abc",
               "config": {"channels": 1, "model_kwargs": {"alpha": 0.35,
                                                          "scale_top_stage": True}}}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def test_the_package_copy_agrees_and_carries_its_own_temperature(tmp_path, capsys):
    data = make_fer_folders(tmp_path / "fer2013", per_class=2)
    source = _published(tmp_path / "saved_models" / "tiny_fer2013")
    _script().main([str(source), "--data-dir", str(data), "--output", str(tmp_path / "pkg")])

    info = json.loads((tmp_path / "pkg" / "tiny_fer2013" / "model_info.json").read_text())
    assert info["storage"].startswith("float16") and info["class_names"] == CLASS_NAMES
    public_test = len(list((data / "test").rglob("PublicTest_*.png")))
    assert info["agreement"]["split"] == "PublicTest"
    assert info["agreement"]["images"] == public_test == 7
    assert info["agreement"]["top1_agreement"] == 1.0  # float16 weights of a 7-image split
    # both accuracies on the same images; equal when every prediction agrees
    accuracy = info["agreement"]["accuracy"]
    assert accuracy == info["agreement"]["reference_accuracy"]
    assert round(accuracy * public_test) == pytest.approx(accuracy * public_test)
    calibration = info["calibration"]
    assert calibration["split"] == "val" and calibration["num_examples"] == public_test
    assert calibration["dataset"] == "fer2013" and calibration["protocol"] == "official"
    assert 0 < calibration["temperature"] and calibration["nll_after"] <= calibration["nll_before"]
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["temperature"] == round(calibration["temperature"], 4)
