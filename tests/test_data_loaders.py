"""Loaders on tiny datasets written to tmp_path: layouts, metadata, conversions and every error."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from data_fixtures import (face, isolated_cache, make_ckplus, make_fer_csv, make_fer_folders,  # noqa: F401
                           make_jaffe, save, write_bad)
from fer_keras.data import (CKPLUS_CLASSES, FER2013_CLASSES, DataError, FERDataset, load_dataset)
from fer_keras.data import fer2013 as fer_module


# --- FER2013, CSV ---------------------------------------------------------------------------

def test_fer_csv_from_path_and_folder(tmp_path):
    csv = make_fer_csv(tmp_path / "dl" / "fer2013.csv")
    for where in (csv, csv.parent):
        ds = load_dataset("fer2013", where)
        assert len(ds) == 9 and ds.class_names == FER2013_CLASSES
        assert ds.images.shape == (9, 48, 48, 1) and ds.images.dtype == np.uint8
        assert list(ds.usage) == ["Training"] * 3 + ["PublicTest"] * 3 + ["PrivateTest"] * 3
        assert list(ds.labels) == [i % 7 for i in range(9)]
        np.testing.assert_array_equal(ds.images[4, :, :, 0], face(104))
        assert ds.subjects is None and ds.boxes.shape == (9, 4)


@pytest.mark.parametrize("row, message", [
    ("0,1 2 3,Training\n", "3 pixel values, expected 2304"),
    ("9," + " ".join(["1"] * 2304) + ",Training\n", "emotion 9 outside 0..6"),
    ("x," + " ".join(["1"] * 2304) + ",Training\n", "emotion is not an integer"),
    ("1," + " ".join(["300"] * 2304) + ",Training\n", "outside 0..255"),
    ("1," + " ".join(["1"] * 2304) + ",Validation\n", "unknown Usage 'Validation'"),
])
def test_fer_csv_bad_row(tmp_path, row, message):
    csv = make_fer_csv(tmp_path / "fer2013.csv")
    with open(csv, "a") as f:
        f.write(row)
    with pytest.raises(DataError, match=message) as err:
        load_dataset("fer2013", csv)
    assert "fer2013.csv" in str(err.value) and "row 11" in str(err.value)
    ds = load_dataset("fer2013", csv, skip_bad=True)
    assert len(ds) == 9 and len(ds.meta["skipped"]) == 1 and message in ds.meta["skipped"][0][1]


def test_fer_csv_bad_header_and_empty(tmp_path):
    (tmp_path / "a.csv").write_text("label,data\n1,2\n")
    with pytest.raises(DataError, match="header"):
        load_dataset("fer2013", tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("")
    with pytest.raises(DataError, match="empty CSV"):
        load_dataset("fer2013", tmp_path / "b.csv")


# --- FER2013, image folders -----------------------------------------------------------------

def test_fer_folders_usage_from_prefix(tmp_path):
    ds = load_dataset("fer2013", make_fer_folders(tmp_path / "fer"), progress=False)
    assert len(ds) == 7 * 4
    assert ds.meta["usage_counts"] == {"Training": 14, "PublicTest": 7, "PrivateTest": 7}
    # The folder names map onto the CSV order: neutral is 6, sad is 4.
    for path, label in zip(ds.paths, ds.labels):
        assert FER2013_CLASSES[label] == path.split("/")[1]
    k = int(np.flatnonzero(ds.usage == "PrivateTest")[0])
    name = ds.paths[k].split("/")[-1]
    np.testing.assert_array_equal(ds.images[k, :, :, 0], face(int(name.split("_")[1][:-4])))


def test_fer_folders_test_with_one_usage(tmp_path):
    ds = load_dataset("fer2013", make_fer_folders(tmp_path, test_usages=("PublicTest",)),
                      progress=False)
    assert set(ds.usage) == {"Training", "PublicTest"}
    only_test = tmp_path / "only"
    make_fer_folders(only_test, test_usages=("PrivateTest",))
    import shutil
    shutil.rmtree(only_test / "train")
    ds = load_dataset("fer2013", only_test, progress=False)
    assert set(ds.usage) == {"PrivateTest"}


def test_fer_folders_cache_second_load(tmp_path, monkeypatch, isolated_cache):
    root = make_fer_folders(tmp_path / "fer")
    first = load_dataset("fer2013", root, progress=False)
    assert list((isolated_cache / "fer2013").glob("*.npz"))
    assert not list(root.rglob("*.npz"))

    def boom(*a, **k):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(fer_module, "read_many", boom)
    second = load_dataset("fer2013", root, progress=False)
    assert second.fingerprint() == first.fingerprint()
    assert list(second.usage) == list(first.usage)
    # A changed file invalidates the cache.
    save(root / "train" / "happy" / "Training_999.png", face(999))
    with pytest.raises(AssertionError, match="decoded again"):
        load_dataset("fer2013", root, progress=False)


@pytest.mark.parametrize("kind", ["empty", "text", "truncated", "corrupt"])
def test_fer_folders_bad_image(tmp_path, kind):
    root = make_fer_folders(tmp_path / "fer", per_class=1, test_usages=("PublicTest",))
    bad = write_bad(root / "train" / "happy" / "Training_999.png", kind)
    with pytest.raises(DataError) as err:
        load_dataset("fer2013", root, progress=False, use_cache=False)
    assert str(bad) in str(err.value)
    ds = load_dataset("fer2013", root, progress=False, skip_bad=True, use_cache=False)
    assert len(ds) == 14 and [p for p, _ in ds.meta["skipped"]] == [str(bad)]


def test_fer_folders_bad_names_and_folders(tmp_path):
    root = make_fer_folders(tmp_path / "fer", per_class=1, test_usages=("PublicTest",))
    save(root / "train" / "happy" / "img_5.png", face(5))
    with pytest.raises(DataError, match="img_5.png.*does not parse"):
        load_dataset("fer2013", root, progress=False)
    ds = load_dataset("fer2013", root, progress=False, skip_bad=True)
    assert len(ds) == 14 and "img_5.png" in ds.meta["skipped"][0][0]
    (root / "train" / "happy" / "img_5.png").unlink()
    save(root / "train" / "joy" / "Training_77.png", face(77))
    with pytest.raises(DataError, match="unknown class folder 'joy'"):
        load_dataset("fer2013", root, progress=False)


def test_fer_folders_odd_images_converted(tmp_path):
    root = make_fer_folders(tmp_path / "fer", per_class=1, test_usages=("PublicTest",))
    rgb = np.stack([face(1)] * 3, -1)
    save(root / "train" / "happy" / "Training_500.png", rgb)
    save(root / "train" / "sad" / "Training_501.png", face(2, 96))
    ds = load_dataset("fer2013", root, progress=False)
    conv = dict(ds.meta["conversions"])
    assert conv == {"train/happy/Training_500.png": "mode RGB->L",
                    "train/sad/Training_501.png": "size 96x96->48x48"}
    k = list(ds.paths).index("train/happy/Training_500.png")
    np.testing.assert_array_equal(ds.images[k, :, :, 0], face(1))


def test_missing_and_empty_folders(tmp_path):
    for name in ("fer2013", "ckplus", "jaffe", "rafdb", "affectnet", "imagefolder"):
        with pytest.raises(DataError, match="not found") as err:
            load_dataset(name, tmp_path / "nope")
        assert "nope" in str(err.value)
        with pytest.raises(DataError, match="needs data_dir"):
            load_dataset(name, None)
    (tmp_path / "empty").mkdir()
    for name in ("fer2013", "ckplus", "jaffe", "rafdb", "affectnet", "imagefolder"):
        with pytest.raises(DataError):
            load_dataset(name, tmp_path / "empty")
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("sfew", tmp_path)


# --- CK+ ------------------------------------------------------------------------------------

def test_ckplus_layout_and_metadata(tmp_path):
    root = make_ckplus(tmp_path / "ck", num_subjects=3)
    for where in (root, root / "CK+48"):
        ds = load_dataset("ckplus", where, progress=False)
        assert len(ds) == 18 and ds.class_names == CKPLUS_CLASSES
        assert sorted(set(ds.subjects)) == ["S010", "S011", "S012"]
        assert len(set(ds.sequences)) == 6 and ds.meta["num_sequences"] == 6
        k = list(ds.paths).index("anger/S010_001_00000010.png")
        assert ds.subjects[k] == "S010" and ds.sequences[k] == "S010_001" and ds.labels[k] == 0


def test_ckplus_errors(tmp_path):
    root = make_ckplus(tmp_path / "ck", num_subjects=2)
    save(root / "CK+48" / "happy" / "frame1.png", face(3))
    with pytest.raises(DataError, match="frame1.png.*does not parse"):
        load_dataset("ckplus", root, progress=False)
    (root / "CK+48" / "happy" / "frame1.png").unlink()
    save(root / "CK+48" / "neutral" / "S010_009_00000001.png", face(4))
    with pytest.raises(DataError, match="unknown class folder 'neutral'"):
        load_dataset("ckplus", root, progress=False)
    (root / "CK+48" / "neutral" / "S010_009_00000001.png").unlink()
    (root / "CK+48" / "neutral").rmdir()
    # A sequence filed under two classes is mislabelled, not silently accepted.
    save(root / "CK+48" / "fear" / "S010_001_00000099.png", face(5))
    with pytest.raises(DataError, match="S010_001 appears under two classes"):
        load_dataset("ckplus", root, progress=False)


# --- JAFFE ----------------------------------------------------------------------------------

def test_jaffe_tiffs(tmp_path, isolated_cache):
    root = make_jaffe(tmp_path / "jaffe")
    assert Image.open(next(root.glob("KA.AN1.1.tiff"))).mode == "P"
    ds = load_dataset("jaffe", root)
    assert len(ds) == 21 and ds.images.shape == (21, 48, 48, 1)
    assert sorted(set(ds.subjects)) == ["KA", "KL", "YM"]
    assert ds.meta["num_detected"] + ds.meta["num_default_crop"] == 21
    assert len(ds.meta["default_crop_files"]) == ds.meta["num_default_crop"]
    assert ds.meta["conversions"] == []  # the gray-palette TIFF is read losslessly
    k = list(ds.paths).index("KL.SU1.14.tiff")
    assert FER2013_CLASSES[ds.labels[k]] == "surprise" and ds.subjects[k] == "KL"
    # Crops go to the user cache, never next to the data.
    assert list((isolated_cache / "jaffe").glob("*.npz"))
    assert sorted(p.name for p in root.iterdir()) == sorted(p.name for p in root.glob("*.tiff"))
    again = load_dataset("jaffe", root)
    assert again.fingerprint() == ds.fingerprint()


def test_jaffe_detection_on_a_drawn_face(tmp_path):
    from fer_keras.data.jaffe import DEFAULT_BOX, detect_face

    blank = np.full((256, 256), 128, np.uint8)
    assert detect_face(blank) is None
    ds = load_dataset("jaffe", make_jaffe(tmp_path / "j", posers=("KA",)), detect=False)
    assert ds.meta["num_detected"] == 0 and ds.meta["num_default_crop"] == 7
    assert tuple(ds.meta["source_boxes"][0]) == DEFAULT_BOX


def test_jaffe_errors(tmp_path):
    root = make_jaffe(tmp_path / "jaffe", posers=("KA",))
    save(root / "KA.XX1.99.tiff", face(9, 256))
    with pytest.raises(DataError, match="KA.XX1.99.tiff.*unknown expression code 'XX'"):
        load_dataset("jaffe", root)
    (root / "KA.XX1.99.tiff").unlink()
    write_bad(root / "KA.HA9.98.tiff", "text")
    with pytest.raises(DataError, match="KA.HA9.98.tiff.*not an image"):
        load_dataset("jaffe", root)
    ds = load_dataset("jaffe", root, skip_bad=True)
    assert len(ds) == 7 and len(ds.meta["skipped"]) == 1
    (root / "KA.HA9.98.tiff").unlink()
    (root / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="notes.txt.*does not parse"):
        load_dataset("jaffe", root)


# --- imagefolder and synthetic --------------------------------------------------------------

def test_imagefolder_any_size(tmp_path):
    save(tmp_path / "u" / "smile" / "a.jpg", np.stack([face(1, 120)] * 3, -1)[:, :100])
    save(tmp_path / "u" / "smile" / "b.png", face(2, 64))
    save(tmp_path / "u" / "frown" / "c.png", face(3, 48))
    ds = load_dataset("imagefolder", tmp_path / "u", progress=False)
    assert ds.class_names == ("frown", "smile") and list(ds.labels) == [0, 1, 1]
    assert ds.images.shape == (3, 48, 48, 1)
    conv = dict(ds.meta["conversions"])
    assert conv["smile/a.jpg"] == "mode RGB->L; size 100x120->48x48" and "frown/c.png" not in conv
    ds = load_dataset("imagefolder", tmp_path / "u", image_size=32,
                      class_names=("smile", "frown", "neutral"), progress=False)
    assert ds.images.shape[1:] == (32, 32, 1) and list(ds.labels) == [1, 0, 0]
    with pytest.raises(DataError, match="unknown class folder 'smile'"):
        load_dataset("imagefolder", tmp_path / "u", class_names=("frown",), progress=False)


def test_synthetic_deterministic_and_balanced():
    a = load_dataset("synthetic", num_examples=70, seed=3)
    b = load_dataset("synthetic", num_examples=70, seed=3)
    c = load_dataset("synthetic", num_examples=70, seed=4)
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    assert set(a.class_counts().values()) == {10}
    assert a.images.shape == (70, 48, 48, 1) and len(set(a.subjects)) == 10
    x, y, w, h = a.boxes.T
    assert (x >= 0).all() and (y >= 0).all() and (x + w <= 48).all() and (y + h <= 48).all()


def test_synthetic_mean_intensity_is_near_chance():
    """Brightness is random, so a classifier on mean intensity (and its spread) stays near 1/7."""
    from sklearn.linear_model import LogisticRegression

    ds = load_dataset("synthetic", num_examples=1400, seed=0)
    feats = np.stack([ds.images.mean((1, 2, 3)), ds.images.std((1, 2, 3))], 1)
    train, test = np.arange(1400) % 2 == 0, np.arange(1400) % 2 == 1
    clf = LogisticRegression(max_iter=1000).fit(feats[train], ds.labels[train])
    acc = (clf.predict(feats[test]) == ds.labels[test]).mean()
    assert acc < 0.25, acc


def test_dataset_container_checks():
    ds = FERDataset("x", np.zeros((3, 4, 4), np.uint8), [0, 1, 1], ("a", "b"))
    assert ds.images.shape == (3, 4, 4, 1) and ds.num_classes == 2
    assert ds.subset([2, 0]).labels.tolist() == [1, 0]
    with pytest.raises(ValueError, match="labels outside"):
        FERDataset("x", np.zeros((1, 4, 4), np.uint8), [2], ("a", "b"))
    with pytest.raises(ValueError, match="2 labels for 3 images"):
        FERDataset("x", np.zeros((3, 4, 4), np.uint8), [0, 1], ("a", "b"))


def test_import_does_not_import_tensorflow():
    code = ("import sys, fer_keras.data; from fer_keras.data import load_dataset, make_splits;"
            "ds = load_dataset('synthetic', num_examples=14); make_splits(ds);"
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_fer_folders_prefix_disagreeing_with_folder_is_reported(tmp_path):
    root = make_fer_folders(tmp_path / "fer", per_class=1, test_usages=("PublicTest",))
    save(root / "test" / "happy" / "Training_600.png", face(600))
    ds = load_dataset("fer2013", root, progress=False)
    k = list(ds.paths).index("test/happy/Training_600.png")
    assert ds.usage[k] == "Training"
    assert dict(ds.meta["conversions"])["test/happy/Training_600.png"].startswith("usage from")
