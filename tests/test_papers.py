"""`fer_keras.papers`: each table row declared once, and everything built from the declarations
(registry, presets, reproduction tables, notebook labels) follows a new declaration."""

import json

import pytest

from fer_keras import papers
from fer_keras.models import get_entry, list_models
from fer_keras.papers import Paper, Preset, Row, Table, Variant
from fer_keras.presets import PRESETS, get_preset, presets_table


def _toy_paper():
    variant = Variant("toy_net", "i_mobilenetv2", {"alpha": 0.35}, "Table 1: Toy", "1.00 M",
                      "a narrow I-MobileNetV2", "declared by a test")
    table = Table("toy_table1", "Toy, Table 1 (accuracy %)", "Toy (2030)",
                  rows=(Row("toy_net", "Toy net", "toy_net", {"ckplus": 99.5}, variant=variant),),
                  protocols={"ckplus": ("paper_imnv2", "subject_kfold")}, display="Toy Table 1")
    values = dict(PRESETS[("i_mobilenetv2", "ckplus")].values, epochs=3, batch_size=4)
    preset = Preset("i_mobilenetv2/toyset", values, "Toy, section 9")
    return Paper("Toy (2030)", tables=(table,), presets={("i_mobilenetv2", "toyset"): preset})


def test_every_variant_is_declared_once_and_registered_in_declaration_order():
    names = [v.name for v in papers.variants()]
    assert len(names) == len(set(names)) and list_models() == names
    # The order of `python -m fer_keras.models` (the README's table): table rows, then baselines.
    assert names == ["mobilenetv2", "mobilenetv2_075", "mobilenetv2_075_se", "mobilenetv2_075_rf",
                     "i_mobilenetv2", "wrn", "wrn_scam", "wrn_scam_gbn", "light_ntwrn", "vgg16",
                     "vgg19", "resnet50", "keras_mobilenetv2", "mobilenetv3_large",
                     "mobilenetv3_small"]
    for t in papers.tables().values():
        for row in t.rows:
            assert row.variant is None or row.variant.name == row.model
    # Every registered model's figures come from its declaration.
    entry = get_entry("wrn_scam")
    assert (entry.family, entry.paper, entry.paper_params) == (
        "light_ntwrn", "Light-NTWRN (2022)", "23.21 M")
    assert get_entry("vgg16").paper == "Light-NTWRN (2022)"
    assert get_entry("keras_mobilenetv2").paper == "I-MobileNetV2 (Sci. Rep. 2024)"


def test_a_temporary_declaration_reaches_registry_presets_tables_labels_and_report(tmp_path):
    from fer_keras import plots, reproduce

    assert "toy_net" not in list_models()
    with papers.declared(_toy_paper()):
        assert "toy_net" in list_models()
        assert get_entry("toy_net").kwargs == {"alpha": 0.35}
        assert get_preset("toy_net", "toyset").values["epochs"] == 3
        assert PRESETS[("i_mobilenetv2", "toyset")].source == "Toy, section 9"
        assert "i_mobilenetv2/toyset" in presets_table()
        assert reproduce.TABLES["toy_table1"].row("toy_net").paper == {"ckplus": 99.5}
        assert plots.TABLE_NAMES["i_mobilenetv2"] == "I-MobileNetV2 Table 2"  # first declared
        assert papers.display_name("toy_net") == "Toy Table 1"
        # A run of the new row shows in its table of the report, found by its metrics.json.
        run = tmp_path / "any-name-at-all" / "fold_0"
        run.mkdir(parents=True)
        (run / "metrics.json").write_text(json.dumps({
            "dataset": "ckplus", "model": "toy_net", "protocol": "subject_kfold", "seed": 0,
            "fold": 0, "split": "test", "accuracy": 0.5, "epochs_trained": 3,
            "epochs_configured": 3, "config": {"epochs": 3, "protocol_options": {}},
            "hardware": {"summary": "CPU"}}))
        text = reproduce.report([str(tmp_path)])
        section = text.split("### Toy, Table 1 (accuracy %)")[1]
        assert "| Toy net | 99.5 | - | 50.00 (1 fold) |" in section
        with pytest.raises(ValueError, match="already declared: i_mobilenetv2/toyset, toy_net, toy_table1"):
            papers.declare(_toy_paper())
    assert "toy_net" not in list_models() and ("i_mobilenetv2", "toyset") not in PRESETS
    assert "toy_table1" not in reproduce.TABLES


def test_table_names_come_from_the_tables():
    from fer_keras.plots import TABLE_NAMES

    assert dict(TABLE_NAMES) == {"i_mobilenetv2": "I-MobileNetV2 Table 2",
                                 "light_ntwrn": "Light-NTWRN Table 5"}


def test_practice_declarations_name_valid_protocols():
    from fer_keras.data import list_protocols

    for table in papers.tables().values():
        for dataset, practice in table.practice.items():
            assert dataset in table.protocols
            assert practice.protocol in list_protocols(dataset)
            assert practice.options.get("validation") == "none"
