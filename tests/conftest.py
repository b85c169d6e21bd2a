import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow 2.21's oneDNN kernels corrupt the heap on an AMD EPYC with AVX-512 (seen
# 2026-12-07: "free(): invalid size", the whole test process aborted) in the backward pass of
# a stride-2 1x1 convolution over 8 input channels at 48 x 48, which the tests' tiny WRN has;
# TensorFlow's own kernels train the tests' models about as fast (docs/performance.md,
# "oneDNN on AMD EPYC"). Set TF_ENABLE_ONEDNN_OPTS=1 to test with oneDNN.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def has_tensorflow():
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return False
    return True


def pytest_collection_modifyitems(config, items):
    skip_tf = pytest.mark.skip(reason="needs TensorFlow, which is not installed")
    tf_present = None
    for item in items:
        if "tf" in item.keywords:
            if tf_present is None:
                tf_present = has_tensorflow()
            if not tf_present:
                item.add_marker(skip_tf)


@pytest.fixture(scope="session")
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA}")
    return SHARED_DATA
