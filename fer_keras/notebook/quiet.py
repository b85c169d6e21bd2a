"""TensorFlow imported in a notebook without its start-up noise (native stderr silenced)."""

import os


def quiet_tensorflow():
    """Imports TensorFlow, when installed, without its start-up noise, and returns it (or None).

    A notebook kernel shows what native code writes to stderr: TensorFlow's C++ lines about
    looking for CUDA on a machine without a GPU. They are sent to /dev/null while TensorFlow
    starts and probes its devices; its Python INFO logs (one line per SavedModel written) and
    tqdm's "IProgress not found" warning (no ipywidgets) are turned off. Errors still show.
    """
    import contextlib
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import tqdm.auto  # noqa: F401 - warns once, on first import, without ipywidgets
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull, contextlib.suppress(ImportError):
            os.dup2(devnull.fileno(), 2)
            import tensorflow as tf

            tf.config.list_physical_devices()
            tf.get_logger().setLevel("ERROR")
            return tf
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return None
