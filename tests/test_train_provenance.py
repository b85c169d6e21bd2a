"""`init.json` / metrics.json's `init_source`: what `--init` loaded when a fine-tuning run began,
kept when the source path changes under the run (fer_keras.training.provenance).

The runs swap the registered model for a one-convolution network, so each costs seconds.
"""

import hashlib
import json

import pytest

from backends import require_backend

keras = require_backend("tensorflow", "the training tests run on the TensorFlow backend")

from data_fixtures import isolated_cache  # noqa: E402,F401
from fer_keras.reproduce.cards import model_card  # noqa: E402
from fer_keras.training import loop, provenance  # noqa: E402
from fer_keras.training.config import resolve_config  # noqa: E402
from test_train_time_limit import DATA, tiny  # noqa: E402,F401

pytestmark = pytest.mark.filterwarnings("ignore:The structure of `inputs`:UserWarning")


def _config(out, epochs, **extra):
    return resolve_config("synthetic", "i_mobilenetv2", epochs=epochs, output=str(out),
                          learning_rate=0.01, **DATA, **extra)


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_fine_tune_records_the_source_it_began_from(tmp_path, tiny, isolated_cache):  # noqa: F811
    source = tmp_path / "source"
    loop.train(_config(source, 2), verbose=0)
    source_metrics = json.loads((source / "fold_0" / "metrics.json").read_text())
    began_with = _sha256(source / "fold_0" / "model.keras")

    tuned = tmp_path / "tuned"
    loop.train(_config(tuned, 1, init=str(source)), verbose=0)
    record = json.loads((tuned / provenance.INIT_RECORD).read_text())
    assert record["path"] == str(source) and record["sha256"] == began_with
    assert record["file"] == str(source / "fold_0" / "model.keras")
    assert record["epochs_trained"] == 2 and record["best_epoch"] == source_metrics["best_epoch"]
    assert record["validation_accuracy"] == source_metrics["validation"]["accuracy"]
    assert json.loads((tuned / "fold_0" / "metrics.json").read_text())["init_source"] == record

    # The source trains on (its model.keras is rewritten); the tuned run continues: the record
    # still names the weights it began from, not the file's new contents.
    loop.train(_config(source, 4, extend=True), verbose=0)
    assert _sha256(source / "fold_0" / "model.keras") != began_with
    loop.train(_config(tuned, 2, init=str(source), extend=True), verbose=0)
    metrics = json.loads((tuned / "fold_0" / "metrics.json").read_text())
    assert metrics["epochs_trained"] == 2 and metrics["init_source"]["sha256"] == began_with

    card = model_card("tuned", metrics)
    assert f"fine-tuned from `{source}` (epoch {record['best_epoch']} of 2, " in card
    assert f"sha256 {began_with[:12]})" in card


def test_a_run_without_init_has_no_record(tmp_path, tiny, isolated_cache):  # noqa: F811
    loop.train(_config(tmp_path / "run", 1), verbose=0)
    assert not (tmp_path / "run" / provenance.INIT_RECORD).exists()
    assert "init_source" not in json.loads((tmp_path / "run" / "fold_0" / "metrics.json")
                                           .read_text())


def test_describe_names_epoch_accuracy_and_digest():
    record = {"path": "saved_models/m", "sha256": "ab" * 32, "best_epoch": 12,
              "epochs_trained": 12, "split": "val", "accuracy": 0.6127}
    assert provenance.describe(record) == ("`saved_models/m` (epoch 12 of 12, 61.27 % on val, "
                                           "sha256 abababababab)")
    assert provenance.describe({"path": "x.keras", "sha256": "0" * 64}) == (
        "`x.keras` (sha256 000000000000)")
