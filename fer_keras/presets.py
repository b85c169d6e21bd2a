"""Each paper's training setup per dataset, as data (docs/training.md, "Presets").

A preset is picked from the model's family (`fer_keras.models.get_entry(name).family`) and the
dataset name; every value can be overridden (`resolve_config(..., epochs=5)`, `--epochs 5`).
The resolved setup is printed first in every run and saved with it.

References:
- Light-NTWRN (2022), Table 4: SGD, momentum 0.9, learning rate 0.01 halved every 50 epochs,
  cross-entropy, 300 epochs, batch 30 (FER2013) / 20 (CK+) / 40 (JAFFE); section 3.1's improved
  random erasing on.
- I-MobileNetV2 (Sci. Rep. 2024), "Results and discussion": SGD, momentum 0.9, learning rate
  0.01, "learning rate weighting factor" 5e-4 (read as PyTorch 1.8's coupled SGD weight decay),
  350 epochs, batch 32 on FER2013; batch 20 and 150 "iterations" (read as epochs) on CK+;
  random horizontal flips.
"""

import dataclasses

# Fields a preset may set; everything else in TrainConfig comes from the user or its default.
PRESET_FIELDS = ("epochs", "batch_size", "optimizer", "learning_rate", "momentum",
                 "weight_decay", "lr_decay_factor", "lr_decay_epochs", "augment",
                 "dataset_options", "model_kwargs")

_LNTWRN = dict(optimizer="sgd", learning_rate=0.01, momentum=0.9, weight_decay=0.0,
               lr_decay_factor=0.5, lr_decay_epochs=50, epochs=300, augment="erasing")
_IMNV2 = dict(optimizer="sgd", learning_rate=0.01, momentum=0.9, weight_decay=5e-4,
              lr_decay_factor=1.0, lr_decay_epochs=0, augment="flip")
# The zero-download demo: 1400 synthetic 48 x 48 faces, 12 epochs (measured: 88.6 % test accuracy,
# 2 minutes on 2 idle CPU cores, 7 on 2 busy ones, with the narrow I-MobileNetV2 below).
_SYNTHETIC = dict(optimizer="sgd", learning_rate=0.01, momentum=0.9, weight_decay=5e-4,
                  lr_decay_factor=0.5, lr_decay_epochs=8, epochs=12, batch_size=32,
                  augment="flip", dataset_options={"num_examples": 1400})


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named training setup: `values` for the TrainConfig fields it sets, and its source."""

    name: str
    values: dict
    source: str


PRESETS = {
    # --- Light-NTWRN (2022), Table 4 ---------------------------------------------------------
    ("light_ntwrn", "fer2013"): Preset("light_ntwrn/fer2013", dict(_LNTWRN, batch_size=30),
                                       "Light-NTWRN Table 4, FER2013 column"),
    ("light_ntwrn", "ckplus"): Preset("light_ntwrn/ckplus", dict(_LNTWRN, batch_size=20),
                                      "Light-NTWRN Table 4, CK+ column"),
    ("light_ntwrn", "jaffe"): Preset("light_ntwrn/jaffe", dict(_LNTWRN, batch_size=40),
                                     "Light-NTWRN Table 4, JAFFE column"),
    ("light_ntwrn", "imagefolder"): Preset(
        "light_ntwrn/imagefolder", dict(_LNTWRN, batch_size=30),
        "Light-NTWRN Table 4 with the FER2013 batch (in-the-wild images assumed)"),
    # --- I-MobileNetV2 (Sci. Rep. 2024), Results and discussion ------------------------------
    ("i_mobilenetv2", "fer2013"): Preset(
        "i_mobilenetv2/fer2013", dict(_IMNV2, epochs=350, batch_size=32),
        "I-MobileNetV2, FER2013 paragraph (weighting factor 5e-4 = coupled weight decay)"),
    ("i_mobilenetv2", "ckplus"): Preset(
        "i_mobilenetv2/ckplus", dict(_IMNV2, epochs=150, batch_size=20),
        "I-MobileNetV2, CK+ paragraph (150 'iterations' read as epochs; FER2013's weight decay "
        "5e-4 kept; neither paragraph decays the learning rate)"),
    ("i_mobilenetv2", "jaffe"): Preset(
        "i_mobilenetv2/jaffe", dict(_IMNV2, epochs=150, batch_size=20),
        "not in the paper: its CK+ setup (a small lab dataset like JAFFE)"),
    ("i_mobilenetv2", "imagefolder"): Preset(
        "i_mobilenetv2/imagefolder", dict(_IMNV2, epochs=350, batch_size=32),
        "not in the paper: its FER2013 setup"),
    # --- keras.applications baselines: Light-NTWRN Table 4 (the paper of Table 6), flips ----
    ("baseline", "fer2013"): Preset("baseline/fer2013",
                                    dict(_LNTWRN, batch_size=30, augment="flip"),
                                    "baselines: Light-NTWRN Table 4 FER2013, flips only"),
    ("baseline", "ckplus"): Preset("baseline/ckplus", dict(_LNTWRN, batch_size=20, augment="flip"),
                                   "baselines: Light-NTWRN Table 4 CK+, flips only"),
    ("baseline", "jaffe"): Preset("baseline/jaffe", dict(_LNTWRN, batch_size=40, augment="flip"),
                                  "baselines: Light-NTWRN Table 4 JAFFE, flips only"),
    ("baseline", "imagefolder"): Preset("baseline/imagefolder",
                                        dict(_LNTWRN, batch_size=30, augment="flip"),
                                        "baselines: Light-NTWRN Table 4 FER2013, flips only"),
}
for _family in ("light_ntwrn", "i_mobilenetv2", "baseline"):
    PRESETS[(_family, "synthetic")] = Preset(
        f"{_family}/synthetic", dict(_SYNTHETIC),
        "demo: short schedule that reaches >= 80 % test accuracy on synthetic faces")
# The demo's I-MobileNetV2 is narrow (alpha 0.35, top stage scaled too): CPU-friendly.
PRESETS[("i_mobilenetv2", "synthetic")].values["model_kwargs"] = {"alpha": 0.35,
                                                                  "scale_top_stage": True}


def model_family(model):
    """The registry family of a model name ("i_mobilenetv2", "light_ntwrn" or "baseline")."""
    from fer_keras.models.registry import get_entry

    return get_entry(model).family


def get_preset(model, dataset):
    """The Preset for a registered model name and a dataset name.

    Raises:
        ValueError: unknown model or no preset for the dataset (the message lists the known ones).
    """
    family = model_family(model)
    if (family, dataset) not in PRESETS:
        known = sorted({d for _, d in PRESETS})
        raise ValueError(f"no preset for dataset {dataset!r}; known: {', '.join(known)}")
    return PRESETS[(family, dataset)]


def presets_table():
    """The presets as a text table (shown by `python -m fer_keras.train --help`)."""
    cols = ("epochs", "batch_size", "learning_rate", "momentum", "weight_decay",
            "lr_decay_factor", "lr_decay_epochs", "augment")
    head = ("family/dataset", "epochs", "batch", "lr", "mom", "wd", "decay", "every", "augment")
    rows = [head] + [(p.name, *(str(p.values[c]) for c in cols)) for p in PRESETS.values()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
