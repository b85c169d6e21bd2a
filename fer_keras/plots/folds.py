"""The data and its protocols: sample images per class, and each fold's sizes, subjects and
duplicates (what a subject-independent protocol keeps apart)."""

import numpy as np

from fer_keras.plots.canvas import GRAY, new_figure


def show_samples(ds, per_class=6, indices=None, seed=0):
    """A grid of `per_class` random images of each class (rows), titled with their subject."""
    rng = np.random.default_rng(seed)
    pool = np.arange(len(ds)) if indices is None else np.asarray(indices)
    fig = new_figure(figsize=(0.95 * per_class + 0.4, 1.1 * ds.num_classes))
    axes = fig.subplots(ds.num_classes, per_class, squeeze=False)
    for k, name in enumerate(ds.class_names):
        members = pool[ds.labels[pool] == k]
        chosen = rng.choice(members, min(per_class, len(members)), replace=False)
        for j, ax in enumerate(axes[k]):
            ax.set_xticks([])
            ax.set_yticks([])
            ax.spines[:].set_visible(False)
            if j < len(chosen):
                ax.imshow(ds.images[chosen[j]][..., 0], **GRAY)
                if ds.subjects is not None:
                    ax.set_title(ds.subjects[chosen[j]], fontsize=7)
        axes[k][0].set_ylabel(f"{name}\n({len(members)})", fontsize=8)
    return fig


def fold_frame(ds, splits):
    """Per fold: examples and subjects on each side, test subjects also seen in training
    (train or validation side), test images whose exact copy is in training
    (`fer_keras.data.summarize`), and the test examples per class."""
    import pandas as pd

    from fer_keras.data import split_dataset, summarize

    rows = []
    for split, summary in zip(splits, summarize(ds, splits)["folds"]):
        data = split_dataset(split, ds)
        row = {"fold": split.fold, "train": summary["train"], "val": summary["val"],
               "test": summary["test"]}
        seen = None
        if data.subjects is not None:
            for side in ("train", "test"):
                row[f"{side} subjects"] = len(set(data.subjects[getattr(split, side)]))
            test = set(data.subjects[split.test])
            seen = len(test & set(data.subjects[np.concatenate([split.train, split.val])]))
        row["test subjects seen in training"] = seen
        row["test images duplicated in train"] = summary["duplicate_overlap"]
        row.update({f"test {k}": v for k, v in data.class_counts(split.test).items()})
        rows.append(row)
    return pd.DataFrame(rows).set_index("fold")


def plot_folds(frame, title=""):
    """Stacked train / validation / test sizes per row of `fold_frame` (a fold, or any label),
    with the number of test subjects seen in training written beside."""
    fig = new_figure(figsize=(8, 0.35 * len(frame) + 1.4))
    ax = fig.subplots()
    left = np.zeros(len(frame))
    y = np.arange(len(frame))
    for side, colour in (("train", "tab:blue"), ("val", "tab:orange"), ("test", "tab:green")):
        ax.barh(y, frame[side], left=left, color=colour, label=side)
        left = left + frame[side].to_numpy()
    for yi, total, seen in zip(y, left, frame["test subjects seen in training"]):
        if seen is not None and not np.isnan(seen):
            ax.text(total, yi, f"  {int(seen)} test subjects seen in training", va="center",
                    fontsize=8)
    ax.set_yticks(y, [f"fold {f}" if isinstance(f, (int, np.integer)) else str(f)
                      for f in frame.index])
    ax.invert_yaxis()
    ax.set_xlabel("images")
    ax.set_xlim(0, left.max() * 1.45)
    fig.legend(loc="outside lower center", ncols=3, fontsize=8)
    ax.set_title(title)
    return fig
