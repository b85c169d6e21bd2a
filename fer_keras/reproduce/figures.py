"""The papers' figures drawn from the runs: confusion matrices and accuracy curves, each curve
labelled with the split it plots (validation, or test for runs without a validation split)."""

from pathlib import Path

from fer_keras.reproduce.runs import collect

# Per run, the first of these history columns that has values: validation accuracy, else the
# test accuracy a run without validation recorded with --test-each-epoch (the papers' practice).
CURVE_KEYS = ("val_accuracy", "test_accuracy")
HEADING = ("## Figures (confusion matrices summed over folds; accuracy curves: mean ± sd over "
           "folds and seeds, of the validation split, or of the test split for runs without "
           "one (papers' practice, reporting only))")


def figures(study_dirs, folder):
    """The papers' figures from the runs: confusion matrices summed over folds (I-MobileNetV2
    Figures 7-8, Light-NTWRN Figure 11) and accuracy per epoch (Light-NTWRN Figure 10) of the
    validation split, or of the test split for runs without one, one PNG per (study, dataset,
    row, protocol) in `folder`: runs of different study folders (budgets) are never summed
    together. Returns the Markdown lines linking them, each curve named by its split."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for study in study_dirs:
        for (dataset, row, protocol, options), metrics in sorted(
                collect([study], options=True, every=True).items()):
            shown = protocol + (f" ({options})" if options else "")
            stem = f"{Path(study).name}-{dataset}-{row}-{protocol}" + "".join(
                f"+{option}" for option in options.replace(" ", "").split(",") if option)
            splits = _figure_pair(metrics, folder, stem, f"{row} on {dataset}, {shown}")
            lines.append(f"| `{study}` | {dataset} | {row} | `{shown}` | [confusion matrix]"
                         f"(figures/{stem}-cm.png) | [{' and '.join(splits)} accuracy per epoch]"
                         f"(figures/{stem}-curves.png) |")
    if not lines:
        return []
    return ([HEADING, "", "| study | dataset | row | protocol | | |", "|---|---|---|---|---|---|"]
            + lines + [""])


def _figure_pair(metrics, folder, stem, what):
    """STEM-cm.png (confusion matrix summed over the runs) and STEM-curves.png (validation
    accuracy per epoch, or test for runs without validation: mean and sd band over the runs,
    `fer_keras.reproduce.curves`) in `folder`. Returns the names of the splits the curves plot."""
    import numpy as np

    from fer_keras.reproduce.curves import curve_splits, plot_mean_curves
    from fer_keras.training.metrics import plot_confusion_matrix

    matrix = np.sum([m["confusion_matrix"] for m in metrics], axis=0)
    title = f"{what} ({len(metrics)} run(s), {metrics[0]['split']})"
    plot_confusion_matrix(matrix, metrics[0]["class_names"], folder / f"{stem}-cm.png", title)
    histories = [Path(m["_run"]) / "history.csv" for m in metrics]
    plot_mean_curves(histories, folder / f"{stem}-curves.png", what, CURVE_KEYS)
    return curve_splits(histories, CURVE_KEYS)
