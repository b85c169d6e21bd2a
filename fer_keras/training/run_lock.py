"""One writer per run folder: an OS file lock on `RUN_FOLDER/.train.lock`.

Two `train` processes on one run folder would interleave their files (config.json and
history.csv from one run, metrics.json and model.keras from the other). `train` takes an
exclusive, non-blocking `flock` on a lock file in the folder before it writes anything there and
holds it until it returns; the operating system releases it when the process ends, however it
ends (a crash or SIGKILL leaves no stale lock). The lock file holds the holder's pid, so the
second process can say who holds the folder.

While the lock is held no other process writes in the folder, so the temporary files an
interrupted writer left behind (`.NAME.tmp-PID.EXT`, `.NAME.old-PID`, see
`fer_keras.training.artifacts.atomic_path`) are stale and are removed (`remove_stale_temporaries`).

On systems without `fcntl` (Windows) the lock is not taken and a note says so.
"""

import contextlib
import os
import re
import shutil
from pathlib import Path

LOCK_NAME = ".train.lock"
# atomic_path's temporary names: ".stem.tmp-PID.suffix" (files and folders) and ".name.old-PID"
_TEMPORARY = re.compile(r"^\..+\.(tmp|old)-\d+(\..*)?$")


class RunFolderBusy(ValueError):
    """Another process holds the run folder's lock."""


def check_run_folder(path):
    """Raises ValueError when `path` exists and is not a folder (e.g. `--output` names a file)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--output {path} is a file, not a run folder; choose a folder path")


@contextlib.contextmanager
def run_folder_lock(run_dir):
    """Holds the exclusive lock on `run_dir` (created if missing) for the `with` block.

    Raises:
        RunFolderBusy: another process holds it; the message names the folder and its pid.
    """
    run_dir = Path(run_dir)
    check_run_folder(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock
        yield None
        return
    fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise RunFolderBusy(
                f"run folder {run_dir} is in use by another train process (pid {holder}); wait "
                "for it to finish, or choose another --output") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield run_dir / LOCK_NAME
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def remove_stale_temporaries(run_dir):
    """Removes the temporaries an interrupted writer left in `run_dir` and its fold folders.

    Only call it while holding the folder's lock. Returns the removed paths.
    """
    run_dir = Path(run_dir)
    removed = []
    for folder in [run_dir, *sorted(p for p in run_dir.glob("fold_*") if p.is_dir())]:
        for path in folder.iterdir():
            if not _TEMPORARY.match(path.name):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed
