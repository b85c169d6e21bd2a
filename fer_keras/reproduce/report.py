"""The Markdown tables of docs/reproduction.md and the README's results block, from the runs.

Each cell is the test accuracy (%) of the epoch with the best validation accuracy, mean ±
standard deviation over the folds (and seeds) found; runs are grouped by their identity
(`runs.py`), so runs of other budgets, protocols or protocol options never mix into a cell.
"""

from fer_keras.reproduce import practice
from fer_keras.reproduce.cells import accuracy_cell, command_cell, epochs_cell, hardware_cell
from fer_keras.reproduce.published import rewrite_between
from fer_keras.reproduce.runs import TABLES, collect, experiments, headline_rows

README_START = "<!-- reproduce summary: start -->"
README_END = "<!-- reproduce summary: end -->"


def _headline_line(table, row, dataset, found, study_dirs):
    """The summary's line of one headline row on one dataset, or None without runs (`found`:
    `collect(..., options=True)`)."""
    paper_protocol, free_protocol = table.protocols[dataset]
    leaky, ours, free = practice.report_columns(table, row, dataset, found)
    if not ours + free + leaky:
        return None
    cells = [f"{accuracy_cell(ms)} (`{protocol}`)" if ms else "-"
             for ms, protocol in ((ours, paper_protocol), (free, free_protocol))]
    every = ours + free + leaky
    return (f"| {row.model}, {dataset} | {row.paper.get(dataset, '-')} | "
            f"{practice.practice_cell(table, dataset, leaky)} | {cells[0]} | {cells[1]} | "
            f"{epochs_cell(every)} | {hardware_cell(every)} | "
            f"{command_cell(table, row, dataset, ours + free or leaky, study_dirs)} |")


def summary(study_dirs):
    """The README's results table: each paper's own model on each dataset that has runs: the
    paper's figure, the papers' practice (peak test accuracy on the paper's leaky split), the
    paper's split with the epoch selected on validation, the leakage-free protocol; and how many
    ablation rows have runs."""
    found = collect(study_dirs, options=True)
    plain = {key[:3]: ms for key, ms in found.items() if not key[3]}
    lines = ["| paper row | paper | papers' practice (peak test; optimistic) | paper's split, "
             "selected honestly | leakage-free | epochs | hardware | command |",
             "|---|---:|---:|---:|---:|---|---|---|"]
    for table, row in headline_rows():
        for dataset in table.protocols:
            line = _headline_line(table, row, dataset, found, study_dirs)
            lines += [line] if line else []
    ablations = [(r, d, p) for t, r, d, p in experiments() if r is not t.rows[-1]]
    done = sum(bool(plain.get((d, r.key, p))) for r, d, p in ablations)
    leaky = {(t.name, r.key, d) for t, r, d, _ in experiments() if r is not t.rows[-1]
             and practice.practice_runs(t, r, d, found)}
    lines += ["", f"Ablation rows (table row x dataset x protocol) with finished runs: {done} of "
                  f"{len(ablations)}" + (f"; in the papers' practice: {len(leaky)} (table row x "
                                         "dataset)." if leaky else ".")]
    return "\n".join(lines)


def update_readme(path, study_dirs):
    """Rewrites the block between README_START and README_END in `path` with `summary()` of
    each study folder (one table per folder, as in the report: budgets are not mixed)."""
    command = ("python -m fer_keras.reproduce report --study " + " ".join(map(str, study_dirs))
               + f" --readme {path}")
    tables = [(f"Runs in `{study}`:\n\n" if len(study_dirs) > 1 else "") + summary([study])
              for study in study_dirs]
    return rewrite_between(path, (README_START, README_END), "\n\n".join(tables), command)


def _dataset_table(table, dataset, found, study_dirs):
    """The lines of one table's rows on one dataset: paper figure, paper protocol, leakage-free."""
    paper_protocol, free_protocol = table.protocols[dataset]
    same = paper_protocol == free_protocol
    head = (f"| {dataset} row | paper | ours, `{paper_protocol}`"
            + ("" if same else f" | ours, `{free_protocol}` (leakage-free)")
            + " | epochs | hardware | command |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for row in table.rows:
        ours = found.get((dataset, row.key, paper_protocol), [])
        free = [] if same else found.get((dataset, row.key, free_protocol), [])
        every = ours + free
        if not every:
            lines.append(f"| {row.label} | {row.paper.get(dataset, '-')} | - |"
                         + ("" if same else " - |") + " not run | | |")
            continue
        command = command_cell(table, row, dataset, every, study_dirs)
        lines.append(f"| {row.label} | {row.paper.get(dataset, '-')} | {accuracy_cell(ours)} |"
                     + ("" if same else f" {accuracy_cell(free)} |")
                     + f" {epochs_cell(every)} | {hardware_cell(every)} | {command} |")
    return lines + [""]


def report(study_dirs, tables=None):
    """The Markdown tables of docs/reproduction.md from the runs in `study_dirs`: the headline
    rows (`summary`), then per table its rows under the paper's protocol and the leakage-free one,
    and in the papers' practice where a row has runs of it; then the runs with other protocol
    options (the papers' practice and its parts) and the decomposition of the gap they measure."""
    found = collect(study_dirs)
    with_options = collect(study_dirs, options=True)
    lines = []
    if with_options:
        lines += ["### Each paper's own model: papers' practice, paper's split, leakage-free", "",
                  summary(study_dirs), ""]
    for table in (tables or TABLES.values()):
        lines += [f"### {table.title}", ""]
        cells = {(dataset, row.key) for row in table.rows for dataset in table.protocols}
        if with_options and not cells & {key[:2] for key in with_options}:
            # Folders with runs of other tables only: one line, not a table of "not run".
            lines += ["No runs of this table in these folders.", ""]
            continue
        lines += [table.note, ""]
        for dataset in table.protocols:
            lines += _dataset_table(table, dataset, found, study_dirs)
            lines += practice.practice_table(table, dataset, with_options, study_dirs)
    lines += practice.option_runs(study_dirs) + practice.decomposition(study_dirs)
    return "\n".join(lines)
