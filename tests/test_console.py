"""The first minutes of a new user: quiet command-line start-up, instant help, fast errors."""

import os
import subprocess
import sys

import pytest
from conftest import ROOT

NOISY = (b"WARNING: All log messages before absl::InitializeLog() is called are written to "
         b"STDERR\nI0000 00:00:1796286100.194180   17557 port.cc:153] oneDNN custom operations "
         b"are on.\nE0000 00:00:1796286127.581054   17557 cuda_platform.cc:52] failed call to "
         b"cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n")
KEPT = b"E0000 00:00:17.5   1 other.cc:3] a real native error\nmessage\nbar 1/2\rbar 2/2\n"
SCRIPT = f"""
import os, sys
from fer_keras.console import quiet_native_logs
quiet_native_logs(verbose=sys.argv[1] == "1")
os.write(2, {NOISY!r})
os.write(2, {KEPT[:40]!r})
sys.stderr.write({KEPT[40:].decode()!r})
"""


def python(*args, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], capture_output=True, env=env, cwd=ROOT,
                          **kwargs)


def test_tensorflow_start_up_lines_are_filtered_unless_verbose():
    assert python("-c", SCRIPT, "0").stderr == KEPT
    assert python("-c", SCRIPT, "1").stderr == NOISY + KEPT


def test_train_without_data_dir_fails_before_importing_keras():
    done = python("-c", "import sys; from fer_keras.train import main; "
                        "rc = main(['--dataset', 'ckplus']); print(rc, 'keras' in sys.modules)")
    assert done.stdout.split() == [b"2", b"False"]
    assert b"--data-dir" in done.stderr and b"e.g. --data-dir data/ckplus" in done.stderr


def test_models_help_imports_no_keras_and_explain_has_a_command_line():
    done = python("-X", "importtime", "-m", "fer_keras.models", "--help")
    assert done.returncode == 0 and b"usage: python -m fer_keras.models" in done.stdout
    imported = [line.rsplit(b"|", 1)[-1].strip() for line in done.stderr.splitlines()]
    assert b"fer_keras.models" in imported and b"keras" not in imported
    done = python("-m", "fer_keras.explain", "--help")
    assert done.returncode == 0 and b"usage: python -m fer_keras.explain" in done.stdout


def test_train_help_lists_models_and_policies_without_importing_keras():
    """The generated parser's choices (model names, augmentation policies) come from Keras-free
    modules (`fer_keras.papers`, `fer_keras.data.policies`): --help is instant and quiet."""
    done = python("-X", "importtime", "-m", "fer_keras.train", "--help")
    assert done.returncode == 0 and b"jaffe_expansion" in done.stdout
    assert b"light_ntwrn" in done.stdout and b"i_mobilenetv2" in done.stdout
    imported = [line.rsplit(b"|", 1)[-1].strip() for line in done.stderr.splitlines()]
    assert b"fer_keras.data.policies" in imported and b"keras" not in imported
    assert b"tensorflow" not in imported


QUIET_API = """
import tempfile
import numpy as np
import fer_keras
from fer_keras.deployment.saved_model import write_saved_model
from fer_keras.deployment.tflite_convert import convert_tflite
from fer_keras.inference.tflite import make_interpreter

model = fer_keras.i_mobilenetv2(input_shape=(32, 32, 3), alpha=0.35, scale_top_stage=True)
x = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)).astype("float32")
model(x)
folder = write_saved_model(model, tempfile.mkdtemp() + "/sm")
interpreter = make_interpreter(model_content=convert_tflite(folder, "int8", representative=x))
interpreter.allocate_tensors()
interpreter.invoke()
print("done")
"""


@pytest.mark.slow
def test_the_python_api_and_a_tflite_conversion_print_no_native_start_up_lines():
    """`import fer_keras`, a model, a SavedModel, an int8 conversion and LiteRT's interpreter:
    nothing on stderr (issue 30); FER_KERAS_NATIVE_LOGS=1 shows TensorFlow's lines again."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",
                                                             "FER_KERAS_NATIVE_LOGS")}
    done = subprocess.run([sys.executable, "-c", QUIET_API], capture_output=True, cwd=ROOT,
                          env={**env, "PYTHONPATH": str(ROOT)}, timeout=600)
    assert done.returncode == 0 and done.stdout.strip() == b"done", done.stderr[-2000:]
    assert done.stderr == b"", done.stderr[-2000:]
    shown = subprocess.run([sys.executable, "-c", "import fer_keras; fer_keras.light_ntwrn()"],
                           capture_output=True, cwd=ROOT, timeout=600,
                           env={**env, "PYTHONPATH": str(ROOT), "FER_KERAS_NATIVE_LOGS": "1"})
    assert shown.returncode == 0 and b"I0000" in shown.stderr
