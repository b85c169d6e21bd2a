"""Data cannot change under a resume: a fold records the data it started on and refuses to go on
with other data unless told to (`resume_rules.check_data`, `--accept-data-change`)."""

import json

import pytest

from backends import require_backend

keras = require_backend("tensorflow", "the training tests run on the TensorFlow backend")

from data_fixtures import face, isolated_cache, make_ckplus, save  # noqa: E402,F401
from fer_keras.training import loop  # noqa: E402
from fer_keras.training.config import resolve_config  # noqa: E402
from test_train_time_limit import LIMIT, slow_epochs, tiny  # noqa: E402,F401


def _config(data, out, **extra):  # extra may replace the time limit
    values = {**dict(epochs=3, batch_size=16, folds=[0], time_limit=LIMIT), **extra}
    return resolve_config("ckplus", "i_mobilenetv2", data_dir=str(data), output=str(out),
                          **values)


def test_a_resume_on_changed_data_is_refused_then_recorded_when_accepted(
        tmp_path, tiny, slow_epochs, isolated_cache):  # noqa: F811
    data, out = make_ckplus(tmp_path / "ck"), tmp_path / "run"
    loop.train(_config(data, out), verbose=0)  # stopped by the time limit after epoch 1
    for k in range(6):  # the folder changes between the stop and the resume
        save(data / "CK+48" / "happy" / f"S099_001_{k:08d}.png", face(1000 + k))
    with pytest.raises(ValueError, match=r"other data.*72 images before, 78 now.*happy \d+ -> "
                                         r"\d+.*--accept-data-change"):
        loop.train(_config(data, out), verbose=0)
    slow_epochs()  # epochs at full speed again
    loop.train(_config(data, out, time_limit=None, accept_data_change=True), verbose=0)
    metrics = json.loads((out / "fold_0" / "metrics.json").read_text())
    change = [c for c in metrics["resume_changes"] if c["field"] == "data"]
    assert len(change) == 1 and change[0]["after_epoch"] == 1
    assert "72 images before, 78 now" in change[0]["reason"]
    assert change[0]["to"] == metrics["data_fingerprint"] != change[0]["from"]


def test_the_same_data_resumes_silently(tmp_path, tiny, slow_epochs, isolated_cache):  # noqa: F811
    data, out = make_ckplus(tmp_path / "ck"), tmp_path / "run"
    loop.train(_config(data, out), verbose=0)
    slow_epochs()
    loop.train(_config(data, out, time_limit=None), verbose=0)
    metrics = json.loads((out / "fold_0" / "metrics.json").read_text())
    assert metrics["epochs_trained"] == 3 and "resume_changes" not in metrics
