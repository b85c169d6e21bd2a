"""Multi-host data-parallel training under JAX, simulated on localhost (docs/scaling.md).

Two processes of `python -m fer_keras.train --distribute data_parallel` with a JAX coordinator
on 127.0.0.1 (one CPU device each, gloo collectives) train one model together. An audit hook in
process 1 (`sitecustomize.py` on its PYTHONPATH) records every write it makes under the run
folder: there must be none, since only the chief (process 0) writes. Killing process 1 mid-run
stops process 0 at once with a clear error (a process 1 that hangs instead is caught by JAX's
heartbeat check, which ends process 0 itself); starting both again resumes from the chief's last
checkpoint and finishes.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from backends import require_backend

keras = require_backend("jax")
jax = pytest.importorskip("jax")

# Process 1's audit hook: writes (open for writing, create, rename, remove) under FER_AUDIT_RUN.
SITECUSTOMIZE = textwrap.dedent("""
    import os, sys
    run, log = os.environ.get("FER_AUDIT_RUN"), os.environ.get("FER_AUDIT_LOG")
    if run and log:
        run = os.path.realpath(run)
        busy = [False]
        WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

        def inside(path):
            try:
                return os.path.realpath(os.fsdecode(path)).startswith(run)
            except (TypeError, ValueError):
                return False

        def hook(event, args):
            if busy[0]:
                return
            if event == "open":
                path, mode, flags = args
                writing = (mode and any(c in str(mode) for c in "wax+")) or (
                    mode is None and isinstance(flags, int) and flags & WRITES)
                paths = [path] if writing else []
            elif event in ("os.rename", "os.mkdir", "os.remove", "os.rmdir", "os.truncate",
                           "shutil.rmtree", "os.symlink", "os.link"):
                paths = [a for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
            else:
                return
            for path in paths:
                if isinstance(path, (str, bytes, os.PathLike)) and inside(path):
                    busy[0] = True
                    try:
                        with open(log, "a") as f:
                            f.write(f"{event} {os.fsdecode(path)}\\n")
                    finally:
                        busy[0] = False

        sys.addaudithook(hook)
""")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The coordination service's heartbeat timeout: long, so that a killed peer is noticed by the
# survivor's next collective (exit status 4, fer_keras's message), not by this check (JAX's
# native abort) on a loaded machine.
HEARTBEAT = "20"


def _start(tmp_path, run, pid, port, epochs, heartbeat=HEARTBEAT):
    hooks = tmp_path / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = dict(os.environ, KERAS_BACKEND="jax", FER_KERAS_HEARTBEAT_SECONDS=heartbeat,
               PYTHONPATH=os.pathsep.join([str(hooks), os.environ.get("PYTHONPATH", "")]))
    env.pop("XLA_FLAGS", None)  # one CPU device per process: 2 replicas over 2 processes
    if pid:
        env.update(FER_AUDIT_RUN=str(run), FER_AUDIT_LOG=str(tmp_path / "writes_1.log"))
    cmd = [sys.executable, "-m", "fer_keras.train", "--dataset", "synthetic", "--model", "wrn",
           "--dataset-options", '{"num_examples": 64, "image_size": 32}',
           "--model-kwargs", '{"widths": [8, 8, 8], "depths": [1, 1, 1], "stem_filters": 8}',
           "--augment", "none", "--batch-size", "16", "--epochs", str(epochs),
           "--engine", "loop", "--distribute", "data_parallel",
           "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2",
           "--process-id", str(pid), "--output", str(run), "--quiet"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _both(tmp_path, run, epochs, timeout=300):
    port = _free_port()
    procs = [_start(tmp_path, run, pid, port, epochs) for pid in (0, 1)]
    return procs, [p.communicate(timeout=timeout) for p in procs]


def _epochs_done(run):
    history = run / "fold_0" / "history.csv"
    return len(history.read_text().splitlines()) - 1 if history.exists() else 0


def test_two_processes_train_one_model_and_only_the_chief_writes(tmp_path):
    run = tmp_path / "run"
    procs, outputs = _both(tmp_path, run, epochs=2)
    for proc, (_, err) in zip(procs, outputs):
        assert proc.returncode == 0, err[-3000:]
    metrics = json.loads((run / "fold_0" / "metrics.json").read_text())
    assert metrics["distribution"]["processes"] == 2
    assert metrics["distribution"]["replicas"] == 2
    assert (run / "fold_0" / "model.keras").exists() and _epochs_done(run) == 2
    log = tmp_path / "writes_1.log"
    assert not log.exists(), log.read_text()


def test_a_killed_process_stops_both_and_a_rerun_resumes(tmp_path):
    run, epochs = tmp_path / "run", 40
    port = _free_port()
    procs = [_start(tmp_path, run, pid, port, epochs) for pid in (0, 1)]
    deadline = time.monotonic() + 240
    while _epochs_done(run) < 2 and time.monotonic() < deadline:
        assert procs[0].poll() is None, procs[0].communicate()[1][-3000:]
        time.sleep(0.2)
    assert _epochs_done(run) >= 2
    procs[1].send_signal(signal.SIGKILL)
    _, err = procs[0].communicate(timeout=120)
    procs[1].communicate(timeout=30)
    assert procs[0].returncode == 4, err[-3000:]
    assert "another process of this distributed run stopped" in err
    stopped_at = _epochs_done(run)
    assert 2 <= stopped_at < epochs and not (run / "fold_0" / "metrics.json").exists()

    procs, outputs = _both(tmp_path, run, epochs)  # the same commands again
    for proc, (_, err) in zip(procs, outputs):
        assert proc.returncode == 0, err[-3000:]
    metrics = json.loads((run / "fold_0" / "metrics.json").read_text())
    assert metrics["epochs_trained"] == epochs and metrics["complete"]
    assert _epochs_done(run) == epochs
    assert not (tmp_path / "writes_1.log").exists()


def test_a_hung_process_stops_the_chief_within_the_heartbeat(tmp_path):
    """A stopped (SIGSTOP) peer keeps its sockets open, so no collective fails: only the
    coordination service's heartbeat check notices it, and JAX then ends the chief itself (a
    native abort with its own log, docs/scaling.md), within the heartbeat timeout, with no
    metrics.json written."""
    run, epochs, heartbeat = tmp_path / "run", 40, 6
    port = _free_port()
    procs = [_start(tmp_path, run, pid, port, epochs, str(heartbeat)) for pid in (0, 1)]
    try:
        deadline = time.monotonic() + 240
        while _epochs_done(run) < 1 and time.monotonic() < deadline:
            assert procs[0].poll() is None, procs[0].communicate()[1][-3000:]
            time.sleep(0.2)
        assert _epochs_done(run) >= 1
        procs[1].send_signal(signal.SIGSTOP)
        stopped = time.monotonic()
        _, err = procs[0].communicate(timeout=120)
        waited = time.monotonic() - stopped
    finally:
        procs[1].send_signal(signal.SIGKILL)
        procs[1].communicate(timeout=30)
    assert procs[0].returncode != 0 and waited < heartbeat + 60, (waited, err[-3000:])
    assert "heartbeat" in err
    assert not (run / "fold_0" / "metrics.json").exists()
