"""The user cache folder for decoded arrays and face crops (never the data folder or the repo)."""

import hashlib
import os
from pathlib import Path

import numpy as np


def cache_dir():
    """`$FER_KERAS_CACHE`, or `~/.cache/fer_keras` (`$XDG_CACHE_HOME/fer_keras` when set)."""
    env = os.environ.get("FER_KERAS_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fer_keras"


def file_list_key(root, files, *extra):
    """Hash of relative paths, sizes and mtimes of `files`, plus any `extra` options."""
    h = hashlib.sha256(repr(extra).encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def load_npz(kind, key):
    path = cache_dir() / kind / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception:  # a half-written or stale cache entry is rebuilt
        return None


def save_npz(kind, key, **arrays):
    folder = cache_dir() / kind
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{key}.tmp.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, folder / f"{key}.npz")
    except OSError:
        pass  # a read-only cache only costs speed
