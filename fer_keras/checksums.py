"""SHA-256 of a file or a folder: the one digest behind export records
(`fer_keras.inference.digests`) and training's init provenance
(`fer_keras.training.provenance`).

Standard library only, outside both layers, so training can hash the model it starts from
without importing the inference package (tests/test_import_graph.py).
"""

import hashlib
from pathlib import Path


def digest(path):
    """SHA-256 of a file, or of a folder's files (relative names and contents, sorted)."""
    path = Path(path)
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        if path.is_dir():
            h.update(str(f.relative_to(path)).encode() + b"\0")
        with open(f, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()
