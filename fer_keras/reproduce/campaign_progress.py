"""How far the training campaign's queue has got: per fold, its epochs, the hours it has trained
and an estimate of the hours it still needs (`campaign --status`, and docs/reproduction.md's
"The campaign" section, written by `python -m fer_keras.reproduce report --campaign`).

Everything is read from the folds' history.csv and metrics.json, so it describes committed
progress from any checkout, whether or not a campaign is running.
"""

import json
import math
import statistics
from pathlib import Path

CARRY = "carry.keras"  # a fold carried before carry-state.npz existed: its best model
RECENT = 10  # epochs whose median time estimates the epochs still to train


def fold_dirs(entry, config=None):
    """[fold folder] of every fold the entry trains."""
    from fer_keras.reproduce.runner import fold_count

    config = config or entry.config()
    folds = config.folds if config.folds is not None else range(fold_count(config))
    return [Path(entry.output) / f"fold_{k}" for k in folds]


def fold_progress(fold_dir, epochs, rows=None):
    """(epochs trained, configured epochs) of a fold: the larger of metrics.json's count and
    history.csv's rows (history.csv grows every epoch; metrics.json is rewritten at the end).
    `rows`: the fold's history_rows where the caller has read them already."""
    metrics = Path(fold_dir) / "metrics.json"
    done = json.loads(metrics.read_text()).get("epochs_trained", 0) if metrics.is_file() else 0
    rows = history_rows(fold_dir) if rows is None else rows
    return max(done, len(rows)), epochs


def epoch_seconds(fold_dir, fallback):
    """The longest of the fold's last three epochs (this machine, as loaded now), else
    `fallback`: a deadline must hold the slowest likely epoch, not the typical one."""
    rows = history_rows(fold_dir)
    times = [float(r["time_s"]) for r in rows[-3:] if r.get("time_s")]
    return max(times) if times else fallback


def status_lines(entries):
    """One line per fold (the not-started folds of one run on one line): done, or its epochs
    and the hours it still needs (`hours_left`), with the next one marked; then the queue's
    total."""
    from fer_keras.training.checkpoint import CARRIED

    lines, next_marked, total_hours = [], False, 0.0
    for entry, dirs, _, done, total, hours in _queue_items(entries):
        total_hours += hours
        each = f" x {len(dirs)}" if len(dirs) > 1 else ""
        state = "done" if done >= total else f"{done}/{total} epochs{each}, ~{hours:.1f} h left"
        mark = ""
        if done < total and not next_marked:
            mark, next_marked = "  <- next", True
        carry = " (carry)" if any((d / n).is_file() for d in dirs for n in (CARRY, CARRIED)) else ""
        lines.append(f"{state:>34}  {entry.name} [{dirs[0].parent / _fold_range(dirs)}]"
                     f"{carry}{mark}")
    lines.append(f"about {total_hours:.0f} training hours left in the queue, at each run's "
                 "recent epoch times (the queue's estimates for runs not started)")
    return lines


def history_rows(fold_dir):
    from fer_keras.training.artifacts import read_history_csv

    path = Path(fold_dir) / "history.csv"
    return read_history_csv(path) if path.is_file() else []


def hours_left(rows, done, epochs, fallback):
    """Hours a fold's remaining epochs (`epochs` - `done`) should take: their number times the
    median time of its last RECENT epochs in its history.csv `rows` (whatever machine ran them),
    or `fallback` seconds an epoch (the queue's estimate) before it has any."""
    times = [float(r["time_s"]) for r in rows[-RECENT:] if r.get("time_s")]
    per_epoch = statistics.median(times) if times else fallback
    return max(0, epochs - done) * per_epoch / 3600


def _queue_folds(entries):
    """(entry, fold folder, history rows, epochs done, epochs configured, hours left) of every
    queued fold, in order, each fold's history.csv and metrics.json read once."""
    for entry in entries:
        config = entry.config()
        for fold_dir in fold_dirs(entry, config):
            rows = history_rows(fold_dir)
            done, total = fold_progress(fold_dir, config.epochs, rows)
            yield entry, fold_dir, rows, done, total, hours_left(rows, done, total,
                                                                  entry.epoch_seconds)


def _queue_items(entries):
    """`_queue_folds`, with the consecutive not-started folds of one entry merged into one item:
    (entry, [fold folders], history rows, epochs done, epochs configured, hours left)."""
    group = None
    for entry, fold_dir, rows, done, total, hours in _queue_folds(entries):
        if group and group[0] is entry and group[3] == done == 0:
            group[1].append(fold_dir)
            group[5] += hours
            continue
        if group:
            yield tuple(group)
        group = [entry, [fold_dir], rows, done, total, hours]
    if group:
        yield tuple(group)


def _fold_range(dirs):
    """fold_3, or fold_0-fold_9."""
    return dirs[0].name if len(dirs) == 1 else f"{dirs[0].name}-{dirs[-1].name}"


def _fold_label(dirs):
    """fold_3, or fold_0-fold_9 (10 folds)."""
    return _fold_range(dirs) + (f" ({len(dirs)} folds)" if len(dirs) > 1 else "")


def best_accuracy(rows):
    """'97.50 (12)': the best validation accuracy of a fold's history rows and its epoch; for a
    fold without validation (the papers' practice, whose val_accuracy is nan) 'peak test
    98.67 (70)'; '-' before any epoch."""
    for key, label in (("val_accuracy", ""), ("test_accuracy", "peak test ")):
        scored = [r for r in rows
                  if r.get(key) not in (None, "") and math.isfinite(float(r[key]))]
        if scored:
            best = max(scored, key=lambda r: float(r[key]))
            return f"{label}{100 * float(best[key]):.2f} ({best['epoch']})"
    return "-"


def report_section(entries):
    """docs/reproduction.md's "The campaign" table: each queued fold's epochs, hours trained
    (the sum of its epochs' times, whatever machine ran them) and the best selection-split
    accuracy so far, read from its history.csv and metrics.json."""
    lines = ["## The campaign", "",
             "`python -m fer_keras.reproduce campaign --until HH:MM` trains the queue in "
             "`studies/campaign.toml` in order, one fold at a time at the lowest priority, in the "
             "background of every working session (module `fer_keras.reproduce.campaign`). A "
             "fold stopped by the session's end resumes next session after its last epoch from "
             "`carry-state.npz`, its checkpoint without momentum, and `carry-best.npz`, its best "
             "weights. Hours are the "
             "sum of the epochs' times in history.csv (2-core CPU unless the run's hardware "
             "column in the tables above says otherwise); hours left are the epochs left times "
             f"the median of the run's last {RECENT} epoch times, or the queue's estimate "
             "(`epoch_seconds`) for a run not started.", "",
             "| run | fold | epochs | hours trained | hours left (estimate) "
             "| best validation accuracy (epoch; without validation, the peak test accuracy) "
             "| state |",
             "|---|---|---:|---:|---:|---:|---|"]
    total_left = 0.0
    for entry, dirs, rows, done, total, left in _queue_items(entries):
        hours = sum(float(r.get("time_s") or 0) for r in rows) / 3600
        total_left += left
        state = "done" if done >= total else ("waiting" if not done else "in progress")
        each = " each" if len(dirs) > 1 else ""
        lines.append(f"| {entry.name} | {_fold_label(dirs)} | {done} / {total}{each} | "
                     f"{hours:.1f} | {left:.1f} | {best_accuracy(rows)} | {state} |")
    lines += ["", f"About {total_left:.0f} training hours are left in the queue."]
    return "\n".join(lines) + "\n"
