"""Classification metrics (scikit-learn) and the two figures of a run (matplotlib Agg).

`classification_metrics` gives the measured keys of `metrics.json`: accuracy, balanced accuracy,
macro-F1, per-class precision/recall/F1/support, the confusion matrix and the mean
cross-entropy. `summarize_folds` gives mean and standard deviation over folds.
"""

import warnings

import numpy as np

SUMMARY_KEYS = ("accuracy", "balanced_accuracy", "macro_f1")


def cross_entropy(labels, probs):
    p = np.clip(probs[np.arange(len(labels)), labels].astype(np.float64), 1e-12, 1.0)
    return float(-np.mean(np.log(p)))


def classification_metrics(labels, probs, class_names):
    """Metrics of predicted class probabilities (N x K) against integer labels (N)."""
    from sklearn.metrics import (
        accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score,
        precision_recall_fscore_support,
    )

    labels = np.asarray(labels, np.int64)
    probs = np.asarray(probs, np.float32)
    pred = probs.argmax(axis=-1)
    k = len(class_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes absent from a small split
        precision, recall, f1, support = precision_recall_fscore_support(
            labels, pred, labels=np.arange(k), zero_division=0)
        result = {
            "num_examples": int(len(labels)),
            "accuracy": float(accuracy_score(labels, pred)),
            "balanced_accuracy": float(balanced_accuracy_score(labels, pred)),
            "macro_f1": float(f1_score(labels, pred, labels=np.arange(k), average="macro",
                                       zero_division=0)),
            "loss": cross_entropy(labels, probs),
        }
    result["per_class"] = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(class_names, precision, recall, f1, support)}
    result["class_names"] = list(class_names)
    result["confusion_matrix"] = confusion_matrix(labels, pred, labels=np.arange(k)).tolist()
    return result


def summarize_folds(fold_metrics, keys=SUMMARY_KEYS):
    """{key: {"mean", "std", "values"}} over a list of metrics dicts (population std)."""
    out = {}
    for key in keys:
        values = [float(m[key]) for m in fold_metrics]
        out[key] = {"mean": float(np.mean(values)), "std": float(np.std(values)),
                    "values": values}
    return out


def summary_table(fold_metrics, keys=SUMMARY_KEYS):
    """A Markdown table: one row per fold, then mean +- std."""
    head = "| fold | n | " + " | ".join(keys) + " |"
    lines = [head, "|" + "---|" * (len(keys) + 2)]
    for m in fold_metrics:
        lines.append(f"| {m['fold']} | {m['num_examples']} | "
                     + " | ".join(f"{m[k]:.4f}" for k in keys) + " |")
    summary = summarize_folds(fold_metrics, keys)
    lines.append("| mean +- std | | " + " | ".join(
        f"{summary[k]['mean']:.4f} +- {summary[k]['std']:.4f}" for k in keys) + " |")
    return "\n".join(lines)


def agg_pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (figures written to files, no
    display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, dpi=100):
    """Writes a matplotlib figure as a PNG at `path` atomically and closes it.

    Raises:
        OSError: it could not be written (full or read-only disk), naming `path`; nothing is
        left under `path` then.
    """
    from fer_keras.files import atomic_path

    plt = agg_pyplot()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi)
    except OSError as err:
        raise OSError(f"{path}: the figure was not written ({err.strerror or err}); nothing "
                      "was left under that name") from None
    finally:
        plt.close(fig)


def plot_confusion_matrix(matrix, class_names, path, title=""):
    """A seaborn heatmap of counts, rows normalised for the colour, written to `path`."""
    import seaborn as sns

    plt = agg_pyplot()
    matrix = np.asarray(matrix)
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros(matrix.shape, float), where=rows > 0)
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(class_names), 0.8 + 0.8 * len(class_names)))
    sns.heatmap(share, annot=matrix, fmt="d", cmap="Blues", vmin=0, vmax=1, cbar=True,
                cbar_kws={"label": "share of the true class (row); numbers: images"},
                xticklabels=class_names, yticklabels=class_names, ax=ax)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    save_figure(fig, path)


HISTORY_SPLITS = (("", "training"), ("val_", "validation"), ("test_", "test (reporting only)"))


def plot_history(rows, path, title="", selected_epoch=None):
    """Loss and accuracy per epoch of every split the history holds (training, validation when
    there is one, test with --test-each-epoch) and the learning rate; the title names them.
    `selected_epoch` (1-based: the run's model, metrics.json's best_epoch) is marked by a dashed
    line on each panel. Returns the names of the splits plotted."""
    plt = agg_pyplot()
    epochs = [r["epoch"] for r in rows]  # 1-based (history.csv)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    plotted = []
    for prefix, label in HISTORY_SPLITS:
        values = {key: [float(r.get(prefix + key, "nan")) for r in rows]
                  for key in ("loss", "accuracy")}
        if not any(v == v for v in values["accuracy"]):  # absent or all NaN
            continue
        plotted.append(label)
        for ax, key in zip(axes[:2], ("loss", "accuracy")):
            ax.plot(epochs, values[key], label=label)
    for ax, key in zip(axes[:2], ("loss", "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.legend()
    axes[2].plot(epochs, [r["learning_rate"] for r in rows])
    axes[2].set_xlabel("epoch")
    axes[2].set_ylabel("learning rate")
    if selected_epoch is not None and selected_epoch >= 1:
        for ax in axes:
            ax.axvline(selected_epoch, color="grey", linestyle="--", linewidth=1,
                       label=f"selected epoch {selected_epoch}" if ax is axes[1] else None)
        axes[1].legend()
    fig.suptitle(f"{title}: {', '.join(plotted)} per epoch" if title else
                 f"{', '.join(plotted)} per epoch")
    fig.tight_layout()
    save_figure(fig, path)
    return plotted
