"""Stopping a run on request (SIGTERM, `fer_keras.training.stop_request`) and carrying its
checkpoint without momentum to the next machine (`checkpoint.write_carried`, the campaign's
`carry-state.npz`): the fold resumes after its last epoch, not its best one.

The runs swap the registered model for a one-convolution network, so each costs seconds.
"""

import json
import os
import signal

import numpy as np
import pytest

from backends import require_backend

keras = require_backend("tensorflow", "the training tests run on the TensorFlow backend")

from data_fixtures import isolated_cache  # noqa: E402,F401
from fer_keras.reproduce import campaign  # noqa: E402
from fer_keras.training import checkpoint, keras_engine, loop, stop_request  # noqa: E402
from fer_keras.training.config import resolve_config  # noqa: E402
from test_train_time_limit import DATA, tiny, tiny_model  # noqa: E402,F401

pytestmark = pytest.mark.filterwarnings("ignore:The structure of `inputs`:UserWarning")


def _config(out, epochs=6):
    return resolve_config("synthetic", "i_mobilenetv2", epochs=epochs, output=str(out),
                          learning_rate=0.05, lr_decay_factor=0.5, lr_decay_epochs=1, **DATA)


def _sigterm_after(monkeypatch, epochs):
    """Sends this process SIGTERM at the end of its `epochs`-th epoch."""
    real, count = keras_engine._run_epoch, [0]

    def run(*args, **kwargs):
        row = real(*args, **kwargs)
        count[0] += 1
        if count[0] == epochs:
            os.kill(os.getpid(), signal.SIGTERM)
        return row

    monkeypatch.setattr(keras_engine, "_run_epoch", run)
    return lambda: monkeypatch.setattr(keras_engine, "_run_epoch", real)


def test_sigterm_stops_after_the_epoch_and_the_carry_resumes_after_it(
        tmp_path, tiny, isolated_cache, monkeypatch):  # noqa: F811
    out = tmp_path / "run"
    fold = out / "fold_0"
    restore_epochs = _sigterm_after(monkeypatch, 3)
    with stop_request.on_sigterm():
        loop.train(_config(out), verbose=0)
    assert not stop_request.requested()  # cleared with the block
    metrics = json.loads((fold / "metrics.json").read_text())
    assert metrics["epochs_trained"] == 3
    assert "stopped on request (SIGTERM) after 3 of 6 epochs" in metrics["notes"]
    before = checkpoint.read_checkpoint(fold / checkpoint.FILENAME)

    campaign.carry_over(fold, finished=False)  # the session ends: only committed files stay
    carried = fold / checkpoint.CARRIED
    assert carried.stat().st_size < (fold / checkpoint.FILENAME).stat().st_size
    for name in (checkpoint.FILENAME, "model.keras"):
        (fold / name).unlink()
    assert "--recover-from" not in campaign.fold_command(
        campaign.Entry("e", str(out), ["--dataset", "synthetic"]), fold, 600)

    restore_epochs()
    loop.train(_config(out), verbose=0)
    after = checkpoint.read_checkpoint(fold / checkpoint.FILENAME)
    history, old = after["state"]["history"], before["state"]["history"]
    assert len(history) == 6 and history[:3] == old  # epochs 1-3 kept, not trained again
    # epoch 4 has the rate an uninterrupted run gives it: the iteration count was carried
    assert history[3]["learning_rate"] == pytest.approx(0.05 * 0.5 ** 3, rel=1e-5)
    assert after["state"]["momentum_resets"] == [3]
    metrics = json.loads((fold / "metrics.json").read_text())
    assert metrics["epochs_trained"] == 6
    assert any("momentum restarted at zero" in n and "epoch(s) 3" in n for n in metrics["notes"])
    if after["state"]["best_epoch"] < 3:  # nothing later was better: the carried best stays
        for got, want in zip(after["best"], before["best"]):
            np.testing.assert_array_equal(got, want)
    campaign.carry_over(fold, finished=True)
    assert not carried.exists()


def test_the_carried_checkpoint_drops_momentum_only(tmp_path):
    def trained():
        model = tiny_model(input_shape=(16, 16, 3))
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                      loss="sparse_categorical_crossentropy")
        x = np.random.default_rng(0).uniform(0, 255, (8, 16, 16, 3)).astype("float32")
        model.train_on_batch(x, np.arange(8) % 7)
        return model

    model = trained()
    best = [np.asarray(w.numpy()) + 1 for w in model.weights]
    state = {"epochs_done": 5, "best_epoch": 2, "history": []}
    checkpoint.save_checkpoint(tmp_path / "checkpoint.npz", model, state, best)
    checkpoint.write_carried(tmp_path / "checkpoint.npz", tmp_path / "carried.npz")
    saved = checkpoint.read_checkpoint(tmp_path / "carried.npz")
    assert saved["carried"] and saved["state"] == state
    assert all(v.size == 1 for v in saved["optimizer"])
    for got, want in zip(saved["best"], best):
        np.testing.assert_array_equal(got, want)

    fresh = trained()  # momentum non-zero, weights different
    fresh.optimizer.iterations.assign(0)
    checkpoint.restore(fresh, saved)
    assert int(fresh.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy())
    for got, want in zip(fresh.variables, model.variables):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    momenta = [v for v in fresh.optimizer.variables if np.size(v.numpy()) > 1]
    assert momenta and not any(np.any(v.numpy()) for v in momenta)
    assert "momentum_resets" not in saved["state"]  # Fold.start records it
