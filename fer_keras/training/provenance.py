"""What a fine-tuning run started from: `init.json` in the run folder, copied into every fold's
metrics.json as `init_source`.

`--init PATH` names a path, and a path can change under a run: the campaign fine-tunes from
`saved_models/NAME` (which a better run replaces) or from a still-training run's
`fold_0/model.keras` (rewritten at every better epoch). So when a run with `--init` first
starts, it records the file it loaded (its SHA-256) and, from the metrics.json beside it, the
run that made it: dataset, protocol, epochs trained, the selected epoch and its accuracy, and the
code revision. A resumed or carried-over run keeps the first record (docs/training.md,
"Run folder").
"""

import json
from pathlib import Path

from fer_keras.checksums import digest
from fer_keras.training import artifacts
from fer_keras.training.weights import find_model_file

INIT_RECORD = "init.json"
# Keys copied from the source's metrics.json: which run made the weights, and how good they were.
SOURCE_KEYS = ("model", "dataset", "protocol", "fold", "epochs_trained", "best_epoch", "split",
               "accuracy", "git_revision")


def describe_init(path):
    """The record of the model `path` names (as `--init` resolves it)."""
    file = Path(find_model_file(path, "init"))
    record = {"path": str(path), "file": str(file), "sha256": digest(file)}
    metrics_file = file.parent / "metrics.json"
    if metrics_file.is_file():
        metrics = json.loads(metrics_file.read_text())
        record.update({k: metrics[k] for k in SOURCE_KEYS if k in metrics})
        validation = metrics.get("validation") or {}
        if "accuracy" in validation:
            record["validation_accuracy"] = validation["accuracy"]
    return record


def record_init(config, run_dir):
    """Writes `run_dir/init.json` for a run with `init` that has none yet; returns the record
    in force (None without `init` and without an earlier record)."""
    existing = read_init(run_dir)
    if existing is not None or not config.init:
        return existing
    record = describe_init(config.init)
    artifacts.write_json(Path(run_dir) / INIT_RECORD, record)
    return record


def read_init(run_dir):
    """The run's init record, or None."""
    path = Path(run_dir) / INIT_RECORD
    return json.loads(path.read_text()) if path.is_file() else None


def metrics_entry(run_dir):
    """metrics.json's `init_source` ({} for a run without an init record)."""
    record = read_init(run_dir)
    return {} if record is None else {"init_source": record}


def describe(record):
    """One line for cards and reports: `path` (epoch E of N, ACC on SPLIT, sha256 ...)."""
    parts = []
    if record.get("best_epoch") is not None:
        of = f" of {record['epochs_trained']}" if record.get("epochs_trained") else ""
        parts.append(f"epoch {record['best_epoch']}{of}")
    accuracy = record.get("validation_accuracy", record.get("accuracy"))
    if accuracy is not None:
        split = "val" if "validation_accuracy" in record else record.get("split", "?")
        parts.append(f"{accuracy * 100:.2f} % on {split}")
    parts.append(f"sha256 {record['sha256'][:12]}")
    return f"`{record['path']}` ({', '.join(parts)})"
