"""The measured table of docs/scaling.md: one model trained on one device and data parallel.

    python scripts/scaling_check.py [--devices 2] [--epochs 4] [--model i_mobilenetv2]

Trains the synthetic demo once per row, each in its own process (the device count must be set
before JAX or TensorFlow starts): JAX with `--distribute none` and `data_parallel` over N virtual
CPU devices (`XLA_FLAGS=--xla_force_host_platform_device_count=N`), TensorFlow engine "fit" with
`none` and `MirroredStrategy` over N logical CPU devices. Prints a Markdown table: training
images/s (the median epoch after the first, which compiles; validation included) and the last
epoch's loss. On a CPU the virtual devices share the same cores, so this measures the overhead
of splitting, not a speed-up; equality with one device is what the tests check
(tests/test_distribute_*.py), with dropout off and equal step counts, which this demo run
(dropout on, a dropped last batch when split) does not have.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

TF_DEVICES = """
import sys, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * {n})
from fer_keras.training.cli import main
sys.exit(main(sys.argv[1:]))
"""
JAX = "import sys; from fer_keras.training.cli import main; sys.exit(main(sys.argv[1:]))"


def _train(backend, distribute, devices, args, out):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    flags = ["--dataset", "synthetic", "--model", args.model, "--epochs", str(args.epochs),
             "--batch-size", str(args.batch_size), "--augment", "none",
             "--distribute", distribute, "--output", str(out), "--quiet"]
    if backend == "jax":
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
        code = JAX
        flags += ["--engine", "loop"]
    else:
        code = TF_DEVICES.format(n=devices)
        flags += ["--engine", "fit"]
    proc = subprocess.run([sys.executable, "-c", code, *flags], env=env, capture_output=True,
                          text=True)
    if proc.returncode:
        raise SystemExit(f"{backend} {distribute} failed:\n{proc.stderr[-3000:]}")
    fold = out / "fold_0"
    metrics = json.loads((fold / "metrics.json").read_text())
    rows = [line.split(",") for line in (fold / "history.csv").read_text().splitlines()]
    col = {name: i for i, name in enumerate(rows[0])}
    times = [float(r[col["time_s"]]) for r in rows[2:]] or [float(rows[1][col["time_s"]])]
    drop = backend == "jax" or distribute != "none"  # compiled or split: full batches only
    images = args.train - (args.train % args.batch_size if drop else 0)
    return {"fold": fold, "metrics": metrics, "rate": images / float(np.median(times)),
            "loss": float(rows[-1][col["loss"]])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", default="i_mobilenetv2")
    parser.add_argument("--backends", default="jax,tensorflow")
    args = parser.parse_args()
    from fer_keras.data import load_dataset, make_splits

    args.train = len(make_splits(load_dataset("synthetic", None), None)[0].train)
    print("| backend | strategy | devices | train images/s | last epoch's loss |\n"
          "|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            one = _train(backend, "none", args.devices, args, Path(tmp) / f"{backend}-none")
            two = _train(backend, "data_parallel", args.devices, args, Path(tmp) / f"{backend}-dp")
            for name, run in (("none", one), ("data_parallel", two)):
                spread = run["metrics"]["distribution"]
                print(f"| {backend} | {name} | {spread['replicas']} | {run['rate']:.0f} | "
                      f"{run['loss']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
