"""Classes are checked: a model is scored on a dataset only in the dataset's label space.

A CK+ model (anger, contempt, disgust, ...) scored on JAFFE (angry, disgust, ..., neutral)
position by position gives a meaningless figure, and a 3-class model on a 7-class dataset used to
end in an IndexError. `class_alignment` compares the model's class names (from its metrics.json,
model_info.json or the SavedModel's `class_names` signature) with the dataset's:

- the same names in the same order: nothing to do;
- the same names in another order: the outputs are reordered (exact, no choice involved);
- anything else is refused with both lists, unless the caller asks for `map_labels`: then
  `fer_keras.data.labels.label_mapping` matches classes by emotion (CK+ "anger" = FER2013
  "angry"), the probabilities of model classes without a counterpart are dropped (and the rest
  renormalised), and examples of dataset classes the model does not know are left out (counted).
"""

import numpy as np


class ClassMismatch(ValueError):
    """The model's classes are not the dataset's (the message prints both lists)."""


def parse_class_names(value):
    """The user's class names for a model (`--class-names`), in output order.

    `value` is a sequence of names, a comma-separated string ("anger,contempt,..."), or the name
    of a dataset whose label space the model was trained in ("ckplus", "fer2013", "rafdb", ...:
    every registered dataset with fixed classes, `fer_keras.data.registry.label_spaces`).
    Empty or repeated names are refused with the list given.
    """
    from fer_keras.data.registry import label_spaces

    spaces = label_spaces()
    if isinstance(value, str):
        value = spaces.get(value.strip().lower()) or value.split(",")
    names = tuple(str(n).strip() for n in value)
    if not names or any(not n for n in names):
        raise ValueError(f"class names must be non-empty, comma-separated names or one of "
                         f"{', '.join(spaces)}; got {value!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"class names repeat: {', '.join(names)}")
    return names


def class_alignment(model_names, dataset_names, num_outputs, map_labels=False, source="model"):
    """None when the outputs already are the dataset's classes, else a `ClassMap`.

    Args:
        model_names: the model's class names, or None when unknown.
        dataset_names: the dataset's class names.
        num_outputs: the model's number of outputs.
        map_labels: match differing class sets by emotion instead of refusing.
        source: where `model_names` came from (named in messages).

    Raises:
        ClassMismatch: differing classes and `map_labels` not given, or nothing in common.
    """
    dataset_names = tuple(dataset_names)
    if model_names is None:
        if num_outputs == len(dataset_names):
            return None
        raise ClassMismatch(f"the model has {num_outputs} outputs and no class names; the "
                            f"dataset has {len(dataset_names)} classes ({', '.join(dataset_names)})")
    model_names = tuple(model_names)
    if len(model_names) != num_outputs:
        raise ClassMismatch(f"the model has {num_outputs} outputs but {source} names "
                            f"{len(model_names)} classes ({', '.join(model_names)})")
    if model_names == dataset_names:
        return None
    if sorted(model_names) == sorted(dataset_names):
        return ClassMap([dataset_names.index(n) for n in model_names], len(dataset_names),
                        "reordered to the dataset's class order")
    if not map_labels:
        raise ClassMismatch(
            f"the model's classes are not the dataset's: model ({source}): "
            f"{', '.join(model_names)}; dataset: {', '.join(dataset_names)}. Scoring them position "
            "by position would be wrong: pass --map-labels (map_labels=True) to match them by "
            "emotion, or evaluate on a dataset with the model's classes")
    from fer_keras.data.labels import label_mapping

    mapping = label_mapping(model_names, dataset_names)
    if not (mapping >= 0).any():
        raise ClassMismatch(f"no class in common: model {', '.join(model_names)}; dataset "
                            f"{', '.join(dataset_names)}")
    return ClassMap(mapping, len(dataset_names), "mapped by emotion (label_mapping)")


class ClassMap:
    """Maps model outputs onto the dataset's classes (`to_index[k]`: dataset class of output k,
    -1 for none)."""

    def __init__(self, to_index, num_classes, how):
        self.to_index = np.asarray(to_index, np.int64)
        self.num_classes = num_classes
        self.how = how

    def known_classes(self):
        """Boolean mask over the dataset's classes: those some model output maps to."""
        known = np.zeros(self.num_classes, bool)
        known[self.to_index[self.to_index >= 0]] = True
        return known

    def probabilities(self, probs):
        """N x K_model probabilities -> N x K_dataset (dropped outputs removed, renormalised)."""
        probs = np.asarray(probs, np.float64)
        out = np.zeros((len(probs), self.num_classes))
        for k, j in enumerate(self.to_index):
            if j >= 0:
                out[:, j] += probs[:, k]
        total = out.sum(axis=1, keepdims=True)
        return (out / np.where(total > 0, total, 1.0)).astype(np.float32)

    def note(self, dropped_examples):
        unknown = int((~self.known_classes()).sum())
        return (f"model outputs {self.how}"
                + (f"; {dropped_examples} examples of {unknown} dataset classes the model does "
                   "not know were left out" if dropped_examples else ""))
