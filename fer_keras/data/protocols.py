"""Evaluation protocols: deterministic train/val/test splits for a given seed.

Registry of named protocols (see `list_protocols`); the defaults never put one subject (or, for
FER2013, one usage split) on both sides. The two paper protocols reproduce the papers' numbers
and warn about what they leak. Every protocol, its leaks and its choices: docs/data.md.
"""

import warnings

import numpy as np

from fer_keras.data.dataset import LeakageWarning, Split, split_dataset
from fer_keras.data.registry import get_dataset, list_datasets
from fer_keras.options import check_options



def _rng(seed, *salt):
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, *salt])


def _groups(ds):
    """Grouping unit for leakage-free splits: subject, else the image itself."""
    return ds.subjects if ds.subjects is not None else np.arange(len(ds)).astype(str)


def _carve_val(ds, train, seed, fraction=0.1, note=True):
    """Moves about `fraction` of `train` to validation, by whole subjects where there are any."""
    rng = _rng(seed, 7)
    if ds.subjects is not None:
        subj = np.unique(ds.subjects[train])
        n = max(1, int(round(len(subj) * fraction))) if len(subj) > 1 else 0
        chosen = set(rng.permutation(subj)[:n])
        mask = np.isin(ds.subjects[train], list(chosen))
        how = f"validation carved from training subjects ({n} of {len(subj)})"
    else:
        mask = np.zeros(len(train), bool)
        for c in np.unique(ds.labels[train]):  # stratified
            idx = np.flatnonzero(ds.labels[train] == c)
            mask[rng.permutation(idx)[: int(round(len(idx) * fraction))]] = True
        how = f"validation carved at random (stratified) from training images ({mask.sum()})"
    return train[~mask], train[mask], [how] if note else []


VALIDATION = ("carve", "none")
SPLIT_LEVELS = ("sequence", "frame")


def _choice(option, value, allowed):
    if value not in allowed:
        raise ValueError(f"protocol option {option}={value!r} is not one of {allowed}")
    return value


def _without_validation(splits, validation):
    """`validation="none"`: each split's validation examples go back to its training side.

    The papers train on their whole training side (I-MobileNetV2: "the training set (882 frames)
    of CK+"); with no validation split no epoch can be selected, so a run reports its last epoch.
    """
    if _choice("validation", validation, VALIDATION) == "carve":
        return splits
    for s in splits:
        s.notes.append(f"validation 'none': the {len(s.val)} validation examples were returned to "
                       "training; no epoch selection (the last epoch is reported)")
        s.train, s.val = np.sort(np.concatenate([s.train, s.val])), s.val[:0]
        s.notes[:] = [n for n in s.notes if not n.startswith("validation carved")]
    return splits


def _official(ds, seed, **_):
    """The dataset's own split, from `ds.usage` in FER2013's words: Training, PublicTest
    (validation), PrivateTest (test). RAF-DB and AffectNet have no validation split (their
    official test is PrivateTest here): validation is carved from Training, seeded."""
    if ds.usage is None:
        raise ValueError(f"protocol 'official' needs the dataset's official split "
                         f"(usage Training / PublicTest / PrivateTest), which {ds.name!r} does "
                         "not record; use holdout, subject_kfold or loso")
    idx = np.arange(len(ds))
    train, val, test = (idx[ds.usage == u] for u in ("Training", "PublicTest", "PrivateTest"))
    notes = [f"official {ds.name}: Training / PublicTest (validation) / PrivateTest (test)"]
    if len(val) == 0:
        train, val, more = _carve_val(ds, train, seed)
        notes += ["PublicTest absent: " + more[0]]
    if len(test) == 0:
        notes.append("PrivateTest absent: the test split is empty; report PublicTest as "
                     "validation, not as a test result")
    return [Split("official/0", 0, train, val, test, "official", notes)]


def _kfold_groups(ds, k, seed):
    """Assigns whole subjects to k folds, balancing image counts (seeded greedy)."""
    groups = _groups(ds)
    uniq, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    if len(uniq) < k:
        raise ValueError(f"{k} folds need at least {k} subjects; {ds.name} has {len(uniq)}")
    order = _rng(seed, 1).permutation(len(uniq))
    order = order[np.argsort(-counts[order], kind="stable")]
    fold_of, load = np.zeros(len(uniq), int), np.zeros(k, int)
    for g in order:
        f = int(np.argmin(load))
        fold_of[g] = f
        load[f] += counts[g]
    return fold_of[inverse]


def _subject_kfold(ds, seed, num_folds=10, validation="carve", **_):
    if ds.subjects is None:
        raise ValueError(f"protocol 'subject_kfold' needs subject IDs; {ds.name} has none")
    least = 3 if validation == "carve" else 2  # carve: test, validation and training folds
    if isinstance(num_folds, bool) or not isinstance(num_folds, int) or num_folds < least:
        raise ValueError(f"protocol option num_folds must be an integer >= {least} (validation "
                         f"{validation!r}), got {num_folds!r}")
    fold = _kfold_groups(ds, num_folds, seed)
    idx = np.arange(len(ds))
    splits = []
    for k in range(num_folds):
        nxt = (k + 1) % num_folds
        splits.append(Split(
            f"subject_kfold/{k}", k, idx[(fold != k) & (fold != nxt)], idx[fold == nxt],
            idx[fold == k], "subject_kfold",
            [f"{num_folds} subject-independent folds; validation carved from training subjects "
             "(those of the next fold)"]))
    return _without_validation(splits, validation)


def _loso(ds, seed, validation="carve", **_):
    if ds.subjects is None:
        raise ValueError(f"protocol 'loso' needs subject IDs; {ds.name} has none")
    subjects = np.unique(ds.subjects)
    if len(subjects) < 3:
        raise ValueError(f"protocol 'loso' needs at least 3 subjects, {ds.name} has {len(subjects)}")
    order = _rng(seed, 2).permutation(subjects)
    idx = np.arange(len(ds))
    splits = []
    for k, s in enumerate(order):
        v = order[(k + 1) % len(order)]
        splits.append(Split(
            f"loso/{k}", k, idx[(ds.subjects != s) & (ds.subjects != v)], idx[ds.subjects == v],
            idx[ds.subjects == s], "loso",
            ["leave one subject out; validation carved from training subjects (the next "
             "subject in the seeded order)"]))
    return _without_validation(splits, validation)


def _holdout(ds, seed, test_fraction=0.2, val_fraction=0.1, validation="carve", **_):
    """Single split; by subject where subjects exist, else stratified by class."""
    idx = np.arange(len(ds))
    rng = _rng(seed, 3)
    if ds.subjects is not None:
        subj = rng.permutation(np.unique(ds.subjects))
        n_test = max(1, int(round(len(subj) * test_fraction)))
        test_mask = np.isin(ds.subjects, subj[:n_test])
        note = f"holdout by subject: {n_test} of {len(subj)} subjects in test"
    else:
        test_mask = np.zeros(len(ds), bool)
        for c in range(ds.num_classes):
            members = np.flatnonzero(ds.labels == c)
            test_mask[rng.permutation(members)[: int(round(len(members) * test_fraction))]] = True
        note = "holdout stratified by class (no subject IDs: identities may repeat across sides)"
    train, val, more = _carve_val(ds, idx[~test_mask], seed, val_fraction)
    return _without_validation(
        [Split("holdout/0", 0, train, val, idx[test_mask], "holdout", [note] + more)], validation)


def _paper_imnv2(ds, seed, num_test_sequences=33, split_level="sequence", validation="carve",
                 **_):
    """I-MobileNetV2 (Sci. Rep. 2024, section "Analysis ... CK+"): 882 train / 99 test frames.

    The paper says only "the training set (882 frames) of CK+ and ... the test set (99 frames)".
    `split_level="sequence"` (default) draws 33 whole sequences (3 frames each, as 99 = 33 x 3
    suggests) at random within classes in proportion to class size; `"frame"` draws the same
    number of frames at random, stratified by class, so the other frames of a test frame's
    sequence usually sit in training (the common practice behind such figures; it leaks near
    duplicates). docs/paper_notes.md, "CK+ split".
    """
    if ds.sequences is None:
        raise ValueError("protocol 'paper_imnv2' needs CK+ sequence IDs")
    _choice("split_level", split_level, SPLIT_LEVELS)
    rng = _rng(seed, 4)
    seqs, first = np.unique(ds.sequences, return_index=True)
    idx = np.arange(len(ds))
    if split_level == "sequence":
        units, unit_label = seqs, ds.labels[first]
        n_test = num_test_sequences
    else:
        units, unit_label = idx, ds.labels
        n_test = int(round(len(ds) * num_test_sequences / len(seqs)))
    alloc = _largest_remainder(np.bincount(unit_label, minlength=ds.num_classes), n_test)
    test_units = np.concatenate([rng.permutation(units[unit_label == c])[:alloc[c]]
                                 for c in range(ds.num_classes)])
    test_mask = np.isin(ds.sequences if split_level == "sequence" else idx, test_units)
    train, val, more = _carve_val(ds, idx[~test_mask], seed)
    shared = np.intersect1d(ds.subjects[test_mask], ds.subjects[~test_mask])
    if split_level == "sequence":
        how = (f"paper_imnv2: {num_test_sequences} whole test sequences ({test_mask.sum()} "
               "frames), drawn per class")
        what = "other sequences"
    else:
        shared_seqs = np.intersect1d(ds.sequences[test_mask], ds.sequences[~test_mask])
        how = (f"paper_imnv2 at frame level: {test_mask.sum()} test frames drawn at random per "
               f"class; {len(shared_seqs)} of their {len(np.unique(ds.sequences[test_mask]))} "
               "sequences also have frames on the training side")
        what = "frames (often of the same sequence)"
    warning = (f"paper_imnv2 leaks identities: {len(shared)} of "
               f"{len(np.unique(ds.subjects[test_mask]))} test subjects also have {what} on the "
               "training side (the split is not by subject), so the test accuracy overstates "
               "accuracy on unseen people")
    warnings.warn(warning, LeakageWarning, stacklevel=3)
    split = Split("paper_imnv2/0", 0, train, val, idx[test_mask], "paper_imnv2",
                  [how, warning] + more)
    return _without_validation([split], validation)


def _largest_remainder(counts, total):
    """Integer allocation of `total` in proportion to `counts` (largest-remainder method)."""
    share = counts * total / counts.sum()
    alloc = np.floor(share).astype(int)
    alloc[np.argsort(-(share - alloc), kind="stable")[: total - alloc.sum()]] += 1
    return alloc


def _paper_lntwrn(ds, seed, target=None, train_fraction=0.7, validation="carve", **_):
    """Light-NTWRN (2022, sections 3.2 and 4.1-4.2): offline expansion, then a random 70/30 split."""
    from fer_keras.data.expansion import expand_dataset

    # the paper's expansion targets (Light-NTWRN section 4.2), declared with each dataset
    known = get_dataset(ds.name).lntwrn_target if ds.name in list_datasets() else None
    target = target or known or 2 * len(ds)
    big = expand_dataset(ds, target, seed=seed)
    rng = _rng(seed, 5)
    perm = rng.permutation(len(big))
    n_train = int(round(len(big) * train_fraction))
    train, test = np.sort(perm[:n_train]), np.sort(perm[n_train:])
    source = big.meta["source_index"]
    train_sources = set(source[train].tolist())
    leaked = int(np.isin(source[test], list(train_sources)).sum())
    warning = (f"paper_lntwrn leaks: {leaked} of {len(test)} test images are variants (or the "
               "original) of a source image that also has a variant on the training side; the "
               "expansion happens before the random 70/30 split, as in the paper, so test "
               "accuracy measures recall of seen images as much as generalisation")
    if ds.subjects is not None:
        shared = np.intersect1d(big.subjects[train], big.subjects[test])
        warning += f"; {len(shared)} subjects are on both sides"
    warnings.warn(warning, LeakageWarning, stacklevel=3)
    # Validation from the training side, by source image so variants stay together.
    rng_v = _rng(seed, 6)
    src_train = np.unique(source[train])
    val_src = rng_v.permutation(src_train)[: int(round(len(src_train) * 0.1))]
    val_mask = np.isin(source[train], val_src)
    notes = [f"paper_lntwrn: {ds.name} expanded from {len(ds)} to {len(big)} images with improved "
             f"random erasing, then a random {train_fraction:.0%}/{1 - train_fraction:.0%} split; "
             "indices point into split.dataset (the expanded set)", warning,
             f"validation carved from the training side by source image ({val_mask.sum()} images)"]
    split = Split("paper_lntwrn/0", 0, train[~val_mask], train[val_mask], test, "paper_lntwrn",
                  notes, dataset=big)
    return _without_validation([split], validation)


def _official_datasets():
    """The datasets whose record declares an official split (`DatasetSpec.official_split`)."""
    return tuple(n for n in list_datasets() if get_dataset(n).official_split)


PROTOCOLS = {
    "official": (_official, _official_datasets, "the dataset's official split: FER2013 Training / PublicTest "
                 "(val) / PrivateTest (test); RAF-DB and AffectNet train / test, validation "
                 "carved from train"),
    "subject_kfold": (_subject_kfold, None, "10 subject-independent folds (CK+ default)"),
    "loso": (_loso, None, "leave one subject out (JAFFE default)"),
    "holdout": (_holdout, None, "one split, by subject where subjects exist, else stratified"),
    "paper_imnv2": (_paper_imnv2, ("ckplus",), "I-MobileNetV2: CK+ 882 train / 99 test frames"),
    "paper_lntwrn": (_paper_lntwrn, ("ckplus", "jaffe", "fer2013"),
                     "Light-NTWRN: offline expansion, then a random 70/30 split (leaks)"),
}


def _names(allowed):
    """A protocol's dataset names: a tuple, or a function returning one (read when asked)."""
    return allowed() if callable(allowed) else allowed


def list_protocols(dataset=None):
    """Names of the protocols, or of those that apply to `dataset` (a name)."""
    return [name for name, (_, allowed, _) in PROTOCOLS.items()
            if dataset is None or allowed is None or dataset in _names(allowed)]


def default_protocol(dataset):
    """The leakage-free default protocol for a dataset name."""
    return get_dataset(dataset).default_protocol


def make_splits(ds, protocol=None, seed=0, drop_duplicates=False, **options):
    """Splits `ds` by a named protocol; the same seed always gives the same splits.

    Args:
        ds: FERDataset.
        protocol: a name from `list_protocols()`; None means `default_protocol(ds.name)`.
        seed: integer seed for every random choice the protocol makes.
        drop_duplicates: drop validation and test images that exactly duplicate a training image
            (see `audit_duplicates`); each split's notes say how many went.
        **options: protocol options (num_folds, test_fraction, target, ...): the keyword
            parameters of the protocol's function; any other name is a ValueError listing them.

    Returns:
        list of Split. For `paper_lntwrn`, `split.dataset` is the expanded dataset that the
        indices point into (use `split_dataset(split, ds)`).
    """
    protocol = protocol or default_protocol(ds.name)
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol '{protocol}'; known: {list(PROTOCOLS)}")
    fn, allowed, _ = PROTOCOLS[protocol]
    if allowed is not None and ds.name not in _names(allowed):
        raise ValueError(f"protocol '{protocol}' applies to {', '.join(_names(allowed))}, not "
                         f"{ds.name}")
    check_options(options, fn, f"protocol {protocol!r}", skip=("ds", "seed"))
    splits = fn(ds, seed, **options)
    if drop_duplicates:
        from fer_keras.data.audit import drop_cross_duplicates

        splits = [drop_cross_duplicates(split_dataset(s, ds), s) for s in splits]
    return splits
