"""One clear line, never a traceback or a misleading message, for the bad inputs the reliability
probe (issue 28) found: truncated --init models, --min-face 0, FIFOs, synthetic with a folder."""

import argparse
import os

import pytest

from fer_keras.data import DataError, load_dataset
from fer_keras.inference.sources import check_options, expand_inputs


def _options(**values):
    base = dict(every=1, max_faces=None, max_frames=None, smooth=None, min_face=None,
                crop_scale=None, annotate=None)
    return argparse.Namespace(**{**base, **values})


@pytest.mark.parametrize("value", [0, -5])
def test_min_face_must_be_positive(value):
    assert check_options(_options(min_face=value)) == f"--min-face must be >= 1, got {value}"
    assert check_options(_options(min_face=20)) is None


def test_a_fifo_is_named_as_such(tmp_path):
    fifo = tmp_path / "frames.png"
    os.mkfifo(fifo)
    [(kind, message)] = expand_inputs([str(fifo)])
    assert kind == "missing" and "not a regular file or folder (a FIFO" in message


def test_synthetic_data_with_a_folder_is_refused(tmp_path):
    with pytest.raises(DataError, match="'synthetic' is generated and reads no data folder"):
        load_dataset("synthetic", str(tmp_path))


def test_a_truncated_init_model_is_named_corrupt_not_missing(tmp_path):
    pytest.importorskip("keras")
    from fer_keras.training.weights import load_source_model

    path = tmp_path / "model.keras"
    path.write_bytes(b"PK\x03\x04 a truncated zip")
    with pytest.raises(ValueError, match=r"--init .*model.keras: corrupt or truncated"):
        load_source_model(path, "init")
    with pytest.raises(ValueError, match="--recover-from .*corrupt or truncated"):
        load_source_model(tmp_path, "recover_from")
