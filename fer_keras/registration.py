"""`import fer_keras` makes fer_keras's saved objects known to Keras's loader, without importing
Keras (or TensorFlow) itself.

A `.keras` file names each custom layer by its registered name ("fer_keras>SqueezeExcite"), and
`keras.saving.load_model(path, safe_mode=True)` finds it only once the class is registered, which
happens when `fer_keras.layers` is imported. So `import fer_keras` registers them: at once when
Keras is already imported, else right after Keras's own import completes (a finder on
`sys.meta_path` that runs once, for the module `keras` only, then removes itself; it also hides
TensorFlow's native start-up lines, `fer_keras.console`). Either import order then loads every
fer_keras model:

    import fer_keras, keras
    model = keras.saving.load_model("saved_models/i_mobilenetv2_fer2013/model.keras",
                                    safe_mode=True)
"""

import importlib.abc
import importlib.util
import sys
import warnings


def register_with_keras():
    """Registers fer_keras's layers, activations and schedules with Keras now if Keras is
    imported, else as soon as it is."""
    if "keras" in sys.modules:
        _register()
    elif not any(isinstance(f, _AfterKerasImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterKerasImport())


def _register():
    try:
        import fer_keras.layers  # noqa: F401 - registers the custom layers and activations
        import fer_keras.training.optimizers  # noqa: F401 - a compiled model's schedule
    except Exception as err:  # noqa: BLE001 - never break the user's `import keras`
        warnings.warn(f"fer_keras could not register its layers with Keras ({err}); import "
                      "fer_keras.layers before loading fer_keras models", stacklevel=2)


class _AfterKerasImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when `keras` is imported, it removes itself, lets the other finders
    find Keras, and has Keras's loader call `_register` once the module has run."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def run_then_register(module):
            from fer_keras.console import quiet_native_logs

            quiet_native_logs()  # TensorFlow's start-up lines (fer_keras.console)
            run(module)
            _register()

        spec.loader.exec_module = run_then_register
        return spec


__all__ = ["register_with_keras"]
