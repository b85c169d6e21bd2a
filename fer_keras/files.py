"""Atomic writes for every command: a temporary name beside the final one, then one rename.

A file written through `atomic_path` is either whole under its final name or absent: an
interrupted process, a full disk or a failed encoder leaves no half-written file there, and the
temporary is removed. Temporaries carry `TEMPORARY_TAG` in their names, so only the project's own
leftovers are ever cleaned up (`fer_keras.training.run_lock`).

In distributed training only the chief process writes (`only_reading`): in the others every
`atomic_path` yields a throwaway path outside the run folder.
"""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

# In the names of atomic_path's temporaries (".stem.fer_keras-tmp-PID.suffix") and of a replaced
# folder (".name.fer_keras-old-PID"): only names with it are ever cleaned up as leftovers, so a
# user's own ".notes.tmp-2024.txt" is never taken for one.
TEMPORARY_TAG = "fer_keras"
_WRITER = [True]  # False in a distributed run's non-chief processes (`only_reading`)


def writes():
    """True where this process writes run folders (False in a non-chief distributed process)."""
    return _WRITER[-1]


@contextlib.contextmanager
def only_reading(reading=True):
    """Within it (when `reading`), `atomic_path` writes nothing into run folders: a distributed
    run's non-chief processes compute what the chief writes and read its checkpoints."""
    _WRITER.append(not reading and _WRITER[-1])
    try:
        yield
    finally:
        _WRITER.pop()


def temporary_path(path):
    """The hidden temporary name beside `path` that `atomic_path` writes first
    (".stem.fer_keras-tmp-PID.suffix": same folder, same suffix, so encoders that choose the
    format by suffix write the same format)."""
    path = Path(path)
    return path.with_name(f".{path.stem}.{TEMPORARY_TAG}-tmp-{os.getpid()}{path.suffix}")


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path` (same suffix); renames it onto `path` on success.

    In a non-writing process (`only_reading`) the path lies in a private temporary folder that
    is removed afterwards, so nothing reaches `path`.
    """
    path = Path(path)
    if not writes():
        with tempfile.TemporaryDirectory(prefix="fer_keras-reader-") as scratch:
            yield Path(scratch) / path.name
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        yield tmp
        if tmp.is_dir():
            _replace_dir(tmp, path)
        else:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def remove(path):
    """Removes the file `path` if it exists (nothing in a non-writing process, `only_reading`)."""
    if writes():
        Path(path).unlink(missing_ok=True)


def _replace_dir(tmp, path):
    old = None
    if path.exists():
        old = path.with_name(f".{path.name}.{TEMPORARY_TAG}-old-{os.getpid()}")
        os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


__all__ = ["TEMPORARY_TAG", "atomic_path", "only_reading", "remove", "temporary_path",
           "writes"]
