"""The papers' figures drawn from the runs: confusion matrices and validation curves."""

import csv
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
    return (["## Figures (confusion matrices summed over folds; validation curves per fold)", "",
             "| study | dataset | row | protocol | | |", "|---|---|---|---|---|---|"]
            + lines + [""])


def _figure_pair(metrics, folder, stem, what):
    """STEM-cm.png (confusion matrix summed over the runs) and STEM-curves.png (validation
    accuracy per epoch, one line per run) in `folder`."""
    import numpy as np

    from fer_keras.training.metrics import _pyplot, plot_confusion_matrix

    matrix = np.sum([m["confusion_matrix"] for m in metrics], axis=0)
    seeds = len({m["seed"] for m in metrics}) > 1
    title = f"{what} ({len(metrics)} run(s), {metrics[0]['split']})"
    plot_confusion_matrix(matrix, metrics[0]["class_names"], folder / f"{stem}-cm.png", title)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    column = "val_accuracy"
    for m in metrics:
        with open(Path(m["_run"]) / "history.csv") as f:
            rows = list(csv.DictReader(f))
        # without validation (protocol option validation "none", val_accuracy NaN): the test
        # curve, when the run recorded it (--test-each-epoch)
        column = "val_accuracy" if any(_number(r.get("val_accuracy")) is not None
                                       for r in rows) else "test_accuracy"
        rows = [r for r in rows if _number(r.get(column)) is not None]
        ax.plot([int(r["epoch"]) + 1 for r in rows], [100 * float(r[column]) for r in rows],
                label=f"fold {m['fold']}" + (f", seed {m['seed']}" if seeds else ""))
    ax.set_xlabel("epoch")
    ax.set_ylabel(("validation" if column == "val_accuracy" else "test") + " accuracy (%)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / f"{stem}-curves.png", dpi=100)
    plt.close(fig)


def _number(text):
    """The float in a history.csv cell, or None for an empty or NaN cell."""
    value = float(text) if text not in (None, "") else float("nan")
    return None if value != value else value
