"""training/distribution.py's rules without a second device: the batch check, the linear
learning-rate rule, process numbering, the one-writer gate and what the reports say."""

import types

import pytest

from fer_keras.reproduce.cells import hardware_name
from fer_keras.training import artifacts, distribution, resume_rules, run_lock
from fer_keras.training.config import TrainConfig


def test_uneven_global_batch_names_both_numbers():
    distribution.check_batch(32, 4)
    with pytest.raises(ValueError, match="batch_size 30 does not split across 4 replicas"):
        distribution.check_batch(30, 4)
    with pytest.raises(ValueError, match="batch_size 30 does not split across 4 processes"):
        distribution.check_batch(30, 2, processes=4)


def test_linear_scaling_is_off_by_default_and_relative_to_the_preset_batch():
    from fer_keras.training import resolve_config

    base = resolve_config("ckplus", "i_mobilenetv2", batch_size=80)  # the preset's batch is 20
    assert distribution.scaled_learning_rate(base) == base.learning_rate
    scaled = resolve_config("ckplus", "i_mobilenetv2", batch_size=80, scale_lr=True)
    assert distribution.scaled_learning_rate(scaled) == pytest.approx(4 * base.learning_rate)
    assert distribution.optimizer_config(scaled).learning_rate == pytest.approx(0.04)
    from fer_keras.training.jax_engine.members import scheduled_learning_rate

    assert scheduled_learning_rate(scaled, 0) == pytest.approx(4 * base.learning_rate)
    assert scheduled_learning_rate(base, 0) == pytest.approx(base.learning_rate)


def test_config_checks_name_the_bad_value():
    with pytest.raises(ValueError, match="devices must be an integer >= 0"):
        TrainConfig(devices=-1).validate()
    with pytest.raises(ValueError, match=r"process_id must lie in \[0, num_processes\), got 2"):
        TrainConfig(num_processes=2, process_id=2).validate()


def _resolver(task_type, task_id, cluster):
    spec = types.SimpleNamespace(as_dict=lambda: cluster)
    return types.SimpleNamespace(task_type=task_type, task_id=task_id,
                                 cluster_spec=lambda: spec)


def test_tf_config_numbering_makes_one_chief():
    with_chief = {"chief": ["a:1"], "worker": ["b:1", "c:1"]}
    assert distribution._tf_process(_resolver("chief", 0, with_chief)) == (0, 3)
    assert distribution._tf_process(_resolver("worker", 0, with_chief)) == (1, 3)
    workers = {"worker": ["b:1", "c:1"]}
    assert distribution._tf_process(_resolver("worker", 0, workers)) == (0, 2)
    assert distribution._tf_process(_resolver("worker", 1, workers)) == (1, 2)


def test_a_reading_process_writes_nothing_into_the_run_folder(tmp_path):
    run = tmp_path / "run"
    with artifacts.only_reading():
        assert not artifacts.writes()
        artifacts.write_json(run / "fold_0" / "metrics.json", {"a": 1})
        with run_lock.RunFolder(run, [0], lambda busy: None) as claim:
            claim([1])
    assert not run.exists()
    (run / "fold_0").mkdir(parents=True)
    (run / "fold_0" / "metrics.json").write_text("{}")
    with artifacts.only_reading():
        resume_rules.start_training(run / "fold_0", {}, TrainConfig(), [])
    assert (run / "fold_0" / "metrics.json").exists()
    with artifacts.only_reading(False):  # the chief
        assert artifacts.writes()
        resume_rules.start_training(run / "fold_0", {}, TrainConfig(), [])
    assert not (run / "fold_0" / "metrics.json").exists()


def test_a_lost_peer_is_named_only_in_multi_process_runs(tmp_path):
    class JaxRuntimeError(RuntimeError):
        pass

    err = JaxRuntimeError("UNKNOWN: Gloo all-reduce failed: Connection closed by peer")
    two = distribution.Plan("data_parallel", replicas=2, processes=2, process_id=1)
    lost = distribution.peer_lost(err, two, tmp_path)
    assert isinstance(lost, distribution.PeerLost)
    assert "process 1 of 2: another process of this distributed run stopped" in str(lost)
    assert distribution.peer_lost(err, distribution.Plan(replicas=2), tmp_path) is None
    assert distribution.peer_lost(ValueError("bad"), two, tmp_path) is None
    # JAX raises some failed collectives as ValueError (device_put's cross-process check)
    reset = ValueError("UNKNOWN: Gloo AllGather failed: [external/gloo/gloo/transport/tcp/"
                       "pair.cc:538] Read error [127.0.0.1]:14004: Connection reset by peer")
    assert isinstance(distribution.peer_lost(reset, two, tmp_path), distribution.PeerLost)


def test_reports_name_the_spread():
    run = {"hardware": {"summary": "NVIDIA H200, jax"}}
    assert hardware_name(run) == "NVIDIA H200, jax"
    run["distribution"] = {"strategy": "data_parallel", "replicas": 8, "processes": 2}
    assert hardware_name(run) == "NVIDIA H200, jax, data parallel on 8 devices in 2 processes"
    assert hardware_name({}, "unknown hardware") == "unknown hardware"
