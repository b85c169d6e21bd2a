"""The published models' tables (README, docs/deployment.md) are written from metrics.json and
model_info.json by `fer_keras.reproduce.published`, and the committed ones match what it writes."""

import json
from pathlib import Path

import pytest

from fer_keras.reproduce import published
from fer_keras.reproduce.cli import main

ROOT = Path(__file__).parents[1]
CALIBRATION = {"temperature": 1.25, "split": "val", "num_examples": 40, "ece_before": 0.1,
               "ece_after": 0.05, "nll_before": 0.9, "nll_after": 0.8, "bins": 15}


def _write(models_dir, name, **metrics):
    folder = models_dir / name
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(metrics))


def _models(tmp_path):
    models = tmp_path / "saved_models"
    _write(models, "light_ntwrn_jaffe", model="light_ntwrn", dataset="jaffe", protocol="loso",
           fold=3, split="test", accuracy=0.5, class_names=["a", "b"], config={},
           calibration={**CALIBRATION, "dataset": "jaffe", "protocol": "loso", "fold": 3,
                        "test": {**CALIBRATION, "num_examples": 21}})
    _write(models, "i_mobilenetv2_ckplus", model="i_mobilenetv2", dataset="ckplus",
           protocol="subject_kfold", fold=6, split="test", accuracy=0.8586,
           class_names=["c", "d"], config={"protocol_options": {"num_folds": 5}})
    _write(models, "i_mobilenetv2_fer2013", model="i_mobilenetv2", dataset="fer2013",
           protocol="official", fold=0, split="val", accuracy=0.6289, class_names=["e"],
           config={}, calibration={**CALIBRATION, "dataset": "fer2013", "protocol": "official",
                                   "fold": 0})
    return models


def _package(tmp_path, **agreement):
    folder = tmp_path / "pretrained" / "i_mobilenetv2_fer2013"
    folder.mkdir(parents=True)
    info = {"source_accuracy": {"split": "val", "accuracy": 0.6289},
            "agreement": {"split": "PublicTest", "images": 3589, "top1_agreement": 0.998,
                          "max_probability_difference": 0.00483, **agreement},
            "calibration": {**CALIBRATION, "dataset": "fer2013", "protocol": "official",
                            "fold": 0}}
    (folder / "model_info.json").write_text(json.dumps(info))
    return folder.parent


def test_readme_table_orders_by_dataset_and_names_each_split_and_the_paper(tmp_path):
    lines = published.readme_table(_models(tmp_path)).splitlines()
    assert [line.split("|")[1].strip() for line in lines[2:]] == [
        "`i_mobilenetv2_fer2013`", "`i_mobilenetv2_ckplus`", "`light_ntwrn_jaffe`"]
    fer, ckplus, jaffe = lines[2:]
    assert "62.89 % (PublicTest: the selection split, optimistic; paper 68.62 %)" in fer
    assert fer.endswith("| e | 1.250 |")
    # the run's protocol options decide the fold count; no temperature: "-"
    assert ("85.86 % (test fold 6 of 5, subject-independent; paper 95.96 % on its own split, "
            "`paper_imnv2`)") in ckplus
    assert ckplus.endswith("| c, d | - |")
    assert "50.00 % (one unseen poser; paper 95.21 % on its own split, `paper_lntwrn`)" in jaffe


def test_calibration_table_has_each_model_then_the_package_copy(tmp_path):
    table = published.calibration_table(_models(tmp_path), _package(tmp_path))
    rows = table.splitlines()[2:]
    assert len(rows) == 3  # the CK+ model has no temperature
    assert rows[0].startswith("| [`i_mobilenetv2_fer2013`](figures/calibration-i_mobilenetv2")
    assert "| official fold 0 val (PublicTest) | 40 | 1.250 | 10.00 -> 5.00 | 0.900 -> 0.800 |"\
        in rows[0]
    assert "no test split (PrivateTest withheld) | - |" in rows[0]
    assert rows[1].endswith("| 10.00 -> 5.00 (21) | 0.900 -> 0.800 |")
    assert rows[2].startswith("| `fer_keras/pretrained/i_mobilenetv2_fer2013` (float16) |")


def test_package_table_states_agreement_and_both_accuracies(tmp_path):
    row = published.package_table(_package(tmp_path, accuracy=0.6138,
                                           reference_accuracy=0.6147)).splitlines()[2]
    assert row == ("| `i_mobilenetv2_fer2013` | 99.80 % (3,582 of 3,589 PublicTest images) | "
                   "0.0048 | 61.38 % (61.47 %) |")
    older = published.package_table(_package(tmp_path / "old")).splitlines()[2]
    assert older.endswith("| not measured (62.89 %) |")  # a copy written before accuracies


def test_rewrite_block_replaces_only_between_its_markers(tmp_path):
    page = tmp_path / "page.md"
    start, end = published.markers("models")
    page.write_text(f"before\n{start}\nstale 12.34\n{end}\nafter\n")
    published.rewrite_block(page, "models", "| fresh |", "the command")
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith(f"{end}\nafter\n")
    assert "stale" not in text and "| fresh |" in text and "`the command`" in text
    published.rewrite_block(page, "models", "| fresh |", "the command")
    assert page.read_text() == text  # idempotent
    with pytest.raises(ValueError, match=r"page\.md has no '<!-- published: package start"):
        published.rewrite_block(page, "package", "x", "c")


def test_report_command_rewrites_readme_and_deployment_tables(tmp_path, monkeypatch, capsys):
    models = _models(tmp_path)
    monkeypatch.setattr(published, "PRETRAINED_DIR", _package(tmp_path))
    readme, deployment = tmp_path / "README.md", tmp_path / "deployment.md"
    readme.write_text("".join(f"{a}\n{b}\n" for a, b in (
        ("<!-- reproduce summary: start -->", "<!-- reproduce summary: end -->"),
        published.markers("models"))))
    deployment.write_text("".join(f"{a}\n{b}\n" for a, b in (
        published.markers("calibration"), published.markers("package"))))
    assert main(["report", "--study", str(tmp_path / "none"), "--output", str(tmp_path / "r.md"),
                 "--readme", str(readme), "--deployment", str(deployment),
                 "--models-dir", str(models)]) == 0
    assert published.readme_table(models) in readme.read_text()
    text = deployment.read_text()
    assert published.calibration_table(models, published.PRETRAINED_DIR) in text
    assert published.package_table(published.PRETRAINED_DIR) in text


@pytest.mark.skipif(not (ROOT / "saved_models").is_dir(), reason="no published models")
def test_the_committed_tables_are_the_generated_ones(monkeypatch):
    """A model published without `report --readme README.md --deployment docs/deployment.md`
    would leave typed, stale figures beside it: this fails until they are regenerated."""
    monkeypatch.chdir(ROOT)
    assert published.readme_table() in (ROOT / "README.md").read_text()
    deployment = (ROOT / "docs" / "deployment.md").read_text()
    assert published.calibration_table() in deployment
    assert published.package_table() in deployment
