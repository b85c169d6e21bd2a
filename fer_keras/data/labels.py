"""Label spaces of FER2013, JAFFE and CK+48, and the mapping between them.

FER2013's CSV fixes its label order (0 angry ... 6 neutral); the Kaggle image folders and JAFFE
map onto that order. CK+48 keeps its own seven classes: it has contempt and no neutral.
See docs/data.md, "Label spaces".
"""

import numpy as np

FER2013_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
JAFFE_CLASSES = FER2013_CLASSES
CKPLUS_CLASSES = ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")
SYNTHETIC_CLASSES = FER2013_CLASSES

# Folder names met in downloads, mapped to the class names above.
FER2013_FOLDER_ALIASES = {
    "angry": "angry", "anger": "angry",
    "disgust": "disgust", "disgusted": "disgust",
    "fear": "fear", "fearful": "fear",
    "happy": "happy", "happiness": "happy",
    "sad": "sad", "sadness": "sad",
    "surprise": "surprise", "surprised": "surprise",
    "neutral": "neutral",
}
CKPLUS_FOLDER_ALIASES = {
    "anger": "anger", "angry": "anger",
    "contempt": "contempt",
    "disgust": "disgust", "disgusted": "disgust",
    "fear": "fear", "fearful": "fear",
    "happy": "happy", "happiness": "happy",
    "sadness": "sadness", "sad": "sadness",
    "surprise": "surprise", "surprised": "surprise",
}
JAFFE_EXPRESSIONS = {
    "AN": "angry", "DI": "disgust", "FE": "fear", "HA": "happy",
    "NE": "neutral", "SA": "sad", "SU": "surprise",
}

# Cross-dataset mapping: every class name to a shared emotion name. A class with no counterpart
# (CK+ contempt, FER2013/JAFFE neutral when evaluating on CK+) maps to -1 and must be left out.
CANONICAL_EMOTION = {
    "angry": "anger", "anger": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happy",
    "sad": "sadness", "sadness": "sadness",
    "surprise": "surprise",
    "neutral": "neutral",
    "contempt": "contempt",
}


def label_mapping(from_classes, to_classes):
    """Returns an int array `m` with `m[i]` the index in `to_classes` of class `from_classes[i]`.

    Classes are matched by emotion (`CANONICAL_EMOTION`), so FER2013 "angry" maps to CK+ "anger".
    A class with no counterpart maps to -1.
    """
    target = {CANONICAL_EMOTION.get(name, name): i for i, name in enumerate(to_classes)}
    return np.array(
        [target.get(CANONICAL_EMOTION.get(name, name), -1) for name in from_classes],
        dtype=np.int64,
    )


def map_labels(labels, from_classes, to_classes):
    """Maps integer labels between label spaces; unmappable labels become -1 (drop them)."""
    return label_mapping(from_classes, to_classes)[np.asarray(labels, dtype=np.int64)]
