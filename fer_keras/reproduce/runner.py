"""Running a table's experiments: the fold plan, the train command of a fold, the job runner.

A study is a folder of ordinary training runs (`python -m fer_keras.train` run folders), one per
(dataset, table row, protocol and its options, seed), named `DATASET-ROW-PROTOCOL-seedSEED`
(with `+OPTION=VALUE` parts after the protocol when it has options); the name is for people, the
report reads each run's identity from its files (`runs.py`). `run_jobs` starts one
`python -m fer_keras.train --fold K` process per unfinished fold (up to `num_workers` at a
time), so a study continues across sittings and machines: a fold whose `metrics.json` reports all
its configured epochs is skipped, a fold with a checkpoint resumes.
"""

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path


def _data_dir(root, dataset):
    """`ROOT/DATASET.npz.xz` (a pack) if it exists, else `ROOT/DATASET` (the folder)."""
    root = Path(root)
    pack = root / f"{dataset}.npz.xz"
    return str(pack if pack.is_file() else root / dataset)


def run_name(dataset, row, protocol, seed, options=None):
    """`DATASET-ROW-PROTOCOL-seedSEED`, with `+KEY=VALUE` after the protocol per option."""
    extra = "".join(f"+{k}={v}" for k, v in sorted((options or {}).items()))
    return f"{dataset}-{row.key}-{protocol}{extra}-seed{seed}"


def experiment_config(table, row, dataset, protocol, seed, data_root, study, **budget):
    """The TrainConfig of one experiment (every fold), with `budget` overrides (epochs...)."""
    from fer_keras.training.config import resolve_config

    overrides = {**row.overrides, **{k: v for k, v in budget.items() if v is not None}}
    return resolve_config(dataset, row.model, data_dir=_data_dir(data_root, dataset),
                          protocol=protocol, seed=seed,
                          output=str(Path(study) / run_name(dataset, row, protocol, seed,
                                                            overrides.get("protocol_options"))),
                          **overrides)


def fold_count(config):
    """Number of folds of the configured protocol (loads the data for per-subject protocols)."""
    if config.protocol in ("official", "paper_imnv2", "paper_lntwrn", "holdout"):
        return 1
    from fer_keras.data import load_dataset, make_splits

    ds = load_dataset(config.dataset, config.data_dir, **config.dataset_options)
    return len(make_splits(ds, config.protocol, seed=config.split_seed,
                           **config.protocol_options))


def fold_finished(config, fold):
    if fold is None:  # a job of every fold (--together)
        return all(fold_finished(config, k) for k in range(fold_count(config)))
    path = Path(config.output) / f"fold_{fold}" / "metrics.json"
    if not path.is_file():
        return False
    metrics = json.loads(path.read_text())
    return metrics.get("epochs_trained", 0) >= config.epochs


def train_command(config, fold, time_limit=None):
    """The `python -m fer_keras.train` argument list that runs one fold of `config` (every
    fold, trained together by the device engine, when `fold` is None).

    The configuration travels as a file: it is written to RUN/config.json (the file `train`
    itself keeps there) and the process runs it with `--config`, so it trains exactly `config`
    whatever the preset of its model and dataset says.
    """
    from fer_keras.training.config import save_config

    path = save_config(dataclasses.replace(config, folds=None, time_limit=None),
                       Path(config.output) / "config.json")
    args = [sys.executable, "-m", "fer_keras.train", "--config", str(path)] + (
        [] if fold is None else ["--fold", str(fold)]) + ["--quiet"]
    if time_limit:
        args += ["--time-limit", str(time_limit)]
    return args


def plan(tables, datasets, rows, protocols, seeds, data_root, study, together=False, **budget):
    """[(config, fold)] of every selected experiment's folds, finished or not; with `together`
    one (config, None) job per experiment (all its folds in one process)."""
    jobs = []
    for table in tables:
        for dataset in datasets:
            if dataset not in table.protocols:
                continue
            for protocol in (protocols or dict.fromkeys(table.protocols[dataset])):
                for row in table.rows:
                    if rows and row.key not in rows:
                        continue
                    for seed in seeds:
                        config = experiment_config(table, row, dataset, protocol, seed,
                                                   data_root, study, **budget)
                        jobs += ([(config, None)] if together else
                                 [(config, k) for k in range(fold_count(config))])
    return jobs


def run_jobs(jobs, num_workers=1, time_limit=None, max_time=None, env=None):
    """Runs the unfinished (config, fold) jobs as subprocesses, `num_workers` at a time.

    Each job logs to `RUN/fold_K.log`. `time_limit` goes to each job (`--time-limit`);
    after `max_time` seconds no new job starts. Jobs start fold-major (every experiment's fold
    0, then every fold 1, ...), so a study cut short by `max_time` leaves the rows of a table
    with the same number of folds, give or take one. Returns {"finished", "failed", "skipped",
    "not_started"} lists of (run folder, fold).
    """
    from tqdm.auto import tqdm

    start = time.monotonic()
    todo = sorted(((c, k) for c, k in jobs if not fold_finished(c, k)), key=lambda job: job[1] or 0)
    result = {"finished": [], "failed": [], "skipped": [(c.output, k) for c, k in jobs
                                                        if fold_finished(c, k)],
              "not_started": []}
    running = []
    bar = tqdm(total=len(todo), desc="folds", unit="fold", file=sys.stderr)
    while todo or running:
        while todo and len(running) < num_workers:
            if max_time is not None and time.monotonic() - start > max_time:
                result["not_started"] += [(c.output, k) for c, k in todo]
                todo = []
                break
            config, fold = todo.pop(0)
            Path(config.output).mkdir(parents=True, exist_ok=True)
            log = open(Path(config.output) / ("folds.log" if fold is None else f"fold_{fold}.log"),
                       "a")
            proc = subprocess.Popen(train_command(config, fold, time_limit), stdout=log,
                                    stderr=subprocess.STDOUT, env=env)
            running.append((proc, log, config, fold))
        time.sleep(1.0)
        for item in list(running):
            proc, log, config, fold = item
            if proc.poll() is None:
                continue
            running.remove(item)
            log.close()
            ok = proc.returncode == 0 and (fold is None or (  # None: train wrote every fold
                Path(config.output) / f"fold_{fold}" / "metrics.json").is_file())
            result["finished" if ok else "failed"].append((config.output, fold))
            name = f"{Path(config.output).name}/fold_{fold}"
            bar.write(f"{'done' if ok else 'FAILED'}: {name}" + (
                "" if ok else f" (exit {proc.returncode}; see {config.output}/fold_{fold}.log)"))
            bar.update(1)
    bar.close()
    return result
