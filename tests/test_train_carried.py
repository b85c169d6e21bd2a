"""Stopping a run on request (SIGTERM, `fer_keras.training.stop_request`) and carrying its
checkpoint without momentum to the next machine (`checkpoint.write_carried`, the campaign's
`carry-state.npz`, its best weights in `carry-best.npz`): the fold resumes after its last
epoch, not its best one, and the best weights are rewritten only when they change.

The runs swap the registered model for a one-convolution network, so each costs seconds.
"""

import json
import os
import signal
import time

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
    assert not carried.exists() and not (fold / checkpoint.CARRIED_BEST).exists()


def _trained():
    model = tiny_model(input_shape=(16, 16, 3))
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                  loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(0, 255, (8, 16, 16, 3)).astype("float32")
    model.train_on_batch(x, np.arange(8) % 7)
    return model


def _assert_same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def _saved_with_earlier_best(path):
    """(model, best, state): a checkpoint at `path` whose best weights are not the current ones."""
    model = _trained()
    best = [np.asarray(w.numpy()) + 1 for w in model.weights]
    state = {"epochs_done": 5, "best_epoch": 2, "history": []}
    checkpoint.save_checkpoint(path, model, state, best)
    return model, best, state


def test_the_carried_best_weights_are_rewritten_only_when_they_change(tmp_path):
    model = _trained()
    best = [np.asarray(w.numpy()) + 1 for w in model.weights]  # an earlier epoch's
    ckpt, target = tmp_path / "checkpoint.npz", tmp_path / checkpoint.CARRIED
    best_file = tmp_path / checkpoint.CARRIED_BEST
    checkpoint.save_checkpoint(ckpt, model, {"epochs_done": 3, "best_epoch": 2}, best)
    checkpoint.write_carried(ckpt, target)
    written = best_file.read_bytes()  # np.savez stamps each member's time: a rewrite differs
    time.sleep(2.1)  # zip timestamps have a resolution of 2 s
    checkpoint.save_checkpoint(ckpt, model, {"epochs_done": 4, "best_epoch": 2}, best)
    checkpoint.write_carried(ckpt, target)
    assert best_file.read_bytes() == written  # same best weights: the file is left as it was
    assert checkpoint.read_checkpoint(target)["state"]["epochs_done"] == 4

    newer = [w + 1 for w in best]
    checkpoint.save_checkpoint(ckpt, model, {"epochs_done": 5, "best_epoch": 4}, newer)
    checkpoint.write_carried(ckpt, target)
    assert best_file.read_bytes() != written
    _assert_same(checkpoint.read_checkpoint(target)["best"], newer)

    stale = tmp_path / "stale.npz"
    best_file.rename(stale)
    with pytest.raises(checkpoint.CorruptCheckpoint, match="carry-best.npz, which is missing"):
        checkpoint.read_checkpoint(target)
    checkpoint.save_checkpoint(ckpt, model, {"epochs_done": 6, "best_epoch": 5}, best)
    checkpoint.write_carried(ckpt, target)
    stale.replace(best_file)  # the best weights of another carry (epoch 5's are `best`)
    with pytest.raises(checkpoint.CorruptCheckpoint, match="from another carry"):
        checkpoint.read_checkpoint(target)


def test_best_weights_that_are_the_current_ones_are_not_stored_twice(tmp_path):
    """A run without validation selects its last epoch: its best weights are `model.weights`
    (what the engine saves), which the checkpoint's model arrays already hold."""
    model = _trained()
    ckpt, target = tmp_path / "checkpoint.npz", tmp_path / checkpoint.CARRIED
    (tmp_path / checkpoint.CARRIED_BEST).write_bytes(b"an earlier session's best weights")
    best = [np.asarray(w.numpy()) for w in model.weights]
    checkpoint.save_checkpoint(ckpt, model, {"epochs_done": 3, "best_epoch": 2}, best)
    checkpoint.write_carried(ckpt, target)
    assert not (tmp_path / checkpoint.CARRIED_BEST).exists()
    with np.load(target) as data:
        assert "best_in_model" in data.files and not any(k.startswith("best/") for k in data.files)
    _assert_same(checkpoint.read_checkpoint(target)["best"], best)


def test_a_carry_holding_its_best_weights_inside_still_resumes(tmp_path):
    """Carries written before `CARRIED_BEST` existed (the FER2013 paper row's until epoch 325)."""
    _, best, state = _saved_with_earlier_best(tmp_path / "old.npz")
    with np.load(tmp_path / "old.npz") as data:
        np.savez(tmp_path / checkpoint.CARRIED, carried=np.ones((), np.uint8),
                 **{k: data[k] for k in data.files
                    if not (k.startswith("optimizer/") and data[k].size > 1)})
    saved = checkpoint.read_checkpoint(tmp_path / checkpoint.CARRIED)
    assert saved["carried"] and saved["state"] == state
    _assert_same(saved["best"], best)


def test_the_carried_checkpoint_drops_momentum_only(tmp_path):
    model, best, state = _saved_with_earlier_best(tmp_path / "checkpoint.npz")
    checkpoint.write_carried(tmp_path / "checkpoint.npz", tmp_path / "carried.npz")
    saved = checkpoint.read_checkpoint(tmp_path / "carried.npz")
    assert saved["carried"] and saved["state"] == state
    assert all(v.size == 1 for v in saved["optimizer"])
    _assert_same(saved["best"], best)

    fresh = _trained()  # momentum non-zero, weights different
    fresh.optimizer.iterations.assign(0)
    checkpoint.restore(fresh, saved)
    assert int(fresh.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy())
    for got, want in zip(fresh.variables, model.variables):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    momenta = [v for v in fresh.optimizer.variables if np.size(v.numpy()) > 1]
    assert momenta and not any(np.any(v.numpy()) for v in momenta)
    assert "momentum_resets" not in saved["state"]  # Fold.start records it
