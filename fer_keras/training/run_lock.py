"""One writer per run folder and per fold: OS file locks in the run folder.

Two `train` processes on one run folder would interleave their files (config.json and
history.csv from one run, metrics.json and model.keras from the other). Each fold a process
trains is claimed with an exclusive, non-blocking `flock` on `RUN_FOLDER/.fold_K.lock`, held until
`train` returns; the operating system releases it when the process ends, however it ends (a crash
or SIGKILL leaves no stale lock). The lock file holds the holder's pid, so a second process can
say who holds the fold. Folds are claimed separately so that `reproduce` may train different
folds of one run folder in parallel processes.

The run-level files (config.json, the summaries) are guarded by `RUN_FOLDER/.train.lock`, held
only for short sections: the configuration check and config.json write at the start
(`RunFolder.__enter__`), claiming the folds, and writing the summaries. A second process on a
folder stops at once when its configuration differs from config.json (while another process
trains in the folder, even before its first checkpoint), or when a fold it needs is claimed:
"run folder R: fold_K is in use by another train process (pid N)".

While a fold is claimed no other process writes in it, so the temporaries an interrupted writer
left there (`.NAME.tmp-PID.EXT`, `.NAME.old-PID`, see `fer_keras.training.artifacts.atomic_path`)
are stale and are removed; those of the run-level files are removed under the run lock.

On systems without `fcntl` (Windows) no lock is taken. A distributed run's non-chief processes
(`artifacts.writes()` false) write nothing, so they take no lock and remove nothing.
"""

import contextlib
import os
import re
import shutil
from pathlib import Path

from fer_keras.files import TEMPORARY_TAG, writes

try:
    import fcntl
except ImportError:  # Windows: no advisory locks
    fcntl = None

LOCK_NAME = ".train.lock"
# atomic_path's temporary names: ".stem.fer_keras-tmp-PID.suffix" (files and folders) and
# ".name.fer_keras-old-PID"
_TEMPORARY = re.compile(rf"^\..+\.{TEMPORARY_TAG}-(tmp|old)-\d+(\..*)?$")
# A run folder holds this marker from its first train call on; a folder without it is taken as
# a run folder only when it holds nothing but what train writes (an older run folder).
MARKER = ".fer_keras-run"
_RUN_ENTRIES = re.compile(r"^(config\.json|summary\.(json|md)|fold_\d+|fold_\d+\.log|folds\.log|"
                          r"campaign\.log|run\.log|logs|\.train\.lock|\.fold_\d+\.lock)$")


class RunFolderBusy(ValueError):
    """Another process holds a fold of the run folder."""


def fold_lock_path(run_dir, fold):
    return Path(run_dir) / f".fold_{fold}.lock"


def check_run_folder(path):
    """Raises ValueError when `path` exists and is not a run folder of ours: a file, or a folder
    with files `train` does not write (the user's own; none is touched), or a config.json that is
    not a training configuration. An empty folder, one with the marker, or an older run folder
    (only train's files) is a run folder."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        kind = "a file" if path.is_file() else "not a folder (a FIFO, device or socket)"
        raise ValueError(f"--output {path} is {kind}, not a run folder; choose a folder path")
    if not path.is_dir() or (path / MARKER).is_file():
        return
    foreign = sorted(p.name for p in path.iterdir()
                     if not (_RUN_ENTRIES.match(p.name) or _TEMPORARY.match(p.name)))
    if not foreign and (path / "config.json").is_file() and not _is_train_config(
            path / "config.json"):
        foreign = ["config.json (not a training configuration)"]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5
                                          else "")
        raise ValueError(f"--output {path} is not a fer_keras run folder: it holds {shown}. "
                         "Nothing was written; choose a new or empty folder for the run")


def _is_train_config(path):
    import json

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"dataset", "model", "epochs"} <= set(data)


def mark_run_folder(path):
    """Writes the marker that makes `path` a run folder of ours (idempotent)."""
    marker = Path(path) / MARKER
    if not marker.exists():
        marker.write_text("a fer_keras training run folder: train writes and cleans up only its "
                          "own files here\n")


def _open(path):
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


def _holder(fd):
    return os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"


def _try_claim(path):
    """An fd holding the exclusive lock on `path`, or (None, pid of the holder)."""
    fd = _open(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = _holder(fd)
        os.close(fd)
        return None, pid
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd, None


def busy_folds(run_dir):
    """{fold number: pid} of the folds another process holds now."""
    busy = {}
    if fcntl is None:
        return busy
    for path in Path(run_dir).glob(".fold_*.lock"):
        fd, pid = _try_claim(path)
        if fd is None:
            busy[int(path.name[len(".fold_"):-len(".lock")])] = pid
        else:
            os.close(fd)
    return busy


@contextlib.contextmanager
def run_lock(run_dir):
    """The run-level lock for a short section (blocking: other holders hold it briefly)."""
    if fcntl is None:
        yield
        return
    fd = _open(Path(run_dir) / LOCK_NAME)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _busy_message(run_dir, busy):
    held = ", ".join(f"fold_{k} (pid {pid})" for k, pid in sorted(busy.items()))
    return (f"run folder {run_dir} is in use by another train process: {held}; wait for it to "
            "finish, or choose another --output")


class RunFolder:
    """`with RunFolder(run_dir, folds, start) as claim:` the run folder for one `train` call.

    On entry, under the run lock: refuses at once when any of `folds` (None: every fold) is
    claimed by another process, calls `start(busy)` (the configuration check and config.json
    write; `busy` maps the folds other processes hold to their pids), claims `folds` when they
    are known and removes stale run-level temporaries. `claim(folds)` claims folds known later.
    Every claim is released on exit.
    """

    def __init__(self, run_dir, folds, start):
        self.run_dir, self.folds, self.start = Path(run_dir), folds, start
        self.fds = {}

    def __enter__(self):
        check_run_folder(self.run_dir)
        if not writes():  # a non-chief process of a distributed run: the chief holds the locks
            self.start({})
            return self
        self.run_dir.mkdir(parents=True, exist_ok=True)
        mark_run_folder(self.run_dir)
        try:
            with run_lock(self.run_dir):
                busy = busy_folds(self.run_dir)
                if busy and (self.folds is None or set(self.folds) & set(busy)):
                    raise RunFolderBusy(_busy_message(self.run_dir, busy))
                self.start(busy)
                _remove_temporaries(self.run_dir)
                if self.folds is not None:
                    self._claim(self.folds)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __call__(self, folds):
        if not writes():
            return
        with run_lock(self.run_dir):
            self._claim([k for k in folds if k not in self.fds])

    def _claim(self, folds):
        if fcntl is None:
            return
        busy = {}
        for k in folds:
            fd, pid = _try_claim(fold_lock_path(self.run_dir, k))
            if fd is None:
                busy[k] = pid
            else:
                self.fds[k] = fd
                _remove_temporaries(self.run_dir / f"fold_{k}")
        if busy:
            raise RunFolderBusy(_busy_message(self.run_dir, busy))

    def __exit__(self, *exc):
        for fd in self.fds.values():
            os.close(fd)
        self.fds = {}


def _remove_temporaries(folder):
    """Removes the temporaries an interrupted writer left in `folder` (not its subfolders);
    only call it while no other process writes there. Returns the removed paths."""
    folder = Path(folder)
    removed = []
    for path in (folder.iterdir() if folder.is_dir() else ()):
        if not _TEMPORARY.match(path.name):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed
