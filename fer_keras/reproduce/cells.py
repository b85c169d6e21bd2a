"""The cells of the report's tables, each from a list of fold runs' `metrics.json`."""

import collections
import json


def mean_std(values):
    """"M" for one value, "M ± S" for more: mean and population standard deviation."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    return f"{values.mean():.2f}" + (f" ± {values.std():.2f}" if len(values) > 1 else "")


def run_count(metrics):
    """"N fold(s)", with ", K seeds" when there are several."""
    seeds = {m["seed"] for m in metrics}
    folds = len({m["fold"] for m in metrics})
    return f"{folds} fold{'s' if folds > 1 else ''}" + (
        f", {len(seeds)} seeds" if len(seeds) > 1 else "")


def accuracy_cell(metrics, key="accuracy"):
    """Mean ± std of `key` (%) over the runs, with how many folds and seeds, and the split when
    it is not a test split; "-" without runs."""
    if not metrics:
        return "-"
    split = metrics[0]["split"]
    detail = run_count(metrics) + ("" if split == "test" else f", {split}")
    return f"{mean_std([100 * m[key] for m in metrics])} ({detail})"


def preset_epochs(m):
    """The epochs of the preset (the paper's budget) for the run's model and dataset."""
    from fer_keras.presets import get_preset

    if "model" not in m or "dataset" not in m:
        return None
    return get_preset(m["model"], m["dataset"]).values["epochs"]


def epochs_cell(metrics):
    """The epochs cell: T trained, "T of C" when a time limit stopped runs before the configured
    C, and "; paper budget P" when C is a reduced budget (not the preset's P)."""
    trained = sorted({m["epochs_trained"] for m in metrics})
    configured = sorted({m.get("epochs_configured", m["epochs_trained"]) for m in metrics})
    full = sorted({preset_epochs(m) for m in metrics} - {None})
    text = "/".join(map(str, trained))
    if trained != configured:
        text += f" of {'/'.join(map(str, configured))}"
    if full and configured != full:
        text += f"; paper budget {'/'.join(map(str, full))}"
    return text


def hardware_name(m, missing="?"):
    """What a run trained on (metrics.json's hardware summary), with its data-parallel spread
    (`distribution`: replicas and processes) when it used more than one device."""
    name = m.get("hardware", {}).get("summary", missing)
    spread = m.get("distribution") or {}
    replicas, processes = spread.get("replicas", 1), spread.get("processes", 1)
    if replicas > 1 or processes > 1:
        name += f", data parallel on {replicas} devices"
        if processes > 1:
            name += f" in {processes} processes"
    return name


def hardware_cell(metrics):
    """The hardware of the runs; with more than one kind, how many runs each trained."""
    counts = collections.Counter(map(hardware_name, metrics))
    if len(counts) == 1:
        return next(iter(counts))
    return "; ".join(f"{name} ({n} run{'s' if n > 1 else ''})"
                     for name, n in sorted(counts.items()))


def command_cell(table, row, dataset, metrics, study_dirs):
    """The `reproduce run` command (Markdown code) that trains a cell's runs: their budget, their
    protocol options (runs of the papers' practice), their seeds, and the study folder when there
    is one."""
    config = metrics[0]["config"]
    seeds = sorted({m["seed"] for m in metrics})
    options = config.get("protocol_options")
    practice = (f" --protocol {metrics[0]['protocol']} --protocol-options "
                f"'{json.dumps(options)}'" if options else "")
    practice += " --test-each-epoch" if config.get("test_each_epoch") else ""
    return (f"`python -m fer_keras.reproduce run --table {table.name} --dataset {dataset} "
            f"--rows {row.key} --epochs {config['epochs']}{practice}"
            + (f" --seeds {' '.join(map(str, seeds))}" if seeds != [0] else "")
            + (f" --study {study_dirs[0]}" if len(study_dirs) == 1 else "") + "`")
