"""Each table's rows against the paper, drawn: one group per row with runs, one point per column
of the report (the paper's figure; the papers' practice, peak test over epochs; the paper's split
with the epoch selected on validation; the leakage-free protocol), mean ± sd over folds and seeds.

    python -m fer_keras.reproduce report --study studies/paper_practice \
        --output docs/reproduction.md --figures

The tables of docs/reproduction.md say the same in numbers; the figure shows at a glance which
columns reach the paper and whether the paper's ordering of its ablation rows survives.
"""

from pathlib import Path

from fer_keras.reproduce import practice
from fer_keras.reproduce.runs import TABLES, collect

# The report's columns, in its order, with the colour of each.
COLUMNS = (("paper", "tab:gray"),
           ("papers' practice: peak test (optimistic)", "tab:red"),
           ("paper's split, selected on validation", "tab:blue"),
           ("leakage-free", "tab:green"))


def row_values(table, dataset, found):
    """{row label: [(mean, sd) or None per COLUMNS]} of the table's rows on `dataset` that have
    runs in `found` (`collect(..., options=True)`), accuracies in %; {} when none has."""
    values = {}
    for row in table.rows:
        leaky, ours, free = practice.report_columns(table, row, dataset, found)
        peaked = [m for m in leaky if m.get("peak_test_accuracy") is not None]
        columns = [_mean_sd([m["peak_test_accuracy"] for m in peaked]),
                   _mean_sd([m["accuracy"] for m in ours]),
                   _mean_sd([m["accuracy"] for m in free])]
        if any(columns):
            paper = row.paper.get(dataset)
            values[row.label] = [None if paper is None else (float(paper), 0.0)] + columns
    return values


def _mean_sd(fractions):
    import numpy as np

    if not fractions:
        return None
    percent = 100 * np.asarray(fractions, dtype=float)
    return float(percent.mean()), float(percent.std())


def plot_against_paper(values, path, title):
    """Writes the grouped points of `row_values` to `path` (PNG): rows top to bottom in table
    order, a point per column with an sd whisker, its value printed beside it. Points, not bars:
    the axis starts near the lowest value (where the differences are), and a bar cut there
    would show its length out of proportion."""
    import numpy as np

    from fer_keras.plots.canvas import new_figure
    from fer_keras.training.metrics import save_figure

    labels = list(values)
    fig = new_figure(figsize=(7.0, 1.5 + 0.75 * len(labels)))
    ax = fig.subplots()
    height = 0.8 / len(COLUMNS)
    y = np.arange(len(labels))[::-1].astype(float)
    for i, (name, colour) in enumerate(COLUMNS):
        legend = name  # on the column's first bar only
        for j, label in enumerate(labels):
            cell = values[label][i]
            if cell is None:
                continue
            mean, sd = cell
            at = y[j] + 0.4 - height * (i + 0.5)
            ax.errorbar(mean, at, xerr=sd or None, fmt="o", markersize=6, color=colour,
                        capsize=3, label=legend)
            legend = None
            ax.text(mean + sd + 0.4, at, f"{mean:.1f}", va="center", fontsize=7)
    ax.set_yticks(y, labels, fontsize=8)
    ax.grid(axis="x", linewidth=0.5, alpha=0.5)
    low = min(c[0] - c[1] for cells in values.values() for c in cells if c is not None)
    start = max(0.0, 5 * np.floor((low - 5) / 5))
    ax.set_xlim(start, 100 + 0.09 * (100 - start))  # room for a label beside a bar at 100
    ax.set_xticks(np.arange(start, 100.1, 5 if 100 - start <= 40 else 10))
    ax.set_xlabel("test accuracy (%), mean ± sd over folds and seeds")
    fig.suptitle(title, fontsize=9)
    fig.legend(loc="outside lower center", ncol=2, fontsize=7, frameon=False)
    save_figure(fig, path)
    return path


def against_paper_figures(study_dirs, folder):
    """One PNG per (study folder, table, dataset) with runs, in `folder`; returns the Markdown
    lines that show them (a heading, then one image each); [] when no table has runs."""
    folder = Path(folder)
    lines = []
    for study in study_dirs:
        found = collect([study], options=True)
        for table in TABLES.values():
            for dataset in table.protocols:
                values = row_values(table, dataset, found)
                if not values:
                    continue
                folder.mkdir(parents=True, exist_ok=True)
                stem = f"{Path(study).name}-{table.name}-{dataset}-against-paper.png"
                what = f"{table.title}, {dataset} (`{study}`)"
                plot_against_paper(values, folder / stem, what.replace("`", ""))
                lines += [f"![{what}: ours against the paper](figures/{stem})", ""]
    if not lines:
        return []
    return (["## Against the paper, row by row (the tables above, drawn; the papers' practice "
             "is optimistic: its epoch is chosen on the test split)", ""] + lines)
