"""Publishing a trained fold into `saved_models/` with its model card, written from metrics.json.

    python -m fer_keras.reproduce publish RUN/fold_0 --name i_mobilenetv2_ckplus
    python -m fer_keras.reproduce card i_mobilenetv2_ckplus   # rewrite a card
"""

import json
from pathlib import Path

from fer_keras.data.registry import BUILT_IN
from fer_keras.reproduce.cells import hardware_name, preset_epochs


# What a published model's `calibration` record names about the split its temperature was fitted on
CALIBRATION_SPLIT = ("dataset", "protocol", "fold", "split_seed")

# Each dataset's origin and terms, declared with it (fer_keras.data.registry)
DATA_TERMS = {spec.name: spec.terms for spec in BUILT_IN if spec.folder}
LIMITS = """- Trained on a small dataset of posed (CK+, JAFFE) or web-scraped and noisily labelled (FER2013)
  faces, demographically skewed (CK+ and JAFFE: few subjects, mostly young, JAFFE only Japanese
  women; FER2013: web photos, skewed towards light-skinned adults). Expect lower accuracy on
  other people, ages, poses, lighting and cameras, and measure on your own data first.
- It classifies the *appearance* of a face into fixed labels; it does not read emotions, and it
  must not be used to make decisions about people (hiring, policing, education, health,
  surveillance).
- The licence terms of the training data (above) apply to uses of this model."""


def publish(fold_dir, name, models_dir="saved_models"):
    """Copies a trained fold into `models_dir/name` with a SavedModel and a model card.

    The folder holds `model.keras`, `saved_model/` (class names embedded), `metrics.json` and
    `history.csv` of the run, and `README.md` written from `metrics.json` (no typed numbers).
    Returns the folder.
    """
    import shutil

    import keras

    import fer_keras.layers  # noqa: F401 - registers the custom layers for loading
    from fer_keras.deployment.saved_model import write_saved_model
    from fer_keras.training.artifacts import write_json

    fold_dir, target = Path(fold_dir), Path(models_dir) / name
    metrics = json.loads((fold_dir / "metrics.json").read_text())
    if metrics.get("calibration"):  # name the split T was fitted on, as `calibrate --write` does
        metrics["calibration"] = {**{key: metrics[key] for key in CALIBRATION_SPLIT},
                                  **metrics["calibration"]}
    target.mkdir(parents=True, exist_ok=True)
    for file in ("model.keras", "history.csv"):
        shutil.copy(fold_dir / file, target / file)
    write_json(target / "metrics.json", metrics)
    model = keras.saving.load_model(target / "model.keras", safe_mode=True)
    if (target / "saved_model").exists():
        shutil.rmtree(target / "saved_model")
    write_saved_model(model, target / "saved_model", metrics["class_names"])
    (target / "README.md").write_text(model_card(name, metrics))
    return target


def model_card(name, m):
    """The model card (Markdown) of a published model, from its metrics.json."""
    from fer_keras.models import get_entry
    from fer_keras.training.artifacts import NO_SAVED_MODEL_NOTE

    entry = get_entry(m["model"])
    c = m["config"]
    split = ("PublicTest, the split the best epoch was chosen on (optimistic; PrivateTest is "
             "withheld)" if m["dataset"] == "fer2013" else
             "the test fold (subjects never seen in training)" if m["split"] == "test"
             else m["split"])
    recall = ", ".join(f"{k} {v['recall'] * 100:.0f}" for k, v in m["per_class"].items())

    configured, paper = m.get("epochs_configured", c["epochs"]), preset_epochs(m)
    epochs = f"{m['epochs_trained']} of {configured} epochs"
    if paper not in (None, configured):
        epochs += f" (the paper's budget: {paper})"
    hardware = hardware_name(m, "unknown hardware")
    smoothing = f", label smoothing {c['label_smoothing']}" if c.get("label_smoothing") else ""
    # publish always writes a SavedModel: a training run's "no SavedModel" note is moot
    notes = "".join(f"\n| note | {note} |" for note in m.get("notes", [])
                    if note != NO_SAVED_MODEL_NOTE)
    data_dir = {spec.name: spec.folder for spec in BUILT_IN if spec.folder}
    return f"""# `{name}`: {entry.paper.split(' (')[0]} trained on {m['dataset']}

Load it offline with `fer_keras.Predictor.from_pretrained("{name}")`; files: `model.keras`
(Keras 3, loads with `safe_mode=True`), `saved_model/` (TensorFlow SavedModel, `serve` takes a
batch of raw 0-255 pixels N x 48 x 48 x 3 and returns class probabilities; `class_names` is
embedded), `metrics.json` and `history.csv` of the training run. This card is generated from
`metrics.json` by `python -m fer_keras.reproduce publish`.

| | |
|---|---|
| model | `{m['model']}` ({entry.description}); {m['params']:,} parameters, {m.get('macs') or 0:,} multiply-adds per image |
| classes | {', '.join(m['class_names'])} |
| data | {DATA_TERMS.get(m['dataset'], m['dataset'])} |
| protocol | `{m['protocol']}` fold {m['fold']} (split seed {m['split_seed']}): {' '.join(m['protocol_notes'])} |
| preprocessing | 48 x 48 grey face crop (dataset crops as distributed; the predictor's Haar-cascade crop is documented in docs/deployment.md), repeated to 3 channels; raw 0-255 pixels in, scaled to [-1, 1] inside the model |
| training | {epochs}, {_selected(m)}, batch {c['batch_size']}, {c['optimizer']} lr {c['learning_rate']} momentum {c['momentum']} weight decay {c['weight_decay']}, augmentation `{c['augment']}`{smoothing}, seed {m['seed']}; {hardware} |
| recipe | {_recipe(m)} |
| accuracy | **{m['accuracy'] * 100:.2f} %** on {split}, {m['num_examples']} images; balanced accuracy {m['balanced_accuracy'] * 100:.2f} %, macro-F1 {m['macro_f1'] * 100:.2f} % |
| recall per class (%) | {recall} |
| validation accuracy | {_validation(m)} |{_calibration(m)}{notes}

Reproduce the accuracy (with the dataset in its public layout, see docs/data.md):

    python -m fer_keras.evaluate --model saved_models/{name} --data-dir {data_dir.get(m['dataset'], 'DATA')} --split {m['split']}
{_calibration_command(name, m, data_dir.get(m['dataset'], 'DATA'))}
The papers report more (see docs/reproduction.md): this model was trained for {epochs} on
{hardware}, so it is a working artifact, not the paper's result.

## Intended use and limits

{LIMITS}
"""




def _schedule(c):
    if c.get("lr_schedule") == "cosine":
        return f"cosine from {c['learning_rate']} to 0 over {c['epochs']} epochs"
    if not c.get("lr_decay_epochs") or c.get("lr_decay_factor", 1.0) == 1.0:
        return f"constant {c['learning_rate']}"
    start = c.get("lr_decay_start") or 0
    return (f"{c['learning_rate']} x{c['lr_decay_factor']} every {c['lr_decay_epochs']} epochs"
            + (f" after epoch {start}" if start else ""))


def _recipe(m):
    """Which recipe made the model: the paper's (its preset's learning rate for every epoch it
    trained, from scratch or continued) or a separately named product recipe (another schedule,
    or fine-tuned from another model, or another augmentation, or label smoothing)."""
    import dataclasses

    from fer_keras.presets import get_preset
    from fer_keras.training.config import TrainConfig
    from fer_keras.training.provenance import describe as describe_init
    from fer_keras.training.schedule import SCHEDULE_FIELDS, same_rates

    c = m["config"]
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    trained = TrainConfig(**{k: v for k, v in c.items() if k in known})
    try:
        preset = get_preset(m["model"], m["dataset"]).values
    except (KeyError, ValueError):
        preset = {}
    paper_config = dataclasses.replace(trained, **{k: preset[k] for k in (
        *SCHEDULE_FIELDS, "learning_rate", "epochs") if k in preset})
    changed = []  # what else departs from the paper's preset
    if "augment" in preset and c.get("augment", preset["augment"]) != preset["augment"]:
        changed.append(f"augmentation `{c['augment']}` (the paper's: `{preset['augment']}`)")
    if c.get("label_smoothing"):
        changed.append(f"label smoothing {c['label_smoothing']}")
    schedule = ", ".join([f"learning rate {_schedule(c)}", *changed])
    if m.get("init_source"):  # what --init loaded when the run began (training/provenance.py)
        return (f"product recipe, not the paper's row: fine-tuned from "
                f"{describe_init(m['init_source'])}, {schedule}")
    if c.get("init"):
        return (f"product recipe, not the paper's row: fine-tuned from `{c['init']}`, "
                f"{schedule}")
    if changed or not same_rates(trained, paper_config,
                                 int(m.get("epochs_trained") or trained.epochs)):
        return f"product recipe, not the paper's row: {schedule}"
    return (f"the paper's recipe (its preset's learning rate for each of the "
            f"{m.get('epochs_trained')} epochs trained): {schedule}")


def _selected(m):
    """How the card's epoch was chosen: on validation, or the last one (no validation split)."""
    if m.get("selection") == "last_epoch":
        return f"the last epoch ({m['best_epoch']}; the protocol had no validation split)"
    return f"best epoch {m['best_epoch']} by validation accuracy"


def _validation(m):
    v = m.get("validation")
    if not v:
        return "none (no validation split)"
    return f"{v['accuracy'] * 100:.2f} % ({v['num_examples']} images)"


def _calibration(m):
    """The card's calibration row (a table row with its leading newline), or ""."""
    c = m.get("calibration")
    if not c:
        return ""
    test = c.get("test")
    out_of_sample = (f"; on the test split with this T, {test['ece_before'] * 100:.2f} % -> "
                     f"{test['ece_after'] * 100:.2f} % ({test['num_examples']} images)"
                     if test else "")
    split = {"val": "validation"}.get(c["split"], c["split"])
    return (f"\n| calibration | temperature {c['temperature']:.3f}, fitted on the {split} "
            f"split ({c['num_examples']} images) and applied by `Predictor`: expected "
            f"calibration error ({c['bins']} bins) {c['ece_before'] * 100:.2f} % -> "
            f"{c['ece_after'] * 100:.2f} %, NLL {c['nll_before']:.3f} -> {c['nll_after']:.3f}"
            f"{out_of_sample} (docs/deployment.md, \"Calibration and abstention\") |")


def _calibration_command(name, m, data_dir):
    """The command that fits the card's temperature, or "" for a model without one."""
    if not m.get("calibration"):
        return ""
    return (f"\nFit the temperature again (`--write` stores it in metrics.json):\n\n"
            f"    python -m fer_keras.calibrate --model saved_models/{name} --data-dir "
            f"{data_dir} --write\n")


def rewrite_cards(names, models_dir="saved_models"):
    """Rewrites the README.md of each published model folder from its metrics.json; yields each
    card's path."""
    for name in names:
        folder = Path(models_dir) / name
        metrics = json.loads((folder / "metrics.json").read_text())
        (folder / "README.md").write_text(model_card(name, metrics))
        yield folder / "README.md"
