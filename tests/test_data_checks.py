"""Datasets are checked when loaded: images converted by a stated rule (never wrapped), classes
without images named and refused by train unless allowed."""

import numpy as np
import pytest

from fer_keras.data.audit import empty_class_notes
from fer_keras.data.dataset import FERDataset, as_uint8_images

NAMES = ("a", "b", "c")


def _ds(images, labels=(0, 1, 2)):
    return FERDataset("imagefolder", images, np.array(labels), NAMES)


def test_float_images_in_0_1_are_scaled_with_a_warning():
    with pytest.warns(UserWarning, match="read as 0..1 and scaled by 255"):
        ds = _ds(np.full((3, 4, 4, 1), 0.5, np.float32))
    assert ds.images.dtype == np.uint8 and (ds.images == 128).all()  # not 0


def test_float_images_in_0_255_are_rounded_not_truncated():
    ds = _ds(np.full((3, 4, 4, 1), 254.6, np.float64))
    assert (ds.images == 255).all()


@pytest.mark.parametrize("value,message", [
    (1000.0, r"0..1 or 0..255, got 0..1000"),
    (-1.0, r"got -1..0"),
    (np.nan, "1 NaN or infinite values"),
    (np.inf, "1 NaN or infinite values"),
])
def test_values_no_rule_covers_are_refused(value, message):
    images = np.array([value, 0, 0], np.float32).reshape(3, 1, 1, 1)
    with pytest.raises(ValueError, match=message):
        _ds(images)


def test_integer_images_outside_8_bits_are_refused_not_wrapped():
    with pytest.raises(ValueError, match=r"0..255, got 0..1000 \(int64\)"):
        as_uint8_images(np.array([[0, 1000]]))
    assert as_uint8_images(np.array([[0, 255]], np.int32)).tolist() == [[0, 255]]


def test_missing_classes_are_named_in_the_summary():
    ds = _ds(np.zeros((3, 4, 4, 1), np.uint8), labels=(0, 0, 2))
    assert empty_class_notes(ds) == ["WARNING: no images of 1 of 3 classes (b): a model trained "
                                     "on this data never sees them"]
    assert empty_class_notes(_ds(np.zeros((3, 4, 4, 1), np.uint8))) == []


def test_train_refuses_folders_missing_classes_unless_allowed(tmp_path):
    pytest.importorskip("tensorflow")
    from data_fixtures import face, save
    from fer_keras.training import loop
    from fer_keras.training.config import resolve_config

    for cls in ("angry", "happy", "sad"):
        for k in range(4):
            save(tmp_path / "data" / cls / f"{k}.png", face(k))
    config = resolve_config("imagefolder", "i_mobilenetv2", data_dir=str(tmp_path / "data"),
                            dataset_options={"class_names": ["angry", "disgust", "happy", "sad"]},
                            epochs=1, output=str(tmp_path / "run"))
    with pytest.raises(ValueError, match=r"no images of 1 of 4 classes \(disgust\).*"
                                         "--allow-empty-classes"):
        loop.train(config, verbose=0)
