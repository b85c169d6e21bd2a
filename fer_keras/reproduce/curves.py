"""Learning curves over many runs: the mean over folds (and seeds) with a band, split named.

    plot_mean_curves(["runs/x/fold_0/history.csv", ...], "x-curves.png", "I-MobileNetV2, CK+")

Used by `fer_keras.reproduce.figures` for the reproduction figures (docs/figures).

One line per run (20 for ten folds and two seeds) hides the trend under a legend that covers the
data; this draws the mean per epoch with a band of one standard deviation across runs
(seaborn's ``lineplot``, ``errorbar="sd"``), one line per split, the legend outside the axes, and
says in the title which split is plotted and over how many runs.
"""

from pathlib import Path

from fer_keras.training.artifacts import read_history_csv

# Test accuracy per epoch exists only for runs with --test-each-epoch (the papers' practice of
# reporting the test curve); it selects nothing, so it is labelled as reporting only.
SPLITS = {"val_accuracy": "validation", "accuracy": "training",
          "test_accuracy": "test (papers' practice, reporting only)"}


def _value(text):
    value = float(text) if text not in (None, "") else float("nan")
    return None if value != value else value


def read_curves(history_files, keys=("val_accuracy",)):
    """Long-format rows {run, epoch, split, accuracy (%)} from history.csv files: per run, the
    first of `keys` that has values (a run without validation, protocol option validation
    "none", gives its test curve when it recorded one with --test-each-epoch)."""
    rows = []
    for run, path in enumerate(history_files):
        history = read_history_csv(path)
        key = next((k for k in keys if any(_value(r.get(k)) is not None for r in history)),
                   None)
        rows += [{"run": run, "epoch": r["epoch"], "split": SPLITS.get(key, key),
                  "accuracy (%)": 100 * _value(r[key])}
                 for r in history if key and _value(r.get(key)) is not None]
    return rows


def curve_splits(history_files, keys=("val_accuracy",)):
    """The split names `plot_mean_curves` draws for these runs, in first-seen order (e.g.
    ["validation"], or ["validation", "test (papers' practice, reporting only)"] when some runs
    have no validation split)."""
    return list(dict.fromkeys(row["split"] for row in read_curves(history_files, keys)))


def plot_mean_curves(history_files, path, what, keys=("val_accuracy",)):
    """Writes the mean accuracy per epoch over the runs, with a +-1 sd band, to `path`.

    Returns the number of runs that contributed. ValueError when none has the asked columns.
    """
    import pandas as pd
    import seaborn as sns

    from fer_keras.training.metrics import agg_pyplot, save_figure

    plt = agg_pyplot()

    data = pd.DataFrame(read_curves(history_files, keys))
    if data.empty:
        raise ValueError(f"no {', '.join(keys)} column with values in {len(history_files)} "
                         "history file(s)")
    runs = data["run"].nunique()
    splits = list(dict.fromkeys(data["split"]))
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    sns.lineplot(data=data, x="epoch", y="accuracy (%)", hue="split", errorbar="sd", ax=ax)
    ax.set_title(f"{what}: {' and '.join(splits)} accuracy, mean ± sd over {runs} run(s)",
                 fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    save_figure(fig, path)
    return runs
