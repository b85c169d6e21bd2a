"""fer_keras.plots: the notebooks' figures and tables, and their notebook-support helpers.

Figures are checked by what they draw (bar heights, images, colours, patches), tables by sums
and invariants (block parameters add up to the model's, folds cover the dataset, no test subject
is seen in training under subject_kfold).
"""

import os

import numpy as np
import pytest

import fer_keras
from fer_keras import plots
from fer_keras.data import load_dataset, make_splits
from fer_keras.inference import HaarFaceDetector, Predictor

from inference_fixtures import tiny_model, write_fold


@pytest.fixture
def no_real_data(tmp_path, monkeypatch):
    monkeypatch.setenv(plots.DATA_ENV, str(tmp_path / "absent"))
    monkeypatch.setenv(plots.WORKDIR_ENV, str(tmp_path / "runs"))


@pytest.fixture(scope="module")
def synthetic():
    return load_dataset("synthetic", num_examples=140, num_subjects=10)


# === Notebook support ===
@pytest.mark.parametrize("value,expected", [(None, False), ("", False), ("0", False),
                                            ("false", False), ("No", False), ("1", True),
                                            ("yes", True)])
def test_fast_mode_reads_the_environment(value, expected, monkeypatch):
    if value is None:
        monkeypatch.delenv(plots.FAST_ENV, raising=False)
    else:
        monkeypatch.setenv(plots.FAST_ENV, value)
    assert plots.fast_mode() is expected


def test_find_data_takes_the_environment_alone_when_set(tmp_path, monkeypatch):
    (tmp_path / "ckplus").mkdir()
    monkeypatch.setenv(plots.DATA_ENV, str(tmp_path))
    assert plots.find_data() == tmp_path.resolve()
    assert plots.find_data("ckplus") == (tmp_path / "ckplus").resolve()
    assert plots.find_data("jaffe") is None
    monkeypatch.setenv(plots.DATA_ENV, str(tmp_path / "missing"))
    assert plots.find_data() is None


def test_find_data_looks_beside_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(plots.DATA_ENV, raising=False)
    (tmp_path / "shared" / "data" / "jaffe").mkdir(parents=True)
    (tmp_path / "repo" / "notebooks").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "repo" / "notebooks")   # ../../shared/data, as notebooks see it
    assert plots.find_data("jaffe") == (tmp_path / "shared" / "data" / "jaffe").resolve()


def test_run_folder_is_one_per_configuration(no_real_data, tmp_path):
    base = fer_keras.resolve_config("synthetic", "i_mobilenetv2", epochs=2)
    longer = fer_keras.resolve_config("synthetic", "i_mobilenetv2", epochs=9)
    other = fer_keras.resolve_config("synthetic", "i_mobilenetv2", model_kwargs={"alpha": 0.5})
    assert plots.run_folder(base) == plots.run_folder(longer)  # epochs resume, same run
    assert plots.run_folder(base) != plots.run_folder(other)
    assert plots.run_folder(base).parent == tmp_path / "runs"
    assert plots.run_folder(base).name.startswith("synthetic-i_mobilenetv2-")


def test_demo_config_falls_back_to_synthetic_faces(no_real_data, tmp_path):
    fast, normal = plots.demo_config(fast=True), plots.demo_config(fast=False)
    assert (fast.dataset, fast.epochs, fast.folds) == ("synthetic", 2, [0])
    assert fast.dataset_options == {"num_examples": 700}
    assert normal.epochs == 12 and normal.dataset_options == {"num_examples": 1400}
    assert fast.model_kwargs == plots.DEMO_MODEL_KWARGS and fast.protocol == "subject_kfold"
    assert fast.output.startswith(str(tmp_path / "runs"))


def test_demo_config_uses_ckplus_when_present(shared_data, monkeypatch):
    monkeypatch.setenv(plots.DATA_ENV, str(shared_data))
    config = plots.demo_config(fast=False)
    assert (config.dataset, config.epochs) == ("ckplus", 40)
    assert config.data_dir == str((shared_data / "ckplus").resolve())


def test_demo_photo_of_synthetic_faces_has_one_detectable_face_per_tile(no_real_data):
    photo, sources = plots.demo_photo(faces=3)
    assert photo.shape == (256, 768) and photo.dtype == np.uint8
    assert len(sources) == 3 and all(s.startswith("synthetic") for s in sources)
    boxes = HaarFaceDetector()(photo)
    assert sorted(int(x + w / 2) // 256 for x, _, w, _ in boxes) == [0, 1, 2]


def test_demo_photo_of_jaffe_originals(shared_data, monkeypatch):
    monkeypatch.setenv(plots.DATA_ENV, str(shared_data))
    photo, sources = plots.demo_photo(faces=2)
    assert photo.shape == (256, 512)
    assert sources[0].startswith("JAFFE KA.HA") and "(happy)" in sources[0]
    assert len(HaarFaceDetector()(photo)) == 2


def test_short_run_kwargs_keep_the_rows_apart():
    assert plots.short_run_kwargs("mobilenetv2") == {"alpha": 0.5}
    assert plots.short_run_kwargs("i_mobilenetv2") == {"alpha": 0.375}
    assert plots.short_run_kwargs("wrn_scam") == plots.NARROW_WRN
    assert plots.short_run_kwargs("vgg16") == {}
    assert plots.ablation_models() == fer_keras.list_models("i_mobilenetv2") + \
        fer_keras.list_models("light_ntwrn")
    for name in ("wrn_scam_gbn", "light_ntwrn"):
        fer_keras.create_model(name, **plots.short_run_kwargs(name))  # builds at that width


def test_quiet_tensorflow_restores_stderr():
    before = os.fstat(2)
    tf = plots.quiet_tensorflow()
    after = os.fstat(2)
    assert (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino)
    if tf is not None:
        assert hasattr(tf, "constant")


# === Models ===
@pytest.mark.parametrize("build", [
    lambda: fer_keras.i_mobilenetv2(alpha=0.35, scale_top_stage=True),
    lambda: fer_keras.light_ntwrn(widths=(16, 16, 32), depths=(1, 2, 1), scam_reduction=2),
])
def test_block_table_adds_up_to_the_model(build):
    model = build()
    table = plots.block_table(model)
    assert table["params"].sum() == model.count_params()
    assert table["macs"].sum() == fer_keras.count_macs(model)
    assert table["layers"].sum() == len(model.layers) - 1  # all but the input layer
    assert table.index[1] == "stem" and table.loc["stem", "layers"] == 3
    assert table.index[-1] == "predictions"


def test_summary_text_leaves_out_the_middle():
    model = fer_keras.i_mobilenetv2(alpha=0.35, scale_top_stage=True)
    text = plots.summary_text(model, head=5, tail=3)
    lines = text.splitlines()
    assert len(lines) == 9 and "lines left out" in lines[5]
    assert lines[0].startswith('Model: "i_mobilenetv2"') and "Non-trainable" in lines[-1]
    assert "left out" not in plots.summary_text(model, head=10_000)


def test_model_frame_and_its_plot():
    frame = plots.model_frame(["mobilenetv2_075_rf", "light_ntwrn"])
    assert list(frame.index) == ["mobilenetv2_075_rf", "light_ntwrn"]
    summary = fer_keras.model_summary(fer_keras.create_model("light_ntwrn"))
    assert frame.loc["light_ntwrn", "params (M)"] == pytest.approx(summary["params"] / 1e6)
    assert frame.loc["light_ntwrn", "MACs (M)"] == pytest.approx(summary["macs"] / 1e6)
    fig = plots.plot_model_table(frame)
    params, macs = fig.axes
    heights = [bar.get_height() for bar in params.patches]
    assert heights == pytest.approx(list(frame["params (M)"]))
    assert [bar.get_height() for bar in macs.patches] == pytest.approx(list(frame["MACs (M)"]))
    markers = [c.get_offsets().tolist() for c in params.collections]
    assert [[0, 3.33]] in markers and [[1, 10.14]] in markers  # MB and M figures, as printed


@pytest.mark.parametrize("text,expected", [("18.35 M", (18.35, "M")), ("3.33 MB", (3.33, "MB")),
                                           ("3.26 MB (text: 3.26 M)", (3.26, "MB")),
                                           ("-", None)])
def test_paper_figure(text, expected):
    assert plots.paper_figure(text) == expected


# === Data and protocols ===
def test_show_samples_draws_each_class_in_its_row(synthetic):
    fig = plots.show_samples(synthetic, per_class=3)
    axes = np.array(fig.axes).reshape(synthetic.num_classes, 3)
    for k, row in enumerate(axes):
        assert row[0].get_ylabel().startswith(synthetic.class_names[k])
        for ax in row:
            shown = np.asarray(ax.images[0].get_array())
            matches = [i for i in np.flatnonzero(synthetic.labels == k)
                       if np.array_equal(synthetic.images[i][..., 0], shown)]
            assert matches and ax.get_title() == synthetic.subjects[matches[0]]


def test_fold_frame_covers_the_dataset_without_shared_subjects(synthetic):
    splits = make_splits(synthetic, "subject_kfold")
    frame = plots.fold_frame(synthetic, splits)
    assert len(frame) == 10
    assert ((frame["train"] + frame["val"] + frame["test"]) == len(synthetic)).all()
    assert frame["test"].sum() == len(synthetic)  # every image tested once
    assert (frame["test subjects seen in training"] == 0).all()
    per_class = frame[[f"test {c}" for c in synthetic.class_names]].sum(axis=1)
    assert (per_class == frame["test"]).all()
    fig = plots.plot_folds(frame, "title")
    widths = [bar.get_width() for bar in fig.axes[0].patches]
    assert widths == list(frame["train"]) + list(frame["val"]) + list(frame["test"])


def test_fold_frame_counts_test_subjects_seen_in_training(synthetic):
    split = make_splits(synthetic, "holdout")[0]
    leaky = type(split)("leaky", 0, split.train, split.val,
                        np.concatenate([split.test, split.train[:7]]), "custom")
    frame = plots.fold_frame(synthetic, [leaky])
    assert frame.loc[0, "test subjects seen in training"] == len(
        set(synthetic.subjects[split.train[:7]]))
    assert frame.loc[0, "test images duplicated in train"] == 7


# === Ablations ===
def test_ablation_frame_and_plot():
    frame = plots.ablation_frame(["mobilenetv2_075_rf", "light_ntwrn"], latency_repeats=1)
    assert list(frame["table"]) == ["I-MobileNetV2 Table 2", "Light-NTWRN Table 5"]
    assert frame.loc["light_ntwrn", "paper reports"] == "10.14 M"
    assert (frame["Keras batch-1 ms"] > 0).all()
    frame["accuracy"] = [0.5, np.nan]
    fig = plots.plot_ablation(frame)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["params (M)", "MACs (M)", "Keras batch-1 ms", "accuracy"]
    accuracy = fig.axes[3]
    assert [t.get_text() for t in accuracy.texts] == ["0.5", "n/a"]
    colours = {bar.get_facecolor() for bar in fig.axes[0].patches}
    assert len(colours) == 2  # one colour per table


# === Inference ===
RECORDS = [
    {"box": [10, 12, 40, 40], "crop_box": [6, 8, 48, 48], "label": "happy", "score": 0.7,
     "probabilities": {"sad": 0.1, "happy": 0.7, "neutral": 0.2}},
    {"box": [70, 12, 40, 40], "crop_box": [66, 8, 48, 48], "label": "sad", "score": 0.6,
     "probabilities": {"sad": 0.6, "happy": 0.3, "neutral": 0.1}},
]


def test_records_frame():
    frame = plots.records_frame(RECORDS)
    assert list(frame["label"]) == ["happy", "sad"]
    assert frame.loc[1, "box (x, y, w, h)"] == (70, 12, 40, 40)
    assert frame.loc[0, "neutral"] == 0.2
    assert plots.records_frame([]).empty


def test_show_faces_draws_box_and_crop_per_face():
    photo = np.zeros((80, 140), np.uint8)
    fig = plots.show_faces(photo, RECORDS, ["a", "b"])
    ax = fig.axes[0]
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.texts] == ["happy 0.70", "sad 0.60"]
    assert ax.get_title() == "a | b"


def test_plot_probabilities_marks_the_predicted_class():
    fig = plots.plot_probabilities(RECORDS)
    for ax, rec in zip(fig.axes, RECORDS):
        widths = [bar.get_width() for bar in ax.patches]
        assert widths == list(rec["probabilities"].values())
        red = [label.get_text() for label, bar in zip(ax.get_yticklabels(), ax.patches)
               if bar.get_facecolor()[:3] == pytest.approx((0.839, 0.153, 0.157), abs=1e-2)]
        assert red == [rec["label"]]


def test_show_gradcam_overlays_each_face():
    photo = np.full((80, 140), 128, np.uint8)
    heat = np.zeros((48, 48), np.float32)
    heat[:24, :24] = 1.0
    records = [dict(r, heatmap=heat) for r in RECORDS] + [RECORDS[0]]  # no heatmap: left out
    fig = plots.show_gradcam(photo, records, size=48)
    assert len(fig.axes) == 4
    blended = np.asarray(fig.axes[2].images[0].get_array(), float)  # row 2: overlays
    assert blended.shape == (48, 48, 3)
    hot, cold = blended[:24, :24].mean(axis=(0, 1)), blended[24:, 24:].mean(axis=(0, 1))
    assert not np.allclose(hot, cold)  # the heatmap's quadrant is coloured differently


def test_show_predictions_colours_right_and_wrong(synthetic):
    images = synthetic.images[:3]
    records = [{"label": synthetic.class_names[synthetic.labels[0]], "score": 0.9},
               {"label": "neutral" if synthetic.labels[1] != 6 else "angry", "score": 0.4},
               {"label": "happy", "score": 0.5}]
    fig = plots.show_predictions(images, records, synthetic.labels[:3], synthetic.class_names,
                                 columns=2)
    assert len(fig.axes) == 4
    assert fig.axes[0].title.get_color() == "green" and fig.axes[1].title.get_color() == "red"
    assert fig.axes[3].get_title() == ""


def test_data_source_and_held_out_faces(tmp_path, no_real_data):
    folder = write_fold(tmp_path / "run" / "fold_0", tiny_model(channels=3))
    predictor = Predictor.load(folder)
    assert plots.data_source(predictor) == {"dataset": "synthetic", "data_dir": None}
    images, labels, names, description = plots.held_out_faces(predictor, n=5)
    assert images.shape == (5, 48, 48, 1) and len(labels) == 5
    assert names == predictor.class_names and "test" in description
    assert len(predictor.predict_faces(images)) == 5


def test_data_source_without_the_dataset_falls_back_to_synthetic(tmp_path, no_real_data):
    folder = write_fold(tmp_path / "fold_0", tiny_model(channels=3), dataset="fer2013")
    assert plots.data_source(Predictor.load(folder))["dataset"] == "synthetic"


# === Export ===
REPORT = {"validation": "synthetic holdout fold 0 val (70 images)", "formats": {
    "keras": {"file": "model.keras", "size_bytes": 3_000_000, "agreement": 1.0,
              "max_abs_diff": 0.0, "accuracy": 0.8, "latency_ms": 6.0, "passed": True},
    "float32": {"file": "model_float32.tflite", "size_bytes": 2_500_000, "agreement": 1.0,
                "max_abs_diff": 1e-7, "accuracy": 0.8, "latency_ms": 0.3, "passed": True},
    "int8": {"file": "model_int8.tflite", "size_bytes": 900_000, "agreement": 0.97,
             "max_abs_diff": 0.08, "accuracy": 0.78, "latency_ms": 1.4, "passed": True}}}


def test_export_frame_and_plot():
    frame = plots.export_frame(REPORT)
    assert list(frame.index) == ["keras", "float32", "int8"]
    assert frame.loc["int8", "size (MB)"] == pytest.approx(0.9)
    assert frame.loc["float32", "batch-1 latency (ms)"] == 0.3
    fig = plots.plot_export(REPORT)
    latency, size = fig.axes
    assert [b.get_height() for b in latency.patches] == [6.0, 0.3, 1.4]
    assert [b.get_height() for b in size.patches] == pytest.approx([3.0, 2.5, 0.9])
