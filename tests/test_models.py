"""Model tests: every registered variant through the shared harness, then what the builders
promise (paper layouts, switches, parameter counts, export, learning)."""

import subprocess
import sys

import numpy as np
import pytest
import keras

import fer_keras
from fer_keras.models import count_macs, create_model, get_entry, list_models, model_summary
from helpers import run_model_test

to_np = keras.ops.convert_to_numpy

# Small enough for CI, still every block type of the family.
TINY = {
    "i_mobilenetv2": {},  # full width is cheap at 48x48 (18 M MACs)
    "light_ntwrn": dict(widths=(16, 16, 32), depths=(1, 2, 1), scam_reduction=2,
                        shuffle_groups=2),
    "baseline": {},
}


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model(name, tmp_path):
    entry = get_entry(name)
    keras.utils.set_random_seed(0)
    model = create_model(name, **TINY[entry.family])
    run_model_test(model, tmp_path)


# Literal figures, read off the built models at (48, 48, 3) and 7 classes. A change to any
# architecture must show up here (and in the README's table, docs/paper_notes.md).
EXPECTED_PARAMS = {
    "mobilenetv2": 4_521_687,
    "mobilenetv2_075": 2_664_999,
    "mobilenetv2_075_se": 3_020_715,
    "mobilenetv2_075_rf": 2_664_999,
    "i_mobilenetv2": 3_851_755,
    "wrn": 18_641_399,
    "wrn_scam": 18_782_147,
    "wrn_scam_gbn": 14_230_979,
    "light_ntwrn": 1_502_291,
    "vgg16": 14_718_279,
    "vgg19": 20_027_975,
    "resnet50": 23_602_055,
    "keras_mobilenetv2": 2_266_951,
    "mobilenetv3_large": 3_003_079,
    "mobilenetv3_small": 943_159,
}


def test_expected_params_cover_the_registry():
    assert set(EXPECTED_PARAMS) == set(list_models())


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_parameter_counts(name):
    assert create_model(name).count_params() == EXPECTED_PARAMS[name]


def test_mac_counts_of_the_papers_models():
    assert count_macs(create_model("i_mobilenetv2")) == 18_049_216
    assert count_macs(create_model("light_ntwrn")) == 552_367_392


def test_mac_counter_on_a_hand_computed_model():
    inputs = keras.Input((8, 8, 4))
    x = keras.layers.Conv2D(6, 3, padding="same")(inputs)  # 8*8*6 * 3*3*4 = 13824
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same")(x)  # 4*4*6 * 9 = 864
    x = keras.layers.Conv2D(6, 1, groups=3)(x)  # 4*4*6 * 2 = 192
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(5)(x)  # 30
    assert count_macs(keras.Model(inputs, x)) == 13824 + 864 + 192 + 30


def test_stride_readings_of_table_1():
    def final_size(model):
        return tuple(model.get_layer("avg_pool").input.shape[1:3])

    by_size = fer_keras.i_mobilenetv2()
    by_stride = fer_keras.i_mobilenetv2(stride_reading="stride_column")
    assert final_size(by_size) == (2, 2)  # Table 1's output column: 320 x 2 x 2
    assert final_size(by_stride) == (12, 12)
    assert by_size.count_params() == by_stride.count_params()
    ratio = count_macs(by_stride) / count_macs(by_size)
    assert 20 < ratio < 35


def test_i_mobilenetv2_places_rf_and_se_where_table_1_marks_them():
    model = fer_keras.i_mobilenetv2()
    names = [layer.name for layer in model.layers]
    rf_stages = {n.split("_")[0] for n in names if n.endswith("reverse_fusion")}
    se_stages = {n.split("_")[0] for n in names if n.endswith("_se")}
    assert rf_stages == {"stage2", "stage3", "stage6", "stage7"}
    assert se_stages == {"stage2", "stage6"}
    assert model.get_layer("stage7_block3_project").filters == 320
    acts = {layer.activation for layer in model.layers if hasattr(layer, "activation")
            and isinstance(getattr(layer, "activation"), str)}
    assert acts == {"selu"}


def test_light_ntwrn_follows_table_1():
    model = fer_keras.light_ntwrn()
    shapes = {f"stage{s}": tuple(model.get_layer(f"stage{s}_block1_add" if s != 2 else
                                                 "stage2_block1").output.shape[1:])
              for s in (1, 2, 3)}
    assert shapes == {"stage1": (48, 48, 96), "stage2": (24, 24, 192), "stage3": (12, 12, 384)}
    blocks = [layer.name for layer in model.layers if layer.name.endswith("_scam")
              or type(layer).__name__ == "GroupBottleneck"]
    assert len(blocks) == 5 + 8 + 5  # SCAM closes every block (inside the bottlenecks too)


@pytest.mark.parametrize("builder", [fer_keras.i_mobilenetv2, fer_keras.light_ntwrn])
def test_grayscale_inputs(builder):
    kwargs = TINY["light_ntwrn"] if builder is fer_keras.light_ntwrn else {}
    model = builder(input_shape=(48, 48, 1), num_classes=6, **kwargs)
    y = to_np(model(np.full((2, 48, 48, 1), 128.0, "float32")))
    assert y.shape == (2, 6)


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: fer_keras.i_mobilenetv2(alpha=0), "alpha"),
        (lambda: fer_keras.i_mobilenetv2(activation="tanh"), "'tanh'"),
        (lambda: fer_keras.i_mobilenetv2(stride_reading="both"), "'both'"),
        (lambda: fer_keras.i_mobilenetv2(input_shape=(48, 48, 2)), "got 2 in"),
        (lambda: fer_keras.i_mobilenetv2(input_shape=(16, 16, 3)), "16, 16, 3"),
        (lambda: fer_keras.i_mobilenetv2(num_classes=1), "num_classes"),
        (lambda: fer_keras.light_ntwrn(block_types=("ds", "conv", "ds")), "'conv'"),
        (lambda: fer_keras.light_ntwrn(depths=(5, 8)), "depths"),
        (lambda: fer_keras.light_ntwrn(shuffle_groups=5), "groups=5"),
        (lambda: fer_keras.light_ntwrn(scam_order="random"), "'random'"),
        (lambda: fer_keras.create_model("resnet18"), "'resnet18'"),
    ],
)
def test_invalid_model_arguments(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_import_does_not_load_tensorflow_or_keras():
    code = ("import sys, fer_keras; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules; "
            "print(fer_keras.__version__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_model_table_command():
    result = subprocess.run([sys.executable, "-m", "fer_keras.models", "--models",
                             "i_mobilenetv2", "light_ntwrn"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "| i_mobilenetv2 |" in result.stdout and "3.85" in result.stdout
    assert "| light_ntwrn |" in result.stdout and "10.14 M" in result.stdout


@pytest.mark.tf
def test_saved_model_export_serves_the_same_predictions(tmp_path):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("SavedModel export is tested on the TensorFlow backend")
    import tensorflow as tf

    model = fer_keras.light_ntwrn(**TINY["light_ntwrn"])
    x = np.random.default_rng(0).uniform(0, 255, (3, 48, 48, 3)).astype("float32")
    expected = to_np(model(x, training=False))
    model.export(str(tmp_path / "saved"), format="tf_saved_model")
    reloaded = tf.saved_model.load(str(tmp_path / "saved"))
    served = reloaded.serve(tf.constant(x)).numpy()
    np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "name, kwargs, steps",
    [
        ("i_mobilenetv2", dict(alpha=0.35, input_shape=(48, 48, 1)), 80),
        ("light_ntwrn", dict(TINY["light_ntwrn"], dropout_rate=0.0, input_shape=(48, 48, 1)), 80),
    ],
)
def test_tiny_variant_overfits_one_batch(name, kwargs, steps):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (32, 48, 48, 1)).astype("float32")
    y = np.arange(32) % 7  # 32 noise images, arbitrary labels: only memorising fits them
    # Logits and from_logits=True: with softmax outputs, Keras clips probabilities at 1e-7 and
    # an example pushed past that early gets no gradient back (seen on JAX: stuck at 30/32).
    model = create_model(name, classifier_activation=None, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    for _ in range(steps):  # fixed step budget
        model.train_on_batch(x, y)
    accuracy = (to_np(model(x, training=False)).argmax(1) == y).mean()
    assert accuracy >= 0.95, accuracy
