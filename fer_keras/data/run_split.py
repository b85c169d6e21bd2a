"""A trained run's split, rebuilt from its metrics.json: the images a model was tested on.

`metrics.json` (written by `fer_keras.training`) records the dataset, its options and folder,
the protocol and its options, the fold and the split seed. `rebuild_split` loads the same data
and cuts the same split, so `evaluate` reproduces the run's figures and `export` validates and
calibrates on the run's own validation and training images. Arguments override the run's
values; for another dataset than the run's, nothing of the run is reused.
"""

import dataclasses

import numpy as np


@dataclasses.dataclass
class RunSplit:
    """The rebuilt split: `dataset` (the indices point into it), `split`, and how it was made."""

    dataset: object
    split: object
    dataset_name: str
    split_seed: int

    def indices(self, part):
        """The indices of "train", "val" or "test"."""
        if part not in ("train", "val", "test"):
            raise ValueError(f"part must be 'train', 'val' or 'test', got {part!r}")
        return np.asarray(getattr(self.split, part))


def rebuild_split(info, dataset=None, data_dir=None, protocol=None, fold=None, split_seed=None,
                  dataset_options=None):
    """The split of the run `info` (its metrics.json as a dict, or {}), with overrides.

    Arguments left as None come from `info` when it names the same dataset, else from the
    defaults (the dataset's default protocol, fold 0, split seed 0, no options).

    Raises:
        ValueError: no dataset known, or a fold the protocol does not have.
    """
    from fer_keras.data import load_dataset, make_splits, split_dataset

    info = info or {}
    config = info.get("config", {})
    dataset = dataset or info.get("dataset")
    if dataset is None:
        raise ValueError("--dataset is needed: the model has no metrics.json beside it")
    same = info.get("dataset") == dataset
    run = (lambda key, default: info.get(key, default)) if same else (lambda key, d: d)
    options = dataset_options if dataset_options is not None else (
        config.get("dataset_options", {}) if same else {})
    if data_dir is None and same:
        data_dir = config.get("data_dir")
    ds = load_dataset(dataset, data_dir, **options)
    protocol = protocol or run("protocol", None)
    fold = fold if fold is not None else run("fold", 0)
    split_seed = split_seed if split_seed is not None else run("split_seed", 0)
    splits = make_splits(ds, protocol, seed=split_seed,
                         **(config.get("protocol_options", {}) if same else {}))
    if not 0 <= fold < len(splits):
        raise ValueError(f"fold {fold} does not exist: protocol '{splits[0].protocol}' has "
                         f"folds 0..{len(splits) - 1}")
    s = splits[fold]
    return RunSplit(split_dataset(s, ds), s, dataset, split_seed)
