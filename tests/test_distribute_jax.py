"""`--distribute data_parallel` under JAX with two virtual CPU devices (training/distribution.py).

Each run is a subprocess: `XLA_FLAGS=--xla_force_host_platform_device_count=N` must be set before
JAX starts. A data_parallel run and a one-device run of the same global batch and seed reach the
same weights after 2 epochs: `keras.distribution.DataParallel` runs one program over the batch
sharded in two, whose BatchNormalization statistics and gradient means are the global batch's,
so only the order of the sums differs.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from backends import require_backend

from helpers import max_weight_difference

keras = require_backend("jax")

# Measured 2026-12-03 (JAX 0.10, 2 virtual CPU devices, 6 steps of a tiny WRN, no dropout): the
# largest weight difference is 2.4e-7 (the loop), under 1e-5 (the device engine, one model) and
# 3.7e-5 (two models vmapped together: `ATOL_TOGETHER`, the engine's own tolerance for models
# trained together, tests/test_jax_engine.py). Training on one device at half the batch (what a wrong
# split would amount to) differs by about 1e-1 (asserted below as the control). With dropout
# 0.3 the difference was 7.3e-5: the masks are drawn over the sharded batch.
ATOL = 1e-5
ATOL_TOGETHER = 1e-4
SCRIPT = textwrap.dedent("""
    import json, sys
    from fer_keras.training import resolve_config, train

    out, options = sys.argv[1], json.loads(sys.argv[2])
    config = resolve_config(
        "synthetic", "wrn", output=out, augment="none",
        dataset_options=dict(num_examples=64, image_size=32),
        model_kwargs=dict(widths=(8, 8, 8), depths=(1, 1, 1), stem_filters=8, dropout_rate=0.0),
        **{"epochs": 2, "batch_size": 16, "engine": "loop", **options})
    train(config, verbose=0)
    if config.engine == "device":  # is a batch inside the compiled step split over devices?
        import jax, jax.numpy as jnp
        from fer_keras.training.jax_engine import runner
        for program in runner._PROGRAMS.values():
            split = jax.jit(program._split)(jnp.zeros((16, 3)))
            print(json.dumps({"batch_shards": len(split.sharding.device_set)
                              if not split.sharding.is_fully_replicated else 1}))
""")


def _run(tmp_path, name, devices=2, check=True, **options):
    env = dict(os.environ, KERAS_BACKEND="jax",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    out = tmp_path / name
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(out), json.dumps(options)],
                          env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, out / "fold_0"


def _metrics(fold):
    return json.loads((fold / "metrics.json").read_text())


def test_data_parallel_matches_one_device(tmp_path):
    _, one = _run(tmp_path, "one", distribute="none")
    _, two = _run(tmp_path, "two", distribute="data_parallel")
    assert _metrics(two)["distribution"] == {"strategy": "data_parallel", "replicas": 2,
                                              "processes": 1, "devices": ["cpu"]}
    assert _metrics(one)["distribution"]["replicas"] == 1
    assert max_weight_difference(one, two) < ATOL
    _, half = _run(tmp_path, "half", distribute="none", batch_size=8)  # the control
    assert max_weight_difference(one, half) > 100 * ATOL


def test_resume_on_another_device_count_is_noted(tmp_path):
    """One epoch on one device, stopped by the time limit, then resumed on two devices: the run
    ends where an uninterrupted 2-device run ends, and metrics.json says what happened."""
    _, fold = _run(tmp_path, "run", devices=1, distribute="none", time_limit=0.001)
    assert _metrics(fold)["epochs_trained"] == 1 and not _metrics(fold)["complete"]
    _run(tmp_path, "run", distribute="data_parallel")
    metrics = _metrics(fold)
    assert metrics["epochs_trained"] == 2 and metrics["distribution"]["replicas"] == 2
    assert any("on 2 replicas" in note and "ran on 1" in note
               for note in metrics["distribution"]["notes"])
    _, straight = _run(tmp_path, "straight", distribute="data_parallel")
    assert max_weight_difference(fold, straight) < ATOL


def test_uneven_global_batch_names_both_numbers(tmp_path):
    proc, fold = _run(tmp_path, "bad", devices=4, check=False, distribute="data_parallel",
                      batch_size=30)
    assert proc.returncode != 0
    assert "batch_size 30 does not split across 4 replicas" in proc.stderr
    assert not fold.parent.exists()  # refused before anything was written


@pytest.mark.parametrize("together", [1, 2])
def test_device_engine_splits_batches_over_two_devices(tmp_path, together):
    """The device engine with `data_parallel`: the same weights as on one device, for one model
    and for two folds trained together (`models_together`)."""
    options = dict(engine="device", protocol="subject_kfold", folds=[0, 1],
                   protocol_options={"num_folds": 3}, models_together=together)
    proc_one, one = _run(tmp_path, "one", devices=1, distribute="none", **options)
    proc_two, two = _run(tmp_path, "two", distribute="data_parallel", **options)
    assert '"batch_shards": 1' in proc_one.stdout and '"batch_shards": 2' in proc_two.stdout
    assert _metrics(two)["distribution"]["replicas"] == 2
    for fold in ("fold_0", "fold_1"):
        assert max_weight_difference(one.parent / fold, two.parent / fold) < (
            ATOL if together == 1 else ATOL_TOGETHER)
