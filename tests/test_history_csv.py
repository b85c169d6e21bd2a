"""history.csv counts epochs from 1, like the console, metrics.json and the plots; files written
before 2026-12-06 (counted from 0) read the same."""

import pytest

from fer_keras.reproduce.curves import read_curves
from fer_keras.training.artifacts import one_based, read_history_csv, write_history_csv

ROWS = [{"epoch": 1, "loss": 1.5, "val_accuracy": 0.5, "test_accuracy": None},
        {"epoch": 2, "loss": 1.25, "val_accuracy": 0.75, "test_accuracy": None}]


def test_written_rows_read_back_as_numbers(tmp_path):
    write_history_csv(tmp_path / "history.csv", ROWS)
    text = (tmp_path / "history.csv").read_text().splitlines()
    assert text[0] == "epoch,loss,val_accuracy,test_accuracy" and text[1] == "1,1.5,0.5,"
    assert read_history_csv(tmp_path / "history.csv") == ROWS


@pytest.mark.parametrize("first", [0, 1])
def test_files_counted_from_zero_read_from_one(tmp_path, first):
    path = tmp_path / "history.csv"
    path.write_text(f"epoch,val_accuracy\n{first},0.5\n{first + 1},0.7\n")
    assert [r["epoch"] for r in read_history_csv(path)] == [1, 2]
    assert [r["epoch"] for r in read_curves([path])] == [1, 2]


def test_one_based_leaves_counted_from_one_rows_alone():
    assert one_based(ROWS) is ROWS and one_based([]) == []
    assert [r["epoch"] for r in one_based([{"epoch": 0}, {"epoch": 1}])] == [1, 2]
