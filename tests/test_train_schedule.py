"""The learning-rate schedules (`fer_keras.training.schedule`, `optimizers.EpochSchedule`) and the
rule that lets a recovered run change its schedule only after the epochs it keeps."""

import dataclasses
import math

import pytest

from fer_keras.training.config import resolve_config
from fer_keras.training.schedule import epoch_learning_rate, learning_rate_at, same_rates


def test_the_fer2013_reading_is_constant_for_80_epochs_then_0_9_every_5():
    config = resolve_config("fer2013", "i_mobilenetv2")
    assert (config.lr_schedule, config.lr_decay_start, config.lr_decay_epochs,
            config.lr_decay_factor) == ("step", 80, 5, 0.9)
    rates = [epoch_learning_rate(config, e) for e in (0, 79, 80, 84, 85, 89, 90, 349)]
    # The public PyTorch code: `if epoch > 80: lr = 0.01 * 0.9 ** ((epoch - 80) // 5)`.
    expected = [0.01 * 0.9 ** ((e - 80) // 5) if e > 80 else 0.01
                for e in (0, 79, 80, 84, 85, 89, 90, 349)]
    assert rates == pytest.approx(expected, rel=1e-12)
    assert rates[4] == pytest.approx(0.009) and rates[-1] == pytest.approx(0.01 * 0.9 ** 53)


def test_step_schedule_without_start_is_light_ntwrns_halving():
    rates = [learning_rate_at(0.01, e, "step", 0.5, 50, 0, 300) for e in (0, 49, 50, 299)]
    assert rates == pytest.approx([0.01, 0.01, 0.005, 0.01 / 32])
    assert learning_rate_at(0.01, 200, "step", 0.5, 0, 0, 300) == 0.01  # every=0: constant


def test_cosine_is_pytorchs_cosine_annealing_per_epoch():
    rates = [learning_rate_at(0.01, e, "cosine", epochs=16) for e in range(16)]
    assert rates[0] == 0.01
    assert rates[8] == pytest.approx(0.005)
    assert rates[15] == pytest.approx(0.005 * (1 + math.cos(math.pi * 15 / 16)))
    assert all(a > b for a, b in zip(rates, rates[1:]))


def test_the_keras_schedule_gives_each_step_its_epochs_rate():
    keras = pytest.importorskip("keras")
    from fer_keras.training.optimizers import EpochSchedule, learning_rate_schedule

    config = resolve_config("fer2013", "i_mobilenetv2")
    schedule = learning_rate_schedule(config, steps_per_epoch=7)
    assert isinstance(schedule, EpochSchedule)
    for step in (0, 6, 7, 80 * 7, 85 * 7 - 1, 85 * 7, 349 * 7 + 6):
        got = float(keras.ops.convert_to_numpy(schedule(step)))
        assert got == pytest.approx(epoch_learning_rate(config, step // 7), rel=1e-5), step
    cosine = learning_rate_schedule(dataclasses.replace(config, lr_schedule="cosine",
                                                        epochs=10), steps_per_epoch=3)
    assert float(keras.ops.convert_to_numpy(cosine(15))) == pytest.approx(0.005, rel=1e-5)
    # get_config is the constructor: the schedule round-trips through Keras serialization.
    again = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(cosine))
    assert again.get_config() == cosine.get_config()
    # A constant schedule stays a float (the optimizer keeps a plain variable).
    ck = resolve_config("ckplus", "i_mobilenetv2")
    assert learning_rate_schedule(ck, 10) == 0.01


def test_a_recovered_run_may_change_its_schedule_only_after_the_kept_epochs():
    from fer_keras.training.recover import RecoveryError, schedule_change

    constant = resolve_config("fer2013", "i_mobilenetv2", lr_decay_factor=1.0,
                              lr_decay_epochs=0, lr_decay_start=0, epochs=50)
    metrics = {"config": {k: v for k, v in constant.to_dict().items()
                          if k not in ("lr_schedule", "lr_decay_start")}}  # an older run
    decayed = resolve_config("fer2013", "i_mobilenetv2", epochs=350)
    assert same_rates(constant, decayed, 81) and not same_rates(constant, decayed, 86)
    assert schedule_change(decayed, metrics, kept_epochs=50) == {
        "lr_decay_factor": [1.0, 0.9], "lr_decay_epochs": [0, 5], "lr_decay_start": [0, 80]}
    with pytest.raises(RecoveryError, match="epoch 86 the rate 0.009"):
        schedule_change(decayed, metrics, kept_epochs=90)
    cosine = dataclasses.replace(decayed, lr_schedule="cosine")
    with pytest.raises(RecoveryError, match="epoch 2 the rate"):
        schedule_change(cosine, metrics, kept_epochs=50)
    assert schedule_change(constant, metrics, kept_epochs=50) == {}
