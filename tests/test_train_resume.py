"""A run killed by SIGKILL in the middle of an epoch and started again with the same command
ends with the same weights as an uninterrupted run.

Tolerance: every model variable within 1e-6 absolute (in practice the CPU runs are bit-equal).
The resumed run restarts the interrupted epoch from the checkpoint of the previous one, with the
same (seed, epoch) shuffle and augmentation, optimizer state, dropout seed state and best-so-far.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from backends import require_backend

keras = require_backend("tensorflow", "the subprocess runs use the TensorFlow backend")

TOLERANCE = 1e-6


def _command(out):
    return [sys.executable, "-m", "fer_keras.train", "--dataset", "synthetic", "--epochs", "3",
            "--augment", "erasing", "--batch-size", "16", "--output", str(out), "--quiet",
            "--dataset-options", '{"num_examples": 700}',
            "--model", "light_ntwrn", "--model-kwargs",
            '{"widths": [16, 16, 32], "depths": [1, 2, 1], "scam_reduction": 2, '
            '"shuffle_groups": 2, "dropout_rate": 0.3}']


def _env():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}


def _final_weights(out):
    from fer_keras.training import checkpoint

    return checkpoint.read_checkpoint(out / "fold_0" / "checkpoint.npz")


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(tmp_path):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    done = subprocess.run(_command(whole), env=_env(), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]

    proc = subprocess.Popen(_command(broken), env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    history = broken / "fold_0" / "history.csv"
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if history.exists() and history.read_text().count("\n") >= 2:  # epoch 1 finished
            break
        time.sleep(0.05)
    time.sleep(0.5)  # into epoch 2
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (broken / "fold_0" / "metrics.json").exists()
    killed_at = _final_weights(broken)["state"]["epochs_done"]
    assert killed_at in (1, 2)

    again = subprocess.run(_command(broken), env=_env(), capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    a, b = _final_weights(whole), _final_weights(broken)
    assert a["state"]["best_epoch"] == b["state"]["best_epoch"]
    assert a["state"]["history"][-1]["val_loss"] == pytest.approx(
        b["state"]["history"][-1]["val_loss"], abs=1e-6)
    for key in ("model", "optimizer", "best"):
        assert len(a[key]) == len(b[key])
        for x, y in zip(a[key], b[key]):
            np.testing.assert_allclose(x, y, atol=TOLERANCE, rtol=0)
