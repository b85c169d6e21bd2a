"""Bad inputs to evaluate and predict (issue 21): decompression bombs and unreadable files among
good ones, annotation names that would collide, bad argument values, truncated or missing models,
untrusted SavedModels and models whose classes are not the dataset's. Each case is made in the
test, and each must end in a clear message and exit code, never a traceback or a wrong figure.
"""

import io
import json
import os
import struct
import zlib

import cv2
import numpy as np
import pytest

from fer_keras import predict
from fer_keras.data import make_splits
from fer_keras.data.labels import CKPLUS_CLASSES
from fer_keras.data.synthetic import load_synthetic
from inference_fixtures import CLASS_NAMES, draw_face, tiny_model, write_fold


def bomb_png(width=15000, height=15000):
    """A 60-byte PNG that declares width x height 8-bit grey pixels."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("safety")
    write_fold(root / "run" / "fold_0", tiny_model())
    photos = root / "photos"
    (photos / "sub").mkdir(parents=True)
    cv2.imwrite(str(photos / "a_face.png"), draw_face(320))
    (photos / "b_bomb.png").write_bytes(bomb_png())
    cv2.imwrite(str(photos / "c_face.png"), draw_face(300))
    cv2.imwrite(str(photos / "sub" / "a_face.jpg"), draw_face(320))
    return root


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    code = predict.main(argv, out, err)
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_a_decompression_bomb_is_skipped_and_the_other_faces_predicted(setup, tmp_path):
    code, rows, err = run([str(setup / "photos"), "--model", str(setup / "run"),
                           "--annotate", str(tmp_path)])
    assert code == 1  # some input failed
    assert sorted(r["source"].rsplit("/", 2)[-1] for r in rows) == ["a_face.jpg", "a_face.png",
                                                                   "c_face.png"]
    assert "b_bomb.png" in err and "225000000 pixels" in err and "decompression bomb" in err
    assert "Traceback" not in err
    # a/face.png and a/sub/face.jpg do not overwrite each other
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_face.png", "a_face_jpg.png",
                                                          "c_face.png"]


def test_the_size_limit_is_documented_and_adjustable(tmp_path, monkeypatch):
    from fer_keras.data import DataError
    from fer_keras.data.imageio import read_gray
    from fer_keras.data.safe_image import MAX_PIXELS, MAX_PIXELS_ENV

    path = tmp_path / "big.png"
    path.write_bytes(bomb_png(9000, 9000))  # 81 Mpixel: under Pillow's limit, over ours
    assert 9000 * 9000 > MAX_PIXELS
    with pytest.raises(DataError, match=f"over the limit of {MAX_PIXELS} pixels"):
        read_gray(path)
    monkeypatch.setenv(MAX_PIXELS_ENV, "100")
    cv2.imwrite(str(tmp_path / "small.png"), np.zeros((20, 20), np.uint8))
    with pytest.raises(DataError, match="20x20 pixels, over the limit of 100"):
        read_gray(tmp_path / "small.png")


@pytest.mark.parametrize("argv, message", [
    (["--max-faces", "0"], "--max-faces must be >= 1, got 0"),
    (["--max-faces", "-1"], "--max-faces must be >= 1, got -1"),
    (["--max-frames", "-1"], "--max-frames must be >= 1, got -1"),
    (["--crop-scale", "nan"], "--crop-scale must be a positive number, got nan"),
])
def test_bad_argument_values_are_named(setup, argv, message):
    code, rows, err = run([str(setup / "photos"), "--model", str(setup / "run"), *argv])
    assert code == 2 and rows == [] and message in err


def test_annotate_naming_a_file_and_missing_or_truncated_models(setup, tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("keep")
    code, _, err = run([str(setup / "photos"), "--model", str(setup / "run"),
                        "--annotate", str(target)])
    assert code == 2 and "is a file; it must name a folder" in err and target.read_text() == "keep"
    code, _, err = run([str(setup / "photos"), "--model", str(tmp_path / "runs" / "nope")])
    assert code == 2 and "no such file or folder" in err and "published" not in err.split(":")[1]
    broken = tmp_path / "broken.keras"
    data = (setup / "run" / "fold_0" / "model.keras").read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    code, _, err = run([str(setup / "photos"), "--model", str(broken)])
    assert code == 2 and "corrupt or truncated model file" in err and "Traceback" not in err


def test_num_folds_zero_is_a_clear_error():
    ds = load_synthetic(num_examples=140, image_size=32)
    for bad in (0, 2, "3"):
        with pytest.raises(ValueError, match="num_folds must be an integer >= 3"):
            make_splits(ds, "subject_kfold", num_folds=bad)
    assert len(make_splits(ds, "subject_kfold", num_folds=2, validation="none")) == 2


def test_a_float_image_scaled_0_to_1_is_not_silently_empty(setup):
    from fer_keras.inference import Predictor

    predictor = Predictor.load(setup / "run")
    with pytest.warns(UserWarning, match="multiply a 0-1 image by 255"):
        predictor.predict(draw_face(320).astype(np.float32) / 255)


def test_a_packed_compression_bomb_is_refused_before_it_fills_memory(tmp_path, monkeypatch):
    import lzma

    from fer_keras.data import DataError, packed

    monkeypatch.setattr(packed, "MAX_UNPACKED_BYTES", 10_000_000)  # the real cap: 512 MiB
    bomb = tmp_path / "bomb.npz.xz"
    bomb.write_bytes(lzma.compress(b"\0" * 50_000_000))  # 7 kB that unpack to 50 MB
    assert bomb.stat().st_size < 20_000
    with pytest.raises(DataError, match="more than 10000000 bytes.*compression bomb"):
        packed.load_packed(bomb)


def _xz_bomb(path, gigabytes):
    """An .npz.xz of `gigabytes` GB of zeros, written in chunks (a few hundred kB on disk)."""
    import lzma

    compressor, zeros = lzma.LZMACompressor(preset=0), bytes(64 * 1024 ** 2)
    with open(path, "wb") as f:
        for _ in range(gigabytes * 16):
            f.write(compressor.compress(zeros))
        f.write(compressor.flush())
    return path


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads Linux's VmHWM")
def test_a_multi_gigabyte_bomb_is_refused_within_a_gigabyte(tmp_path):
    import subprocess
    import sys

    bomb = _xz_bomb(tmp_path / "bomb.npz.xz", 3)  # 3 GB unpacked
    assert bomb.stat().st_size < 2_000_000
    # VmHWM: this process's peak resident memory (ru_maxrss would include the forked parent's)
    script = ("from fer_keras.data import DataError, packed\n"
              "try:\n"
              f"    packed.load_packed({str(bomb)!r})\n"
              "except DataError as err:\n"
              "    print('refused:', err)\n"
              "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
              "print('peak_kb', hwm.split()[1])\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=600).stdout
    assert "refused:" in out and "compression bomb" in out, out
    peak_gb = int(out.split("peak_kb")[1]) / 1024 ** 2
    assert peak_gb < 1.0, f"peak memory {peak_gb:.2f} GB"
