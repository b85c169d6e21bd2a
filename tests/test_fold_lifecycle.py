"""One fold lifecycle for every engine (`fer_keras.training.fold`), engines chosen in one place.

A fold's run-folder writes (checkpoint, history.csv, artifacts) happen in `fold.py` only; the
engines train epochs. The Keras engine's run goes through `Fold.open`, `start`, `end_epoch` per
epoch and `finish`; the device engine's is checked the same way in tests/test_jax_engine.py
under JAX.
"""

import ast
from pathlib import Path

import pytest

from backends import require_backend

keras = require_backend("tensorflow", "the training tests run on the TensorFlow backend")

from data_fixtures import isolated_cache  # noqa: E402,F401
from fer_keras.training import engines, loop  # noqa: E402
from fer_keras.training.config import resolve_config  # noqa: E402
from fer_keras.training.fold import Fold  # noqa: E402
from test_train_time_limit import DATA, tiny  # noqa: E402,F401

TRAINING = Path(__file__).resolve().parents[1] / "fer_keras" / "training"
# The fold's writes and who may make them: the lifecycle, and the functions' own modules.
FOLD_WRITES = {"save_checkpoint": {"fold.py", "checkpoint.py"},
               "write_history_csv": {"fold.py", "artifacts.py"},
               "write_artifacts": {"fold.py", "fold_report.py"},
               "start_training": {"fold.py", "resume_rules.py"},
               "check_epoch": {"fold.py", "finite.py"}}


def _calls(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            yield func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def test_only_the_lifecycle_writes_a_fold():
    found = {}
    for path in TRAINING.rglob("*.py"):
        for name in _calls(path):
            if name in FOLD_WRITES:
                found.setdefault(name, set()).add(path.name)
    for name, allowed in FOLD_WRITES.items():
        assert found.get(name, set()) <= allowed, (name, found.get(name))
        assert "fold.py" in found[name]


@pytest.mark.parametrize("engine, expected", [("auto", "steps"), ("loop", "steps"),
                                              ("fit", "fit")])
def test_the_engine_is_chosen_in_one_place(engine, expected):
    assert engines.choose(resolve_config("synthetic", "i_mobilenetv2",
                                         engine=engine)) == expected
    with pytest.raises(ValueError, match="engine 'device' needs the JAX backend"):
        engines.choose(resolve_config("synthetic", "i_mobilenetv2", engine="device"))


@pytest.mark.parametrize("engine", ["loop", "fit"])
def test_every_keras_engine_goes_through_the_fold_lifecycle(tmp_path, tiny, monkeypatch,
                                                           engine):
    calls = []
    for name in ("start", "end_epoch", "finish"):
        real = getattr(Fold, name)

        def wrapped(self, *args, _real=real, _name=name, **kwargs):
            calls.append((_name, self.epoch))
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(Fold, name, wrapped)
    config = resolve_config("synthetic", "i_mobilenetv2", epochs=2, engine=engine,
                            output=str(tmp_path / engine), **DATA)
    result = loop.train(config, verbose=0)
    assert calls == [("start", 0), ("end_epoch", 0), ("end_epoch", 1), ("finish", 2)]
    assert result.folds[0]["epochs_trained"] == 2
    again = loop.train(config, verbose=0)  # finished: Fold.open answers with its metrics
    assert len(calls) == 4 and again.folds[0]["accuracy"] == result.folds[0]["accuracy"]
