"""Packed datasets: a loaded `FERDataset` in one xz-compressed file that travels with the code.

A GPU machine that is lent for a few minutes, a cluster node without the raw folders, or a
colleague's laptop gets the exact arrays the loaders produced here (decoded pixels, labels,
subjects, sequences, usage, face boxes, file names), not the JPEG/PNG/TIFF files: nothing is
decoded or face-detected again, so the data fingerprint in every `metrics.json` is the same on
both machines.

    python -m fer_keras.data --dataset fer2013 --data-dir data/fer2013 --pack packs/fer2013.npz.xz
    ds = load_dataset("fer2013", "packs/fer2013.npz.xz")        # any loader accepts a pack

FER2013 (Training + PublicTest, 32,298 images) packs into about 55 MB (xz on the raw pixels; zlib,
as in `np.savez_compressed`, gives 71 MB), CK+48 and the JAFFE crops into under 3 MB each.
"""

import io
import json
import lzma
import os
import zipfile
from pathlib import Path

import numpy as np

from fer_keras.data.dataset import DataError, FERDataset
from fer_keras.files import atomic_path

SUFFIXES = (".npz.xz", ".npz")
_OPTIONAL = ("subjects", "sequences", "usage", "boxes", "paths")
FORMAT_VERSION = 1
# A pack is decompressed into memory; a few kB of xz or zip can expand to any size (a compression
# bomb), so the unpacked size is capped: FER2013 unpacks to about 80 MB. A larger dataset is packed
# uncompressed (.npz) or read with FER_KERAS_MAX_UNPACKED_BYTES raised.
MAX_UNPACKED_BYTES = int(os.environ.get("FER_KERAS_MAX_UNPACKED_BYTES", 512 * 1024 ** 2))
_CHUNK = 16 * 1024 ** 2


def _unpack_capped(stream, path, budget=None):
    """xz-decompresses the file object `stream` chunk by chunk into one buffer, refusing as soon
    as the output passes `budget` bytes (default MAX_UNPACKED_BYTES): memory stays within the
    budget plus one chunk whatever the file claims."""
    budget = MAX_UNPACKED_BYTES if budget is None else budget
    decompressor, chunks, size = lzma.LZMADecompressor(), [], 0
    while not decompressor.eof:
        if decompressor.needs_input:
            data = stream.read(_CHUNK)
            if not data:
                raise EOFError("compressed data ended before the end-of-stream marker")
        else:
            data = b""
        chunks.append(decompressor.decompress(data, max_length=_CHUNK))
        size += len(chunks[-1])
        if size > budget:
            raise DataError(f"unpacks to more than {budget} bytes (the limit, "
                            "FER_KERAS_MAX_UNPACKED_BYTES): refused as a possible compression "
                            "bomb", path=path)
    return b"".join(chunks)


def is_packed(path):
    """True when `path` names a packed dataset file (by suffix; it need not exist yet)."""
    return str(path).endswith(SUFFIXES)


def save_packed(ds, path, preset=9):
    """Writes `ds` to `path` (`.npz.xz`, or `.npz` uncompressed) atomically; returns the path.

    Raises:
        ValueError: `path` does not end in a packed suffix; OSError: the file could not be
        written (nothing is left under `path` then).

    Args:
        ds: a FERDataset.
        path: the file to write; its folder is created.
        preset: xz compression preset (0-9); 9 packs FER2013 into about 55 MB in about a minute.
    """
    path = Path(path)
    if not is_packed(path):
        raise ValueError(f"a packed dataset file ends in {' or '.join(SUFFIXES)}, got {path}")
    header = {"format_version": FORMAT_VERSION, "name": ds.name,
              "class_names": list(ds.class_names), "fingerprint": ds.fingerprint(),
              "meta": ds.meta}
    arrays = {"header": np.frombuffer(json.dumps(header, default=str).encode(), dtype=np.uint8),
              "images": ds.images, "labels": ds.labels}
    for field in _OPTIONAL:
        value = getattr(ds, field)
        if value is not None:
            arrays[field] = value
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    if path.name.endswith(".xz"):
        data = lzma.compress(data, preset=preset)
    with atomic_path(path) as tmp:  # a full disk leaves no truncated pack under `path`
        tmp.write_bytes(data)
    return path


def load_packed(path, name=None):
    """Reads a packed dataset; checks its fingerprint and, when given, its dataset `name`.

    Raises:
        DataError: missing, truncated or corrupt file, another dataset than `name`, or arrays
            whose fingerprint differs from the one recorded when the file was written.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("packed dataset file not found", path=path)
    try:
        if path.name.endswith(".xz"):
            with open(path, "rb") as stream:
                data = _unpack_capped(stream, path)
        else:
            data = path.read_bytes()
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            if sum(info.file_size for info in z.zip.infolist()) > MAX_UNPACKED_BYTES:
                raise DataError(f"its arrays declare more than {MAX_UNPACKED_BYTES} bytes: "
                                "refused as a possible compression bomb", path=path)
            arrays = {k: z[k] for k in z.files}
        header = json.loads(arrays.pop("header").tobytes().decode())
        images, labels = arrays["images"], arrays["labels"]
    except DataError:
        raise
    except (lzma.LZMAError, OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"not a readable packed dataset ({type(err).__name__}: {err})",
                        path=path) from None
    if header.get("format_version") != FORMAT_VERSION:
        raise DataError(f"packed with format version {header.get('format_version')!r}; this "
                        f"version of fer_keras reads version {FORMAT_VERSION}", path=path)
    if name is not None and header["name"] != name:
        raise DataError(f"holds dataset {header['name']!r}, not {name!r}", path=path)
    meta = dict(header.get("meta") or {})
    meta["packed_file"] = str(path)
    ds = FERDataset(name=header["name"], images=images, labels=labels,
                    class_names=header["class_names"], meta=meta,
                    **{f: arrays.get(f) for f in _OPTIONAL})
    if ds.fingerprint() != header["fingerprint"]:
        raise DataError(f"arrays have fingerprint {ds.fingerprint()}, the file recorded "
                        f"{header['fingerprint']}: it is damaged", path=path)
    return ds
