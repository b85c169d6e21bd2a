"""The papers' practice beside the honest protocols (issue 17), and the gap it accounts for.

Both papers report the best *test* accuracy seen during training, on a split that leaks (CK+
frames of one sequence on both sides; erasing variants of one image on both sides), with no
validation split. A table declares that practice per dataset (`Table.practice`: a protocol and
its options, fer_keras/papers/); runs trained with it and `--test-each-epoch` record
`peak_test_accuracy` (and `peak_test_epoch`, 1-based) in metrics.json, and their `selection`
is "last_epoch" when the protocol has no validation. This module turns those runs into the
report's "papers' practice" cells, a section listing every run with protocol options, and the
decomposition of I-MobileNetV2's CK+ gap into its factors.
"""

import itertools

from fer_keras.reproduce.cells import (
    accuracy_cell,
    command_cell,
    epochs_cell,
    hardware_cell,
    mean_std,
    run_count,
)
from fer_keras.reproduce.runs import TABLES, collect, options_key

# I-MobileNetV2 on CK+ under paper_imnv2: the factors between its split and the papers' practice.
DECOMPOSED = ("imnv2_table2", "i_mobilenetv2", "ckplus", "paper_imnv2")
FACTORS = {"split_level": ("sequence", "frame"), "validation": ("carve", "none")}


def practice_runs(table, row, dataset, found):
    """The runs of `row` on `dataset` under the table's papers' practice (from `collect(...,
    options=True)`); [] when the table declares none for the dataset."""
    declared = table.practice.get(dataset)
    if declared is None:
        return []
    key = (dataset, row.key, declared.protocol, options_key(declared.protocol, declared.options))
    return found.get(key, [])


def report_columns(table, row, dataset, found):
    """The runs behind the report's three columns of `row` on `dataset`: (papers' practice,
    paper's split selected on validation, leakage-free); a table whose paper protocol is its
    leakage-free one fills the last only (`found`: `collect(..., options=True)`)."""
    paper_protocol, free_protocol = table.protocols[dataset]
    ours = found.get((dataset, row.key, paper_protocol, ""), [])
    free = found.get((dataset, row.key, free_protocol, ""), [])
    if paper_protocol == free_protocol:
        ours, free = [], ours
    return practice_runs(table, row, dataset, found), ours, free


def practice_table(table, dataset, found, study_dirs):
    """Markdown lines: each row of `table` on `dataset` trained in the table's papers' practice,
    beside the paper's figure (the paper's own ablation, read the way the paper read it): the
    peak test accuracy over epochs and its epoch, and the test accuracy at the last epoch; [] when
    the table declares no practice there or no row has runs of it (`found`: `collect(...,
    options=True)`)."""
    declared = table.practice.get(dataset)
    runs = {row.key: practice_runs(table, row, dataset, found) for row in table.rows}
    if declared is None or not any(runs.values()):
        return []
    options = options_key(declared.protocol, declared.options)
    lines = [f"Papers' practice on {dataset} (`{declared.protocol}`: {options}; test accuracy "
             "recorded every epoch, for reporting only):", "",
             f"| {dataset} row | paper | peak test over epochs (optimistic) | peak epoch | "
             "test, last epoch | epochs | hardware | command |",
             "|---|---:|---:|---|---:|---|---|---|"]
    for row in table.rows:
        metrics, paper = runs[row.key], row.paper.get(dataset, "-")
        peaked = _peak(metrics)
        if not peaked:
            lines.append(f"| {row.label} | {paper} | - | - | - | not run | | |")
            continue
        epochs = sorted({m["peak_test_epoch"] for m in peaked if "peak_test_epoch" in m})
        where = "-" if not epochs else "-".join(map(str, sorted({epochs[0], epochs[-1]})))
        lines.append(f"| {row.label} | {paper} | {accuracy_cell(peaked, 'peak_test_accuracy')} | "
                     f"{where} | {accuracy_cell(metrics)} | {epochs_cell(metrics)} | "
                     f"{hardware_cell(metrics)} | "
                     f"{command_cell(table, row, dataset, metrics, study_dirs)} |")
    return lines + [""]


def _peak(metrics):
    return [m for m in metrics if m.get("peak_test_accuracy") is not None]


def practice_cell(table, dataset, metrics):
    """Mean ± std of the peak test accuracy over epochs, with the protocol and its options;
    "-" without runs that recorded it."""
    peaked = _peak(metrics)
    if not peaked:
        return "-"
    declared = table.practice[dataset]
    epochs = sorted({m["peak_test_epoch"] for m in peaked if "peak_test_epoch" in m})
    where = f"; peak epoch {epochs[0]}-{epochs[-1]}" if epochs else ""
    options = options_key(declared.protocol, declared.options)
    return (f"{mean_std([100 * m['peak_test_accuracy'] for m in peaked])} "
            f"({run_count(peaked)}{where}) (`{declared.protocol}`: {options})")


def _selection(metrics):
    return "/".join(sorted({m.get("selection", "validation") for m in metrics}))


def option_runs(study_dirs):
    """Markdown lines: every group of runs with non-default protocol options, with the test
    accuracy at the selected (or last) epoch and the peak test accuracy; [] when there is none."""
    groups = {k: ms for k, ms in collect(study_dirs, options=True).items() if k[3]}
    if not groups:
        return []
    lines = ["### Runs with protocol options (the papers' practice and its parts)", "",
             "Test accuracy (%) at the epoch chosen on validation, or at the last epoch where "
             "the protocol has no validation (selection `last_epoch`); the peak test accuracy over "
             "epochs is what the papers report, and it is optimistic: it chooses the epoch on the "
             "test split itself.", "",
             "| dataset | row | protocol | options | selection | test, selected/last epoch | "
             "peak test over epochs | epochs | hardware |", "|---|---|---|---|---|---:|---:|---|---|"]
    for (dataset, row, protocol, options), metrics in sorted(groups.items()):
        peaked = _peak(metrics)
        lines.append(f"| {dataset} | {row} | `{protocol}` | {options} | {_selection(metrics)} | "
                     f"{accuracy_cell(metrics)} | "
                     f"{accuracy_cell(peaked, 'peak_test_accuracy') if peaked else '-'} | "
                     f"{epochs_cell(metrics)} | {hardware_cell(metrics)} |")
    return lines + [""]


def _paired(left, right, key_left="accuracy", key_right="accuracy"):
    """Per (seed, fold) found in both: 100 * (right[key_right] - left[key_left])."""
    by_run = {(m["seed"], m["fold"]): m for m in left}
    return [100 * (m[key_right] - by_run[(m["seed"], m["fold"])][key_left]) for m in right
            if (m["seed"], m["fold"]) in by_run and m.get(key_right) is not None
            and by_run[(m["seed"], m["fold"])].get(key_left) is not None]


def _effect(values):
    if not values:
        return "- (no runs with equal seeds on both sides)"
    text = mean_std(values)
    return ("+" if not text.startswith("-") else "") + text + f" ({len(values)} paired runs)"


def _combos(runs):
    """{(split_level, validation): [metrics]} of the decomposed experiment's runs."""
    table_name, row, dataset, protocol = DECOMPOSED
    combos = {}
    for levels in itertools.product(*FACTORS.values()):
        options = dict(zip(FACTORS, levels))
        combos[levels] = runs.get((dataset, row, protocol, options_key(protocol, options)), [])
    return combos


def _effect_lines(combos):
    """The effect table: each factor at each level of the other, and peak vs selected."""
    (seq, frame), (carve, none) = FACTORS.values()
    lines = ["| factor | with | effect (points, mean ± std over paired seeds) |",
             "|---|---|---:|"]
    for other in (carve, none):
        lines.append(f"| frame vs sequence split | validation {other} | "
                     f"{_effect(_paired(combos[(seq, other)], combos[(frame, other)]))} |")
    for other in (seq, frame):
        lines.append(f"| no validation (last epoch) vs carve-out (selected epoch) | split "
                     f"{other} | {_effect(_paired(combos[(other, carve)], combos[(other, none)]))} |")
    for levels, metrics in combos.items():
        if _peak(metrics):
            lines.append(f"| peak test vs selected/last epoch | {levels[0]}, {levels[1]} | "
                         f"{_effect(_paired(metrics, metrics, 'accuracy', 'peak_test_accuracy'))} |")
    return lines


def _decomposition_table(study, epochs, combos):
    table_name, row_key, dataset, protocol = DECOMPOSED
    row = TABLES[table_name].row(row_key)
    lines = [f"### Decomposition: {row.model} on {dataset} under `{protocol}`, {epochs} epochs "
             f"(`{study}`)", "",
             "| split level | validation | runs | test, selected/last epoch | peak test over epochs |",
             "|---|---|---|---:|---:|"]
    for (level, validation), metrics in combos.items():
        peaked = [100 * m["peak_test_accuracy"] for m in _peak(metrics)]
        lines.append(f"| {level} | {validation} | {run_count(metrics) if metrics else 'not run'} | "
                     f"{mean_std([100 * m['accuracy'] for m in metrics]) if metrics else '-'} | "
                     f"{mean_std(peaked) if peaked else '-'} |")
    lines += [""] + _effect_lines(combos) + [""]
    practice = [100 * m["peak_test_accuracy"] for m in _peak(combos[("frame", "none")])]
    if practice:
        paper = row.paper[dataset]
        left = paper - sum(practice) / len(practice)
        verdict = (f"{left:.2f} points are left unexplained by these factors" if left > 0 else
                   f"it meets or exceeds the paper's figure by {-left:.2f} points, so these "
                   "factors account for the whole gap")
        lines += [f"The paper reports {paper}; the papers' practice (frame split, no validation, "
                  f"peak test) reaches {mean_std(practice)} here: {verdict}.", ""]
    return lines


def decomposition(study_dirs):
    """Markdown lines: per study folder and budget (configured epochs) with runs of at least two
    of the four (split level, validation) combinations, their accuracies and each factor's
    effect in points; [] when no budget has two."""
    lines = []
    for study in study_dirs:
        runs = collect([study], options=True)
        by_epochs = {}
        for levels, metrics in _combos(runs).items():
            for m in metrics:
                by_epochs.setdefault(m["config"]["epochs"], {}).setdefault(levels, []).append(m)
        for epochs, found in sorted(by_epochs.items()):
            if len(found) >= 2:
                combos = {levels: found.get(levels, []) for levels in _combos({})}
                lines += _decomposition_table(study, epochs, combos)
    return lines
