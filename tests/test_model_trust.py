"""Untrusted SavedModels do not run code, and a model is scored only in its own classes
(issue 21; `fer_keras.inference.trust`, `fer_keras.inference.class_check`)."""

import contextlib

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from fer_keras import evaluate  # noqa: E402
from fer_keras.data.labels import CKPLUS_CLASSES  # noqa: E402
from fer_keras.inference import trust  # noqa: E402
from fer_keras.inference.class_check import ClassMismatch  # noqa: E402
from fer_keras.inference.loading import load_model  # noqa: E402
from inference_fixtures import CLASS_NAMES, tiny_model, write_fold  # noqa: E402

SYNTHETIC = dict(dataset="synthetic", dataset_options=dict(num_examples=140))


def _file_writing_saved_model(path, marker):
    """A SavedModel whose serving signature writes `marker` and returns plausible output."""
    class Evil(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 48, 48, 1], tf.float32)])
        def serve(self, images):
            tf.io.write_file(str(marker), "written by the model")
            logits = tf.reduce_mean(images, axis=[1, 2]) * tf.ones([1, 7])
            return {"probabilities": tf.nn.softmax(logits)}

    evil = Evil()
    tf.saved_model.save(evil, str(path), signatures={"serving_default": evil.serve})
    return path


def test_a_file_writing_saved_model_is_refused_unless_trusted(tmp_path, capsys):
    marker = tmp_path / "written.txt"
    saved = _file_writing_saved_model(tmp_path / "evil", marker)
    assert "WriteFile" in trust.saved_model_ops(saved)
    with pytest.raises(trust.UntrustedSavedModel, match="WriteFile.*--trust-saved-model"):
        load_model(saved)
    with pytest.raises(trust.UntrustedSavedModel):
        evaluate.evaluate_model(saved, dataset="synthetic")
    from fer_keras import predict

    code = predict.main([str(tmp_path), "--model", str(saved)])
    assert code == 2 and "untrusted SavedModel" in capsys.readouterr().err
    assert not marker.exists()  # nothing ran
    with pytest.warns(UserWarning, match="no class names"):
        loaded = load_model(saved, trust_saved_model=True)  # the user's explicit choice
    assert loaded.predict(np.zeros((1, 48, 48, 1), np.float32)).shape == (1, 7)
    assert marker.exists()


def _tf1_saved_model(path, marker, where):
    """A TF1-style SavedModel (`tf.compat.v1.saved_model.Builder`) with a clean serving signature
    whose `where` (main_op, legacy_init_op or a table initializer) writes `marker` at load."""
    graph = tf.Graph()
    with graph.as_default():
        images = tf.compat.v1.placeholder(tf.float32, [None, 48, 48, 1], name="images")
        probabilities = tf.nn.softmax(tf.reduce_mean(images, axis=[1, 2]) * tf.ones([1, 7]))
        write = tf.io.write_file(str(marker), "written at load")
        kwargs = {}
        if where == "table_initializer":
            tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.TABLE_INITIALIZERS, write)
        else:
            kwargs[where] = write
        with tf.compat.v1.Session(graph=graph) as session:
            builder = tf.compat.v1.saved_model.Builder(str(path))
            signature = tf.compat.v1.saved_model.predict_signature_def(
                {"images": images}, {"probabilities": probabilities})
            builder.add_meta_graph_and_variables(
                session, ["serve"], signature_def_map={"serving_default": signature}, **kwargs)
            builder.save()
    return path


@pytest.mark.parametrize("where", ["main_op", "legacy_init_op", "table_initializer"])
def test_a_tf1_saved_model_that_runs_code_at_load_is_refused(tmp_path, capsys, where):
    marker = tmp_path / "written.txt"
    saved = _tf1_saved_model(tmp_path / "evil", marker, where)
    assert not trust.loads_as_tf2(trust.read_proto(saved))
    assert "WriteFile" in trust.saved_model_ops(saved)
    with pytest.raises(trust.UntrustedSavedModel, match="TensorFlow 1 SavedModel.*WriteFile"):
        load_model(saved)
    with pytest.raises(trust.UntrustedSavedModel):
        evaluate.evaluate_model(saved, dataset="synthetic")
    from fer_keras import predict
    from fer_keras.inference.predictor import Predictor

    assert predict.main([str(tmp_path), "--model", str(saved)]) == 2
    assert "TensorFlow 1 SavedModel" in capsys.readouterr().err
    assert evaluate.main(["--model", str(saved), "--dataset", "synthetic"]) != 0
    with pytest.raises(trust.UntrustedSavedModel):
        Predictor.load(saved)
    assert not marker.exists()  # nothing ran through any entry point
    tf.saved_model.load(str(saved))  # the control: TensorFlow itself runs it at load
    assert marker.exists()


def test_a_corrupt_saved_model_is_named_not_a_traceback(tmp_path):
    (tmp_path / "saved_model.pb").write_bytes(b"\x0a\xff\xff\xff garbage")
    with pytest.raises(ValueError, match="saved_model.pb is not a readable SavedModel"):
        load_model(tmp_path)


def test_the_package_exports_load_without_the_flag(tmp_path):
    from fer_keras.training.artifacts import save_saved_model

    assert save_saved_model(tiny_model(), tmp_path / "saved_model", CLASS_NAMES) is None
    assert set(trust.saved_model_ops(tmp_path / "saved_model")) <= trust.INFERENCE_OPS
    loaded = load_model(tmp_path / "saved_model")
    assert loaded.class_names == tuple(CLASS_NAMES)


@pytest.fixture(scope="module")
def ckplus_model(tmp_path_factory):
    fold = tmp_path_factory.mktemp("ck") / "run" / "fold_0"
    return write_fold(fold, tiny_model(), dataset="ckplus", class_names=CKPLUS_CLASSES)


def test_a_ckplus_model_on_jaffe_style_classes_is_refused_with_both_lists(ckplus_model, capsys):
    with pytest.raises(ClassMismatch) as err:
        evaluate.evaluate_model(ckplus_model / "model.keras", **SYNTHETIC)
    assert ", ".join(CKPLUS_CLASSES) in str(err.value)
    assert ", ".join(CLASS_NAMES) in str(err.value) and "--map-labels" in str(err.value)
    code = evaluate.main(["--model", str(ckplus_model / "model.keras"), "--dataset",
                          "synthetic", "--plot", str(ckplus_model / "cm.png")])
    assert code == 2 and "contempt" in capsys.readouterr().err


def test_map_labels_scores_the_shared_classes_only(ckplus_model):
    result = evaluate.evaluate_model(ckplus_model / "model.keras", map_labels=True, **SYNTHETIC)
    neutral = result["per_class"]["neutral"]["support"]
    assert neutral == 0  # CK+ has no neutral: those examples are left out, and counted
    assert "mapped by emotion" in result["notes"][0] and "left out" in result["notes"][0]
    assert sum(map(sum, result["confusion_matrix"])) == result["num_examples"]


@pytest.mark.parametrize("class_names", [["a", "b", "c"], None])
def test_a_three_class_model_never_reaches_an_index_error(tmp_path, class_names):
    import fer_keras

    model = fer_keras.create_model("i_mobilenetv2", alpha=0.35, scale_top_stage=True,
                                   input_shape=(48, 48, 1), num_classes=3)
    fold = write_fold(tmp_path / "fold_0", model, class_names=class_names)
    expected = "model .*: a, b, c; dataset: angry" if class_names else "3 outputs and no class"
    with pytest.warns(UserWarning) if class_names is None else contextlib.nullcontext():
        with pytest.raises(ClassMismatch, match=expected):
            evaluate.evaluate_model(fold / "model.keras", **SYNTHETIC)


def test_a_missing_fold_names_the_folds(ckplus_model, capsys):
    code = evaluate.main(["--model", str(ckplus_model.parent), "--fold", "99"])
    assert code == 2
    assert "--fold 99 does not exist" in capsys.readouterr().err


def test_class_names_given_by_the_user_name_a_bare_model(tmp_path, capsys):
    """A model without class names (a bare .keras file): --class-names names its outputs, and the
    class check then applies to them (issue 21, bullet 5)."""
    from fer_keras.inference.class_check import parse_class_names

    bare = tmp_path / "bare.keras"
    tiny_model().save(bare)
    assert parse_class_names("jaffe") == tuple(CLASS_NAMES)
    assert parse_class_names(" a, b ,c") == ("a", "b", "c")
    for bad in ("a,,b", "a,a", ""):
        with pytest.raises(ValueError, match="class names"):
            parse_class_names(bad)
    loaded = load_model(bare, class_names="fer2013")
    assert loaded.class_names == tuple(CLASS_NAMES) and "--class-names" in \
        loaded.class_names_source
    with pytest.raises(ValueError, match="7 outputs but 3 class names come from the given"):
        load_model(bare, class_names="a,b,c")
    reversed_names = ",".join(reversed(CLASS_NAMES))  # same set, other order: reordered
    result = evaluate.evaluate_model(bare, class_names=reversed_names, **SYNTHETIC)
    assert "reordered" in result["notes"][0]
    code = evaluate.main(["--model", str(bare), "--dataset", "synthetic",
                          "--class-names", "ckplus"])
    assert code == 2 and "contempt" in capsys.readouterr().err
    from fer_keras import predict

    face = tmp_path / "faces"
    face.mkdir()
    code = predict.main([str(face), "--model", str(bare), "--class-names", "a,b"])
    assert code == 2 and "7 outputs" in capsys.readouterr().err
