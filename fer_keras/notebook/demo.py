"""The notebooks' demo runs and images.

- `demo_config()`: the CK+ fold-0 run (synthetic faces without the data) that notebook 2 trains
  and notebooks 1 and 4 use when no published model exists.
- `data_source(predictor)`, `held_out_faces(predictor)`: a model's training data, and a few of
  its images the model was not trained on.
- `demo_photo()`: a photo with a few faces for detection demos (JAFFE originals side by side,
  else synthetic faces that the Haar cascade finds).
- `short_run_kwargs(name)`: the narrow widths the ablation notebook trains every variant at.
"""

from pathlib import Path

import numpy as np

from fer_keras import papers
from fer_keras.notebook.locations import fast_mode, find_data, run_folder
from fer_keras.presets import PRESETS

# The narrow I-MobileNetV2 of the synthetic demo preset (its `Family.demo_kwargs`): CPU-friendly.
DEMO_MODEL_KWARGS = dict(PRESETS[("i_mobilenetv2", "synthetic")].values["model_kwargs"])
# Epochs of the demo run (fast, normal); the paper's CK+ preset trains 150.
DEMO_EPOCHS = {"ckplus": (2, 40), "synthetic": (2, 12)}
# Light-NTWRN family for short runs: its `Family.narrow_kwargs` (fer_keras/papers/light_ntwrn.py).
NARROW_WRN = dict(papers.families()["light_ntwrn"].narrow_kwargs)


def demo_config(fast=None):
    """The run notebook 2 trains: fold 0 of CK+'s subject-independent folds with the narrow
    I-MobileNetV2 (synthetic faces when CK+ is absent), its output set by `run_folder`."""
    from fer_keras.training import resolve_config

    fast = fast_mode() if fast is None else fast
    ckplus = find_data("ckplus")
    dataset = "synthetic" if ckplus is None else "ckplus"
    options = {"progress": False} if ckplus else {"num_examples": 700 if fast else 1400}
    data_dir = None if ckplus is None else str(ckplus)
    config = resolve_config(dataset, "i_mobilenetv2", data_dir=data_dir,
                            protocol="subject_kfold", folds=[0],
                            epochs=DEMO_EPOCHS[dataset][0 if fast else 1],
                            model_kwargs=dict(DEMO_MODEL_KWARGS), dataset_options=options)
    config.output = str(run_folder(config))
    return config


def demo_photo(faces=3, seed=0):
    """(uint8 grayscale photo with `faces` faces side by side, the source of each face).

    With the real data: JAFFE originals (256 x 256) of different posers and expressions. Without:
    synthetic faces drawn at 256 x 256, keeping those the Haar cascade finds.
    """
    from fer_keras.data.imageio import read_gray
    from fer_keras.data.labels import JAFFE_EXPRESSIONS

    jaffe = find_data("jaffe")
    tiles, sources = [], []
    if jaffe is not None:
        files = sorted(jaffe.glob("*.tiff"))
        posers = sorted({f.name.split(".")[0] for f in files})
        codes = ("HA", "SU", "SA", "AN", "FE", "DI", "NE")
        for i in range(faces):
            poser, code = posers[i % len(posers)], codes[i % len(codes)]
            path = next(f for f in files if f.name.startswith(f"{poser}.{code}"))
            tiles.append(read_gray(path)[0])
            sources.append(f"JAFFE {path.name} ({JAFFE_EXPRESSIONS[code]})")
    else:
        from fer_keras.data import load_dataset
        from fer_keras.inference import HaarFaceDetector

        detector = HaarFaceDetector()
        ds = load_dataset("synthetic", num_examples=7 * 4 * faces, image_size=256, seed=seed)
        for image, label in zip(ds.images[..., 0], ds.labels):
            if len(tiles) < faces and len(detector(image)) == 1:
                tiles.append(image)
                sources.append(f"synthetic ({ds.class_names[label]})")
    if len(tiles) < faces:
        raise ValueError(f"found only {len(tiles)} of {faces} faces for the demo photo")
    return np.concatenate(tiles, axis=1), sources


def _run_info(predictor):
    """The run's metrics.json beside the predictor's model ({} for a published export folder)."""
    import json

    metrics = Path(predictor.model.path).parent / "metrics.json"
    return json.loads(metrics.read_text()) if metrics.is_file() else {}


def data_source(predictor):
    """{"dataset", "data_dir"} of the predictor's training data, for `fer_keras.export.export`
    and `held_out_faces`: the run's data folder when it still exists, else `find_data(dataset)`;
    the synthetic faces when the dataset is not found."""
    info = _run_info(predictor)
    dataset = predictor.dataset or "synthetic"
    data_dir = info.get("config", {}).get("data_dir") if info.get("dataset") == dataset else None
    if dataset != "synthetic" and not (data_dir and Path(data_dir).is_dir()):
        data_dir = find_data(dataset)
        if data_dir is None:
            dataset = "synthetic"
    return {"dataset": dataset, "data_dir": None if data_dir is None else str(data_dir)}


def held_out_faces(predictor, n=16, seed=0):
    """(images N x H x W x 1, labels, class names, description): `n` random images of the
    predictor's training dataset (`data_source`) that its model was not trained on.

    With the run's `metrics.json` beside the model, they come from that run's own split (its
    test side, else validation, as `fer_keras.deployment.exporter.load_split_images` picks them); a published
    model without one gets the dataset's default protocol. Synthetic faces (FER2013's classes)
    stand in when the dataset is not found.
    """
    from fer_keras.deployment.exporter import load_split_images

    source = data_source(predictor)
    info = _run_info(predictor)
    info = info if info.get("dataset") == source["dataset"] else {}
    args = (source["dataset"], source["data_dir"], info)
    try:
        return load_split_images(*args, channels=1, split="test", limit=n, seed=seed)
    except ValueError:  # no test split (FER2013 without PrivateTest): validation instead
        return load_split_images(*args, channels=1, split="val", limit=n, seed=seed)


def short_run_kwargs(name):
    """Builder overrides that make a registered variant cheap enough to train on a CPU, from its
    family's declaration (`fer_keras.papers.Family`): `narrow_kwargs`, then each `narrow_scale`
    factor times the variant's own value (else the builder's default).

    I-MobileNetV2 rows: half their width multiplier (the rows keep their differences: 1.0 vs
    0.75, SE, reverse fusion, SELU). Light-NTWRN rows: `NARROW_WRN`. Baselines: unchanged.
    """
    import inspect

    from fer_keras.models import get_entry

    entry = get_entry(name)
    family = papers.families().get(entry.family)
    if family is None:  # a family no paper declares (`register_model`)
        return {}
    defaults = inspect.signature(entry.builder).parameters
    kwargs = dict(family.narrow_kwargs)
    for key, factor in family.narrow_scale.items():
        kwargs[key] = entry.kwargs.get(key, defaults[key].default) * factor
    return kwargs
