"""Packed datasets (`fer_keras.data.packed`): round trips, the `load_dataset` and CLI hooks, and
every way a pack can be wrong (another dataset, truncated, corrupt, altered after writing).

Everything here runs on tiny fixtures in tmp_path; nothing imports TensorFlow or Keras.
"""

import io
import json
import lzma
import warnings
import zipfile

import numpy as np
import pytest

from data_fixtures import isolated_cache, make_ckplus, make_jaffe  # noqa: F401
from fer_keras.data import (
    DataError, LeakageWarning, is_packed, load_dataset, load_packed, make_splits, save_packed,
)
from fer_keras.data.__main__ import main as data_main
from fer_keras.data.packed import FORMAT_VERSION

SUFFIXES = (".npz.xz", ".npz")
OPTIONAL = ("subjects", "sequences", "usage", "boxes", "paths")


@pytest.fixture
def ckplus_root(tmp_path):
    return make_ckplus(tmp_path / "ck", num_subjects=12, seqs_per_subject=2)


@pytest.fixture
def ckplus(ckplus_root):
    return load_dataset("ckplus", ckplus_root, progress=False)


@pytest.fixture
def synthetic():
    return load_dataset("synthetic", num_examples=70, image_size=24)


def assert_same_dataset(actual, expected):
    assert actual.name == expected.name
    assert actual.class_names == expected.class_names
    assert actual.images.dtype == np.uint8 and actual.labels.dtype == np.int64
    np.testing.assert_array_equal(actual.images, expected.images)
    np.testing.assert_array_equal(actual.labels, expected.labels)
    for field in OPTIONAL:
        a, e = getattr(actual, field), getattr(expected, field)
        assert (a is None) == (e is None), field
        if e is not None:
            assert a.dtype.kind == e.dtype.kind, field
            np.testing.assert_array_equal(a, e, err_msg=field)
    assert actual.fingerprint() == expected.fingerprint()


def test_is_packed_goes_by_suffix(tmp_path):
    assert is_packed("x/ckplus.npz.xz") and is_packed(tmp_path / "a.npz")
    assert is_packed(tmp_path / "nothing_here.npz.xz")  # it need not exist
    for name in ("ckplus", "ckplus.xz", "ckplus.npz.gz", "ckplus.zip", tmp_path):
        assert not is_packed(name), name


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_synthetic_round_trip(tmp_path, synthetic, suffix):
    path = save_packed(synthetic, tmp_path / "sub" / f"synthetic{suffix}")
    assert path == tmp_path / "sub" / f"synthetic{suffix}" and path.is_file()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    magic = b"\xfd7zXZ\x00" if suffix == ".npz.xz" else b"PK\x03\x04"
    assert path.read_bytes()[:len(magic)] == magic
    loaded = load_packed(path)
    assert synthetic.boxes is not None and synthetic.subjects is not None  # fields carried
    assert_same_dataset(loaded, synthetic)
    assert loaded.meta["packed_file"] == str(path)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_ckplus_round_trip_through_load_dataset(tmp_path, ckplus, suffix):
    assert len(ckplus) == 72 and ckplus.sequences is not None and ckplus.paths is not None
    path = save_packed(ckplus, tmp_path / f"ckplus{suffix}")
    loaded = load_dataset("ckplus", data_dir=str(path))
    assert_same_dataset(loaded, ckplus)
    assert loaded.meta["num_sequences"] == ckplus.meta["num_sequences"] == 24
    assert loaded.meta["data_dir"] == ckplus.meta["data_dir"]
    assert loaded.meta["packed_file"] == str(path)


def test_usage_field_round_trips(tmp_path, synthetic):
    usage = np.where(np.arange(len(synthetic)) % 2, "Training", "PublicTest")
    ds = type(synthetic)(name="fer2013", images=synthetic.images, labels=synthetic.labels,
                         class_names=synthetic.class_names, usage=usage)
    loaded = load_dataset("fer2013", save_packed(ds, tmp_path / "fer2013.npz.xz"))
    np.testing.assert_array_equal(loaded.usage, usage)
    assert loaded.subjects is None and loaded.boxes is None


def test_saving_again_replaces_the_file(tmp_path, synthetic, ckplus):
    path = tmp_path / "data.npz.xz"
    save_packed(ckplus, path)
    save_packed(synthetic, path)
    assert_same_dataset(load_packed(path), synthetic)


def test_pack_of_another_dataset_names_both(tmp_path, ckplus):
    path = save_packed(ckplus, tmp_path / "ckplus.npz.xz")
    with pytest.raises(DataError) as err:
        load_dataset("jaffe", data_dir=str(path))
    assert "'ckplus'" in str(err.value) and "'jaffe'" in str(err.value)
    assert err.value.path == str(path) and str(path) in str(err.value)
    with pytest.raises(DataError, match="'fer2013'"):
        load_packed(path, name="fer2013")
    # imagefolder takes any pack, as documented in load_dataset.
    assert load_dataset("imagefolder", data_dir=path).name == "ckplus"


def test_bad_suffix_raises_value_error_naming_the_path(tmp_path, synthetic):
    bad = tmp_path / "synthetic.tar.xz"
    with pytest.raises(ValueError, match="synthetic.tar.xz"):
        save_packed(synthetic, bad)
    assert not bad.exists() and not list(tmp_path.iterdir())


def test_missing_file_raises_data_error(tmp_path):
    path = tmp_path / "absent.npz.xz"
    with pytest.raises(DataError, match="not found") as err:
        load_packed(path)
    assert err.value.path == str(path)
    with pytest.raises(DataError, match="absent.npz.xz"):
        load_dataset("ckplus", data_dir=path)


def _damage(data, kind):
    if kind == "truncated":
        return data[: len(data) // 2]
    if kind == "corrupt":
        mid = len(data) // 2
        return data[:mid] + bytes(b ^ 0xFF for b in data[mid:mid + 64]) + data[mid + 64:]
    if kind == "empty":
        return b""
    return b"this is not a packed dataset\n"


@pytest.mark.parametrize("suffix, kind", [
    (".npz.xz", "truncated"), (".npz.xz", "corrupt"), (".npz.xz", "empty"), (".npz.xz", "text"),
    (".npz", "truncated"),
    (".npz", "corrupt"),
    (".npz", "empty"), (".npz", "text"),
])
def test_damaged_file_raises_data_error_naming_the_path(tmp_path, synthetic, suffix, kind):
    path = save_packed(synthetic, tmp_path / f"synthetic{suffix}")
    path.write_bytes(_damage(path.read_bytes(), kind))
    with pytest.raises(DataError, match="not a readable packed dataset") as err:
        load_dataset("imagefolder", data_dir=path)
    assert err.value.path == str(path) and str(path) in str(err.value)


def _rewrite(path, change):
    """Rewrites a pack by hand (xz of an np.savez archive) after `change(arrays)`."""
    with np.load(io.BytesIO(lzma.decompress(path.read_bytes())), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(lzma.compress(buffer.getvalue()))


def _header(arrays):
    return json.loads(arrays["header"].tobytes().decode())


def _set_header(arrays, header):
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)


def test_hand_written_pack_in_the_documented_format_loads(tmp_path, ckplus):
    path = save_packed(ckplus, tmp_path / "ckplus.npz.xz")
    _rewrite(path, lambda arrays: None)  # same arrays, written by numpy + lzma directly
    header = {}
    _rewrite(path, lambda arrays: header.update(_header(arrays)))
    assert header["format_version"] == FORMAT_VERSION and header["name"] == "ckplus"
    assert header["fingerprint"] == ckplus.fingerprint()
    assert header["class_names"] == list(ckplus.class_names)
    assert_same_dataset(load_packed(path, name="ckplus"), ckplus)


@pytest.mark.parametrize("what", ["pixel", "label", "image_order"])
def test_arrays_altered_after_writing_fail_the_fingerprint(tmp_path, ckplus, what):
    path = save_packed(ckplus, tmp_path / "ckplus.npz.xz")

    def alter(arrays):
        if what == "pixel":
            arrays["images"] = arrays["images"].copy()
            arrays["images"][3, 10, 10, 0] ^= 1
        elif what == "label":
            arrays["labels"] = arrays["labels"].copy()
            arrays["labels"][0] = (arrays["labels"][0] + 1) % 7
        else:
            arrays["images"] = arrays["images"][::-1].copy()

    _rewrite(path, alter)
    with pytest.raises(DataError, match="fingerprint") as err:
        load_dataset("ckplus", data_dir=path)
    assert ckplus.fingerprint() in str(err.value) and "damaged" in str(err.value)
    assert err.value.path == str(path)


def test_other_format_version_is_refused(tmp_path, synthetic):
    path = save_packed(synthetic, tmp_path / "synthetic.npz.xz")

    def bump(arrays):
        header = _header(arrays)
        header["format_version"] = FORMAT_VERSION + 1
        _set_header(arrays, header)

    _rewrite(path, bump)
    with pytest.raises(DataError, match=f"format version {FORMAT_VERSION + 1}") as err:
        load_packed(path)
    assert err.value.path == str(path)


def test_pack_missing_an_array_raises_data_error(tmp_path, synthetic):
    path = save_packed(synthetic, tmp_path / "synthetic.npz.xz")
    _rewrite(path, lambda arrays: arrays.pop("images"))
    with pytest.raises(DataError) as err:
        load_packed(path)
    assert err.value.path == str(path)


def _splits_equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert (x.name, x.fold, x.protocol) == (y.name, y.fold, y.protocol)
        for field in ("train", "val", "test"):
            np.testing.assert_array_equal(getattr(x, field), getattr(y, field), err_msg=field)


@pytest.mark.parametrize("protocol", ["subject_kfold", "paper_imnv2", "holdout"])
def test_splits_of_the_pack_equal_splits_of_the_original(tmp_path, protocol):
    # paper_imnv2 draws whole sequences, so it needs the sequence IDs to survive the pack.
    root = make_ckplus(tmp_path / "ck", num_subjects=20, seqs_per_subject=3)
    ds = load_dataset("ckplus", root, progress=False)
    packed = load_dataset("ckplus", save_packed(ds, tmp_path / "ckplus.npz"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        original, again = make_splits(ds, protocol, seed=3), make_splits(packed, protocol, seed=3)
    assert len(original[0].train) and len(original[0].test)
    _splits_equal(again, original)


def test_synthetic_and_jaffe_splits_survive_the_pack(tmp_path, synthetic):
    packed = load_packed(save_packed(synthetic, tmp_path / "s.npz.xz"))
    _splits_equal(make_splits(packed, "holdout", seed=1), make_splits(synthetic, "holdout", seed=1))
    jaffe = load_dataset("jaffe", make_jaffe(tmp_path / "jaffe"))
    packed = load_dataset("jaffe", save_packed(jaffe, tmp_path / "jaffe.npz.xz"))
    assert_same_dataset(packed, jaffe)
    _splits_equal(make_splits(packed, "loso"), make_splits(jaffe, "loso"))


def test_cli_pack_writes_a_loadable_file(tmp_path, ckplus_root, ckplus, capsys):
    out = tmp_path / "packs" / "ckplus.npz.xz"
    code = data_main(["--dataset", "ckplus", "--data-dir", str(ckplus_root), "--pack", str(out),
                      "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"packed 72 images into {out}" in captured.err
    summary = json.loads(captured.out)
    assert summary["fingerprint"] == ckplus.fingerprint()
    assert_same_dataset(load_dataset("ckplus", out), ckplus)
    # The pack is itself a --data-dir: the same summary comes back.
    assert data_main(["--dataset", "ckplus", "--data-dir", str(out), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["fingerprint"] == summary["fingerprint"] and again["folds"] == summary["folds"]


def test_cli_pack_with_a_bad_suffix_is_a_clean_error(tmp_path, capsys):
    out = tmp_path / "synthetic.zip"
    assert data_main(["--dataset", "synthetic", "--pack", str(out), "--json"]) == 2
    assert "error:" in capsys.readouterr().err and not out.exists()
