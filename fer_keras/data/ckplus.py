"""CK+ (Lucey et al., CVPRW 2010) in the Kaggle "CK+48" layout: `CK+48/<class>/S010_004_00000017.png`.

Seven classes of its own (anger, contempt, disgust, fear, happy, sadness, surprise): CK+48 has
contempt and no neutral. Subject (`S010`) and sequence (`S010_004`) come from the file name; each
sequence contributes its three last (peak) frames.
"""

import re
from pathlib import Path

import numpy as np

from fer_keras.data.dataset import DataError, FERDataset, crop_face_box
from fer_keras.data.folders import list_class_tree, require_dir
from fer_keras.data.imageio import read_many
from fer_keras.data.labels import CKPLUS_CLASSES, CKPLUS_FOLDER_ALIASES

SIZE = 48
_NAME = re.compile(r"^S(\d+)_(\d+)_(\d+)\.[A-Za-z]+$")


def resolve(data_dir):
    path = require_dir(data_dir, "CK+")
    for name in ("CK+48", "ck+48", "CK48"):
        if (path / name).is_dir():
            return path / name
    if any((path / c).is_dir() for c in CKPLUS_FOLDER_ALIASES):
        return path
    raise DataError("no CK+48/ folder and no class folders (anger, contempt, ...) inside", path)


def load_ckplus(data_dir, skip_bad=False, progress=True):
    """Loads CK+48: 981 images of 118 subjects and 327 sequences in the Kaggle copy.

    Args:
        data_dir: the folder holding `CK+48/`, or `CK+48` itself.
        skip_bad: skip bad files and report them in `meta["skipped"]` instead of raising.
        progress: show a progress bar while decoding.

    Returns:
        FERDataset "ckplus" with `subjects` ("S010"), `sequences` ("S010_004") and `paths`.
    """
    root = resolve(data_dir)
    files, labels, subjects, sequences, rels, skipped = [], [], [], [], [], []
    for f, cls in list_class_tree(root, CKPLUS_FOLDER_ALIASES):
        m = _NAME.match(f.name)
        if m is None:
            err = DataError("file name does not parse as S<subject>_<sequence>_<frame>.<ext>", f)
            if not skip_bad:
                raise err
            skipped.append((str(f), str(err)))
            continue
        files.append(f)
        labels.append(CKPLUS_CLASSES.index(cls))
        subjects.append(f"S{m.group(1)}")
        sequences.append(f"S{m.group(1)}_{m.group(2)}")
        rels.append(str(f.relative_to(root)))
    if not files:
        raise DataError("no image file names parse", root)
    images, kept, conversions, bad = read_many(files, SIZE, skip_bad, progress, "CK+")
    sequences = np.array(sequences)[kept]
    # A sequence has one label; two labels for one sequence means a mislabelled copy.
    seq_labels = {}
    for s, y, p in zip(sequences, np.array(labels)[kept], np.array(rels)[kept]):
        if seq_labels.setdefault(s, y) != y:
            raise DataError(f"sequence {s} appears under two classes", root / p)
    meta = {"data_dir": str(root), "skipped": skipped + bad,
            "conversions": [(str(Path(p).relative_to(root)), c) for p, c in conversions],
            "num_sequences": int(len(set(sequences)))}
    return FERDataset(name="ckplus", images=images, labels=np.array(labels)[kept],
                      class_names=CKPLUS_CLASSES, subjects=np.array(subjects)[kept],
                      sequences=sequences, boxes=crop_face_box(int(kept.sum()), SIZE),
                      paths=np.array(rels)[kept], meta=meta)
