"""TorchSGD against hand-computed PyTorch SGD maths; the step learning-rate schedule."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from fer_keras.training.optimizers import TorchSGD, step_schedule  # noqa: E402


def _two_steps(optimizer):
    w = keras.Variable(np.array([1.0, -2.0], np.float32))
    grad = np.array([0.5, 0.5], np.float32)
    optimizer.apply_gradients([(keras.ops.convert_to_tensor(grad), w)])
    first = keras.ops.convert_to_numpy(w).copy()
    optimizer.learning_rate = 0.05  # the schedule halves the rate between the two steps
    optimizer.apply_gradients([(keras.ops.convert_to_tensor(grad), w)])
    return first, keras.ops.convert_to_numpy(w)


def test_matches_pytorch_sgd_with_coupled_weight_decay():
    # torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.1), then lr 0.05, by hand:
    # step 1: g = 0.5 + 0.1 * w = [0.6, 0.3]; buf = g; w = w - 0.1 * buf = [0.94, -2.03]
    # step 2: g = 0.5 + 0.1 * w = [0.594, 0.297]; buf = 0.9 * [0.6, 0.3] + g = [1.134, 0.567]
    #         w = w - 0.05 * buf = [0.8833, -2.05835]
    first, second = _two_steps(TorchSGD(0.1, momentum=0.9, weight_decay=0.1))
    np.testing.assert_allclose(first, [0.94, -2.03], rtol=1e-6)
    np.testing.assert_allclose(second, [0.8833, -2.05835], rtol=1e-6)


def test_differs_from_keras_sgd_once_the_rate_changes():
    # Keras keeps m = 0.9 m - lr g: after the rate change it gives 0.94 - 0.0837 = 0.8563.
    _, keras_w = _two_steps(keras.optimizers.SGD(0.1, momentum=0.9))
    _, torch_w = _two_steps(TorchSGD(0.1, momentum=0.9))
    assert abs(keras_w[0] - torch_w[0]) > 1e-3


def test_nesterov_and_no_momentum():
    # momentum 0: w = w - lr * (grad + wd * w) = 1 - 0.1 * (0.5 + 0.1) = 0.94
    first, _ = _two_steps(TorchSGD(0.1, momentum=0.0, weight_decay=0.1))
    np.testing.assert_allclose(first, [0.94, -2.03], rtol=1e-6)
    # nesterov, step 1: buf = g = 0.5; update g + 0.9 buf = 0.95; w = 1 - 0.1 * 0.95 = 0.905
    first, _ = _two_steps(TorchSGD(0.1, momentum=0.9, nesterov=True))
    np.testing.assert_allclose(first, [0.905, -2.095], rtol=1e-6)


def test_config_round_trip_and_bad_values():
    opt = TorchSGD(0.02, momentum=0.9, weight_decay=5e-4)
    config = opt.get_config()
    assert config["weight_decay"] == 5e-4 and config["momentum"] == 0.9
    again = TorchSGD.from_config(config)
    assert again.coupled_weight_decay == 5e-4 and again.momentum == 0.9
    with pytest.raises(ValueError, match="momentum"):
        TorchSGD(0.1, momentum=1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        TorchSGD(0.1, weight_decay=-1)


def test_step_schedule_halves_every_n_epochs():
    schedule = step_schedule(0.01, steps_per_epoch=10, decay_factor=0.5, decay_epochs=50)
    rates = [float(keras.ops.convert_to_numpy(schedule(step)))
             for step in (0, 499, 500, 999, 1000)]
    np.testing.assert_allclose(rates, [0.01, 0.01, 0.005, 0.005, 0.0025], rtol=1e-6)
    assert step_schedule(0.01, 10, 1.0, 50) == 0.01
    assert step_schedule(0.01, 10, 0.5, 0) == 0.01
