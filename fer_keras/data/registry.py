"""Every dataset declared once: its loader, label space, default protocol, face-crop scale,
terms of use and the Light-NTWRN expansion target, in one record (`DatasetSpec`).

Every table the project used to spell per dataset reads these records: `load_dataset` and
`python -m fer_keras.data` (the loader), `default_protocol` and `paper_lntwrn`'s target
(`fer_keras.data.protocols`), the crop the predictor cuts around a detected face
(`fer_keras.inference.faces.crop_scale_for`), the names `--class-names` accepts
(`fer_keras.inference.class_check`) and the model cards (`fer_keras.reproduce.cards`).

Adding a dataset takes its loader module and one record in `BUILT_IN` below (or, outside the
package, `register_dataset(DatasetSpec(...))` before use). Papers' own presets for a dataset
(epochs, batch sizes) stay with the paper, in `fer_keras/papers/`.
"""

import dataclasses
import importlib

from fer_keras.data.labels import CKPLUS_CLASSES, FER2013_CLASSES, JAFFE_CLASSES, SYNTHETIC_CLASSES

# FER2013's in-the-wild crop: a detected face's box grown 1.19 times (measured, faces.py)
DEFAULT_CROP_SCALE = 1.19


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """One dataset, declared once.

    Attributes:
        name: the name users type (`--dataset NAME`).
        loader: "module:function" of its loader, imported on first use (no import cost here).
            The function takes the data folder first (except a generated dataset) and keyword
            options (`skip_bad`, `progress`, ...), and returns a `FERDataset`.
        title: how documents name it.
        class_names: its fixed label space in label order, or None when the data names it
            (an image folder).
        default_protocol: the leakage-free protocol used when none is named
            (`fer_keras.data.protocols`).
        crop_scale: side of the training crops / side of the square Haar box around the same
            face; the predictor cuts this crop around a detected face (docs/inference.md).
        terms: origin and terms of use, quoted in model cards.
        folder: where the documents assume it lies, relative to the repository.
        official_split: its files name a train / test split (FERDataset.usage), which the
            `official` protocol follows.
        generated: True when it reads no data folder (`synthetic`).
        preset_like: the dataset whose training presets (each paper's, `fer_keras/papers/`)
            this one borrows when no paper trains on it, or None.
        lntwrn_target: the image count Light-NTWRN's offline expansion grows it to (Light-NTWRN
            section 4.2), or None: twice its size.
    """

    name: str
    loader: str
    title: str
    class_names: tuple = None
    default_protocol: str = "holdout"
    crop_scale: float = DEFAULT_CROP_SCALE
    terms: str = ""
    folder: str = None
    official_split: bool = False
    generated: bool = False
    preset_like: str = None
    lntwrn_target: int = None

    def load_function(self):
        """The loader function (its module imported now)."""
        module, function = self.loader.split(":")
        return getattr(importlib.import_module(module), function)


BUILT_IN = (
    DatasetSpec(
        "fer2013", "fer_keras.data.fer2013:load_fer2013", "FER2013", FER2013_CLASSES, "official",
        1.19, "FER2013 (Goodfellow et al., ICML 2013 representation-learning challenge): 35,887 "
        "48x48 grey faces found by Google image search, labelled once by the challenge "
        "organisers; human accuracy is about 65 %. Distributed through Kaggle for research use; "
        "the images belong to their web sources.", "data/fer2013", official_split=True,
        lntwrn_target=80000),
    DatasetSpec(
        "ckplus", "fer_keras.data.ckplus:load_ckplus", "CK+48",
        CKPLUS_CLASSES, "subject_kfold", 1.18, "CK+ (Lucey et al., 2010), the CK+48 crops: 981 peak frames of "
        "327 posed sequences from 118 mostly young adult subjects, recorded in a lab. The CK+ "
        "agreement allows non-commercial research use only and forbids redistribution.",
        "data/ckplus", lntwrn_target=1500),
    DatasetSpec(
        "jaffe", "fer_keras.data.jaffe:load_jaffe", "JAFFE", JAFFE_CLASSES, "loso", 1.0,
        "JAFFE (Lyons et al., 1998): 213 posed images of 10 Japanese female models. Its terms "
        "allow non-commercial scientific research only.", "data/jaffe", lntwrn_target=3408),
    DatasetSpec(
        "rafdb", "fer_keras.data.rafdb:load_rafdb", "RAF-DB (basic)",
        ("surprise", "fear", "disgust", "happy", "sad", "angry", "neutral"), "official", 1.19,
        "RAF-DB (Li, Deng & Du, CVPR 2017): about 15,000 in-the-wild faces from the web, each "
        "labelled by about 40 annotators; aligned 100x100 crops. Its terms allow "
        "non-commercial research use only.", "data/rafdb", official_split=True,
        preset_like="fer2013"),
    DatasetSpec(
        "affectnet", "fer_keras.data.affectnet:load_affectnet", "AffectNet (manual annotations)",
        ("neutral", "happy", "sad", "surprise", "fear", "disgust", "angry"), "official", 1.19,
        "AffectNet (Mollahosseini, Hasani & Mahoor, IEEE TAC 2017): about 290,000 manually "
        "annotated in-the-wild web faces; the official validation set is the test split. Its "
        "terms allow non-commercial research use only.", "data/affectnet",
        official_split=True, preset_like="fer2013"),
    DatasetSpec(
        "imagefolder", "fer_keras.data.imagefolder:load_imagefolder", "an image folder",
        None, "holdout", 1.19, "Your own images, one folder per class."),
    DatasetSpec(
        "synthetic", "fer_keras.data.synthetic:load_synthetic", "synthetic faces", SYNTHETIC_CLASSES,
        "holdout", 1.19, "Drawn cartoon faces (fer_keras.data.synthetic), for tests and demos.",
        generated=True),
)

_SPECS = {}


def register_dataset(spec, replace=False):
    """Adds a `DatasetSpec`; the same name twice is a ValueError unless `replace`."""
    if not isinstance(spec, DatasetSpec):
        raise TypeError(f"register_dataset takes a DatasetSpec, got {type(spec).__name__}")
    if spec.name in _SPECS and not replace:
        raise ValueError(f"dataset {spec.name!r} is already registered (replace=True replaces "
                         "it)")
    if ":" not in spec.loader:
        raise ValueError(f"dataset {spec.name!r}: loader must be 'module:function', got "
                         f"{spec.loader!r}")
    _SPECS[spec.name] = spec
    return spec


def get_dataset(name):
    """The `DatasetSpec` of `name`; an unknown name is a ValueError listing the known ones."""
    try:
        return _SPECS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(_SPECS)}") from None


def list_datasets():
    """The names of the registered datasets, built-in ones first."""
    return list(_SPECS)


def crop_scale_of(name):
    """The crop scale of a training dataset's name (None or unknown: FER2013's)."""
    spec = _SPECS.get(name)
    return spec.crop_scale if spec is not None else DEFAULT_CROP_SCALE


def label_spaces():
    """{dataset name: class names} for every dataset with a fixed label space."""
    return {s.name: tuple(s.class_names) for s in _SPECS.values() if s.class_names}


for _spec in BUILT_IN:
    register_dataset(_spec)

__all__ = ["BUILT_IN", "DEFAULT_CROP_SCALE", "DatasetSpec", "crop_scale_of", "get_dataset",
           "label_spaces", "list_datasets", "register_dataset"]
