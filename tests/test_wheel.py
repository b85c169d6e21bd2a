"""The installed package alone: a wheel built from this checkout, installed outside it, predicts
a face with `Predictor.from_pretrained` and builds `i_mobilenetv2(weights="fer2013")` from
another working directory, with no checkout, `saved_models/` or `$FER_KERAS_MODELS` in sight."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import cv2
import pytest

from conftest import ROOT
from inference_fixtures import draw_face

pytestmark = [pytest.mark.slow, pytest.mark.tf]

SCRIPT = """
import json, sys
import numpy as np
import fer_keras
from fer_keras import Predictor
assert fer_keras.__file__.startswith(sys.argv[1]), fer_keras.__file__
predictor = Predictor.from_pretrained("i_mobilenetv2_fer2013")
records = predictor.predict("face.png")
model = fer_keras.i_mobilenetv2(weights="fer2013")
x = np.full((1, 48, 48, 3), 128.0, np.float32)
from fer_keras.training.calibration import apply_temperature  # the Predictor applies T
diff = float(np.abs(apply_temperature(np.asarray(model(x)), predictor.temperature)
                    - predictor.predict_proba(x)).max())
print(json.dumps({"file": fer_keras.__file__, "model": predictor.model.path,
                  "records": records, "diff": diff}))
"""


def run(args, **kwargs):
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def test_wheel_installed_elsewhere_carries_the_fer2013_model(tmp_path):
    wheels, site, work = tmp_path / "wheels", tmp_path / "site", tmp_path / "work"
    work.mkdir()
    # A clean copy of the sources: no stale build/ of the checkout, no saved_models/ to lean on.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".venv*", "runs", "studies",
        "saved_models", "notebooks", "docs", "tests"))
    # Offline when setuptools is at hand; otherwise pip fetches it into an isolated build env.
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(wheels),
         *isolation])
    wheel = next(wheels.glob("fer_keras-*.whl"))
    assert wheel.stat().st_size < 12e6
    # --target keeps the shared environment's TensorFlow and Keras; PYTHONPATH puts this copy
    # of fer_keras ahead of any editable install of the checkout.
    run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
         str(wheel)])
    cv2.imwrite(str(work / "face.png"), draw_face(320))
    env = {k: v for k, v in os.environ.items() if k not in ("FER_KERAS_MODELS", "PYTHONPATH")}
    env.update(PYTHONPATH=str(site), TF_CPP_MIN_LOG_LEVEL="3")
    out = run([sys.executable, "-c", SCRIPT, str(site)], cwd=work, env=env)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["model"].startswith(str(site)) and result["model"].endswith("model.weights.h5")
    assert len(result["records"]) == 1 and result["records"][0]["label"] in (
        "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert result["diff"] < 1e-6
