"""The published models in saved_models/: complete folders, safe loading, cards that match their
metrics, and (with the real data beside the checkout) the card's accuracy reproduced by
`python -m fer_keras.evaluate`."""

import json
import re

import pytest

from conftest import ROOT

MODELS_DIR = ROOT / "saved_models"
NAMES = sorted(p.name for p in MODELS_DIR.iterdir() if p.is_dir()) if MODELS_DIR.is_dir() else []
pytestmark = pytest.mark.skipif(not NAMES, reason="no published models")
# Loading and evaluating the Light-NTWRN models (tens of seconds each on 2 CPU cores) run under
# the slow marker; their folders and cards are checked with the default tests.
HEAVY = [pytest.param(n, marks=[pytest.mark.slow] if n.startswith("light_ntwrn") else [])
         for n in NAMES]


def metrics_of(name):
    return json.loads((MODELS_DIR / name / "metrics.json").read_text())


@pytest.mark.parametrize("name", NAMES)
def test_folder_is_complete_small_and_named_after_its_run(name):
    folder = MODELS_DIR / name
    for file in ("model.keras", "metrics.json", "history.csv", "README.md",
                 "saved_model/saved_model.pb"):
        assert (folder / file).is_file(), f"{name} lacks {file}"
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    assert size < 50e6, f"{name} is {size / 1e6:.1f} MB"
    m = metrics_of(name)
    assert name == f"{m['model']}_{m['dataset']}"
    assert not m["protocol"].startswith("paper_"), "published models use leakage-free protocols"


@pytest.mark.parametrize("name", NAMES)
def test_card_states_the_metrics_accuracy_split_and_limits(name):
    card = (MODELS_DIR / name / "README.md").read_text()
    m = metrics_of(name)
    stated = re.search(r"\*\*([0-9.]+) %\*\*", card)
    assert stated and float(stated.group(1)) == pytest.approx(100 * m["accuracy"], abs=0.006)
    assert f"{m['epochs_trained']} of {m['epochs_configured']} epochs" in card
    assert f"--split {m['split']}" in card
    assert "Intended use and limits" in card and "demographically skewed" in card


@pytest.mark.parametrize("name", HEAVY)
def test_loads_with_safe_mode_and_gives_probabilities(name):
    import numpy as np

    from fer_keras import Predictor
    from fer_keras.training.calibration import apply_temperature

    import keras

    predictor = Predictor.from_pretrained(name)
    assert predictor.class_names == tuple(metrics_of(name)["class_names"])
    faces = np.random.default_rng(0).integers(0, 256, (2, 48, 48), dtype=np.uint8)
    records = predictor.predict_faces(faces)
    probs = np.array([list(r["probabilities"].values()) for r in records])
    assert probs.shape == (2, len(predictor.class_names))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    model = keras.saving.load_model(MODELS_DIR / name / "model.keras", safe_mode=True)
    raw = model.predict(np.repeat(faces[..., None], 3, -1).astype("float32"), verbose=0)
    # the Predictor applies the temperature fitted on the validation split (metrics.json)
    assert predictor.temperature == metrics_of(name)["calibration"]["temperature"]
    np.testing.assert_allclose(apply_temperature(raw, predictor.temperature), probs, atol=1e-5)


@pytest.mark.parametrize("name", HEAVY)
def test_evaluate_reproduces_the_card(name, shared_data, capsys, tmp_path):
    """Every card, FER2013's 3,589 PublicTest images included (about 15 s on 2 CPU cores)."""
    from fer_keras.evaluate import main

    m = metrics_of(name)
    code = main(["--model", str(MODELS_DIR / name), "--data-dir", str(shared_data / m["dataset"]),
                 "--split", m["split"], "--json", "--plot", str(tmp_path / "cm.png")])
    assert code == 0
    text = capsys.readouterr().out
    out = json.loads(text[text.index("{"):])
    assert out["accuracy"] == pytest.approx(m["accuracy"], abs=1e-9)
    assert out["num_examples"] == m["num_examples"]
