"""Protocols on small generated data: determinism, leakage-free defaults, paper protocols, audit."""

import warnings

import numpy as np
import pytest

from data_fixtures import face, isolated_cache, make_ckplus, make_fer_csv  # noqa: F401
from fer_keras.data import (CKPLUS_CLASSES, FER2013_CLASSES, FERDataset, LeakageWarning,
                            audit_duplicates, default_protocol, label_mapping, list_protocols,
                            load_dataset, make_splits, map_labels, split_dataset, summarize)


@pytest.fixture
def ck(tmp_path):
    return load_dataset("ckplus", make_ckplus(tmp_path / "ck", num_subjects=14), progress=False)


def _cover_once(splits, n):
    tests = np.concatenate([s.test for s in splits])
    return len(tests) == n and len(np.unique(tests)) == n


def _disjoint(s):
    return not (set(s.train) & set(s.val) or set(s.train) & set(s.test) or set(s.val) & set(s.test))


def test_registry_and_defaults():
    assert default_protocol("fer2013") == "official"
    assert default_protocol("ckplus") == "subject_kfold"
    assert default_protocol("jaffe") == "loso"
    assert "paper_imnv2" in list_protocols("ckplus") and "official" not in list_protocols("ckplus")
    assert set(list_protocols()) >= {"official", "subject_kfold", "loso", "paper_imnv2",
                                     "paper_lntwrn", "holdout"}


def test_subject_kfold(ck):
    splits = make_splits(ck, seed=0)
    assert len(splits) == 10 and _cover_once(splits, len(ck))
    for s in splits:
        assert _disjoint(s) and len(s.train) + len(s.val) + len(s.test) == len(ck)
        for other in (s.val, s.test):
            assert not set(ck.subjects[s.train]) & set(ck.subjects[other])
        assert "validation carved from training subjects" in " ".join(s.notes)
    again = make_splits(ck, seed=0)
    other = make_splits(ck, seed=1)
    assert all(np.array_equal(a.test, b.test) for a, b in zip(splits, again))
    assert not all(np.array_equal(a.test, b.test) for a, b in zip(splits, other))


def test_loso_on_synthetic_subjects():
    ds = load_dataset("synthetic", num_examples=140, num_subjects=5)
    splits = make_splits(ds, "loso", seed=0)
    assert len(splits) == 5 and _cover_once(splits, len(ds))
    for s in splits:
        assert len(set(ds.subjects[s.test])) == 1 and len(set(ds.subjects[s.val])) == 1
        assert not set(ds.subjects[s.train]) & set(ds.subjects[s.test])


def test_official_from_csv(tmp_path):
    ds = load_dataset("fer2013", make_fer_csv(tmp_path / "fer2013.csv"))
    (s,) = make_splits(ds)
    assert list(ds.usage[s.train]) == ["Training"] * 3
    assert list(ds.usage[s.val]) == ["PublicTest"] * 3
    assert list(ds.usage[s.test]) == ["PrivateTest"] * 3
    with pytest.raises(ValueError, match="applies to fer2013"):
        make_splits(load_dataset("synthetic", num_examples=14), "official")


def test_paper_imnv2_sequence_level_and_warns(tmp_path):
    ds = load_dataset("ckplus", make_ckplus(tmp_path / "ck", num_subjects=14, seqs_per_subject=3),
                      progress=False)
    with pytest.warns(LeakageWarning, match="leaks identities"):
        (s,) = make_splits(ds, "paper_imnv2", seed=0, num_test_sequences=6)
    assert len(s.test) == 18 and len(set(ds.sequences[s.test])) == 6
    assert not set(ds.sequences[s.test]) & set(ds.sequences[np.concatenate([s.train, s.val])])
    assert _disjoint(s) and len(s.train) + len(s.val) + len(s.test) == len(ds)


def test_paper_lntwrn_expands_then_splits(ck):
    with pytest.warns(LeakageWarning, match="paper_lntwrn leaks"):
        (s,) = make_splits(ck, "paper_lntwrn", seed=0, target=150)
    big = split_dataset(s, ck)
    assert big is s.dataset and len(big) == 150 and big.class_names == CKPLUS_CLASSES
    assert _disjoint(s) and len(s.train) + len(s.val) + len(s.test) == 150
    assert abs(len(s.test) - 45) <= 1
    src = big.meta["source_index"]
    np.testing.assert_array_equal(big.images[: len(ck)], ck.images)
    np.testing.assert_array_equal(big.labels, ck.labels[src])
    assert np.bincount(src[len(ck):]).max() <= 2  # round-robin over originals
    # Variants differ from their source (every one is erased) but keep its label and subject.
    assert (big.images[len(ck):] != ck.images[src[len(ck):]]).any((1, 2, 3)).all()
    np.testing.assert_array_equal(big.subjects, ck.subjects[src])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (t,) = make_splits(ck, "paper_lntwrn", seed=0, target=150)
    assert t.dataset.fingerprint() == big.fingerprint() and np.array_equal(t.test, s.test)


def test_holdout_without_subjects_is_stratified(tmp_path):
    ds = load_dataset("imagefolder", _folder(tmp_path), progress=False)
    (s,) = make_splits(ds, seed=0)
    assert _disjoint(s) and len(s.test) == 4 and np.bincount(ds.labels[s.test]).tolist() == [2, 2]
    assert any("stratified" in n for n in s.notes)


def _folder(tmp_path):
    from data_fixtures import save

    for i in range(20):
        save(tmp_path / "u" / ("a" if i % 2 else "b") / f"{i}.png", face(i))
    return tmp_path / "u"


def test_duplicate_audit_and_drop():
    imgs = np.stack([face(i) for i in range(10)])[..., None]
    imgs[7] = imgs[1]  # test image duplicating a training image
    imgs[8] = imgs[2]  # ... with a conflicting label
    imgs[3] = imgs[4] = 0  # two blank training images (a within-train duplicate)
    labels = np.array([0, 1, 2, 0, 0, 1, 2, 1, 0, 2])
    usage = np.array(["Training"] * 6 + ["PublicTest"] * 2 + ["PrivateTest"] * 2)
    ds = FERDataset("fer2013", imgs, labels, FER2013_CLASSES, usage=usage)
    (s,) = make_splits(ds)
    audit = audit_duplicates(ds, s)
    assert audit["duplicate_images"] == 3 and audit["duplicate_groups"] == 3
    assert audit["conflicting_label_groups"] == 1 and audit["blank_images"] == 2
    assert audit["train_internal_duplicates"] == 1
    assert audit["val_in_train"] == 1 and audit["test_in_train"] == 1
    summary = summarize(ds, [s])
    assert summary["folds"][0]["duplicate_overlap"] == 1
    assert summary["folds"][0]["val_duplicate_overlap"] == 1
    (d,) = make_splits(ds, drop_duplicates=True)
    assert list(d.val) == [6] and list(d.test) == [9]
    assert "dropped exact duplicates of training images: 1 validation, 1 test" in d.notes


def test_label_mapping_between_spaces():
    m = label_mapping(FER2013_CLASSES, CKPLUS_CLASSES)
    assert [CKPLUS_CLASSES[i] if i >= 0 else None for i in m] == [
        "anger", "disgust", "fear", "happy", "sadness", "surprise", None]
    back = map_labels(np.arange(7), CKPLUS_CLASSES, FER2013_CLASSES)
    assert back.tolist() == [0, -1, 1, 2, 3, 4, 5]


def test_audit_follows_subsets_and_permutations():
    imgs = np.stack([face(i) for i in range(6)])[..., None]
    imgs[5] = imgs[0]
    ds = FERDataset("x", imgs, [0, 1, 0, 1, 0, 1], ("a", "b"))
    assert audit_duplicates(ds)["conflicting_label_groups"] == 1
    perm = ds.subset([5, 1, 2, 3, 4, 0])
    assert audit_duplicates(perm)["conflicting_label_groups"] == 1
    part = ds.subset([1, 2, 3, 4, 0, 4])
    assert audit_duplicates(part) == {"duplicate_images": 1, "duplicate_groups": 1,
                                      "conflicting_label_groups": 0, "blank_images": 0}
