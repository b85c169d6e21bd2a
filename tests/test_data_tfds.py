"""The tensorflow-datasets builders, on tiny manual-download folders."""

import numpy as np
import pytest

from data_fixtures import isolated_cache, make_ckplus, make_fer_folders  # noqa: F401

pytestmark = pytest.mark.tf


def _load(name, manual_dir, tmp_path, split):
    tfds = pytest.importorskip("tensorflow_datasets")
    import fer_keras.data.tfds_builders  # noqa: F401  (registers the builders)

    return tfds.load(name, split=split, data_dir=str(tmp_path / "tfds"),
                     download_and_prepare_kwargs={"download_config": tfds.download.DownloadConfig(
                         manual_dir=str(manual_dir))})


def test_ckplus_builder_keeps_subjects(tmp_path):
    root = make_ckplus(tmp_path / "ck", num_subjects=2)
    examples = list(_load("fer_keras_ckplus", root, tmp_path, "train").as_numpy_iterator())
    assert len(examples) == 12
    assert {e["subject"].decode() for e in examples} == {"S010", "S011"}
    assert all(e["image"].shape == (48, 48, 1) and e["sequence"] for e in examples)


def test_fer2013_builder_splits_by_usage(tmp_path):
    root = make_fer_folders(tmp_path / "fer", per_class=1)
    val = list(_load("fer_keras_fer2013", root, tmp_path, "validation").as_numpy_iterator())
    test = list(_load("fer_keras_fer2013", root, tmp_path, "test").as_numpy_iterator())
    assert len(val) == 7 and {e["usage"].decode() for e in val} == {"PublicTest"}
    assert len(test) == 7 and {e["usage"].decode() for e in test} == {"PrivateTest"}
    assert sorted(np.array([e["label"] for e in val]).tolist()) == list(range(7))
