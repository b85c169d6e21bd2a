"""`training.losses`: the label-smoothed cross-entropy (product recipes, `--label-smoothing`)
against the formula, Keras's own categorical form and the unsmoothed loss; and a real training
step under it."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from fer_keras.training.losses import SparseSmoothedCrossentropy, training_loss  # noqa: E402

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(0, 2, (16, 7)).astype("float32")
LABELS = RNG.integers(0, 7, 16)


def _by_hand(labels, logits, e):
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    target = np.full(logits.shape, e / logits.shape[1])
    target[np.arange(len(labels)), labels] += 1 - e
    return float(-(target * log_p).sum(axis=1).mean())


@pytest.mark.parametrize("e", [0.05, 0.1, 0.3])
def test_smoothed_loss_is_the_formula_on_logits_and_probabilities(e):
    expected = _by_hand(LABELS, LOGITS, e)
    on_logits = SparseSmoothedCrossentropy(e, from_logits=True)(LABELS, LOGITS)
    np.testing.assert_allclose(float(on_logits), expected, rtol=1e-5)
    probs = keras.ops.softmax(LOGITS)
    np.testing.assert_allclose(float(SparseSmoothedCrossentropy(e)(LABELS, probs)), expected,
                               rtol=1e-4)
    onehot = np.eye(7, dtype="float32")[LABELS]
    keras_own = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=e)
    np.testing.assert_allclose(float(on_logits), float(keras_own(onehot, LOGITS)), rtol=1e-5)
    # labels shaped (B, 1), as some pipelines give them, read the same
    np.testing.assert_allclose(
        float(SparseSmoothedCrossentropy(e, from_logits=True)(LABELS[:, None], LOGITS)),
        expected, rtol=1e-5)


def test_no_smoothing_is_keras_sparse_crossentropy_and_smoothing_changes_the_loss():
    plain = training_loss(0.0)
    assert type(plain) is keras.losses.SparseCategoricalCrossentropy and plain.from_logits
    np.testing.assert_allclose(float(plain(LABELS, LOGITS)), _by_hand(LABELS, LOGITS, 0.0),
                               rtol=1e-5)
    smoothed = training_loss(0.1)
    assert isinstance(smoothed, SparseSmoothedCrossentropy) and smoothed.from_logits
    assert float(smoothed(LABELS, LOGITS)) != pytest.approx(float(plain(LABELS, LOGITS)))


def test_config_round_trip_and_bad_values():
    loss = SparseSmoothedCrossentropy(0.2, from_logits=True)
    again = SparseSmoothedCrossentropy.from_config(loss.get_config())
    assert (again.label_smoothing, again.from_logits) == (0.2, True)
    assert keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(loss)).label_smoothing == 0.2
    for bad in (-0.1, 1.0, 2):
        with pytest.raises(ValueError, match=f"label_smoothing must lie in \\[0, 1\\), got {bad}"):
            SparseSmoothedCrossentropy(bad)


def test_train_config_takes_and_checks_label_smoothing():
    from fer_keras.training.config import TrainConfig

    assert TrainConfig(label_smoothing=0.1).validate().label_smoothing == 0.1
    with pytest.raises(ValueError, match="label_smoothing must lie in \\[0, 1\\), got 1.5"):
        TrainConfig(label_smoothing=1.5).validate()
    # a run folder written before the option existed reads as unsmoothed, with the same key
    old = TrainConfig().to_dict()
    old.pop("label_smoothing")
    assert TrainConfig.from_dict(old).run_key() == TrainConfig().run_key()


def test_a_checkpoint_from_before_the_option_resumes(tmp_path):
    """A fold checkpoint stores its run's key; one written before `label_smoothing` existed has
    no such key, and an unsmoothed run resumes it (the campaign's FER2013 row did not, until the
    key left out a zero smoothing). A smoothed run is another configuration and is refused."""
    import json

    from fer_keras.training.config import TrainConfig
    from fer_keras.training.resume_rules import check_fold_state

    before = json.loads(TrainConfig().run_key())
    before.pop("label_smoothing", None)
    state = {"run_key": json.dumps(before, sort_keys=True), "epochs_done": 3, "epochs": 10}
    assert check_fold_state(state, TrainConfig(epochs=10), tmp_path) == []
    with pytest.raises(ValueError, match="differing: label_smoothing \(None, now 0.1\)"):
        check_fold_state(state, TrainConfig(epochs=10, label_smoothing=0.1), tmp_path)


def test_compiled_trainer_minimises_the_smoothed_loss():
    """`compile_trainer` gives the trainer the smoothed loss, and train_on_batch reports it:
    the same weights and batch, a higher loss than without smoothing (for confident logits)."""
    from fer_keras.training.model_setup import compile_trainer

    def trainer(e):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((4,))
        dense = keras.layers.Dense(3)
        model = keras.Model(inputs, dense(inputs))
        dense.set_weights([np.array([[2.0, 0, -1]] + [[0, 0, 0]] * 3, "float32"),
                           np.zeros(3, "float32")])
        compile_trainer(model, None, keras.optimizers.SGD(0.0), label_smoothing=e)
        return model

    x = np.array([[3.0, 0, 0, 0]] * 4, "float32")
    y = np.zeros(4, "int64")
    plain, smoothed = trainer(0.0), trainer(0.2)
    assert isinstance(smoothed.loss, SparseSmoothedCrossentropy)
    loss_plain = plain.train_on_batch(x, y, return_dict=True)["loss"]
    loss_smoothed = smoothed.train_on_batch(x, y, return_dict=True)["loss"]
    logits = np.tile(np.array([6.0, 0, -3], "float32"), (4, 1))
    np.testing.assert_allclose(loss_plain, _by_hand(y, logits, 0.0), rtol=1e-5)
    np.testing.assert_allclose(loss_smoothed, _by_hand(y, logits, 0.2), rtol=1e-5)
    assert loss_smoothed > loss_plain + 0.5  # confident and right: smoothing penalises it
