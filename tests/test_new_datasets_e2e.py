"""RAF-DB and AffectNet end to end through the commands users run: the data summary, training on
the official split, and a FER2013-labelled model evaluated on them by emotion (`--map-labels`).
The folders are generated in the official layouts (tests/test_data_rafdb_affectnet.py)."""

import json

import pytest

from test_data_rafdb_affectnet import make_affectnet, make_rafdb

TINY_WRN = ["--model", "wrn", "--model-kwargs",
            '{"widths": [8, 8, 8], "depths": [1, 1, 1], "stem_filters": 8}',
            "--augment", "none", "--batch-size", "8", "--epochs", "1", "--quiet"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("new_datasets")
    return {"rafdb": make_rafdb(root / "raf", train_per_class=6),
            "affectnet": make_affectnet(root / "affect", train_per_class=6)}


@pytest.mark.parametrize("name, test_count", [("rafdb", 14), ("affectnet", 14)])
def test_the_data_summary_names_the_official_split(folders, name, test_count, capsys):
    from fer_keras.data.__main__ import main

    assert main(["--dataset", name, "--data-dir", str(folders[name]), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["protocol"] == "official"
    assert summary["folds"][0]["test"] == test_count  # the official test (AffectNet: validation)


@pytest.mark.parametrize("name", ["rafdb", "affectnet"])
def test_train_runs_end_to_end_on_the_official_split(folders, name, tmp_path):
    from fer_keras.training.cli import main

    out = tmp_path / "run"
    assert main(["--dataset", name, "--data-dir", str(folders[name]), *TINY_WRN,
                 "--output", str(out)]) == 0
    metrics = json.loads((out / "fold_0" / "metrics.json").read_text())
    assert metrics["dataset"] == name and metrics["protocol"] == "official"
    assert len(metrics["class_names"]) == 7 and metrics["split"] == "test"
    assert metrics["num_examples"] == 14  # the official test split (AffectNet: validation)


def test_a_fer2013_model_is_evaluated_on_rafdb_by_emotion(folders, tmp_path, capsys):
    """RAF-DB names FER2013's seven emotions in its own order: the model's outputs are matched
    by name; a model that carries no names is given FER2013's with `--class-names fer2013`."""
    from fer_keras import evaluate
    from inference_fixtures import tiny_model, write_fold

    named = write_fold(tmp_path / "named" / "fold_0", tiny_model(), dataset="fer2013")
    bare = write_fold(tmp_path / "bare" / "fold_0", tiny_model(), dataset="fer2013",
                      class_names=None)
    data = ["--dataset", "rafdb", "--data-dir", str(folders["rafdb"]), "--protocol", "official",
            "--json"]
    results = []
    for model, extra in ((named, []), (bare, ["--class-names", "fer2013"])):
        assert evaluate.main(["--model", str(model / "model.keras"), *data, *extra]) == 0
        results.append(json.loads(capsys.readouterr().out))
    for result in results:
        assert result["num_examples"] == 14 and result["class_names"][0] == "surprise"
    assert results[0]["confusion_matrix"] == results[1]["confusion_matrix"]
