"""An export folder is written whole or not at all, and its artifacts are checked to belong together.

`staging(output)` yields a hidden folder beside `output` (same file system) that the export fills;
only when everything in it is written does it replace `output` in one rename (the previous set is
moved aside first and removed after), so an interrupted or failed export (a full disk, a failed
conversion, Ctrl-C) leaves the previous export exactly as it was. `model_info.json` records a
SHA-256 digest of each artifact (`digests`), and `check_digests` refuses to load an artifact of a
folder whose digest disagrees: a folder whose files come from two exports cannot answer with one
model's outputs under the other's class names (`fer_keras.inference.digests`).
"""

import contextlib
import os
import shutil
from pathlib import Path

from fer_keras.inference.digests import digests
from fer_keras.files import TEMPORARY_TAG

# What an export writes (and so what may be replaced by the next one).
EXPORT_NAMES = frozenset({"model.keras", "saved_model", "model_info.json", "export_report.json",
                          "model.onnx", "model_float32.tflite", "model_dynamic_range.tflite",
                          "model_int8.tflite"})


def check_output(output):
    """Raises ValueError unless `output` is absent, empty or an earlier export folder (the user's
    own files are never replaced)."""
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise ValueError(f"--output {output} is a file, not a folder")
    if not output.is_dir():
        return
    foreign = sorted(p.name for p in output.iterdir() if p.name not in EXPORT_NAMES)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5
                                          else "")
        raise ValueError(f"--output {output} holds files an export does not write ({shown}); "
                         "an export replaces its folder whole: choose a new or empty folder")


@contextlib.contextmanager
def staging(output):
    """Yields the staging folder; on success it replaces `output` whole, on any error (or
    interrupt) it is removed and `output` is left as it was."""
    output = Path(output)
    check_output(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    stage = output.with_name(f".{output.name}.{TEMPORARY_TAG}-tmp-{os.getpid()}")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
        old = output.with_name(f".{output.name}.{TEMPORARY_TAG}-old-{os.getpid()}")
        if output.exists():
            os.replace(output, old)
        os.replace(stage, output)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


__all__ = ["EXPORT_NAMES", "check_output", "digests", "staging"]
