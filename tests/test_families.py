"""Model families are declared once, beside their papers (`fer_keras.papers.Family`, issue 29
item 4): the registry's builders, the benchmark's tiny widths, the notebooks' narrow widths, the
synthetic-demo presets and the figures' table names are all read from those records."""

import dataclasses

import pytest

from fer_keras import papers
from fer_keras.papers import Family, Paper, Row, Table, Variant

TOY = Family("toy_family", "fer_keras.models.builders.i_mobilenetv2:i_mobilenetv2", table="Toy Table 1",
             tiny_kwargs={"alpha": 0.25, "scale_top_stage": True},
             narrow_kwargs={"head_channels": 64}, narrow_scale={"alpha": 0.25},
             demo_kwargs={"alpha": 0.5})


def _toy_paper(family=TOY):
    variant = Variant("toy_net", family.name, {"alpha": 1.0}, "Table 1: Toy", "1.00 M",
                      "an I-MobileNetV2 of a new family", "declared by a test")
    table = Table("toy_table1", "Toy, Table 1 (accuracy %)", "Toy (2030)",
                  rows=(Row("toy_net", "Toy net", "toy_net", {"ckplus": 99.5}, variant=variant),),
                  protocols={"ckplus": ("paper_imnv2", "subject_kfold")}, display=family.table)
    return Paper("Toy (2030)", tables=(table,), families=(family,))


def test_every_family_is_declared_once_and_every_table_has_its_keys():
    from fer_keras.benchmark import TINY_KWARGS
    from fer_keras.models import get_entry, list_models
    from fer_keras.models.registry import BUILDERS
    from fer_keras.plots import TABLE_NAMES
    from fer_keras.presets import PRESETS

    declared = [f.name for p in papers.PAPERS for f in p.families]
    assert len(declared) == len(set(declared))
    assert declared == ["i_mobilenetv2", "light_ntwrn", "baseline"]
    assert {get_entry(name).family for name in list_models()} == set(declared)
    assert list(TINY_KWARGS) == declared and list(BUILDERS) == declared
    assert [f for f, d in PRESETS if d == "synthetic"] == declared
    assert dict(TABLE_NAMES) == {f.name: f.table for f in papers.families().values() if f.table}
    for name in list_models():  # each variant's builder is its family's
        assert get_entry(name).builder is BUILDERS[get_entry(name).family]


def test_the_declared_values_are_the_small_widths_in_use():
    families = papers.families()
    assert families["i_mobilenetv2"].tiny_kwargs == {"alpha": 0.35, "scale_top_stage": True}
    assert families["light_ntwrn"].tiny_kwargs == {
        "widths": (16, 16, 32), "depths": (1, 2, 1), "scam_reduction": 2, "shuffle_groups": 2}
    assert families["baseline"].tiny_kwargs == {"alpha": 0.35}
    assert families["light_ntwrn"].narrow_kwargs == {
        "widths": (16, 32, 64), "depths": (1, 2, 1), "scam_reduction": 4}
    assert families["i_mobilenetv2"].narrow_scale == {"alpha": 0.5}
    assert families["i_mobilenetv2"].demo_kwargs == {"alpha": 0.35, "scale_top_stage": True}
    assert not families["light_ntwrn"].demo_kwargs and not families["baseline"].demo_kwargs


def test_a_new_family_reaches_every_table(monkeypatch):
    from fer_keras import models, notebook
    from fer_keras.benchmark import TINY_KWARGS, model_speed
    from fer_keras.benchmark.training_speed import _model_kwargs
    from fer_keras.models import get_entry, i_mobilenetv2
    from fer_keras.models.registry import BUILDERS
    from fer_keras.plots import TABLE_NAMES
    from fer_keras.presets import PRESETS, get_preset

    built = {}
    monkeypatch.setattr(models, "create_model", lambda name, **kw: built.setdefault(name, kw))
    with papers.declared(_toy_paper()):
        assert BUILDERS["toy_family"] is i_mobilenetv2
        assert get_entry("toy_net").builder is i_mobilenetv2
        assert TINY_KWARGS["toy_family"] == TOY.tiny_kwargs
        assert _model_kwargs("toy_net", tiny=True) == TOY.tiny_kwargs
        model_speed.build("toy_net", tiny=True)
        assert {k: v for k, v in built["toy_net"].items() if k in TOY.tiny_kwargs} == (
            TOY.tiny_kwargs)
        assert notebook.short_run_kwargs("toy_net") == {"head_channels": 64, "alpha": 0.25}
        assert PRESETS[("toy_family", "synthetic")].values["model_kwargs"] == {"alpha": 0.5}
        assert get_preset("toy_net", "synthetic").values["epochs"] == 12
        assert TABLE_NAMES["toy_family"] == "Toy Table 1"
    assert "toy_family" not in TINY_KWARGS and ("toy_family", "synthetic") not in PRESETS
    assert "toy_family" not in BUILDERS and "toy_family" not in TABLE_NAMES


def test_a_changed_declaration_shows_in_the_derived_tables(monkeypatch):
    from fer_keras import notebook
    from fer_keras.benchmark import TINY_KWARGS
    from fer_keras.presets import PRESETS

    wider = dataclasses.replace(papers.families()["i_mobilenetv2"],
                                tiny_kwargs={"alpha": 0.5}, narrow_scale={"alpha": 0.25},
                                demo_kwargs={"alpha": 1.0})
    paper = dataclasses.replace(papers.i_mobilenetv2.PAPER, families=(wider,))
    monkeypatch.setattr(papers, "PAPERS", [paper if p is papers.i_mobilenetv2.PAPER else p
                                           for p in papers.PAPERS])
    assert TINY_KWARGS["i_mobilenetv2"] == {"alpha": 0.5}
    assert PRESETS[("i_mobilenetv2", "synthetic")].values["model_kwargs"] == {"alpha": 1.0}
    assert notebook.short_run_kwargs("mobilenetv2") == {"alpha": 0.25}


def test_a_family_name_is_declared_once():
    with pytest.raises(ValueError, match="already declared: light_ntwrn"):
        papers.declare(_toy_paper(dataclasses.replace(TOY, name="light_ntwrn")))
