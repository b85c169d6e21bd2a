"""A misspelt protocol, dataset or model option is an error that names it and the accepted ones."""

import types

import pytest

from fer_keras.data import load_dataset, make_splits
from fer_keras.data.protocols import PROTOCOLS
from fer_keras.options import accepted_options, check_options


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_every_protocol_refuses_an_unknown_option_by_name(protocol):
    fn, allowed, _ = PROTOCOLS[protocol]
    allowed = allowed() if callable(allowed) else allowed  # names, or a function of the registry
    ds = types.SimpleNamespace(name=allowed[0] if allowed else "synthetic")  # refused before use
    accepted = accepted_options(fn, skip=("ds", "seed"))
    with pytest.raises(ValueError) as err:
        make_splits(ds, protocol, seed=0, num_fold=3)
    message = str(err.value)
    assert f"unknown option 'num_fold' for protocol '{protocol}'" in message
    assert message.endswith("accepted: " + (", ".join(accepted) if accepted else "none"))


def test_the_documented_misspelling_no_longer_runs_ten_folds():
    ds = load_dataset("synthetic", num_examples=140, num_subjects=6)
    with pytest.raises(ValueError, match="'num_fold' for protocol 'subject_kfold'; accepted: "
                                         "num_folds"):
        make_splits(ds, "subject_kfold", num_fold=3)
    assert len(make_splits(ds, "subject_kfold", num_folds=3)) == 3  # the right name still works


def test_a_new_keyword_parameter_is_accepted_with_no_further_code():
    def protocol(ds, seed, num_folds=10, split_level="subject", **_):
        return None

    check_options({"split_level": "sequence", "num_folds": 2}, protocol, "protocol 'x'",
                  skip=("ds", "seed"))
    with pytest.raises(ValueError, match="options 'a', 'b' for protocol 'x'; accepted: "
                                         "num_folds, split_level"):
        check_options({"a": 1, "b": 2}, protocol, "protocol 'x'", skip=("ds", "seed"))


@pytest.mark.parametrize("name, options, accepted", [
    ("synthetic", {"num_exemples": 10}, "num_examples, num_subjects, image_size, seed"),
    ("ckplus", {"skipbad": True}, "skip_bad, progress"),
    ("jaffe", {"detection": False}, "skip_bad, use_cache, detect"),
    ("fer2013", {"cache": False}, "skip_bad, use_cache, progress"),
    ("imagefolder", {"size": 32}, "image_size, class_names, skip_bad, progress"),
])
def test_every_dataset_refuses_an_unknown_option_by_name(tmp_path, name, options, accepted):
    key = next(iter(options))
    with pytest.raises(ValueError, match=f"unknown option '{key}' for dataset '{name}'; "
                                         f"accepted: {accepted}$"):
        load_dataset(name, str(tmp_path), **options)  # refused before the folder is read


def test_model_kwargs_of_a_keras_application_baseline():
    from fer_keras.models.registry import check_model_kwargs

    check_model_kwargs("keras_mobilenetv2", {"alpha": 0.35})  # MobileNetV2's own argument
    with pytest.raises(ValueError, match="'alpah' for model 'keras_mobilenetv2'; accepted: .*"
                                         "classifier_activation.*alpha"):
        check_model_kwargs("keras_mobilenetv2", {"alpah": 0.35})
    check_model_kwargs("i_mobilenetv2", {"input_shape": (8, 8, 1)}, shape_args=True)


def test_create_model_refuses_a_misspelt_keyword_before_building():
    from fer_keras.models import create_model

    with pytest.raises(ValueError, match="unknown option 'alpah' for model 'i_mobilenetv2'"):
        create_model("i_mobilenetv2", input_shape=(32, 32, 3), num_classes=7, alpah=0.35)
