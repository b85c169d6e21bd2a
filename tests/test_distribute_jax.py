"""`--distribute data_parallel` under JAX with two virtual CPU devices (training/distribution.py).

Each run is a subprocess: `XLA_FLAGS=--xla_force_host_platform_device_count=2` must be set before
JAX starts. A data_parallel run and a one-device run of the same global batch and seed reach the
same weights after 2 epochs (to `ATOL`: only the order of the gradient sums differs).
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":
    pytest.skip("run with KERAS_BACKEND=jax", allow_module_level=True)

# float32 weights after 2 epochs of a tiny WRN; the tolerance is not yet measured (see report).
ATOL = 1e-4

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras
    from fer_keras.training import resolve_config, train

    out, distribute, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config = resolve_config(
        "synthetic", "wrn", output=out, epochs=2, batch_size=batch, augment="none",
        distribute=distribute, engine="loop", dataset_options=dict(num_examples=64, image_size=32),
        model_kwargs=dict(widths=(8, 8, 8), depths=(1, 1, 1), stem_filters=8))
    train(config, verbose=0)
    import jax
    print(json.dumps({"devices": jax.device_count()}))
""")


def _run(tmp_path, name, distribute, batch=16, devices=2):
    env = dict(os.environ, KERAS_BACKEND="jax",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    out = tmp_path / name
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(out), distribute, str(batch)],
                          env=env, capture_output=True, text=True, timeout=300)
    return proc, out / "fold_0"


def _weights(fold):
    import fer_keras.models  # noqa: F401 - registers the custom layers model.keras names
    model = keras.saving.load_model(fold / "model.keras")
    return [np.asarray(w) for w in model.get_weights()]


def test_data_parallel_matches_one_device(tmp_path):
    one, one_dir = _run(tmp_path, "one", "none")
    two, two_dir = _run(tmp_path, "two", "data_parallel")
    assert one.returncode == 0, one.stderr[-3000:]
    assert two.returncode == 0, two.stderr[-3000:]
    metrics = json.loads((two_dir / "metrics.json").read_text())
    assert metrics["distribution"]["strategy"] == "data_parallel"
    assert metrics["distribution"]["replicas"] == 2 and metrics["distribution"]["processes"] == 1
    assert json.loads((one_dir / "metrics.json").read_text())["distribution"]["replicas"] == 1
    diffs = [np.max(np.abs(a - b)) for a, b in zip(_weights(one_dir), _weights(two_dir))]
    assert max(diffs) < ATOL, max(diffs)
    changed = [np.max(np.abs(a)) for a in _weights(two_dir)]
    assert max(changed) > 0


def test_uneven_global_batch_names_both_numbers(tmp_path):
    proc, _ = _run(tmp_path, "bad", "data_parallel", batch=30, devices=4)
    assert proc.returncode != 0
    assert "batch_size 30 does not split across 4 replicas" in proc.stderr
