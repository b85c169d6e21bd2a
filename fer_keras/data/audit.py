"""Exact-duplicate audit within and across splits, and the dataset summary the CLI prints."""

import numpy as np

from fer_keras.data.dataset import Split, split_dataset


def empty_class_notes(ds):
    """A warning line when some of the dataset's classes have no images (else [])."""
    empty = [k for k, v in ds.class_counts().items() if not v]
    if not empty:
        return []
    return [f"WARNING: no images of {len(empty)} of {ds.num_classes} classes "
            f"({', '.join(empty)}): a model trained on this data never sees them"]


def _hashes(ds):
    """Per-image digests, memoised on the dataset object for as long as its images array stays."""
    cached = getattr(ds, "_hash_cache", None)
    if cached is None or cached[0] is not ds.images:
        cached = (ds.images, ds.image_hashes())
        ds._hash_cache = cached
    return cached[1]


def audit_duplicates(ds, split=None):
    """Counts exact duplicate images.

    Returns a dict: `duplicate_images` (images whose pixels equal an earlier image's),
    `duplicate_groups`, `conflicting_label_groups` (groups holding more than one label),
    `blank_images` (all one value), and with a split: per side the within-side duplicates and
    `val_in_train`, `test_in_train` (images whose exact copy is on the training side).
    """
    h = _hashes(ds)
    _, first, inverse, counts = np.unique(h, return_index=True, return_inverse=True,
                                          return_counts=True)
    groups = np.flatnonzero(counts > 1)
    conflicting = 0
    if len(groups):
        labels_per = {}
        for g, y in zip(inverse, ds.labels):
            if counts[g] > 1:
                labels_per.setdefault(g, set()).add(int(y))
        conflicting = sum(len(v) > 1 for v in labels_per.values())
    flat = ds.images.reshape(len(ds), -1)
    report = {
        "duplicate_images": int(len(ds) - len(first)),
        "duplicate_groups": int(len(groups)),
        "conflicting_label_groups": int(conflicting),
        "blank_images": int((flat.min(1) == flat.max(1)).sum()),
    }
    if split is not None:
        train = set(h[split.train].tolist())
        for side in ("train", "val", "test"):
            idx = getattr(split, side)
            report[f"{side}_internal_duplicates"] = int(len(idx) - len(set(h[idx].tolist())))
        report["val_in_train"] = int(sum(x in train for x in h[split.val].tolist()))
        report["test_in_train"] = int(sum(x in train for x in h[split.test].tolist()))
    return report


def drop_cross_duplicates(ds, split):
    """A copy of `split` without validation/test images that exactly duplicate a training image."""
    h = _hashes(ds)
    train = set(h[split.train].tolist())
    keep = {s: np.array([x not in train for x in h[getattr(split, s)].tolist()], bool)
            for s in ("val", "test")}
    note = (f"dropped exact duplicates of training images: {int((~keep['val']).sum())} "
            f"validation, {int((~keep['test']).sum())} test")
    return Split(split.name, split.fold, split.train, split.val[keep["val"]],
                 split.test[keep["test"]], split.protocol, split.notes + [note], split.dataset)


def fold_summary(ds, split):
    """{train, val, test, subject_overlap, duplicate_overlap, ...} for one split."""
    d = split_dataset(split, ds)
    out = {"name": split.name, "train": int(len(split.train)), "val": int(len(split.val)),
           "test": int(len(split.test))}
    if d.subjects is not None:
        tr = set(d.subjects[split.train].tolist())
        out["subject_overlap"] = len(tr & set(d.subjects[split.test].tolist()))
        out["val_subject_overlap"] = len(tr & set(d.subjects[split.val].tolist()))
    else:
        out["subject_overlap"] = None
        out["val_subject_overlap"] = None
    h = _hashes(d)
    train = set(h[split.train].tolist())
    out["duplicate_overlap"] = int(sum(x in train for x in h[split.test].tolist()))
    out["val_duplicate_overlap"] = int(sum(x in train for x in h[split.val].tolist()))
    return out


def summarize(ds, splits):
    """The JSON-able summary printed by `python -m fer_keras.data`."""
    base = ds
    notes = empty_class_notes(ds)
    for s in splits:
        notes += [n for n in s.notes if n not in notes]
    meta = ds.meta
    summary = {
        "dataset": ds.name,
        "num_examples": int(len(ds)),
        "image_shape": list(ds.image_shape),
        "class_names": list(ds.class_names),
        "class_counts": ds.class_counts(),
        "num_subjects": None if ds.subjects is None else int(len(np.unique(ds.subjects))),
        "num_sequences": None if ds.sequences is None else int(len(np.unique(ds.sequences))),
        "fingerprint": ds.fingerprint(),
        "protocol": splits[0].protocol if splits else None,
        "folds": [fold_summary(base, s) for s in splits],
        "notes": notes,
        "duplicates": audit_duplicates(ds),
        "converted_files": [list(c) for c in meta.get("conversions", [])],
        "skipped_files": [list(c) for c in meta.get("skipped", [])],
    }
    if ds.usage is not None:
        summary["usage_counts"] = {u: int((ds.usage == u).sum()) for u in np.unique(ds.usage)}
    if "num_detected" in meta:
        summary["faces_detected"] = meta["num_detected"]
        summary["default_crops"] = meta["num_default_crop"]
        summary["default_crop_files"] = meta["default_crop_files"]
    if splits and splits[0].dataset is not None:
        summary["expanded_num_examples"] = int(len(splits[0].dataset))
    return summary
