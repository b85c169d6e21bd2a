"""`train(config)`: a run: load the data, split it by the protocol, train the selected folds.

This module holds only the run: the run folder and its lock, the data and its splits, the
engine's folds (`engines.choose`: `keras_engine.train_folds` or `jax_engine.train_members`) and
the summary over folds. A fold's life (start, resume, the end of each epoch, its artifacts) is
`fer_keras.training.fold`; how an epoch is trained is the engine's. Run-folder layout and resume
semantics: docs/training.md.
"""

import dataclasses
import time
from pathlib import Path

from fer_keras.training import artifacts, distribution, provenance, resume_rules, run_lock
from fer_keras.training.config import TrainConfig
from fer_keras.training.finite import TrainingDiverged  # noqa: F401 - the public name
from fer_keras.training.fold_report import predict  # noqa: F401 - the public name
from fer_keras.training.keras_engine import train_fold  # noqa: F401 - the public name
from fer_keras.training.metrics import summarize_folds, summary_table


@dataclasses.dataclass
class TrainResult:
    """What `train` returns: the run folder, each fold's `metrics.json` and the fold summary."""

    run_dir: Path
    folds: list
    summary: dict


def default_output(config):
    from fer_keras.data import default_protocol

    protocol = config.protocol or default_protocol(config.dataset)
    return Path("runs") / (f"{config.dataset}-{config.model}-{protocol}-seed{config.seed}"
                           + resume_rules.default_folder_suffix(config))


def _log(verbose, *lines):
    if verbose:
        print(*lines, sep="\n", flush=True)


def train(config, verbose=1):
    """Runs a TrainConfig: every selected fold, resuming from checkpoints where they exist.

    Args:
        config: a TrainConfig (see `resolve_config`).
        verbose: 0 silent, 1 configuration, progress bars and epoch lines.

    Returns:
        TrainResult.

    Raises:
        ValueError: a bad configuration or fold number; DataError: missing or bad data;
        TrainingDiverged: NaN loss; RunFolderBusy (a ValueError): another process trains a
        fold of the run folder; distribution.PeerLost: another process of a multi-process run
        stopped.
    """
    config = TrainConfig.from_dict(config.to_dict()).validate()
    if config.extend and not config.output:
        raise ValueError("--extend continues an existing run: name its folder with --output")
    run_dir = Path(config.output) if config.output else default_output(config)
    config.output = str(run_dir)

    def start(busy):  # under the run lock: nothing else changes config.json meanwhile
        resume_rules.check_run_config(run_dir, config, busy)
        artifacts.write_json(run_dir / "config.json", config.to_dict())

    plan = distribution.plan(config)  # an uneven global batch stops here, before any write
    try:
        with artifacts.only_reading(not plan.is_chief), distribution.scope(plan), \
                run_lock.RunFolder(run_dir, config.folds, start) as claim:
            return _train_locked(config, run_dir, verbose, claim)
    except Exception as err:
        lost = distribution.peer_lost(err, plan, run_dir)
        if lost is None:
            raise
        raise lost from err


def _train_locked(config, run_dir, verbose, claim):
    import keras

    from fer_keras.data import load_dataset, make_splits
    from fer_keras.training.engines import choose

    _log(verbose, config.describe(),
         f"backend {keras.backend.backend()}, run folder {run_dir}")
    artifacts.git_revision()  # cached now: metrics.json names the code this run started with
    ds = load_dataset(config.dataset, config.data_dir, **config.dataset_options)
    _check_classes(ds, config)
    splits = make_splits(ds, config.protocol, seed=config.split_seed, **config.protocol_options)
    protocol = splits[0].protocol
    folds = list(range(len(splits))) if config.folds is None else list(config.folds)
    bad = [f for f in folds if not 0 <= f < len(splits)]
    if bad:
        raise ValueError(f"fold {bad[0]} does not exist: protocol '{protocol}' on {ds.name} "
                         f"has folds 0..{len(splits) - 1}")
    claim(folds)  # one writer per fold (run_lock)
    provenance.record_init(config, run_dir)  # init.json: the --init file, before it changes
    if choose(config) == "device":
        from fer_keras.training.jax_engine import train_members as train_folds
    else:
        from fer_keras.training.keras_engine import train_folds
    # The time limit counts from here: the engine is chosen and imported (a first fold starts).
    deadline = None if config.time_limit is None else time.monotonic() + config.time_limit
    results = train_folds(config, ds, splits, folds, run_dir, verbose, deadline)
    summary = {}
    if len(results) > 1:
        summary = summarize_folds(results)
        table = summary_table(results)
        with run_lock.run_lock(run_dir):
            artifacts.write_json(run_dir / "summary.json", {"split": results[0]["split"],
                                                             "folds": folds, "metrics": summary})
            with artifacts.atomic_path(run_dir / "summary.md") as tmp:
                tmp.write_text(table + "\n")
        _log(verbose, table)
    return TrainResult(run_dir, results, summary)


def _check_classes(ds, config):
    """Refuses data with classes that have no images, unless `config.allow_empty_classes`."""
    from fer_keras.data.audit import empty_class_notes

    notes = empty_class_notes(ds)
    if notes and not config.allow_empty_classes:
        raise ValueError(f"{config.data_dir or config.dataset}: {notes[0].split(': ', 1)[1]}; "
                         "pass --allow-empty-classes to train anyway (metrics.json records it)")
