"""tensorflow-datasets builders for FER2013, CK+48 and JAFFE from a manual download.

TFDS has no builders for these datasets; these read the folder you downloaded through the
loaders of this package, so `tfds.load` gives the same images, labels and metadata:

    import fer_keras.data.tfds_builders  # registers the builders
    ds = tfds.load("fer_keras_ckplus", split="train",
                   download_and_prepare_kwargs={"download_config":
                       tfds.download.DownloadConfig(manual_dir="../shared/data/ckplus")})

Splits: FER2013 gives "train" (Training), "validation" (PublicTest) and "test" (PrivateTest,
when present); CK+ and JAFFE give "train" only, with subject and sequence features, so the
subject-independent protocols (`fer_keras.data.make_splits`) stay possible. Importing this module
imports TensorFlow.
"""

import numpy as np
import tensorflow_datasets as tfds

from fer_keras.data.labels import CKPLUS_CLASSES, FER2013_CLASSES, JAFFE_CLASSES

_INSTRUCTIONS = """\
Download {what} yourself and pass its folder as `manual_dir`
(tfds.download.DownloadConfig(manual_dir=...)), laid out as:
{layout}
See docs/data.md in fer_keras for the accepted layouts.
"""


def _features(class_names):
    return tfds.features.FeaturesDict({
        "image": tfds.features.Image(shape=(48, 48, 1)),
        "label": tfds.features.ClassLabel(names=list(class_names)),
        "subject": tfds.features.Text(),
        "sequence": tfds.features.Text(),
        "usage": tfds.features.Text(),
        "path": tfds.features.Text(),
    })


def _examples(ds, indices):
    def col(a, i):
        return "" if a is None else str(a[i])

    for i in indices:
        yield col(ds.paths, i) or str(i), {
            "image": ds.images[i], "label": int(ds.labels[i]),
            "subject": col(ds.subjects, i), "sequence": col(ds.sequences, i),
            "usage": col(ds.usage, i), "path": col(ds.paths, i),
        }


class _Builder(tfds.core.GeneratorBasedBuilder):
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release (fer_keras)."}
    _dataset = None
    _classes = None

    def _info(self):
        return self.dataset_info_from_configs(
            features=_features(self._classes), supervised_keys=("image", "label"),
            homepage="https://github.com/", description=__doc__)

    def _load(self, dl_manager):
        from fer_keras.data import load_dataset

        options = {"progress": False} if self._dataset != "jaffe" else {}
        return load_dataset(self._dataset, str(dl_manager.manual_dir), **options)

    def _split_generators(self, dl_manager):
        ds = self._load(dl_manager)
        return {"train": _examples(ds, range(len(ds)))}

    def _generate_examples(self, *args):  # unused: _split_generators returns generators
        raise NotImplementedError


class FerKerasFer2013(_Builder):
    """FER2013 from fer2013.csv or the Kaggle train/ and test/ image folders."""

    name = "fer_keras_fer2013"
    _dataset = "fer2013"
    _classes = FER2013_CLASSES
    MANUAL_DOWNLOAD_INSTRUCTIONS = _INSTRUCTIONS.format(
        what="FER2013 (Kaggle: msambare/fer2013, or the original fer2013.csv)",
        layout="  manual_dir/fer2013.csv  or  manual_dir/train/<class>/Training_<id>.jpg and "
               "manual_dir/test/<class>/PublicTest_<id>.jpg")

    def _split_generators(self, dl_manager):
        ds = self._load(dl_manager)
        idx = np.arange(len(ds))
        out = {"train": _examples(ds, idx[ds.usage == "Training"]),
               "validation": _examples(ds, idx[ds.usage == "PublicTest"])}
        if (ds.usage == "PrivateTest").any():
            out["test"] = _examples(ds, idx[ds.usage == "PrivateTest"])
        return out


class FerKerasCkplus(_Builder):
    """CK+ in the Kaggle CK+48 layout."""

    name = "fer_keras_ckplus"
    _dataset = "ckplus"
    _classes = CKPLUS_CLASSES
    MANUAL_DOWNLOAD_INSTRUCTIONS = _INSTRUCTIONS.format(
        what="CK+48 (Kaggle: shawon10/ckplus)",
        layout="  manual_dir/CK+48/<class>/S010_004_00000017.png  (or manual_dir = CK+48)")


class FerKerasJaffe(_Builder):
    """JAFFE, original 256 x 256 TIFFs, cropped to 48 x 48 faces by a Haar cascade."""

    name = "fer_keras_jaffe"
    _dataset = "jaffe"
    _classes = JAFFE_CLASSES
    MANUAL_DOWNLOAD_INSTRUCTIONS = _INSTRUCTIONS.format(
        what="JAFFE (zenodo.org/record/3451524)", layout="  manual_dir/KA.AN1.39.tiff ...")
