"""Each dataset is declared once (fer_keras.data.registry): every table of the project reads the
record, so a dataset registered here is known to the loader, the protocols, the predictor's crop,
`--class-names`, the training configuration and `python -m fer_keras.data`."""

import pytest

from fer_keras.data import load_dataset, make_splits, registry
from fer_keras.data.protocols import default_protocol, list_protocols
from fer_keras.data.registry import DatasetSpec, get_dataset, register_dataset

CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


@pytest.fixture
def drawn(monkeypatch):
    """A dataset registered for this test only: synthetic faces under another name, with its
    own default protocol and crop scale."""
    monkeypatch.setattr(registry, "_SPECS", dict(registry._SPECS))
    return register_dataset(DatasetSpec(
        "drawn", "fer_keras.data.synthetic:load_synthetic", "drawn faces", CLASSES, "loso",
        crop_scale=1.37, terms="made here", generated=True))


def test_every_table_reads_the_record(drawn):
    from fer_keras.inference.class_check import parse_class_names
    from fer_keras.inference.faces import crop_scale_for
    from fer_keras.training.config import TrainConfig

    assert default_protocol("drawn") == "loso"
    assert crop_scale_for("drawn") == 1.37
    assert parse_class_names("drawn") == CLASSES
    assert "official" not in list_protocols("drawn")
    ds = load_dataset("drawn", num_examples=70, num_subjects=5)
    assert len(ds) == 70
    assert len(make_splits(ds, default_protocol("drawn"))) == 5  # loso: a fold per subject
    TrainConfig(dataset="drawn").validate()


def test_the_official_protocol_follows_the_declaration(drawn, monkeypatch):
    assert "official" in list_protocols("fer2013") and "official" not in list_protocols("ckplus")
    register_dataset(DatasetSpec("drawn", drawn.loader, "drawn", CLASSES, "official",
                                 official_split=True, generated=True), replace=True)
    assert "official" in list_protocols("drawn")


def test_registration_errors_name_the_value():
    with pytest.raises(ValueError, match="unknown dataset 'nope'; known: fer2013, ckplus"):
        get_dataset("nope")
    with pytest.raises(ValueError, match="'fer2013' is already registered"):
        register_dataset(get_dataset("fer2013"))
    with pytest.raises(ValueError, match="loader must be 'module:function', got 'load_x'"):
        register_dataset(DatasetSpec("x", "load_x", "x"))


def test_the_data_command_lists_registered_datasets(drawn, capsys):
    from fer_keras.data.__main__ import main

    assert main(["--dataset", "drawn", "--json"]) == 0
    assert '"num_examples": 700' in capsys.readouterr().out
