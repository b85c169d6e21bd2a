"""RAF-DB and AffectNet loaders on tiny folders written in the official layouts.

Each image's gray level encodes its label (and, for AffectNet, only the face box carries it), so
a label shifted by one, a usage swapped or a box cropped from the wrong place changes the
numbers the tests compare. JPEG keeps a uniform 8 x 8 block exact, so the boxes lie on a
16-pixel grid and the values are compared to within 2 levels.
"""

import hashlib
import shutil

import cv2
import numpy as np
import pytest

from data_fixtures import isolated_cache  # noqa: F401
from fer_keras.data import affectnet, rafdb
from fer_keras.data.affectnet import (AFFECTNET_CLASSES_7, AFFECTNET_CLASSES_8, load_affectnet,
                                      read_face_crop)
from fer_keras.data.dataset import DataError
from fer_keras.data.labels import CKPLUS_CLASSES, FER2013_CLASSES, label_mapping
from fer_keras.data.rafdb import RAFDB_CLASSES, load_rafdb


def gray_bgr(h, w, value):
    return np.full((h, w, 3), value, dtype=np.uint8)


def assert_uniform(images, values):
    """Every image is flat at its expected value (within JPEG's rounding)."""
    got = images.reshape(len(images), -1).astype(int)
    want = np.asarray(values, dtype=int)[:, None]
    assert np.abs(got - want).max() <= 2, np.abs(got - want).max(axis=1)


# --- RAF-DB ---------------------------------------------------------------------------------

def raf_value(label_1_to_7):
    return 30 * label_1_to_7  # 30 .. 210


def make_rafdb(root, train_per_class=3, test_per_class=2):
    """<root>/basic/EmoLabel/list_patition_label.txt and basic/Image/aligned/*_aligned.jpg.

    Names as in the release (train_00001, test_0001); labels cycle 1..7 so classes interleave.
    """
    basic = root / "basic"
    (basic / "EmoLabel").mkdir(parents=True)
    (basic / "Image" / "aligned").mkdir(parents=True)
    lines = []
    for prefix, digits, per_class in (("train", 5, train_per_class), ("test", 4, test_per_class)):
        for i in range(7 * per_class):
            name = f"{prefix}_{i + 1:0{digits}d}"
            label = i % 7 + 1
            cv2.imwrite(str(basic / "Image" / "aligned" / f"{name}_aligned.jpg"),
                        gray_bgr(100, 100, raf_value(label)))
            lines.append(f"{name}.jpg {label}\n")
    (basic / "EmoLabel" / "list_patition_label.txt").write_text("".join(lines))
    return root


def test_rafdb_layout_labels_and_usage(tmp_path):
    root = make_rafdb(tmp_path / "RAF-DB")
    for where in (root, root / "basic"):
        ds = load_rafdb(where, progress=True)
        assert ds.name == "rafdb" and ds.class_names == RAFDB_CLASSES and len(ds) == 35
        assert ds.images.shape == (35, 48, 48, 1) and ds.images.dtype == np.uint8
        assert ds.paths[0] == "Image/aligned/train_00001_aligned.jpg"
        assert ds.paths[-1] == "Image/aligned/test_0014_aligned.jpg"
        assert list(ds.usage) == ["Training"] * 21 + ["PrivateTest"] * 14
        # Labels 1..7 of the file become 0..6: train_00001 is label 1, surprise.
        assert list(ds.labels[:7]) == list(range(7)) and ds.class_names[ds.labels[0]] == "surprise"
        assert_uniform(ds.images, [raf_value(y + 1) for y in ds.labels])
        assert ds.subjects is None and ds.boxes.shape == (35, 4)
        assert ds.class_counts() == {c: 5 for c in RAFDB_CLASSES}
        assert ds.meta["usage_counts"] == {"Training": 21, "PrivateTest": 14}
        assert (ds.meta["num_listed"], ds.meta["num_read"], ds.meta["num_skipped"],
                ds.meta["num_missing"]) == (35, 35, 0, 0)
        assert ds.meta["conversions"] == [] and ds.meta["skipped"] == []


def test_rafdb_class_names_map_onto_fer2013_and_ckplus():
    fer = [FER2013_CLASSES[i] for i in label_mapping(RAFDB_CLASSES, FER2013_CLASSES)]
    assert fer == ["surprise", "fear", "disgust", "happy", "sad", "angry", "neutral"]
    ck = label_mapping(RAFDB_CLASSES, CKPLUS_CLASSES)
    assert [CKPLUS_CLASSES[i] for i in ck[:6]] == ["surprise", "fear", "disgust", "happy",
                                                    "sadness", "anger"]
    assert ck[6] == -1  # CK+48 has no neutral


def test_rafdb_unexpected_size_is_reported(tmp_path):
    root = make_rafdb(tmp_path, train_per_class=1, test_per_class=1)
    cv2.imwrite(str(root / "basic/Image/aligned/test_0002_aligned.jpg"), gray_bgr(64, 64, 60))
    ds = load_rafdb(root)
    assert ds.meta["conversions"] == [("Image/aligned/test_0002_aligned.jpg",
                                       "mode RGB->L; size 64x64->48x48")]


def test_rafdb_missing_folders_and_label_file(tmp_path):
    with pytest.raises(DataError, match="RAF-DB folder not found"):
        load_rafdb(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no basic/ folder"):
        load_rafdb(tmp_path / "empty")
    root = make_rafdb(tmp_path / "raf", train_per_class=1, test_per_class=1)
    label_file = root / "basic/EmoLabel/list_patition_label.txt"
    corrected = label_file.with_name("list_partition_label.txt")
    label_file.rename(corrected)
    assert len(load_rafdb(root)) == 14  # the corrected spelling is accepted too
    corrected.unlink()
    with pytest.raises(DataError, match="list_patition_label.txt.*misspelt"):
        load_rafdb(root)
    label_file.write_text("train_00001.jpg 1\n")
    shutil.rmtree(root / "basic/Image/aligned")
    with pytest.raises(DataError, match="aligned.*not found"):
        load_rafdb(root)


def test_rafdb_missing_image(tmp_path):
    root = make_rafdb(tmp_path)
    gone = root / "basic/Image/aligned/train_00005_aligned.jpg"
    gone.unlink()
    with pytest.raises(DataError, match="line 5 of list_patition_label.txt") as err:
        load_rafdb(root)
    assert err.value.path == str(gone)
    ds = load_rafdb(root, skip_bad=True)
    assert len(ds) == 34 and "Image/aligned/train_00005_aligned.jpg" not in list(ds.paths)
    assert ds.meta["num_missing"] == 1 and ds.meta["num_skipped"] == 1
    assert ds.meta["skipped"][0][0] == str(gone)
    assert_uniform(ds.images, [raf_value(y + 1) for y in ds.labels])


@pytest.mark.parametrize("line, message", [
    ("train_00099.jpg 8", "label 8 outside 1..7"),
    ("train_00099.jpg 0", "label 0 outside 1..7"),
    ("train_00099.jpg x", "label 'x' is not an integer"),
    ("train_00099.jpg", "expected '<image> <label>'"),
    ("train_00099.jpg 1 2", "expected '<image> <label>'"),
    ("val_00099.jpg 3", "image name 'val_00099.jpg' does not parse"),
    ("train_00001.jpg 1", "train_00001.jpg listed again \\(first at line 1\\)"),
])
def test_rafdb_bad_label_line(tmp_path, line, message):
    root = make_rafdb(tmp_path)
    with open(root / "basic/EmoLabel/list_patition_label.txt", "a") as f:
        f.write(line + "\n")
    with pytest.raises(DataError, match=f"list_patition_label.txt: line 36: {message}"):
        load_rafdb(root)
    ds = load_rafdb(root, skip_bad=True)
    assert len(ds) == 35 and ds.meta["num_listed"] == 36 and ds.meta["num_skipped"] == 1
    assert ds.meta["skipped"][0][0].endswith("list_patition_label.txt:36")


def test_rafdb_unreadable_image(tmp_path):
    root = make_rafdb(tmp_path)
    bad = root / "basic/Image/aligned/test_0003_aligned.jpg"
    bad.write_text("not a jpeg")
    with pytest.raises(DataError, match="not an image") as err:
        load_rafdb(root, use_cache=False)
    assert err.value.path == str(bad)
    ds = load_rafdb(root, skip_bad=True, use_cache=False)
    assert len(ds) == 34 and [p for p, _ in ds.meta["skipped"]] == [str(bad)]
    assert ds.meta["usage_counts"] == {"Training": 21, "PrivateTest": 13}


def test_rafdb_cache(tmp_path, monkeypatch, isolated_cache):  # noqa: F811
    root = make_rafdb(tmp_path / "raf", train_per_class=1, test_per_class=1)
    first = load_rafdb(root)
    assert list((isolated_cache / "rafdb").glob("*.npz")) and not list(root.rglob("*.npz"))

    def boom(*args, **kwargs):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(rafdb, "read_many", boom)
    second = load_rafdb(root)
    assert second.fingerprint() == first.fingerprint()
    assert list(second.usage) == list(first.usage) and list(second.paths) == list(first.paths)
    label_file = root / "basic/EmoLabel/list_patition_label.txt"
    label_file.write_text(label_file.read_text().replace("train_00001.jpg 1", "train_00001.jpg 2"))
    with pytest.raises(AssertionError, match="decoded again"):  # a changed label file
        load_rafdb(root)


# --- AffectNet ------------------------------------------------------------------------------

HEADER = ("subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,"
          "expression,valence,arousal\n")
# Photos are 192 wide, 128 tall; the face box (x, y, w, h) is not square and off centre, so a
# swapped x/y or a whole-image resize would bring background into the crop.
PHOTO = (128, 192)
BOX = (96, 16, 64, 96)
BACKGROUND = 250


def affect_value(code):
    return 20 + 20 * code  # 20 .. 220, all below the background


def write_photo(path, value, box=BOX, shape=PHOTO):
    photo = gray_bgr(*shape, BACKGROUND)
    x, y, w, h = box
    photo[max(0, y):y + h, max(0, x):x + w] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), photo)


def csv_row(rel, code, box=BOX):
    landmarks = ";".join(f"{v:.2f}" for v in np.linspace(10.5, 150.25, 136))
    return f'{rel},{",".join(str(v) for v in box)},"{landmarks}",{code},0.176,-0.0556\n'


def make_affectnet(root, train_per_class=3, val_per_class=2):
    """training.csv / validation.csv with codes 0..7 interleaved, then one row each of 8, 9, 10."""
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True)
    for csv_name, per_class in (("training.csv", train_per_class),
                                ("validation.csv", val_per_class)):
        rows = []
        codes = [code for _ in range(per_class) for code in range(8)] + [8, 9, 10]
        for i, code in enumerate(codes):
            digest = hashlib.sha224(f"{csv_name}{i}".encode()).hexdigest()
            rel = f"{100 + i}/{digest}.jpg"
            write_photo(root / "Manually_Annotated_Images" / rel, affect_value(code))
            rows.append(csv_row(rel, code))
        (lists / csv_name).write_text(HEADER + "".join(rows))
    return root


def test_affectnet_seven_classes(tmp_path):
    ds = load_affectnet(make_affectnet(tmp_path), progress=True)
    assert ds.name == "affectnet" and ds.class_names == AFFECTNET_CLASSES_7
    assert ds.class_names == ("neutral", "happy", "sad", "surprise", "fear", "disgust", "angry")
    assert len(ds) == 7 * 5 and ds.images.shape == (35, 48, 48, 1) and ds.images.dtype == np.uint8
    assert list(ds.usage) == ["Training"] * 21 + ["PrivateTest"] * 14
    assert list(ds.labels[:7]) == list(range(7))
    # Only the face box carries the label's gray level: the crop is the box, not the photo.
    assert_uniform(ds.images, [affect_value(y) for y in ds.labels])
    assert all(p.startswith("Manually_Annotated_Images/") and p.endswith(".jpg") for p in ds.paths)
    meta = ds.meta
    assert meta["num_classes"] == 7 and meta["num_rows"] == 27 + 19
    assert meta["dropped"] == {"none": 2, "uncertain": 2, "no-face": 2, "contempt": 5}
    assert meta["usage_counts"] == {"Training": 21, "PrivateTest": 14}
    assert (meta["num_read"], meta["num_skipped"], meta["num_missing"]) == (35, 0, 0)
    assert meta["conversions"] == [] and meta["notes"] == [] and ds.subjects is None


def test_affectnet_eight_classes_keeps_contempt(tmp_path):
    ds = load_affectnet(make_affectnet(tmp_path), classes=8)
    assert ds.name == "affectnet" and ds.class_names == AFFECTNET_CLASSES_8 and len(ds) == 40
    assert ds.class_counts()["contempt"] == 5 and ds.meta["num_classes"] == 8
    assert ds.meta["dropped"] == {"none": 2, "uncertain": 2, "no-face": 2, "contempt": 0}
    assert_uniform(ds.images, [affect_value(y) for y in ds.labels])


def test_affectnet_limit_per_class_keeps_the_first_rows(tmp_path):
    root = make_affectnet(tmp_path)
    full = load_affectnet(root, classes=8)
    ds = load_affectnet(root, classes=8, limit_per_class=2)
    assert ds.meta["usage_counts"] == {"Training": 16, "PrivateTest": 16}
    assert ds.meta["num_over_limit"] == 8 and ds.meta["limit_per_class"] == 2
    train = full.paths[full.usage == "Training"]
    assert list(ds.paths[ds.usage == "Training"]) == list(train[:16])  # rows 1..16 of the CSV
    one = load_affectnet(root, classes=8, limit_per_class=1)
    assert one.class_counts() == {c: 2 for c in AFFECTNET_CLASSES_8}
    assert list(one.paths[one.usage == "PrivateTest"]) == list(
        full.paths[full.usage == "PrivateTest"][:8])


@pytest.mark.parametrize("box", [(160, -16, 64, 64), (-32, 80, 80, 80)])
def test_affectnet_crop_is_clipped_to_the_photo(tmp_path, box):
    path = tmp_path / "photo.jpg"
    write_photo(path, 90, box=box)
    face, conversion = read_face_crop(path, box)
    assert face.shape == (48, 48) and face.dtype == np.uint8 and conversion is None
    assert np.abs(face.astype(int) - 90).max() <= 2
    with pytest.raises(DataError, match="face box .* lies outside the 192x128 image"):
        read_face_crop(path, (200, 0, 10, 10))


def test_affectnet_headerless_csv_read_in_official_order(tmp_path):
    root = make_affectnet(tmp_path)
    val = root / "Manually_Annotated_file_lists/validation.csv"
    val.write_text(val.read_text().split("\n", 1)[1])
    ds = load_affectnet(root)
    assert ds.meta["usage_counts"] == {"Training": 21, "PrivateTest": 14}
    assert ds.meta["notes"] == ["validation.csv has no header row: read in the official order"]


@pytest.mark.parametrize("options, message", [
    ({"classes": 6}, "classes must be 7 .* or 8, got 6"),
    ({"classes": "7"}, "got '7'"),
    ({"limit_per_class": 0}, "limit_per_class must be a positive integer or None, got 0"),
])
def test_affectnet_bad_options(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        load_affectnet(tmp_path / "not-read", **options)


def test_affectnet_missing_folders_and_csvs(tmp_path):
    with pytest.raises(DataError, match="AffectNet folder not found"):
        load_affectnet(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no Manually_Annotated_file_lists/ folder"):
        load_affectnet(tmp_path / "empty")
    root = make_affectnet(tmp_path / "an", train_per_class=1, val_per_class=1)
    (root / "Manually_Annotated_file_lists/validation.csv").unlink()
    with pytest.raises(DataError, match="validation.csv: AffectNet CSV file not found"):
        load_affectnet(root)


def test_affectnet_missing_column(tmp_path):
    root = make_affectnet(tmp_path, train_per_class=1, val_per_class=1)
    train = root / "Manually_Annotated_file_lists/training.csv"
    train.write_text(train.read_text().replace(",expression,", ",emotion,", 1))
    with pytest.raises(DataError, match="training.csv: column 'expression' missing"):
        load_affectnet(root, skip_bad=True)  # a bad header is never skipped


@pytest.mark.parametrize("row, message", [
    ("1/a.jpg,abc,16,64,96,\"1;2\",1,0,0", "line 13: face_x 'abc' is not a number"),
    ("1/a.jpg,96,16,nan,96,\"1;2\",1,0,0", "line 13: face_width 'nan' is not a number"),
    ("1/a.jpg,96,16,0,96,\"1;2\",1,0,0", "line 13: empty face box 0x96"),
    ("1/a.jpg,96,16,64,96,\"1;2\",11,0,0", "line 13: expression 11 outside 0..10"),
    ("1/a.jpg,96,16,64,96,\"1;2\",happy,0,0", "line 13: expression 'happy' is not an integer"),
    ("1/a.jpg,96,16", "line 13: 3 fields, no 'expression'"),
    ("../a.jpg,96,16,64,96,\"1;2\",1,0,0", "line 13: subDirectory_filePath '../a.jpg'"),
])
def test_affectnet_bad_row(tmp_path, row, message):
    root = make_affectnet(tmp_path, train_per_class=1, val_per_class=1)
    with open(root / "Manually_Annotated_file_lists/training.csv", "a") as f:
        f.write(row + "\n")
    with pytest.raises(DataError, match=f"training.csv: {message}"):
        load_affectnet(root)
    ds = load_affectnet(root, skip_bad=True)
    assert len(ds) == 14 and ds.meta["num_skipped"] == 1
    assert ds.meta["skipped"][0][0].endswith("training.csv:13")


def test_affectnet_missing_image(tmp_path):
    root = make_affectnet(tmp_path)
    full = load_affectnet(root, use_cache=False)
    gone = root / full.paths[3]
    gone.unlink()
    with pytest.raises(DataError, match="image not found \\(listed at line 5 of training.csv\\)"):
        load_affectnet(root)
    ds = load_affectnet(root, skip_bad=True)
    assert len(ds) == 34 and ds.meta["num_missing"] == 1 and ds.meta["num_skipped"] == 1
    assert ds.meta["skipped"][0][0] == str(gone)
    # limit_per_class counts only rows whose image exists: the next "surprise" row (the 11th
    # kept row of training.csv) takes the missing one's place.
    one = load_affectnet(root, skip_bad=True, limit_per_class=1)
    surprise = one.paths[(one.usage == "Training") & (one.labels == 3)]
    assert full.labels[3] == full.labels[10] == 3 and list(surprise) == [full.paths[10]]


def test_affectnet_unreadable_image(tmp_path):
    root = make_affectnet(tmp_path, train_per_class=1, val_per_class=1)
    full = load_affectnet(root, use_cache=False)
    bad = root / full.paths[-1]
    bad.write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(DataError, match="listed at validation.csv:8") as err:
        load_affectnet(root, use_cache=False)
    assert err.value.path == str(bad)
    ds = load_affectnet(root, skip_bad=True, use_cache=False)
    assert len(ds) == 13 and [p for p, _ in ds.meta["skipped"]] == [str(bad)]


def test_affectnet_cache(tmp_path, monkeypatch, isolated_cache):  # noqa: F811
    root = make_affectnet(tmp_path / "an", train_per_class=1, val_per_class=1)
    first = load_affectnet(root)
    assert list((isolated_cache / "affectnet").glob("*.npz")) and not list(root.rglob("*.npz"))

    def boom(*args, **kwargs):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(affectnet, "read_face_crop", boom)
    second = load_affectnet(root)
    assert second.fingerprint() == first.fingerprint() and list(second.paths) == list(first.paths)
    with pytest.raises(AssertionError, match="decoded again"):
        load_affectnet(root, classes=8)  # another label space is another cache entry
