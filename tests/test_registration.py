"""`import fer_keras` (which imports no Keras) is enough for
`keras.saving.load_model(path, safe_mode=True)` to load a fer_keras model, in either import
order (fer_keras.registration); without it, Keras cannot find the custom layers."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.tf

LOAD = "m = keras.saving.load_model({path!r}, safe_mode=True); print('loaded', m.name)"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    from inference_fixtures import tiny_model

    path = tmp_path_factory.mktemp("registration") / "model.keras"
    tiny_model().save(path)
    return str(path)


def _run(code):
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("imports", ["import fer_keras, keras", "import keras, fer_keras"])
def test_import_fer_keras_then_load_model_safely(saved, imports):
    code, out, err = _run(f"{imports}\n" + LOAD.format(path=saved))
    assert code == 0 and "loaded" in out, err[-2000:]


def test_without_fer_keras_the_layers_are_unknown(saved):
    code, out, err = _run("import keras\n" + LOAD.format(path=saved))
    assert code != 0 and "Could not locate class" in err  # the control: registration loads it


def test_import_fer_keras_imports_neither_keras_nor_tensorflow():
    code, out, err = _run("import sys, fer_keras\n"
                          "print(sorted(m for m in ('keras', 'tensorflow', 'jax') "
                          "if m in sys.modules))")
    assert code == 0 and out.strip() == "[]", err[-2000:]
