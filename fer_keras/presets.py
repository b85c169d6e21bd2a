"""Each paper's training setup per dataset, as data (docs/training.md, "Presets").

The presets are declared with the papers' tables (`fer_keras/papers/i_mobilenetv2.py`,
`light_ntwrn.py`, each citing the passage its values come from; `demo.py` for the synthetic
faces). A preset is picked from the model's family (`fer_keras.models.get_entry(name).family`)
and the dataset name; every value can be overridden (`resolve_config(..., epochs=5)`,
`--epochs 5`). The resolved setup is printed first in every run and saved with it.
"""

from fer_keras import papers
from fer_keras.papers.schema import Preset

# Fields a preset may set; everything else in TrainConfig comes from the user or its default.
PRESET_FIELDS = ("epochs", "batch_size", "optimizer", "learning_rate", "momentum",
                 "weight_decay", "lr_schedule", "lr_decay_factor", "lr_decay_epochs",
                 "lr_decay_start", "augment", "dataset_options", "model_kwargs")

# {(family, dataset): Preset}, read from the papers' declarations.
PRESETS = papers.LiveView(papers.presets)


def model_family(model):
    """The registry family of a model name ("i_mobilenetv2", "light_ntwrn" or "baseline")."""
    from fer_keras.models.registry import get_entry

    return get_entry(model).family


def get_preset(model, dataset):
    """The Preset for a registered model name and a dataset name.

    A dataset no paper trains on borrows the presets of the dataset its record names
    (`fer_keras.data.registry.DatasetSpec.preset_like`: RAF-DB and AffectNet take FER2013's).

    Raises:
        ValueError: unknown model or no preset for the dataset (the message lists the known ones).
    """
    family = model_family(model)
    if (family, dataset) in PRESETS:
        return PRESETS[(family, dataset)]
    like = _preset_like(dataset)
    if like is not None and (family, like) in PRESETS:  # the dataset's record names a twin
        twin = PRESETS[(family, like)]
        return Preset(f"{family}/{dataset}", dict(twin.values),
                      f"not in the paper: its {like} setup ({twin.source})")
    known = sorted({d for _, d in PRESETS})
    raise ValueError(f"no preset for dataset {dataset!r}; known: {', '.join(known)}")


def _preset_like(dataset):
    """The dataset whose presets `dataset` borrows (`DatasetSpec.preset_like`), or None."""
    from fer_keras.data.registry import get_dataset, list_datasets

    return get_dataset(dataset).preset_like if dataset in list_datasets() else None


def presets_table():
    """The presets as a text table (shown by `python -m fer_keras.train --help`)."""
    cols = ("epochs", "batch_size", "learning_rate", "momentum", "weight_decay",
            "lr_schedule", "lr_decay_factor", "lr_decay_epochs", "lr_decay_start", "augment")
    head = ("family/dataset", "epochs", "batch", "lr", "mom", "wd", "schedule", "decay", "every",
            "after", "augment")
    defaults = {"lr_schedule": "step", "lr_decay_start": 0}
    rows = [head] + [(p.name, *(str(p.values.get(c, defaults.get(c))) for c in cols))
                     for p in PRESETS.values()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


__all__ = ["PRESETS", "PRESET_FIELDS", "Preset", "get_preset", "model_family", "presets_table"]
