"""The report's papers'-practice column, runs grouped by protocol options, and the CK+
decomposition table, from fabricated metrics.json files (issue 17, item 3)."""

import json
import statistics

import pytest

from fer_keras import reproduce
from fer_keras.reproduce import practice, summary
from fer_keras.reproduce.runs import collect

COMBOS = {("sequence", "carve"): (0.84, 0.88), ("sequence", "none"): (0.85, 0.89),
          ("frame", "carve"): (0.90, 0.95), ("frame", "none"): (0.91, 0.97)}


def _run(study, folder, seed, accuracy, peak=None, split_level="sequence", validation="carve",
         epochs=150, model="i_mobilenetv2", protocol="paper_imnv2"):
    """A fold run whose identity is only in its files: `folder` is any name."""
    options = {}
    if split_level != "sequence":
        options["split_level"] = split_level
    if validation != "carve":
        options["validation"] = validation
    m = {"dataset": "ckplus", "model": model, "protocol": protocol, "seed": seed, "fold": 0,
         "split": "test", "accuracy": accuracy, "epochs_trained": epochs,
         "epochs_configured": epochs, "hardware": {"summary": "CPU (2 cores), tensorflow"},
         "selection": "last_epoch" if validation == "none" else "validation",
         "config": {"epochs": epochs, "protocol_options": options, "augment": "flip"}}
    if peak is not None:
        m.update(peak_test_accuracy=peak, peak_test_epoch=100 + seed,
                 last_epoch_test_accuracy=accuracy)
    path = study / folder / "fold_0" / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(m))


def _decomposition_study(study):
    """3 seeds of each (split level, validation), seed s shifting every accuracy by s points."""
    for (level, validation), (acc, peak) in COMBOS.items():
        for seed in range(3):
            _run(study, f"ck-{level}-{validation}-seed{seed}", seed, acc + seed / 100,
                 peak + seed / 100, level, validation)


def test_runs_are_grouped_by_their_protocol_options_read_from_the_files(tmp_path):
    _decomposition_study(tmp_path)
    found = collect([tmp_path], options=True)
    keys = {k for k in found if k[:3] == ("ckplus", "i_mobilenetv2", "paper_imnv2")}
    assert len(keys) == 4 and all(len(found[k]) == 3 for k in keys)
    assert ("ckplus", "i_mobilenetv2", "paper_imnv2", "split_level=frame, validation=none") in keys
    # Without options: only the default (sequence, carve) runs, the honest column's.
    plain = collect([tmp_path])
    assert [m["accuracy"] for m in plain[("ckplus", "i_mobilenetv2", "paper_imnv2")]] == [
        0.84, 0.85, 0.86]


def test_summary_shows_papers_practice_beside_the_honest_columns(tmp_path):
    _decomposition_study(tmp_path)
    for fold, acc in enumerate((0.70, 0.80)):
        _run(tmp_path, f"kfold-{fold}", 0, acc, protocol="subject_kfold")
        (tmp_path / f"kfold-{fold}" / "fold_0").rename(tmp_path / f"kfold-{fold}" / f"fold_{fold}")
        path = tmp_path / f"kfold-{fold}" / f"fold_{fold}" / "metrics.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "fold": fold}))
    lines = summary([str(tmp_path)]).splitlines()
    assert lines[0].startswith("| paper row | paper | papers' practice (peak test; optimistic) | "
                               "paper's split, selected honestly | leakage-free |")
    row = next(line for line in lines if line.startswith("| i_mobilenetv2, ckplus"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    peaks = [100 * (0.97 + s / 100) for s in range(3)]
    assert cells[1] == "95.96"
    assert cells[2] == (f"{statistics.fmean(peaks):.2f} ± {statistics.pstdev(peaks):.2f} "
                        "(1 fold, 3 seeds; peak epoch 100-102) "
                        "(`paper_imnv2`: split_level=frame, validation=none)")
    assert cells[3] == "85.00 ± 0.82 (1 fold, 3 seeds) (`paper_imnv2`)"
    assert cells[4] == "75.00 ± 5.00 (2 folds) (`subject_kfold`)"


def test_option_runs_list_every_group_with_selection_and_peak(tmp_path):
    _decomposition_study(tmp_path)
    text = "\n".join(practice.option_runs([str(tmp_path)]))
    assert "| ckplus | i_mobilenetv2 | `paper_imnv2` | split_level=frame, validation=none | " \
           "last_epoch | 92.00 ± 0.82 (1 fold, 3 seeds) | 98.00 ± 0.82 (1 fold, 3 seeds) |" in text
    assert "| validation=none | last_epoch | 86.00 ± 0.82" in text
    assert "split_level=sequence" not in text  # a default is not an option
    assert practice.option_runs([str(tmp_path / "empty")]) == []


def _effects(lines):
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines
            if line.startswith("| frame vs") or line.startswith("| no validation")
            or line.startswith("| peak test")]
    return {(r[0].split(" ")[0], r[1]): r[2] for r in rows}


def test_decomposition_table_measures_each_factor_in_points(tmp_path):
    _decomposition_study(tmp_path)
    _run(tmp_path, "other-budget", 0, 0.5, 0.6, "frame", "none", epochs=30)  # another table
    lines = practice.decomposition([str(tmp_path)])
    text = "\n".join(lines)
    assert f"### Decomposition: i_mobilenetv2 on ckplus under `paper_imnv2`, 150 epochs " \
           f"(`{tmp_path}`)" in text
    assert "| frame | none | 1 fold, 3 seeds | 92.00 ± 0.82 | 98.00 ± 0.82 |" in text
    assert "| sequence | carve | 1 fold, 3 seeds | 85.00 ± 0.82 | 89.00 ± 0.82 |" in text
    effects = _effects(lines[lines.index("| factor | with | effect (points, mean ± std over "
                                         "paired seeds) |"):])
    # Paired by seed, each shift cancels: the effects are exact, with zero spread.
    assert effects[("frame", "validation carve")] == "+6.00 ± 0.00 (3 paired runs)"
    assert effects[("frame", "validation none")] == "+6.00 ± 0.00 (3 paired runs)"
    assert effects[("no", "split sequence")] == "+1.00 ± 0.00 (3 paired runs)"
    assert effects[("no", "split frame")] == "+1.00 ± 0.00 (3 paired runs)"
    assert effects[("peak", "frame, none")] == "+6.00 ± 0.00 (3 paired runs)"
    assert effects[("peak", "sequence, carve")] == "+4.00 ± 0.00 (3 paired runs)"
    assert "The paper reports 95.96; the papers' practice (frame split, no validation, peak " \
           "test) reaches 98.00 ± 0.82 here: it meets or exceeds the paper's figure by 2.04 " \
           "points, so these factors account for the whole gap" in text
    # The 30-epoch budget has one combination only: no table of its own.
    assert "30 epochs" not in text
    # And the page shows all of it.
    page = reproduce.report([str(tmp_path)])
    assert "### Decomposition:" in page and "### Runs with protocol options" in page


def test_decomposition_needs_two_combinations(tmp_path):
    _run(tmp_path, "a", 0, 0.8)
    assert practice.decomposition([str(tmp_path)]) == []
    _run(tmp_path, "b", 0, 0.9, None, "frame", "carve")
    lines = practice.decomposition([str(tmp_path)])
    assert "| frame | none | not run | - | - |" in lines
    assert _effects(lines)[("frame", "validation carve")] == "+10.00 (1 paired runs)"
    assert _effects(lines)[("frame", "validation none")] == \
        "- (no runs with equal seeds on both sides)"


def test_a_row_with_papers_practice_runs_only_names_their_options_in_its_command(tmp_path):
    _run(tmp_path, "practice-only", 0, 0.91, 0.97, "frame", "none")
    path = tmp_path / "practice-only" / "fold_0" / "metrics.json"
    m = json.loads(path.read_text())
    m["config"]["test_each_epoch"] = True
    path.write_text(json.dumps(m))
    row = next(line for line in summary([str(tmp_path)]).splitlines()
               if line.startswith("| i_mobilenetv2, ckplus"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2].startswith("97.00 (1 fold; peak epoch 100-100)") and cells[3:5] == ["-", "-"]
    assert cells[-1] == (
        "`python -m fer_keras.reproduce run --table imnv2_table2 --dataset ckplus --rows "
        "i_mobilenetv2 --epochs 150 --protocol paper_imnv2 --protocol-options "
        "'{\"split_level\": \"frame\", \"validation\": \"none\"}' --test-each-epoch "
        f"--study {tmp_path}`")


def test_protocol_options_equal_to_their_defaults_are_no_options():
    from fer_keras.reproduce.runs import options_key

    assert options_key("paper_imnv2", {"split_level": "sequence", "validation": "carve"}) == ""
    assert options_key("paper_imnv2", {"validation": "none", "split_level": "frame"}) == \
        "split_level=frame, validation=none"
    assert options_key("subject_kfold", {"num_folds": 10}) == ""
    assert options_key("subject_kfold", {"num_folds": 5}) == "num_folds=5"


def test_figures_of_runs_without_validation_draw_the_test_curve(tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr("fer_keras.training.metrics.plot_confusion_matrix",
                        lambda matrix, names, path, title: path.write_bytes(b"png"))
    import matplotlib.axes

    real_plot = matplotlib.axes.Axes.plot
    monkeypatch.setattr(matplotlib.axes.Axes, "plot", lambda ax, x, y, **kw: drawn.append(
        (list(x), list(y))) or real_plot(ax, x, y, **kw))
    _run(tmp_path, "frame-none", 0, 0.9, 0.95, "frame", "none")
    path = tmp_path / "frame-none" / "fold_0" / "metrics.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "confusion_matrix": [[1, 0], [0, 1]],
                                "class_names": ["a", "b"]}))
    (path.parent / "history.csv").write_text(
        "epoch,val_accuracy,test_accuracy\n0,nan,0.5\n1,nan,0.95\n2,nan,0.9\n")
    lines = reproduce.figures([str(tmp_path)], tmp_path / "figures")
    assert drawn == [([1, 2, 3], [50.0, 95.0, 90.0])]
    stem = f"{tmp_path.name}-ckplus-i_mobilenetv2-paper_imnv2+split_level=frame+validation=none"
    assert any(f"figures/{stem}-curves.png" in line for line in lines)
    assert (tmp_path / "figures" / f"{stem}-curves.png").is_file()


def test_model_card_of_a_run_without_validation_names_its_last_epoch():
    m = {"model": "i_mobilenetv2", "dataset": "ckplus", "protocol": "paper_imnv2", "fold": 0,
         "split_seed": 0, "protocol_notes": ["frame split"], "params": 1, "macs": 1,
         "class_names": ["a"], "seed": 0, "best_epoch": 150, "epochs_trained": 150,
         "epochs_configured": 150, "split": "test", "num_examples": 99, "accuracy": 0.9,
         "balanced_accuracy": 0.9, "macro_f1": 0.9, "per_class": {"a": {"recall": 0.9}},
         "validation": None, "selection": "last_epoch", "hardware": {"summary": "CPU"},
         "config": {"epochs": 150, "batch_size": 20, "optimizer": "sgd", "learning_rate": 0.01,
                    "momentum": 0.9, "weight_decay": 5e-4, "augment": "flip"}}
    card = reproduce.model_card("x", m)
    assert "150 of 150 epochs, the last epoch (150; the protocol had no validation split)" in card
    assert "| validation accuracy | none (no validation split) |" in card


def test_report_shows_each_table_row_in_the_papers_practice_beside_the_paper(tmp_path):
    _run(tmp_path, "ours", 0, 0.91, 0.97, "frame", "none")
    _run(tmp_path, "base", 0, 0.88, 0.93, "frame", "none", model="mobilenetv2")
    _run(tmp_path, "honest", 0, 0.80, model="mobilenetv2")  # default options: not this table
    found = collect([str(tmp_path)], options=True)
    table = reproduce.TABLES["imnv2_table2"]
    lines = practice.practice_table(table, "ckplus", found, [str(tmp_path)])
    assert lines[0].startswith("Papers' practice on ckplus (`paper_imnv2`: split_level=frame, "
                               "validation=none;")
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
            for line in lines if line.startswith("| Mobilenetv2") or line.startswith("| Ours")}
    assert rows["Mobilenetv2"][1:6] == ["89.82", "93.00 (1 fold)", "100", "88.00 (1 fold)", "150"]
    assert rows["Ours (I-MobileNetV2; also Table 3's row)"][1:5] == [
        "95.96", "97.00 (1 fold)", "100", "91.00 (1 fold)"]
    assert rows["Mobilenetv2(0.75)"][2:] == ["-", "-", "-", "not run", "", ""]
    assert "--rows mobilenetv2 --epochs 150 --protocol paper_imnv2 --protocol-options " \
           "'{\"split_level\": \"frame\", \"validation\": \"none\"}'" in rows["Mobilenetv2"][-1]
    # FER2013 has no practice declared in Table 2; Table 5 has no runs: nothing for either.
    assert practice.practice_table(table, "fer2013", found, [str(tmp_path)]) == []
    assert practice.practice_table(reproduce.TABLES["lntwrn_table5"], "ckplus", found,
                                   [str(tmp_path)]) == []
    assert summary([str(tmp_path)]).splitlines()[-1].endswith(
        "with finished runs: 1 of 36; in the papers' practice: 1 (table row x dataset).")
    page = reproduce.report([str(tmp_path)])
    assert page.count("Papers' practice on ckplus") == 1
    assert "| Mobilenetv2 | 89.82 | 80.00 (1 fold) |" in page  # the honest row, in its own table


def test_against_paper_figure_draws_each_column_of_each_row_with_runs(tmp_path):
    from fer_keras.reproduce.against_paper import against_paper_figures, row_values

    study = tmp_path / "study"
    _decomposition_study(study)  # Ours: practice (frame, none) peaks 97-99, honest 84-86
    _run(study, "base", 0, 0.80, model="mobilenetv2")
    found = collect([str(study)], options=True)
    values = row_values(reproduce.TABLES["imnv2_table2"], "ckplus", found)
    assert list(values) == ["Mobilenetv2", "Ours (I-MobileNetV2; also Table 3's row)"]
    assert values["Mobilenetv2"] == [(89.82, 0.0), None, (80.0, 0.0), None]
    paper, peak, honest, free = values["Ours (I-MobileNetV2; also Table 3's row)"]
    assert paper == (95.96, 0.0) and free is None
    assert peak == pytest.approx((98.0, statistics.pstdev([97, 98, 99])))
    assert honest == pytest.approx((85.0, statistics.pstdev([84, 85, 86])))
    lines = against_paper_figures([str(study)], tmp_path / "figures")
    png = tmp_path / "figures" / "study-imnv2_table2-ckplus-against-paper.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"](figures/{png.name})" in "\n".join(lines)
    assert [p.name for p in (tmp_path / "figures").iterdir()] == [png.name]  # no other table
    assert against_paper_figures([str(tmp_path / "empty")], tmp_path / "none") == []
