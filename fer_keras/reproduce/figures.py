"""The papers' figures drawn from the runs: confusion matrices and validation curves."""

from pathlib import Path

from fer_keras.reproduce.runs import collect


def figures(study_dirs, folder):
    """The papers' figures from the runs: confusion matrices summed over folds (I-MobileNetV2
    Figures 7-8, Light-NTWRN Figure 11) and validation accuracy per epoch (Light-NTWRN Figure 10),
    one PNG per (study, dataset, row, protocol) in `folder`: runs of different study folders
    (budgets) are never summed together. Returns the Markdown lines linking them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for study in study_dirs:
        for (dataset, row, protocol, options), metrics in sorted(
                collect([study], options=True, every=True).items()):
            shown = protocol + (f" ({options})" if options else "")
            stem = f"{Path(study).name}-{dataset}-{row}-{protocol}" + "".join(
                f"+{option}" for option in options.replace(" ", "").split(",") if option)
            _figure_pair(metrics, folder, stem, f"{row} on {dataset}, {shown}")
            lines.append(f"| `{study}` | {dataset} | {row} | `{shown}` | [confusion matrix]"
                         f"(figures/{stem}-cm.png) | [validation accuracy per epoch]"
                         f"(figures/{stem}-curves.png) |")
    if not lines:
        return []
    return (["## Figures (confusion matrices summed over folds; validation curves: mean ± sd "
             "over folds and seeds)", "",
             "| study | dataset | row | protocol | | |", "|---|---|---|---|---|---|"]
            + lines + [""])


def _figure_pair(metrics, folder, stem, what):
    """STEM-cm.png (confusion matrix summed over the runs) and STEM-curves.png (validation
    accuracy per epoch, or test for runs without validation: mean and sd band over the runs,
    `fer_keras.reproduce.curves`) in `folder`."""
    import numpy as np

    from fer_keras.reproduce.curves import plot_mean_curves
    from fer_keras.training.metrics import plot_confusion_matrix

    matrix = np.sum([m["confusion_matrix"] for m in metrics], axis=0)
    title = f"{what} ({len(metrics)} run(s), {metrics[0]['split']})"
    plot_confusion_matrix(matrix, metrics[0]["class_names"], folder / f"{stem}-cm.png", title)
    plot_mean_curves([Path(m["_run"]) / "history.csv" for m in metrics],
                     folder / f"{stem}-curves.png", what, ("val_accuracy", "test_accuracy"))
