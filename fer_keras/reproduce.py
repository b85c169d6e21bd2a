"""`python -m fer_keras.reproduce`: the papers' tables, rerun row by row and regenerated from runs.

    python -m fer_keras.reproduce list
    python -m fer_keras.reproduce run --table lntwrn_table5 --dataset ckplus \\
        --protocol subject_kfold --epochs 30 --data-root ../shared/data --jobs 2
    python -m fer_keras.reproduce report --study studies/main --output docs/reproduction.md \\
        --figures --readme README.md

A study is a folder of ordinary training runs (`python -m fer_keras.train` run folders), one per
(dataset, table row, protocol, seed), named `DATASET-ROW-PROTOCOL-seedSEED`. `run` starts one
`python -m fer_keras.train --fold K` process per unfinished fold (up to `--jobs` at a time: on a
GPU several small models share it well), so a study continues across sittings and machines: a
fold whose `metrics.json` reports all its configured epochs is skipped, a fold with a checkpoint
resumes. `report` reads the `metrics.json` files and nothing else; no number is typed by hand
(`--readme` also rewrites the README's results block from them).
The tables, the paper figures and how each row is run: docs/reproduction.md.
"""

import argparse
import collections
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

IMNV2 = "I-MobileNetV2 (Sci. Rep. 2024)"
LNTWRN = "Light-NTWRN (2022)"


@dataclasses.dataclass(frozen=True)
class Row:
    """One row of a paper table: a registered model plus training overrides, and its figures."""

    key: str
    label: str
    model: str
    paper: dict
    overrides: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Table:
    """A paper table: rows, and per dataset (paper protocol, leakage-free protocol)."""

    name: str
    title: str
    paper: str
    rows: tuple
    protocols: dict
    note: str = ""

    def row(self, key):
        for r in self.rows:
            if r.key == key:
                return r
        raise ValueError(f"table {self.name} has no row {key!r}; rows: "
                         f"{', '.join(r.key for r in self.rows)}")


TABLES = {t.name: t for t in (
    Table("imnv2_table2", "I-MobileNetV2, Table 2 (ablation; accuracy %)", IMNV2, rows=(
        Row("mobilenetv2", "Mobilenetv2", "mobilenetv2", {"fer2013": 67.90, "ckplus": 89.82}),
        Row("mobilenetv2_075", "Mobilenetv2(0.75)", "mobilenetv2_075",
            {"fer2013": 66.99, "ckplus": 86.82}),
        Row("mobilenetv2_075_se", "Mobilenetv2(0.75) + SE", "mobilenetv2_075_se",
            {"fer2013": 67.48, "ckplus": 90.91}),
        Row("mobilenetv2_075_rf", "Mobilenetv2(0.75) + RFF", "mobilenetv2_075_rf",
            {"fer2013": 68.22, "ckplus": 91.92}),
        Row("i_mobilenetv2", "Ours (I-MobileNetV2; also Table 3's row)", "i_mobilenetv2",
            {"fer2013": 68.62, "ckplus": 95.96}),
    ), protocols={"fer2013": ("official", "official"), "ckplus": ("paper_imnv2", "subject_kfold")},
        note="FER2013: the paper's split is the official one, but its test figure is on "
             "PrivateTest, which is withheld here; ours is PublicTest, the split the best epoch "
             "is chosen on (optimistic)."),
    Table("lntwrn_table5", "Light-NTWRN, Table 5 (ablation; accuracy %)", LNTWRN, rows=(
        Row("wrn", "WRN", "wrn", {"fer2013": 69.60, "ckplus": 95.38, "jaffe": 91.42},
            {"augment": "flip"}),
        Row("wrn_re", "WRN+RE", "wrn", {"fer2013": 71.05, "ckplus": 97.54, "jaffe": 93.88},
            {"augment": "erasing"}),
        Row("wrn_re_scam", "WRN+RE+SCAM", "wrn_scam",
            {"fer2013": 72.27, "ckplus": 98.35, "jaffe": 94.28}, {"augment": "erasing"}),
        Row("wrn_re_scam_gbn", "WRN+RE+SCAM+GBN", "wrn_scam_gbn",
            {"fer2013": 72.58, "ckplus": 98.60, "jaffe": 94.87}, {"augment": "erasing"}),
        Row("light_ntwrn", "Light-NTWRN (ours; also Table 6's row)", "light_ntwrn",
            {"fer2013": 73.21, "ckplus": 98.72, "jaffe": 95.21}, {"augment": "erasing"}),
    ), protocols={"fer2013": ("paper_lntwrn", "official"), "ckplus": ("paper_lntwrn", "subject_kfold"),
                  "jaffe": ("paper_lntwrn", "loso")},
        note="paper_lntwrn expands each dataset with improved random erasing before a random "
             "70/30 split (variants of one image on both sides); the rows without RE train on the "
             "same expanded set with flips only, since the expansion is part of the protocol."),
)}


def _data_dir(root, dataset):
    """`ROOT/DATASET.npz.xz` (a pack) if it exists, else `ROOT/DATASET` (the folder)."""
    root = Path(root)
    pack = root / f"{dataset}.npz.xz"
    return str(pack if pack.is_file() else root / dataset)


def run_name(dataset, row, protocol, seed):
    return f"{dataset}-{row.key}-{protocol}-seed{seed}"


def experiment_config(table, row, dataset, protocol, seed, data_root, study, **budget):
    """The TrainConfig of one experiment (every fold), with `budget` overrides (epochs...)."""
    from fer_keras.training.config import resolve_config

    overrides = {**row.overrides, **{k: v for k, v in budget.items() if v is not None}}
    return resolve_config(dataset, row.model, data_dir=_data_dir(data_root, dataset),
                          protocol=protocol, seed=seed,
                          output=str(Path(study) / run_name(dataset, row, protocol, seed)),
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
    path = Path(config.output) / f"fold_{fold}" / "metrics.json"
    if not path.is_file():
        return False
    metrics = json.loads(path.read_text())
    return metrics.get("epochs_trained", 0) >= config.epochs


def train_command(config, fold, time_limit=None):
    """The `python -m fer_keras.train` argument list that runs one fold of `config`.

    Every value is passed explicitly (also those equal to a default), so the fold's process
    resolves exactly `config` whatever the preset of its model and dataset says.
    """
    args = [sys.executable, "-m", "fer_keras.train", "--dataset", config.dataset,
            "--model", config.model, "--fold", str(fold), "--quiet"]
    skip = {"dataset", "model", "folds", "preset", "time_limit"}
    for key, value in config.to_dict().items():
        if key in skip or value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, dict):
            args += [flag, json.dumps(value)]
        elif isinstance(value, bool):
            args += [flag, "on" if value else "off"]
        else:
            args += [flag, str(value)]
    if time_limit:
        args += ["--time-limit", str(time_limit)]
    return args


def plan(tables, datasets, rows, protocols, seeds, data_root, study, **budget):
    """[(config, fold)] of every selected experiment's folds, finished or not."""
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
                        jobs += [(config, k) for k in range(fold_count(config))]
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
    todo = sorted(((c, k) for c, k in jobs if not fold_finished(c, k)), key=lambda job: job[1])
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
            log = open(Path(config.output) / f"fold_{fold}.log", "a")
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
            ok = proc.returncode == 0 and (Path(config.output) / f"fold_{fold}" /
                                           "metrics.json").is_file()
            result["finished" if ok else "failed"].append((config.output, fold))
            name = f"{Path(config.output).name}/fold_{fold}"
            bar.write(f"{'done' if ok else 'FAILED'}: {name}" + (
                "" if ok else f" (exit {proc.returncode}; see {config.output}/fold_{fold}.log)"))
            bar.update(1)
    bar.close()
    return result


# === Report ===
def collect(study_dirs):
    """{(dataset, row key, protocol): [fold metrics...]} from every run folder found."""
    found = {}
    for study in study_dirs:
        for metrics_path in sorted(Path(study).glob("*/fold_*/metrics.json")):
            run = metrics_path.parent.parent.name
            parts = run.rsplit("-seed", 1)[0].split("-")
            if len(parts) != 3:
                continue
            dataset, row, protocol = parts
            m = json.loads(metrics_path.read_text())
            m["_run"] = str(metrics_path.parent)
            found.setdefault((dataset, row, protocol), []).append(m)
    return found


def figures(study_dirs, folder):
    """The papers' figures from the runs: confusion matrices summed over folds (I-MobileNetV2
    Figures 7-8, Light-NTWRN Figure 11) and validation accuracy per epoch (Light-NTWRN Figure 10),
    one PNG per (study, dataset, row, protocol) in `folder`: runs of different study folders
    (budgets) are never summed together. Returns the Markdown lines linking them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for study in study_dirs:
        for (dataset, row, protocol), metrics in sorted(collect([study]).items()):
            stem = f"{Path(study).name}-{dataset}-{row}-{protocol}"
            _figure_pair(metrics, folder, stem, f"{row} on {dataset}, {protocol}")
            lines.append(f"| `{study}` | {dataset} | {row} | `{protocol}` | [confusion matrix]"
                         f"(figures/{stem}-cm.png) | [validation accuracy per epoch]"
                         f"(figures/{stem}-curves.png) |")
    if not lines:
        return []
    return (["## Figures (confusion matrices summed over folds; validation curves: mean ± sd "
             "over folds and seeds)", "",
             "| study | dataset | row | protocol | | |", "|---|---|---|---|---|---|"]
            + lines + [""])


def _figure_pair(metrics, folder, stem, what):
    """STEM-cm.png (confusion matrix summed over the runs) and STEM-curves.png (validation
    accuracy per epoch, mean and sd band over the runs: fer_keras.figures) in `folder`."""
    import numpy as np

    from fer_keras.figures import plot_mean_curves
    from fer_keras.training.metrics import plot_confusion_matrix

    matrix = np.sum([m["confusion_matrix"] for m in metrics], axis=0)
    title = f"{what} ({len(metrics)} run(s), {metrics[0]['split']})"
    plot_confusion_matrix(matrix, metrics[0]["class_names"], folder / f"{stem}-cm.png", title)
    plot_mean_curves([Path(m["_run"]) / "history.csv" for m in metrics],
                     folder / f"{stem}-curves.png", what, ("val_accuracy", "test_accuracy"))


def _cell(metrics):
    import numpy as np

    if not metrics:
        return "-"
    acc = 100 * np.array([m["accuracy"] for m in metrics])
    seeds = sorted({m["seed"] for m in metrics})
    folds = len({m["fold"] for m in metrics})
    split = metrics[0]["split"]
    text = f"{acc.mean():.2f}"
    if len(acc) > 1:
        text += f" ± {acc.std():.2f}"
    detail = [f"{folds} fold{'s' if folds > 1 else ''}"]
    if len(seeds) > 1:
        detail.append(f"{len(seeds)} seeds")
    if split != "test":
        detail.append(split)
    return f"{text} ({', '.join(detail)})"


def _preset_epochs(m):
    """The epochs of the preset (the paper's budget) for the run's model and dataset."""
    from fer_keras.presets import get_preset

    if "model" not in m or "dataset" not in m:
        return None
    return get_preset(m["model"], m["dataset"]).values["epochs"]


def _epochs(metrics):
    """The epochs cell: T trained, "T of C" when a time limit stopped runs before the configured
    C, and "; paper budget P" when C is a reduced budget (not the preset's P)."""
    trained = sorted({m["epochs_trained"] for m in metrics})
    configured = sorted({m.get("epochs_configured", m["epochs_trained"]) for m in metrics})
    full = sorted({_preset_epochs(m) for m in metrics} - {None})
    text = "/".join(map(str, trained))
    if trained != configured:
        text += f" of {'/'.join(map(str, configured))}"
    if full and configured != full:
        text += f"; paper budget {'/'.join(map(str, full))}"
    return text


def _hardware_name(m):
    return m.get("hardware", {}).get("summary", "?")


def _hardware(metrics):
    """The hardware of the runs; with more than one kind, how many runs each trained."""
    counts = collections.Counter(map(_hardware_name, metrics))
    if len(counts) == 1:
        return next(iter(counts))
    return "; ".join(f"{name} ({n} run{'s' if n > 1 else ''})"
                     for name, n in sorted(counts.items()))


def budget_table(study_dirs):
    """Markdown: per hardware, the fold runs trained on it, their epochs and how many stopped on
    the time limit; from the metrics.json files of the tables' experiments."""
    experiments = {(d, r.key, p) for _, r, d, p in _experiments()}
    by_hardware = {}
    for key, metrics in collect(study_dirs).items():
        for m in metrics if key in experiments else ():
            by_hardware.setdefault(_hardware_name(m), []).append(m)
    if not by_hardware:
        return "No finished runs yet."
    lines = ["| hardware | fold runs | epochs trained per run | stopped by the time limit |",
             "|---|---:|---|---:|"]
    for name, runs in sorted(by_hardware.items()):
        trained = [m["epochs_trained"] for m in runs]
        limited = sum(m["epochs_trained"] < m.get("epochs_configured", m["epochs_trained"])
                      for m in runs)
        lines.append(f"| {name} | {len(runs)} | {min(trained)}-{max(trained)} | {limited} |")
    return "\n".join(lines)


def _experiments():
    """(table, row, dataset, protocol) of every cell of every table."""
    return [(t, r, d, p) for t in TABLES.values() for r in t.rows
            for d, protocols in t.protocols.items() for p in dict.fromkeys(protocols)]


def _headline_rows():
    """(table, row) of each paper's own model: the last row of each table."""
    return [(t, t.rows[-1]) for t in TABLES.values()]


def summary(study_dirs):
    """The README's results table: each paper's own model on each dataset that has runs, under
    the paper's protocol and the leakage-free one, and how many ablation rows have runs."""
    found = collect(study_dirs)
    lines = ["| paper row | paper | ours, paper's protocol | ours, leakage-free | epochs | "
             "hardware | command |", "|---|---:|---:|---:|---|---|---|"]
    for table, row in _headline_rows():
        for dataset, (paper_protocol, free_protocol) in table.protocols.items():
            ours = found.get((dataset, row.key, paper_protocol), [])
            free = found.get((dataset, row.key, free_protocol), [])
            if paper_protocol == free_protocol:
                ours, free = [], ours
            if not ours + free:
                continue
            cells = [f"{_cell(ms)} (`{protocol}`)" if ms else "-"
                     for ms, protocol in ((ours, paper_protocol), (free, free_protocol))]
            lines.append(f"| {row.model}, {dataset} | {row.paper.get(dataset, '-')} | "
                         f"{cells[0]} | {cells[1]} | {_epochs(ours + free)} | "
                         f"{_hardware(ours + free)} | "
                         f"{_command(table, row, dataset, ours + free, study_dirs)} |")
    ablations = [(r, d, p) for t, r, d, p in _experiments() if r is not t.rows[-1]]
    done = sum(bool(found.get((d, r.key, p))) for r, d, p in ablations)
    lines += ["", f"Ablation rows (table row x dataset x protocol) with finished runs: {done} of "
                  f"{len(ablations)}."]
    return "\n".join(lines)


README_START = "<!-- reproduce summary: start -->"
README_END = "<!-- reproduce summary: end -->"


def update_readme(path, study_dirs):
    """Rewrites the block between README_START and README_END in `path` with `summary()` of
    each study folder (one table per folder, as in the report: budgets are not mixed)."""
    path = Path(path)
    text = path.read_text()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"{path} has no '{README_START}' ... '{README_END}' block to rewrite")
    command = ("python -m fer_keras.reproduce report --study " + " ".join(map(str, study_dirs))
               + f" --readme {path}")
    tables = [(f"Runs in `{study}`:\n\n" if len(study_dirs) > 1 else "") + summary([study])
              for study in study_dirs]
    block = (f"{README_START}\n<!-- generated by `{command}`: do not edit -->\n\n"
             + "\n\n".join(tables) + "\n\n")
    path.write_text(text[:start] + block + text[end:])
    return path


def _command(table, row, dataset, metrics, study_dirs):
    """The `reproduce run` command (Markdown code) that trains a cell's runs: their budget, their
    seeds, and the study folder when there is one."""
    budget = metrics[0]["config"]["epochs"]
    seeds = sorted({m["seed"] for m in metrics})
    return (f"`python -m fer_keras.reproduce run --table {table.name} --dataset {dataset} "
            f"--rows {row.key} --epochs {budget}"
            + (f" --seeds {' '.join(map(str, seeds))}" if seeds != [0] else "")
            + (f" --study {study_dirs[0]}" if len(study_dirs) == 1 else "") + "`")


def report(study_dirs, tables=None):
    """The Markdown tables of docs/reproduction.md from the runs in `study_dirs`."""
    found = collect(study_dirs)
    lines = []
    for table in (tables or TABLES.values()):
        lines += [f"### {table.title}", ""]
        cells = {(dataset, row.key) for row in table.rows for dataset in table.protocols}
        if found and not cells & {key[:2] for key in found}:
            # Folders with runs of other tables only: one line, not a table of "not run".
            lines += ["No runs of this table in these folders.", ""]
            continue
        lines += [table.note, ""]
        for dataset, (paper_protocol, free_protocol) in table.protocols.items():
            same = paper_protocol == free_protocol
            head = (f"| {dataset} row | paper | ours, `{paper_protocol}`"
                    + ("" if same else f" | ours, `{free_protocol}` (leakage-free)")
                    + " | epochs | hardware | command |")
            lines += [head, "|" + "---|" * (head.count("|") - 1)]
            for row in table.rows:
                ours = found.get((dataset, row.key, paper_protocol), [])
                free = [] if same else found.get((dataset, row.key, free_protocol), [])
                every = ours + free
                if not every:
                    lines.append(f"| {row.label} | {row.paper.get(dataset, '-')} | - |"
                                 + ("" if same else " - |") + " not run | | |")
                    continue
                command = _command(table, row, dataset, every, study_dirs)
                lines.append(f"| {row.label} | {row.paper.get(dataset, '-')} | {_cell(ours)} |"
                             + ("" if same else f" {_cell(free)} |")
                             + f" {_epochs(every)} | {_hardware(every)} | {command} |")
            lines.append("")
    return "\n".join(lines)


# === Published models ===
DATA_TERMS = {
    "fer2013": ("FER2013 (Goodfellow et al., ICML 2013 representation-learning challenge): 35,887 "
                "48x48 grey faces found by Google image search, labelled once by the challenge "
                "organisers; human accuracy is about 65 %. Distributed through Kaggle for research "
                "use; the images belong to their web sources."),
    "ckplus": ("CK+ (Lucey et al., 2010), the CK+48 crops: 981 peak frames of 327 posed sequences "
               "from 118 mostly young adult subjects, recorded in a lab. The CK+ agreement "
               "allows non-commercial research use only and forbids redistribution."),
    "jaffe": ("JAFFE (Lyons et al., 1998): 213 posed images of 10 Japanese female models. Its "
              "terms allow non-commercial scientific research only."),
}
LIMITS = """- Trained on a small dataset of posed (CK+, JAFFE) or web-scraped and noisily labelled (FER2013)
  faces, demographically skewed (CK+ and JAFFE: few subjects, mostly young, JAFFE only Japanese
  women; FER2013: web photos, skewed towards light-skinned adults). Expect lower accuracy on
  other people, ages, poses, lighting and cameras, and measure on your own data first.
- It classifies the *appearance* of a face into fixed labels; it does not read emotions, and it
  must not be used to make decisions about people (hiring, policing, education, health,
  surveillance).
- The licence terms of the training data (above) apply to uses of this model."""


def publish(fold_dir, name, models_dir="saved_models"):
    """Copies a trained fold into `models_dir/name` with a SavedModel and a model card.

    The folder holds `model.keras`, `saved_model/` (class names embedded), `metrics.json` and
    `history.csv` of the run, and `README.md` written from `metrics.json` (no typed numbers).
    Returns the folder.
    """
    import shutil

    import keras

    import fer_keras.layers  # noqa: F401 - registers the custom layers for loading
    from fer_keras.export import export_saved_model

    fold_dir, target = Path(fold_dir), Path(models_dir) / name
    metrics = json.loads((fold_dir / "metrics.json").read_text())
    target.mkdir(parents=True, exist_ok=True)
    for file in ("model.keras", "metrics.json", "history.csv"):
        shutil.copy(fold_dir / file, target / file)
    model = keras.saving.load_model(target / "model.keras", safe_mode=True)
    if (target / "saved_model").exists():
        shutil.rmtree(target / "saved_model")
    export_saved_model(model, target / "saved_model", metrics["class_names"])
    (target / "README.md").write_text(model_card(name, metrics))
    return target


def model_card(name, m):
    """The model card (Markdown) of a published model, from its metrics.json."""
    from fer_keras.models import get_entry

    entry = get_entry(m["model"])
    c = m["config"]
    split = ("PublicTest, the split the best epoch was chosen on (optimistic; PrivateTest is "
             "withheld)" if m["dataset"] == "fer2013" else
             "the test fold (subjects never seen in training)" if m["split"] == "test"
             else m["split"])
    recall = ", ".join(f"{k} {v['recall'] * 100:.0f}" for k, v in m["per_class"].items())
    from fer_keras.training.artifacts import NO_SAVED_MODEL_NOTE

    configured, paper = m.get("epochs_configured", c["epochs"]), _preset_epochs(m)
    epochs = f"{m['epochs_trained']} of {configured} epochs"
    if paper not in (None, configured):
        epochs += f" (the paper's budget: {paper})"
    hardware = m.get("hardware", {}).get("summary", "unknown hardware")
    # publish always writes a SavedModel: a training run's "no SavedModel" note is moot
    notes = "".join(f"\n| note | {note} |" for note in m.get("notes", [])
                    if note != NO_SAVED_MODEL_NOTE)
    data_dir = {"fer2013": "data/fer2013", "ckplus": "data/ckplus", "jaffe": "data/jaffe"}
    return f"""# `{name}`: {entry.paper.split(' (')[0]} trained on {m['dataset']}

Load it offline with `fer_keras.Predictor.from_pretrained("{name}")`; files: `model.keras`
(Keras 3, loads with `safe_mode=True`), `saved_model/` (TensorFlow SavedModel, `serve` takes a
batch of raw 0-255 pixels N x 48 x 48 x 3 and returns class probabilities; `class_names` is
embedded), `metrics.json` and `history.csv` of the training run. This card is generated from
`metrics.json` by `python -m fer_keras.reproduce publish`.

| | |
|---|---|
| model | `{m['model']}` ({entry.description}); {m['params']:,} parameters, {m.get('macs') or 0:,} multiply-adds per image |
| classes | {', '.join(m['class_names'])} |
| data | {DATA_TERMS.get(m['dataset'], m['dataset'])} |
| protocol | `{m['protocol']}` fold {m['fold']} (split seed {m['split_seed']}): {' '.join(m['protocol_notes'])} |
| preprocessing | 48 x 48 grey face crop (dataset crops as distributed; the predictor's Haar-cascade crop is documented in docs/deployment.md), repeated to 3 channels; raw 0-255 pixels in, scaled to [-1, 1] inside the model |
| training | {epochs}, best epoch {m['best_epoch']} by validation accuracy, batch {c['batch_size']}, {c['optimizer']} lr {c['learning_rate']} momentum {c['momentum']} weight decay {c['weight_decay']}, augmentation `{c['augment']}`, seed {m['seed']}; {hardware} |
| accuracy | **{m['accuracy'] * 100:.2f} %** on {split}, {m['num_examples']} images; balanced accuracy {m['balanced_accuracy'] * 100:.2f} %, macro-F1 {m['macro_f1'] * 100:.2f} % |
| recall per class (%) | {recall} |
| validation accuracy | {m['validation']['accuracy'] * 100:.2f} % ({m['validation']['num_examples']} images) |{notes}

Reproduce the accuracy (with the dataset in its public layout, see docs/data.md):

    python -m fer_keras.evaluate --model saved_models/{name} --data-dir {data_dir.get(m['dataset'], 'DATA')} --split {m['split']}

The papers report more (see docs/reproduction.md): this model was trained for {epochs} on
{hardware}, so it is a working artifact, not the paper's result.

## Intended use and limits

{LIMITS}
"""


REPORT_INTRO = """# Reproduction study

Generated by `python -m fer_keras.reproduce report --study {studies} --output
docs/reproduction.md --figures` from the `metrics.json` files of the runs in those folders (committed
beside this page, without checkpoints and weights): no number below is typed by hand. Each cell
is the test accuracy (%) of the epoch with the best *validation* accuracy, mean ± standard
deviation over the folds (and seeds) that finished; "val" marks protocols without a test split
(FER2013 `official` here: PublicTest, the model-selection split, so optimistic). "N of M" epochs
means a run stopped by its time limit after N of its M configured epochs (the learning-rate
schedule was set for M). Rerun any row with the command beside it; finished folds are skipped.

## Budget and hardware

{budget}

The GPU runs trained on one NVIDIA H200 lent for 30 minutes in all, under JAX with mixed
precision (`scripts/gpu_session.sh`, phases 2 and 3: several runs shared the GPU, most stopped by a
time limit; the first phase spent its 8 minutes compiling ten models at once and is not kept).
The CPU runs trained on the 2-core development machine under TensorFlow in float32, one or two
folds at a time (`reproduce run --jobs 2`). A hardware entry naming epochs ("... (epochs 1-19);
... (epochs 20-50)") is a run continued on another machine after its checkpoint was lost
(`train --recover-from`; its metrics.json notes say what that changed).

Each study folder keeps one budget policy, and its tables are never averaged with another's:
- `studies/paper_budget`: the papers' own epoch budgets (the presets), or short of them where a
  time limit stopped a run ("N of M") or a run was configured for fewer epochs (the epochs
  column then names the paper's budget).
- `studies/cpu_budget`: every row of a table on one dataset with the same reduced budget on the
  CPU (the epochs column says how many, beside the paper's budget): its rows compare with each
  other, not with the papers' figures.

Rows without runs are "not run" and are not extrapolated. On the CPU (docs/performance.md)
I-MobileNetV2 trains at 130-340 images/s (depending on what else runs) and Light-NTWRN at
2.5-6, so a 150-epoch I-MobileNetV2 CK+ fold takes 15-27 minutes, a FER2013 epoch of the
MobileNetV2 rows about 2 minutes, and one Light-NTWRN epoch on FER2013 one to three hours: the
Light-NTWRN rows, and the FER2013 rows at the paper's 350 epochs, need a GPU.

## Why our numbers are below the papers'

- **Epochs.** Runs stopped by the time limit ("N of M" in the epochs column) or configured for
  less than the paper's budget ("paper budget P") trained a fraction of the papers' epochs; the
  FER2013 model was still improving when it stopped (history.csv).
- **Protocol leakage.** `paper_imnv2` splits CK+ by sequence, so 29 of the 31 test subjects are
  also in training; `paper_lntwrn` expands each dataset with random-erasing variants before a
  random split, so variants of test images are in training. Both inflate accuracy; the
  leakage-free columns (`subject_kfold`, `loso`, `official`) show the gap.
- **Test split.** The I-MobileNetV2 paper's FER2013 figure is on PrivateTest, which is withheld
  here; ours is PublicTest.
- **Label sets.** The Light-NTWRN paper names neutral, not contempt, for every dataset; CK+48
  has contempt and no neutral, and these runs use CK+48's own seven classes.
- **Architecture readings.** Where the papers are ambiguous (docs/paper_notes.md), the chosen
  reading can cost or gain accuracy; our parameter counts differ from the papers' (README).
- **Seeds.** A cell is seed 0 unless it says "N seeds" (then mean ± std over seeds and folds);
  3-seed headline rows at the papers' budgets need a longer GPU loan.

"""


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m fer_keras.reproduce",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the tables, their rows and protocols")
    r = sub.add_parser("run", help="train the unfinished folds of the selected experiments")
    r.add_argument("--table", action="append", choices=sorted(TABLES), required=True)
    r.add_argument("--dataset", action="append", required=True)
    r.add_argument("--rows", nargs="+", help="row keys (default: every row)")
    r.add_argument("--protocol", action="append",
                   help="default: the table's paper protocol and the leakage-free one")
    r.add_argument("--seeds", nargs="+", type=int, default=[0])
    r.add_argument("--epochs", type=int, help="the budget of every row (default: the preset)")
    r.add_argument("--data-root", default="../shared/data",
                   help="folder holding DATASET/ folders or DATASET.npz.xz packs")
    r.add_argument("--study", default="studies/main", help="the study folder")
    r.add_argument("--jobs", type=int, default=1, help="folds trained at a time")
    r.add_argument("--time-limit", type=float, help="seconds per fold (see train --time-limit)")
    r.add_argument("--max-time", type=float, help="start no fold after this many seconds")
    r.add_argument("--dry-run", action="store_true", help="print the fold commands only")
    pub = sub.add_parser("publish", help="copy a trained fold into saved_models/ with a card")
    pub.add_argument("fold", help="a fold folder (model.keras, metrics.json, history.csv)")
    pub.add_argument("--name", required=True, help="e.g. i_mobilenetv2_fer2013")
    pub.add_argument("--models-dir", default="saved_models")
    card = sub.add_parser("card", help="rewrite published models' cards from their metrics.json")
    card.add_argument("names", nargs="+", help="published model folders' names")
    card.add_argument("--models-dir", default="saved_models")
    g = sub.add_parser("report", help="the Markdown tables from finished runs")
    g.add_argument("--study", nargs="+", default=["studies/main"])
    g.add_argument("--output", help="write here instead of standard output")
    g.add_argument("--readme", help="also rewrite the generated results block of this README")
    g.add_argument("--figures", action="store_true",
                   help="also draw the confusion matrices and accuracy curves into "
                        "OUTPUT's folder/figures/ and link them")
    args = p.parse_args(argv)

    if args.command == "list":
        for t in TABLES.values():
            print(f"{t.name}: {t.title}")
            for d, protocols in t.protocols.items():
                print(f"  {d}: protocols {', '.join(dict.fromkeys(protocols))}")
            for row in t.rows:
                print(f"  {row.key:<18} {row.model:<14} {row.overrides or ''} paper {row.paper}")
        return 0
    if args.command == "card":
        for name in args.names:
            folder = Path(args.models_dir) / name
            metrics = json.loads((folder / "metrics.json").read_text())
            (folder / "README.md").write_text(model_card(name, metrics))
            print(folder / "README.md")
        return 0
    if args.command == "publish":
        print(publish(args.fold, args.name, args.models_dir))
        return 0
    if args.command == "report":
        if args.readme:
            print(update_readme(args.readme, args.study))
        text = REPORT_INTRO.format(studies=" ".join(args.study),
                                   budget=budget_table(args.study))
        for study in args.study:
            text += f"## Runs in `{study}`\n\n" + report([study]) + "\n"
        if args.output and args.figures:
            figure_dir = Path(args.output).parent / "figures"
            text += "\n" + "\n".join(figures(args.study, figure_dir))
        if args.output:
            Path(args.output).write_text(text + "\n")
        else:
            print(text)
        return 0
    tables = [TABLES[name] for name in args.table]
    jobs = plan(tables, args.dataset, args.rows, args.protocol, args.seeds, args.data_root,
                args.study, epochs=args.epochs)
    if args.dry_run:
        for config, fold in jobs:
            state = "finished" if fold_finished(config, fold) else "to run"
            print(f"# {state}\n" + " ".join(train_command(config, fold, args.time_limit)))
        return 0
    env = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false")
    result = run_jobs(jobs, args.jobs, args.time_limit, args.max_time, env=env)
    print(json.dumps({k: len(v) for k, v in result.items()}))
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
