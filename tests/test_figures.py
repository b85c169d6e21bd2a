"""Learning-curve figures name the splits they plot: a run's curves.png and the reproduction
figures (mean over folds with a band, fer_keras.reproduce.curves)."""

import csv
import math

import pytest

from fer_keras.reproduce.curves import plot_mean_curves, read_curves
from fer_keras.training.metrics import plot_history


def write_history(path, val, test=None):
    fields = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"]
    fields += ["test_loss", "test_accuracy"] if test else []
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        for e, v in enumerate(val):
            row = dict(epoch=e, loss=1.0, accuracy=0.5, val_loss=1.0, val_accuracy=v,
                       learning_rate=0.01)
            if test:
                row.update(test_loss=1.0, test_accuracy=test[e])
            writer.writerow(row)
    return path


def test_reproduction_curves_average_runs_and_skip_missing_splits(tmp_path):
    files = [write_history(tmp_path / "a.csv", [0.5, 0.7]),
             write_history(tmp_path / "b.csv", [0.7, 0.9], test=[0.6, 0.8]),
             write_history(tmp_path / "c.csv", ["", ""])]       # no validation split
    rows = read_curves(files, ("val_accuracy", "test_accuracy"))
    assert {(r["run"], r["split"]) for r in rows} == {(0, "validation"), (1, "validation")}
    no_val = write_history(tmp_path / "d.csv", ["", ""], test=[0.6, 0.8])
    assert {r["split"] for r in read_curves([no_val], ("val_accuracy", "test_accuracy"))} == {
        "test (papers' practice, reporting only)"}
    assert plot_mean_curves(files, tmp_path / "curves.png", "demo",
                            ("val_accuracy", "test_accuracy")) == 2
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="no val_accuracy column with values"):
        plot_mean_curves(files[2:], tmp_path / "none.png", "demo")


def test_run_curves_name_the_splits_they_plot(tmp_path):
    rows = [dict(epoch=e, loss=1.0, accuracy=0.5, val_loss=math.nan, val_accuracy=math.nan,
                 test_loss=1.0, test_accuracy=0.6, learning_rate=0.01) for e in range(3)]
    assert plot_history(rows, tmp_path / "c.png", "m") == ["training", "test (reporting only)"]
    for r in rows:
        r.update(val_loss=1.0, val_accuracy=0.55)
        del r["test_loss"], r["test_accuracy"]
    assert plot_history(rows, tmp_path / "c.png", "m") == ["training", "validation"]


def test_run_curves_mark_the_selected_epoch_and_the_matrix_names_its_colours(tmp_path,
                                                                               monkeypatch):
    from fer_keras.training import metrics

    figures = []
    monkeypatch.setattr(metrics, "save_figure", lambda fig, path: figures.append(fig))
    rows = [dict(epoch=e, loss=1.0, accuracy=0.5, val_loss=1.0, val_accuracy=0.5 + e / 10,
                 learning_rate=0.01) for e in range(4)]
    metrics.plot_history(rows, tmp_path / "c.png", "m", selected_epoch=3)
    accuracy = figures[-1].axes[1]
    marks = [line for line in accuracy.get_lines() if line.get_linestyle() == "--"]
    assert [list(m.get_xdata()) for m in marks] == [[3, 3]]
    assert "selected epoch 3" in [t.get_text() for t in accuracy.get_legend().get_texts()]
    metrics.plot_confusion_matrix([[3, 1], [0, 4]], ["a", "b"], tmp_path / "m.png")
    colour_bar = figures[-1].axes[-1]
    assert colour_bar.get_ylabel().startswith("share of the true class")
