"""Figures on the real datasets in ../shared/data (skipped where that folder is absent).

These use the user cache (`FER_KERAS_CACHE` or ~/.cache/fer_keras), so FER2013 is decoded once
(about 20 s on 2 cores) and read back in a fraction of a second afterwards.
"""

import warnings

import numpy as np
import pytest

from data_fixtures import real
from fer_keras.data import audit_duplicates, load_dataset, make_splits, split_dataset


def test_ckplus_counts_and_subject_folds():
    ds = load_dataset("ckplus", real("ckplus"), progress=False)
    assert len(ds) == 981 and len(set(ds.subjects)) == 118 and len(set(ds.sequences)) == 327
    assert ds.class_counts() == {"anger": 135, "contempt": 54, "disgust": 177, "fear": 75,
                                 "happy": 207, "sadness": 84, "surprise": 249}
    splits = make_splits(ds, seed=0)
    assert len(splits) == 10
    tests = np.concatenate([s.test for s in splits])
    assert len(tests) == 981 and len(np.unique(tests)) == 981
    for s in splits:
        assert not set(ds.subjects[s.train]) & set(ds.subjects[s.test])
        assert not set(ds.subjects[s.train]) & set(ds.subjects[s.val])


def test_ckplus_paper_imnv2_882_99():
    ds = load_dataset("ckplus", real("ckplus"), progress=False)
    with pytest.warns(UserWarning, match="leaks identities"):
        (s,) = make_splits(ds, "paper_imnv2", seed=0)
    assert len(s.test) == 99 and len(s.train) + len(s.val) == 882
    assert len(set(ds.sequences[s.test])) == 33


def test_jaffe_faces():
    ds = load_dataset("jaffe", real("jaffe"))
    assert ds.images.shape == (213, 48, 48, 1) and len(set(ds.subjects)) == 10
    assert sorted(set(ds.subjects)) == ["KA", "KL", "KM", "KR", "MK", "NA", "NM", "TM", "UY", "YM"]
    assert ds.meta["num_detected"] + ds.meta["num_default_crop"] == 213
    assert ds.meta["num_detected"] >= 200
    splits = make_splits(ds, seed=0)
    assert len(splits) == 10 and sum(len(s.test) for s in splits) == 213
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (s,) = make_splits(ds, "paper_lntwrn", seed=0)
    assert len(split_dataset(s, ds)) == 3408


@pytest.mark.slow
def test_fer2013_folders_counts_and_duplicates():
    ds = load_dataset("fer2013", real("fer2013"), progress=False)
    assert ds.meta["usage_counts"] == {"Training": 28709, "PublicTest": 3589, "PrivateTest": 0}
    train = ds.class_counts(np.flatnonzero(ds.usage == "Training"))
    assert train == {"angry": 3995, "disgust": 436, "fear": 4097, "happy": 7215, "sad": 4830,
                     "surprise": 3171, "neutral": 4965}
    (s,) = make_splits(ds)
    assert len(s.train) == 28709 and len(s.val) == 3589 and len(s.test) == 0
    audit = audit_duplicates(ds, s)
    # About 8 % of the PublicTest images repeat a Training image exactly.
    assert 0.06 < audit["val_in_train"] / len(s.val) < 0.10
    assert audit["blank_images"] >= 10
