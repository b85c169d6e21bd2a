"""`python -m fer_keras.reproduce`: the papers' tables, rerun row by row and regenerated from runs.

    python -m fer_keras.reproduce list
    python -m fer_keras.reproduce run --table lntwrn_table5 --dataset ckplus \\
        --protocol subject_kfold --epochs 30 --data-root ../shared/data --jobs 2
    python -m fer_keras.reproduce report --study studies/main --output docs/reproduction.md \\
        --figures --readme README.md --deployment docs/deployment.md

A study is a folder of ordinary training runs (`python -m fer_keras.train` run folders), one per
(dataset, table row, protocol and its options, seed). `run` starts one `python -m fer_keras.train
--fold K` process per unfinished fold (up to `--jobs` at a time: on a GPU several small models
share it well), so a study continues across sittings and machines: a fold whose `metrics.json`
reports all its configured epochs is skipped, a fold with a checkpoint resumes. `report` reads the
`metrics.json` (and history.csv) files and nothing else; no number is typed by hand (`--readme`
also rewrites the README's results block from them, and the published models' tables from
`saved_models/*/metrics.json`: `published`).
The tables, the paper figures and how each row is run: docs/reproduction.md; the tables
themselves are declared in fer_keras/papers/.

Modules: `runs` (the tables' experiments, run identity), `runner` (plan, train commands, jobs),
`cells`, `report`, `practice` (the papers' practice and the gap's decomposition), `intro`,
`figures`, `cards` (publishing, model cards), `published` (the published models' tables),
`campaign`, `campaign_progress`, `cli`.
"""

from fer_keras.papers.schema import Row, Table
from fer_keras.reproduce.cards import DATA_TERMS, LIMITS, model_card, publish
from fer_keras.reproduce.cli import main
from fer_keras.reproduce.figures import figures
from fer_keras.reproduce.intro import budget_table, intro
from fer_keras.reproduce.report import README_END, README_START, report, summary, update_readme
from fer_keras.reproduce.runner import (
    experiment_config,
    fold_count,
    fold_finished,
    plan,
    run_jobs,
    run_name,
    train_command,
)
from fer_keras.reproduce.runs import TABLES, collect

__all__ = ["DATA_TERMS", "LIMITS", "README_END", "README_START", "Row", "TABLES", "Table",
           "budget_table", "collect", "experiment_config", "figures", "fold_count",
           "fold_finished", "intro", "main", "model_card", "plan", "publish", "report",
           "run_jobs", "run_name", "summary", "train_command", "update_readme"]
