"""The guard at the top of every backend-specific test module.

    keras = require_backend("tensorflow", "the training tests run on the TensorFlow backend")

skips the whole module (at collection; called inside a test, that test) unless the backend's
package imports and Keras runs on that backend (KERAS_BACKEND), and returns `keras` for the
module's own use. The skip reason
starts with the calling module's name (pytest reports the skip at this file's line).
"""

import importlib
import sys

import pytest


def require_backend(name, reason=None):
    """Skips the calling module unless `name` ("tensorflow" or "jax") imports and is Keras's
    backend; returns the keras module."""
    caller = sys._getframe(1).f_globals.get("__name__", "?")
    for package in (name, "keras"):
        try:
            importlib.import_module(package)
        except ImportError as error:
            pytest.skip(f"{caller}: could not import {package!r}: {error}",
                        allow_module_level=True)
    import keras

    if keras.backend.backend() != name:
        pytest.skip(f"{caller}: {reason or f'run with KERAS_BACKEND={name}'}",
                    allow_module_level=True)
    return keras
