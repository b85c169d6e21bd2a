"""Where the notebooks find the real data and put their runs, and whether to run them fast.

- `fast_mode()`: whether `$FER_KERAS_FAST` asks for the quick, CI-sized version of a notebook.
- `find_data(name)`: the real datasets (`$FER_KERAS_DATA`, else `../shared/data` seen from the
  working folder, its parent or the repository), or None, in which case the notebooks fall back
  to the synthetic faces.
- `workdir()`, `run_folder(config)`: where runs go (`$FER_KERAS_NOTEBOOK_DIR`, else the user
  cache), one folder per distinct configuration, so that a run finished by one notebook is reused
  by the next (training resumes or skips a finished fold, docs/training.md).
"""

import hashlib
import os
from pathlib import Path

FAST_ENV = "FER_KERAS_FAST"
DATA_ENV = "FER_KERAS_DATA"
WORKDIR_ENV = "FER_KERAS_NOTEBOOK_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]


def fast_mode():
    """True when `$FER_KERAS_FAST` is set to anything but "", "0", "false", "no" or "off"."""
    return os.environ.get(FAST_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def find_data(name=None):
    """The shared real-data folder (or its `name` subfolder, e.g. "ckplus"), or None.

    `$FER_KERAS_DATA` decides alone when set (set it to a missing path to force the synthetic
    fallback); otherwise `../shared/data` and `../../shared/data` from the working folder and
    `../shared/data` from the repository root are tried, in that order.
    """
    env = os.environ.get(DATA_ENV)
    if env is not None:
        candidates = [Path(env).expanduser()]
    else:
        cwd = Path.cwd()
        candidates = [cwd.parent / "shared" / "data", cwd.parent.parent / "shared" / "data",
                      REPO_ROOT.parent / "shared" / "data"]
    for root in candidates:
        folder = root if name is None else root / name
        if folder.is_dir():
            return folder.resolve()
    return None


def workdir():
    """The folder the notebooks' runs go to (created): `$FER_KERAS_NOTEBOOK_DIR`, else
    `notebooks/` in the user cache (`fer_keras.data.cache_dir()`), never the repository."""
    from fer_keras.data import cache_dir

    env = os.environ.get(WORKDIR_ENV)
    root = Path(env).expanduser() if env else cache_dir() / "notebooks"
    root.mkdir(parents=True, exist_ok=True)
    return root


def run_folder(config, root=None):
    """`root/<dataset>-<model>-<hash of the configuration>`: one folder per distinct run.

    The hash covers what a resumed run must share (`TrainConfig.run_key`), so equal
    configurations share a folder and a finished fold is not trained again.
    """
    key = hashlib.sha256(config.run_key().encode()).hexdigest()[:10]
    return Path(root or workdir()) / f"{config.dataset}-{config.model}-{key}"
