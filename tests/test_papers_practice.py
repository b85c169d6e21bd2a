"""The papers' practice (issue: reproduce the papers as practised): CK+ frame-level split,
training without a validation carve-out, and test accuracy per epoch that selects nothing."""

import json
import warnings

import numpy as np
import pytest

from backends import require_backend
from data_fixtures import real
from fer_keras.data import load_dataset, make_splits


def _ckplus():
    return load_dataset("ckplus", real("ckplus"))


def _split(ds, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_splits(ds, "paper_imnv2", seed=0, **options)[0]


def test_frame_split_is_882_99_and_stratified():
    ds = _ckplus()
    s = _split(ds, split_level="frame", validation="none")
    assert (len(s.train), len(s.val), len(s.test)) == (882, 0, 99)
    assert not set(s.train) & set(s.test) and len(np.unique(s.test)) == 99
    # Stratified: each class's test count is its share of 99, rounded (largest remainder).
    share = np.bincount(ds.labels, minlength=ds.num_classes) * 99 / len(ds)
    got = np.bincount(ds.labels[s.test], minlength=ds.num_classes)
    assert np.all(np.abs(got - share) < 1), (got, share)
    # Frame level: most test frames have a sibling frame of their sequence in training.
    shared = np.isin(ds.sequences[s.test], ds.sequences[s.train]).mean()
    assert shared > 0.8, shared


def test_sequence_split_is_unchanged_and_keeps_sequences_whole():
    ds = _ckplus()
    s = _split(ds)
    assert len(s.test) == 99 and len(s.train) + len(s.val) == 882 and len(s.val) > 0
    assert not np.isin(ds.sequences[s.test], ds.sequences[np.concatenate([s.train, s.val])]).any()
    none = _split(ds, validation="none")
    assert len(none.val) == 0 and np.array_equal(none.test, s.test)
    assert np.array_equal(none.train, np.sort(np.concatenate([s.train, s.val])))


@pytest.mark.parametrize("protocol", ["subject_kfold", "loso", "holdout"])
def test_validation_none_returns_validation_to_training(protocol):
    ds = load_dataset("synthetic", num_examples=120)
    if protocol != "holdout":
        ds.subjects = np.array([f"s{i % 6}" for i in range(len(ds))])
    carve = make_splits(ds, protocol, num_folds=3) if protocol == "subject_kfold" else \
        make_splits(ds, protocol)
    options = {"num_folds": 3} if protocol == "subject_kfold" else {}
    none = make_splits(ds, protocol, validation="none", **options)
    for a, b in zip(carve, none):
        assert len(b.val) == 0 and np.array_equal(a.test, b.test)
        assert np.array_equal(b.train, np.sort(np.concatenate([a.train, a.val])))
        assert any("validation 'none'" in n for n in b.notes)


def test_bad_option_values_are_named():
    ds = load_dataset("synthetic", num_examples=60)
    with pytest.raises(ValueError, match="validation='nope'"):
        make_splits(ds, "holdout", validation="nope")


@pytest.mark.slow
@pytest.mark.tf
def test_test_each_epoch_records_test_and_changes_no_weight(tmp_path):
    require_backend("tensorflow", "runs on the TensorFlow backend")
    from fer_keras.training import loop
    from fer_keras.training.config import resolve_config

    # 280 examples: with 140, the first epoch's validation outputs overflow to NaN (batch-norm
    # statistics of 3 steps), which training now refuses as a divergence (training/finite.py)
    tiny = dict(model_kwargs=dict(alpha=0.35, scale_top_stage=True), epochs=2,
                dataset_options=dict(num_examples=280, image_size=32), engine="loop")
    runs = {}
    for flag in (False, True):
        config = resolve_config("synthetic", "i_mobilenetv2", output=str(tmp_path / str(flag)),
                                test_each_epoch=flag, **tiny)
        runs[flag] = loop.train(config, verbose=0).folds[0]
    off, on = runs[False], runs[True]
    weights = [np.load(tmp_path / str(f) / "fold_0" / "checkpoint.npz") for f in (False, True)]
    for key in weights[0].files:
        if key != "state":
            np.testing.assert_array_equal(weights[0][key], weights[1][key], err_msg=key)
    assert off["accuracy"] == on["accuracy"] and off["best_epoch"] == on["best_epoch"]
    assert "peak_test_accuracy" not in off and off["selection"] == "validation"
    history = (tmp_path / "True" / "fold_0" / "history.csv").read_text().splitlines()
    assert "test_accuracy" in history[0] and len(history) == 3
    assert 1 <= on["peak_test_epoch"] <= 2
    assert on["last_epoch_test_accuracy"] <= on["peak_test_accuracy"]


@pytest.mark.slow
@pytest.mark.tf
def test_validation_none_reports_the_last_epoch(tmp_path):
    require_backend("tensorflow", "runs on the TensorFlow backend")
    from fer_keras.training import loop
    from fer_keras.training.config import resolve_config

    config = resolve_config("synthetic", "i_mobilenetv2", output=str(tmp_path),
                            model_kwargs=dict(alpha=0.35, scale_top_stage=True), epochs=2,
                            dataset_options=dict(num_examples=140, image_size=32),
                            protocol_options={"validation": "none"}, test_each_epoch=True)
    metrics = loop.train(config, verbose=0).folds[0]
    assert metrics["selection"] == "last_epoch" and metrics["best_epoch"] == 2
    assert metrics["validation"] is None
    assert metrics["accuracy"] == pytest.approx(metrics["last_epoch_test_accuracy"])
    saved = json.loads((tmp_path / "fold_0" / "metrics.json").read_text())
    assert saved["selection"] == "last_epoch"
