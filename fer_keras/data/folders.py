"""Listing `<root>/<class>/<file>` trees, shared by the FER2013, CK+48 and imagefolder loaders."""

from pathlib import Path

from fer_keras.data.dataset import DataError
from fer_keras.data.imageio import is_ignored


def require_dir(path, what):
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{what} folder not found", path)
    if not path.is_dir():
        raise DataError(f"{what} must be a folder", path)
    return path


def list_class_tree(root, aliases=None):
    """Lists `root/<class>/<file>`.

    Args:
        root: folder holding one folder per class.
        aliases: dict folder name (lower case) -> class name; a folder not in it is an error.
            None accepts every folder name as its own class.

    Returns:
        list of (file Path, class name), sorted by relative path.

    Raises:
        DataError for an unknown class folder, a stray file or folder, or no files at all.
    """
    root = Path(root)
    items = []
    for sub in sorted(root.iterdir()):
        if is_ignored(sub):
            continue
        if not sub.is_dir():
            raise DataError("unexpected file where class folders were expected", sub)
        if aliases is None:
            name = sub.name
        else:
            name = aliases.get(sub.name.lower())
            if name is None:
                known = sorted(set(aliases.values()))
                raise DataError(f"unknown class folder '{sub.name}' (known: {', '.join(known)})", sub)
        for f in sorted(sub.iterdir()):
            if is_ignored(f):
                continue
            if f.is_dir():
                raise DataError("unexpected folder inside a class folder", f)
            items.append((f, name))
    if not items:
        raise DataError("no image files found (expected <class>/<image> folders)", root)
    return items
