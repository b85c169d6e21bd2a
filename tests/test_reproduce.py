"""`fer_keras.reproduce`: the paper tables, the fold plan and its train commands, the job runner,
and the report regenerated from hand-written `metrics.json` files.

Only one test trains (a tiny model injected into the real `python -m fer_keras.train`
subprocess, about 30-60 s); the same run with the real I-MobileNetV2 is marked slow.
"""

import json
import statistics
import sys
import textwrap
from pathlib import Path

import pytest

from data_fixtures import isolated_cache, make_ckplus, make_jaffe  # noqa: F401
from fer_keras import reproduce
from fer_keras.data import list_protocols, load_dataset, save_packed
from fer_keras.reproduce import TABLES, fold_finished, plan, report, train_command
from fer_keras.reproduce.published import markers
from fer_keras.training.config import TrainConfig, resolve_config


def _all_experiments():
    for table in TABLES.values():
        for dataset, protocols in table.protocols.items():
            for protocol in dict.fromkeys(protocols):
                for row in table.rows:
                    yield table, row, dataset, protocol


def _experiment_params():
    params = []
    for table, row, dataset, protocol in _all_experiments():
        params.append(pytest.param(table.name, row.key, dataset, protocol,
                                   id=f"{table.name}-{dataset}-{protocol}-{row.key}"))
    return params


# === Tables ===
def test_every_row_model_is_registered_and_every_protocol_valid():
    from fer_keras.models import list_models

    assert set(TABLES) == {"imnv2_table2", "lntwrn_table5"}
    for table in TABLES.values():
        keys = [r.key for r in table.rows]
        assert len(keys) == len(set(keys)), table.name
        for row in table.rows:
            assert row.model in list_models(), (table.name, row.key, row.model)
            assert set(row.paper) <= set(table.protocols), (table.name, row.key)
            assert set(row.overrides) <= {f for f in TrainConfig.__dataclass_fields__}
            assert table.row(row.key) is row
        for dataset, protocols in table.protocols.items():
            assert len(protocols) == 2
            for protocol in protocols:
                assert protocol in list_protocols(dataset), (table.name, dataset, protocol)
    with pytest.raises(ValueError, match="no_such_row"):
        TABLES["lntwrn_table5"].row("no_such_row")


def test_the_ablation_rows_differ_as_the_paper_says():
    rows = {r.key: r for r in TABLES["lntwrn_table5"].rows}
    assert rows["wrn"].model == rows["wrn_re"].model == "wrn"
    assert rows["wrn"].overrides["augment"] == "flip"
    assert all(rows[k].overrides["augment"] == "erasing" for k in rows if k != "wrn")


@pytest.mark.parametrize("table, row, dataset, protocol", _experiment_params())
def test_train_command_resolves_to_the_experiment_config(tmp_path, table, row, dataset, protocol):
    from fer_keras.train import build_parser, config_from_args

    t = TABLES[table]
    config = reproduce.experiment_config(t, t.row(row), dataset, protocol, 1, tmp_path / "data",
                                         tmp_path / "study", epochs=7)
    assert config.epochs == 7 and config.seed == 1 and config.protocol == protocol
    assert config.output == str(tmp_path / "study" / f"{dataset}-{row}-{protocol}-seed1")
    command = train_command(config, 3)
    assert command[:3] == [sys.executable, "-m", "fer_keras.train"]
    assert "--time-limit" not in command and "--quiet" in command
    again = config_from_args(build_parser().parse_args(command[3:]))
    assert again.folds == [3] and again.output == config.output
    ignore = ("output", "folds", "preset", "overridden")
    expected = {k: v for k, v in config.to_dict().items() if k not in ignore}
    assert {k: v for k, v in again.to_dict().items() if k not in ignore} == expected


@pytest.mark.parametrize("overrides", [
    dict(split_seed=2, class_weight="balanced", channels=1, learning_rate=0.05, batch_size=8),
    dict(mixed_precision=False, jit_compile=True, protocol="holdout", seed=4, epochs=10),
    dict(model_kwargs={"alpha": 0.5}, dataset_options={"num_examples": 140, "image_size": 32},
         init="runs/x", optimizer="adam", lr_decay_epochs=3, momentum=0.5),
    dict(protocol_options={"num_folds": 3}),
    dict(weight_decay=0.0),
    dict(model_kwargs={}),
])
def test_train_command_round_trips_any_config(tmp_path, overrides):
    from fer_keras.train import build_parser, config_from_args

    config = resolve_config("synthetic", "i_mobilenetv2", output=str(tmp_path / "r"), **overrides)
    command = train_command(config, 0, time_limit=90)
    assert command[-2:] == ["--time-limit", "90"]
    again = config_from_args(build_parser().parse_args(command[3:]))
    assert again.time_limit == 90.0
    for key, value in config.to_dict().items():
        if key not in ("folds", "preset", "time_limit", "overridden"):
            assert getattr(again, key) == value, key
    assert set(config.overridden) <= set(again.overridden)


# === Plan ===
@pytest.fixture
def data_root(tmp_path):
    """ROOT/ckplus.npz.xz (20 subjects, 60 sequences) and ROOT/jaffe.npz.xz (3 posers)."""
    root = tmp_path / "data"
    ck = load_dataset("ckplus", make_ckplus(tmp_path / "raw_ck", num_subjects=20,
                                            seqs_per_subject=3), progress=False)
    save_packed(ck, root / "ckplus.npz.xz")
    save_packed(load_dataset("jaffe", make_jaffe(tmp_path / "raw_jaffe")), root / "jaffe.npz.xz")
    return root


def test_plan_lists_every_fold_of_every_selected_experiment(tmp_path, data_root):
    study = tmp_path / "study"
    jobs = plan([TABLES["lntwrn_table5"]], ["ckplus", "jaffe"], ["light_ntwrn"], None, [0, 1],
                data_root, study, epochs=2)
    by_run = {}
    for config, fold in jobs:
        by_run.setdefault(config.output, []).append(fold)
        assert config.epochs == 2 and config.augment == "erasing" and config.model == "light_ntwrn"
        assert config.data_dir == str(data_root / f"{config.dataset}.npz.xz")
    expected = {}
    for seed in (0, 1):
        expected[f"ckplus-light_ntwrn-paper_lntwrn-seed{seed}"] = [0]
        expected[f"ckplus-light_ntwrn-subject_kfold-seed{seed}"] = list(range(10))
        expected[f"jaffe-light_ntwrn-paper_lntwrn-seed{seed}"] = [0]
        expected[f"jaffe-light_ntwrn-loso-seed{seed}"] = [0, 1, 2]  # one fold per poser
    assert by_run == {str(study / k): v for k, v in expected.items()}
    assert len(jobs) == 30


def test_plan_together_starts_one_device_engine_process_per_experiment(tmp_path, data_root):
    jobs = plan([TABLES["lntwrn_table5"]], ["jaffe"], ["light_ntwrn"], ["loso"], [0], data_root,
                tmp_path / "study", together=True, epochs=2, engine="device")
    assert [fold for _, fold in jobs] == [None]  # its 3 folds in one process
    config = jobs[0][0]
    command = train_command(config, None)
    assert "--fold" not in command and config.engine == "device"
    assert json.loads((Path(config.output) / "config.json").read_text())["engine"] == "device"
    assert not fold_finished(config, None)
    for k in range(3):  # finished when every fold is
        (Path(config.output) / f"fold_{k}").mkdir(parents=True)
        (Path(config.output) / f"fold_{k}" / "metrics.json").write_text(
            json.dumps({"epochs_trained": 2}))
    assert fold_finished(config, None)


def test_plan_filters_tables_rows_protocols_and_finds_folders(tmp_path, data_root):
    study = tmp_path / "study"
    # Table 2 has no JAFFE column; an explicit protocol replaces the table's pair.
    jobs = plan([TABLES["imnv2_table2"]], ["jaffe", "ckplus"],
                ["mobilenetv2", "i_mobilenetv2"], ["paper_imnv2"], [0], data_root, study)
    assert [(c.dataset, c.model, c.protocol, k) for c, k in jobs] == [
        ("ckplus", "mobilenetv2", "paper_imnv2", 0), ("ckplus", "i_mobilenetv2", "paper_imnv2", 0)]
    assert jobs[0][0].epochs == 150 and jobs[0][0].batch_size == 20  # the CK+ preset
    # No pack: the dataset folder under the root (official has one fold, nothing is loaded).
    jobs = plan([TABLES["imnv2_table2"]], ["fer2013"], None, None, [0], data_root, study, epochs=3)
    assert len(jobs) == 5 and {c.data_dir for c, _ in jobs} == {str(data_root / "fer2013")}
    assert {c.protocol for c, _ in jobs} == {"official"}


def _metrics(accuracy, seed=0, fold=0, split="test", trained=10, configured=10, epochs=None,
             hardware="CPU (2 cores), tensorflow"):
    return {"accuracy": accuracy, "seed": seed, "fold": fold, "split": split,
            "epochs_trained": trained, "epochs_configured": configured,
            "config": {"epochs": configured if epochs is None else epochs},
            "hardware": {"summary": hardware}}


def _write(study, run, metrics):
    """STUDY/RUN/fold_K/metrics.json; a RUN named DATASET-MODEL-PROTOCOL-seedS gets that identity
    in the file (the report reads it from there, never from the folder's name)."""
    parts = run.rsplit("-seed", 1)[0].split("-")
    if len(parts) == 3 and "-seed" in run:
        metrics = {**dict(zip(("dataset", "model", "protocol"), parts)), **metrics}
    path = study / run / f"fold_{metrics['fold']}" / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics))
    return path


def test_fold_finished_needs_metrics_with_every_configured_epoch(tmp_path):
    config = resolve_config("synthetic", "i_mobilenetv2", output=str(tmp_path / "run"), epochs=5)
    assert not fold_finished(config, 0)
    (tmp_path / "run" / "fold_0").mkdir(parents=True)
    (tmp_path / "run" / "fold_0" / "checkpoint.npz").write_bytes(b"")
    assert not fold_finished(config, 0)
    _write(tmp_path, "run", _metrics(0.5, trained=4, configured=5))
    assert not fold_finished(config, 0) and not fold_finished(config, 1)
    _write(tmp_path, "run", _metrics(0.5, trained=5, configured=5))
    assert fold_finished(config, 0) and not fold_finished(config, 1)
    config.epochs = 8  # a larger budget later: the fold is unfinished again
    assert not fold_finished(config, 0)


# === Report ===
def _table_rows(text, title_start, dataset):
    """{row label: [cells]} of one dataset's table in one section of the report."""
    section = next(s for s in text.split("### ")[1:] if s.startswith(title_start))
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {dataset} row |"))
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return lines[start], rows


def _mean_std(accuracies):
    values = [100 * a for a in accuracies]
    return f"{statistics.fmean(values):.2f} ± {statistics.pstdev(values):.2f}"


@pytest.fixture
def studies(tmp_path):
    one, two = tmp_path / "study1", tmp_path / "study2"
    gpu = "1 x NVIDIA H200, jax"
    _write(one, "ckplus-i_mobilenetv2-paper_imnv2-seed0", _metrics(0.90, 0, 0, trained=150,
                                                                   configured=150, hardware=gpu))
    _write(one, "ckplus-i_mobilenetv2-paper_imnv2-seed1", _metrics(0.80, 1, 0, trained=150,
                                                                   configured=150, hardware=gpu))
    for fold, acc in enumerate((0.70, 0.75, 0.92)):
        _write(one, "ckplus-i_mobilenetv2-subject_kfold-seed0",
               _metrics(acc, 0, fold, trained=150, configured=150))
    # Stopped by --time-limit after 3 of 10 epochs.
    _write(one, "ckplus-mobilenetv2-paper_imnv2-seed0", _metrics(0.5, trained=3, configured=10))
    _write(one, "fer2013-mobilenetv2_075-official-seed0",
           _metrics(0.6612, split="val", trained=350, configured=350))
    # Not experiments of any table: ignored.
    _write(one, "notes-seed0", _metrics(0.1))
    _write(one, "ckplus-i_mobilenetv2-holdout-seed0", _metrics(0.2))
    (one / "README.txt").write_text("a study folder\n")
    for fold, (acc, trained) in enumerate(((1.0, 300), (6 / 7, 300), (5 / 7, 120))):
        _write(two, "jaffe-light_ntwrn-loso-seed0",
               _metrics(acc, 0, fold, trained=trained, configured=300))
    return one, two


def test_report_rows_hold_mean_and_std_of_the_runs(studies):
    text = report([str(s) for s in studies])
    head, rows = _table_rows(text, "I-MobileNetV2, Table 2", "ckplus")
    assert "ours, `paper_imnv2`" in head and "ours, `subject_kfold` (leakage-free)" in head
    ours = rows["Ours (I-MobileNetV2; also Table 3's row)"]
    assert float(ours[0]) == 95.96
    # Mean ± standard deviation over the runs (population std, as numpy's default).
    assert ours[1] == _mean_std([0.9, 0.8]) + " (1 fold, 2 seeds)"
    assert ours[1] == "85.00 ± 5.00 (1 fold, 2 seeds)"
    assert ours[2] == _mean_std([0.70, 0.75, 0.92]) + " (3 folds)" == "79.00 ± 9.42 (3 folds)"
    assert ours[3] == "150"
    assert ours[4] == "1 x NVIDIA H200, jax (2 runs); CPU (2 cores), tensorflow (3 runs)"
    assert ours[5] == ("`python -m fer_keras.reproduce run --table imnv2_table2 --dataset ckplus "
                       "--rows i_mobilenetv2 --epochs 150 --seeds 0 1`")
    # A time-limited run: "trained of configured" epochs, and the full budget in the command.
    limited = rows["Mobilenetv2"]
    assert float(limited[0]) == 89.82 and limited[1:4] == ["50.00 (1 fold)", "-",
                                                 "3 of 10; paper budget 150"]
    assert limited[5].endswith("--rows mobilenetv2 --epochs 10`")
    for label in ("Mobilenetv2(0.75)", "Mobilenetv2(0.75) + SE", "Mobilenetv2(0.75) + RFF"):
        assert rows[label][1:4] == ["-", "-", "not run"], label
    assert len(rows) == 5
    # The report of one study folder names it in the commands, so they train into it.
    _, rows = _table_rows(report([str(studies[0])]), "I-MobileNetV2, Table 2", "ckplus")
    assert rows["Mobilenetv2"][5].endswith(f"--epochs 10 --study {studies[0]}`")


def test_report_single_protocol_table_val_split_and_partial_epochs(studies):
    text = report([str(s) for s in studies])
    head, rows = _table_rows(text, "I-MobileNetV2, Table 2", "fer2013")
    assert "leakage-free" not in head and head.count("|") == 7
    assert float(rows["Mobilenetv2(0.75)"][0]) == 66.99
    assert rows["Mobilenetv2(0.75)"][1:3] == ["66.12 (1 fold, val)", "350"]
    assert rows["Mobilenetv2"][1:3] == ["-", "not run"]
    assert float(rows["Mobilenetv2"][0]) == 67.90  # printed as "67.9"
    # The second study folder: LOSO folds of which one stopped early.
    head, rows = _table_rows(text, "Light-NTWRN, Table 5", "jaffe")
    ours = rows["Light-NTWRN (ours; also Table 6's row)"]
    assert float(ours[0]) == 95.21
    assert ours[1:3] == ["-", f"{_mean_std([1.0, 6 / 7, 5 / 7])} (3 folds)"]
    assert ours[3] == "120/300 of 300"
    assert float(rows["WRN"][0]) == 91.42 and rows["WRN"][1:4] == ["-", "-", "not run"]
    assert "Light-NTWRN, Table 5" in text and TABLES["imnv2_table2"].note in text
    # Runs of protocols no table shows, and foreign folders, leave no trace.
    assert "20.00" not in text and "10.00" not in text


def test_report_epochs_name_the_paper_budget_of_a_reduced_budget_run(tmp_path):
    for fold, trained in enumerate((30, 30, 12)):
        _write(tmp_path, "ckplus-mobilenetv2_075_se-subject_kfold-seed0",
               {**_metrics(0.8, fold=fold, trained=trained, configured=30),
                "model": "mobilenetv2_075_se", "dataset": "ckplus"})
    _, rows = _table_rows(report([str(tmp_path)]), "I-MobileNetV2, Table 2", "ckplus")
    # 30 of the preset's 150 epochs, one fold stopped by a time limit after 12
    assert rows["Mobilenetv2(0.75) + SE"][3] == "12/30 of 30; paper budget 150"


def test_report_of_an_empty_study_marks_every_row_not_run(tmp_path):
    text = report([str(tmp_path)])
    n_rows = sum(len(t.rows) * len(t.protocols) for t in TABLES.values())
    assert text.count("not run") == n_rows


def test_main_list_and_report(studies, tmp_path, capsys):
    assert reproduce.main(["list"]) == 0
    out = capsys.readouterr().out
    for table in TABLES.values():
        assert table.name in out
        assert all(row.key in out for row in table.rows)
    assert "ckplus: protocols paper_imnv2, subject_kfold" in out
    assert "fer2013: protocols official\n" in out

    # The page: the introduction, then one section of tables per study folder.
    one, two = map(str, studies)
    assert reproduce.main(["report", "--study", one, two]) == 0
    printed = capsys.readouterr().out
    assert printed == (reproduce.intro([one, two])
                       + f"## Runs in `{one}`\n\n" + report([one]) + "\n"
                       + f"## Runs in `{two}`\n\n" + report([two]) + "\n\n")
    target = tmp_path / "reproduction.md"
    assert reproduce.main(["report", "--study", one, "--output", str(target)]) == 0
    assert capsys.readouterr().out == ""
    text = target.read_text()
    assert text.startswith("# Reproduction study") and f"--study {one} --output" in text
    assert "85.00 ± 5.00 (1 fold, 2 seeds)" in text and "120/300" not in text


def test_budget_table_counts_runs_per_hardware(studies):
    lines = reproduce.budget_table([str(s) for s in studies]).splitlines()
    # The tables' experiments only: "notes" and the holdout run are not counted.
    assert lines[2:] == ["| 1 x NVIDIA H200, jax | 2 | 150-150 | 0 |",
                         "| CPU (2 cores), tensorflow | 8 | 3-350 | 2 |"]
    assert reproduce.budget_table([]) == "No finished runs yet."


def test_summary_holds_each_papers_own_model_and_counts_the_ablation_rows(studies):
    lines = reproduce.summary([str(s) for s in studies]).splitlines()
    rows = [line for line in lines if line.startswith("| i_mobilenetv2") or
            line.startswith("| light_ntwrn")]
    assert rows == [
        "| i_mobilenetv2, ckplus | 95.96 | - | 85.00 ± 5.00 (1 fold, 2 seeds) (`paper_imnv2`) | "
        "79.00 ± 9.42 (3 folds) (`subject_kfold`) | 150 | "
        "1 x NVIDIA H200, jax (2 runs); CPU (2 cores), tensorflow (3 runs) | "
        "`python -m fer_keras.reproduce run --table imnv2_table2 --dataset ckplus "
        "--rows i_mobilenetv2 --epochs 150 --seeds 0 1` |",
        f"| light_ntwrn, jaffe | 95.21 | - | - | {_mean_std([1.0, 6 / 7, 5 / 7])} (3 folds) (`loso`) | "
        "120/300 of 300 | CPU (2 cores), tensorflow | `python -m fer_keras.reproduce run --table "
        "lntwrn_table5 --dataset jaffe --rows light_ntwrn --epochs 300` |"]
    # Ablation rows with runs: Table 2's MobileNetV2 on CK+ paper_imnv2 and 0.75 on FER2013.
    n = sum((len(t.rows) - 1) * sum(len(set(p)) for p in t.protocols.values())
            for t in TABLES.values())
    assert lines[-1] == f"Ablation rows (table row x dataset x protocol) with finished runs: 2 of {n}."


def test_report_readme_rewrites_only_the_marked_block(studies, tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n{reproduce.README_START}\nstale 12.34\n"
                      f"{reproduce.README_END}\nafter\n")
    readme.write_text(readme.read_text() + "\n".join(markers("models")) + "\n")
    one, two = map(str, studies)
    assert reproduce.main(["report", "--study", one, two, "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert "stale" not in text and text.startswith("# title\n\nbefore\n")
    assert f"{reproduce.README_END}\nafter\n" in text
    assert "| name | accuracy (split) |" in text  # the published models' table too
    assert f"--study {one} {two} --readme" in text
    # One table per study folder, as in the report.
    assert f"Runs in `{one}`:\n\n{reproduce.summary([one])}\n\nRuns in `{two}`:" in text
    assert f"\n{reproduce.summary([two])}\n\n{reproduce.README_END}" in text
    first = text
    reproduce.update_readme(readme, [one, two])  # idempotent
    assert readme.read_text() == first
    readme.write_text("no markers\n")
    with pytest.raises(ValueError, match="no '<!-- reproduce summary: start -->'"):
        reproduce.update_readme(readme, [one])


# === Running ===
FAKE_TRAIN = textwrap.dedent("""
    import json, pathlib, sys
    args = sys.argv[1:]
    config = json.loads(pathlib.Path(args[args.index("--config") + 1]).read_text())
    out, fold, epochs = config["output"], args[args.index("--fold") + 1], config["epochs"]
    print("fake train", fold, flush=True)
    if "fail" in out:
        sys.exit(1)
    if "silent" not in out:
        path = pathlib.Path(out) / f"fold_{fold}" / "metrics.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"epochs_trained": epochs, "limit": "--time-limit" in args}))
""")


def test_run_jobs_runs_unfinished_folds_and_sorts_the_outcomes(tmp_path, monkeypatch):
    real = reproduce.train_command
    monkeypatch.setattr(reproduce.runner, "train_command", lambda config, fold, time_limit=None: [
        sys.executable, "-c", FAKE_TRAIN, *real(config, fold, time_limit)[3:]])

    def config(name):
        return resolve_config("synthetic", "i_mobilenetv2", output=str(tmp_path / name), epochs=2)

    ok, fail, silent = config("ok"), config("fail"), config("silent")
    _write(tmp_path, "ok", {"fold": 1, "epochs_trained": 2})  # fold 1 is already finished
    jobs = [(ok, 0), (ok, 1), (ok, 2), (fail, 0), (silent, 0)]
    result = reproduce.run_jobs(jobs, num_workers=2, time_limit=30)
    assert sorted(result["finished"]) == [(ok.output, 0), (ok.output, 2)]
    assert sorted(result["failed"]) == [(fail.output, 0), (silent.output, 0)]
    assert result["skipped"] == [(ok.output, 1)] and result["not_started"] == []
    metrics = json.loads((tmp_path / "ok" / "fold_2" / "metrics.json").read_text())
    assert metrics == {"epochs_trained": 2, "limit": True}
    assert (tmp_path / "ok" / "fold_0.log").read_text() == "fake train 0\n"
    assert not (tmp_path / "ok" / "fold_1.log").exists()
    assert (tmp_path / "fail" / "fold_0.log").read_text() == "fake train 0\n"

    # Everything finished is skipped; after max_time nothing new starts.
    again = reproduce.run_jobs(jobs[:3] + [(config("late"), 0)], max_time=0)
    assert sorted(again["skipped"]) == [(ok.output, k) for k in range(3)]
    assert again["not_started"] == [(str(tmp_path / "late"), 0)] and not again["finished"]
    assert not (tmp_path / "late").exists()


def test_run_jobs_starts_folds_fold_major(tmp_path, monkeypatch):
    a, b = (resolve_config("synthetic", "i_mobilenetv2", output=str(tmp_path / name), epochs=2)
            for name in ("a", "b"))
    started = []  # (run folder, fold) of each process, in start order; each "fails" at once
    monkeypatch.setattr(reproduce.runner.subprocess, "Popen", lambda args, **kw: started.append(
        (Path(args[args.index("--config") + 1]).parent, int(args[args.index("--fold") + 1]))) or
        _Finished())
    reproduce.run_jobs([(a, 0), (a, 1), (a, 2), (b, 0), (b, 1)])
    names = [(Path(out).name, fold) for out, fold in started]
    assert names == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2)]


class _Finished:
    returncode = 1

    def poll(self):
        return 1


def test_dry_run_prints_each_fold_command(tmp_path, data_root, capsys):
    study = tmp_path / "study"
    _write(study, "jaffe-light_ntwrn-loso-seed0", {"fold": 1, "epochs_trained": 4})
    code = reproduce.main(["run", "--table", "lntwrn_table5", "--dataset", "jaffe", "--rows",
                           "light_ntwrn", "--protocol", "loso", "--epochs", "4", "--data-root",
                           str(data_root), "--study", str(study), "--time-limit", "60",
                           "--dry-run"])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0::2] == ["# to run", "# finished", "# to run"]
    path = study / "jaffe-light_ntwrn-loso-seed0" / "config.json"
    for fold, line in enumerate(lines[1::2]):
        assert line == (f"{sys.executable} -m fer_keras.train --config {path} --fold {fold} "
                        "--quiet --time-limit 60.0")
    config = json.loads(path.read_text())
    assert config["data_dir"] == str(data_root / "jaffe.npz.xz") and config["epochs"] == 4
    assert (config["dataset"], config["model"], config["folds"]) == ("jaffe", "light_ntwrn", None)
    assert not (study / "jaffe-light_ntwrn-loso-seed0" / "fold_0.log").exists()


TINY_MODEL_TRAIN = textwrap.dedent("""
    import sys
    import keras
    import fer_keras.models

    def tiny(name, input_shape, num_classes, **kwargs):
        inputs = keras.Input(input_shape)
        x = keras.layers.Rescaling(1 / 255)(inputs)
        x = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        x = keras.layers.Dense(num_classes)(x)
        return keras.Model(inputs, keras.layers.Softmax(name="predictions")(x), name=name)

    fer_keras.models.create_model = tiny
    from fer_keras.train import main
    sys.exit(main(sys.argv[1:]))
""")

RUN_ARGS = ["run", "--table", "imnv2_table2", "--dataset", "ckplus", "--rows", "i_mobilenetv2",
            "--protocol", "paper_imnv2", "--epochs", "1"]


def _check_study(data_root, study, capsys):
    out = capsys.readouterr().out
    assert json.loads(out.strip().splitlines()[-1]) == {
        "finished": 1, "failed": 0, "skipped": 0, "not_started": 0}
    run = study / "ckplus-i_mobilenetv2-paper_imnv2-seed0"
    metrics = json.loads((run / "fold_0" / "metrics.json").read_text())
    pack = data_root / "ckplus.npz.xz"
    assert metrics["data_fingerprint"] == load_dataset("ckplus", pack).fingerprint()
    assert metrics["config"]["data_dir"] == str(pack)
    assert metrics["epochs_trained"] == metrics["epochs_configured"] == 1
    assert metrics["config"]["batch_size"] == 20 and metrics["config"]["weight_decay"] == 5e-4
    assert metrics["protocol"] == "paper_imnv2" and metrics["num_examples"] == 99
    assert (run / "fold_0.log").is_file() and (run / "fold_0" / "model.keras").is_file()
    # A second call finds the fold finished and starts nothing.
    args = RUN_ARGS + ["--data-root", str(data_root), "--study", str(study)]
    assert reproduce.main(args) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["skipped"] == 1
    _, rows = _table_rows(report([str(study)]), "I-MobileNetV2, Table 2", "ckplus")
    ours = rows["Ours (I-MobileNetV2; also Table 3's row)"]
    assert ours[1] == f"{100 * metrics['accuracy']:.2f} (1 fold)"
    assert ours[2:4] == ["-", "1; paper budget 150"]


def test_run_trains_a_fold_through_the_train_command(tmp_path, data_root, monkeypatch, capsys):
    real = reproduce.train_command
    monkeypatch.setattr(reproduce.runner, "train_command", lambda config, fold, time_limit=None: [
        sys.executable, "-c", TINY_MODEL_TRAIN, *real(config, fold, time_limit)[3:]])
    study = tmp_path / "study"
    args = RUN_ARGS + ["--data-root", str(data_root), "--study", str(study)]
    assert reproduce.main(args) == 0, (study / "ckplus-i_mobilenetv2-paper_imnv2-seed0" /
                                       "fold_0.log").read_text()
    metrics = json.loads((study / "ckplus-i_mobilenetv2-paper_imnv2-seed0" / "fold_0" /
                          "metrics.json").read_text())
    assert metrics["params"] < 1000  # the tiny model, trained by the real CLI
    _check_study(data_root, study, capsys)


@pytest.mark.slow
def test_run_trains_the_real_model(tmp_path, data_root, capsys):
    study = tmp_path / "study"
    args = RUN_ARGS + ["--data-root", str(data_root), "--study", str(study)]
    assert reproduce.main(args) == 0, (study / "ckplus-i_mobilenetv2-paper_imnv2-seed0" /
                                       "fold_0.log").read_text()
    _check_study(data_root, study, capsys)


def test_model_card_states_the_budget_the_hardware_and_the_notes():
    m = {"model": "i_mobilenetv2", "dataset": "fer2013", "protocol": "official", "fold": 0,
         "split_seed": 0, "protocol_notes": ["PrivateTest absent"], "params": 3851755,
         "macs": 18049216, "class_names": ["angry", "happy"], "seed": 0, "best_epoch": 30,
         "epochs_trained": 50, "epochs_configured": 50, "split": "val", "num_examples": 3589,
         "accuracy": 0.53, "balanced_accuracy": 0.45, "macro_f1": 0.44,
         "per_class": {"angry": {"recall": 0.4}, "happy": {"recall": 0.8}},
         "validation": {"accuracy": 0.53, "num_examples": 3589},
         "hardware": {"summary": "NVIDIA H200, jax (epochs 1-19); CPU (2 cores), tensorflow "
                                 "(epochs 20-50)"},
         "notes": ["continued from the best-epoch weights of a run whose checkpoint was lost"],
         "config": {"epochs": 50, "batch_size": 32, "optimizer": "sgd", "learning_rate": 0.01,
                    "momentum": 0.9, "weight_decay": 5e-4, "augment": "flip"}}
    card = reproduce.model_card("i_mobilenetv2_fer2013", m)
    assert "50 of 50 epochs (the paper's budget: 350)" in card
    assert "**53.00 %** on PublicTest" in card
    assert "| note | continued from the best-epoch weights" in card
    assert "on\nNVIDIA H200, jax (epochs 1-19); CPU (2 cores), tensorflow (epochs 20-50), so" in card
    assert "GPU loan" not in card


def test_card_command_rewrites_the_card_from_metrics_json(tmp_path):
    import shutil

    from conftest import ROOT

    source = ROOT / "saved_models" / "i_mobilenetv2_ckplus" / "metrics.json"
    if not source.is_file():
        pytest.skip("no published model")
    folder = tmp_path / "i_mobilenetv2_ckplus"
    folder.mkdir()
    shutil.copy(source, folder / "metrics.json")
    (folder / "README.md").write_text("stale\n")
    assert reproduce.main(["card", "i_mobilenetv2_ckplus", "--models-dir", str(tmp_path)]) == 0
    card = (folder / "README.md").read_text()
    assert card == reproduce.model_card("i_mobilenetv2_ckplus", json.loads(source.read_text()))


def test_figures_never_sum_runs_of_different_study_folders(tmp_path, monkeypatch):
    summed = {}

    def fake_cm(matrix, class_names, path, title):
        summed[path.name] = matrix.tolist()
        path.write_bytes(b"png")

    monkeypatch.setattr("fer_keras.training.metrics.plot_confusion_matrix", fake_cm)
    run = "ckplus-i_mobilenetv2-paper_imnv2-seed0"
    for study, cm in (("paper", [[3, 0], [1, 2]]), ("cpu", [[1, 1], [0, 4]])):
        path = _write(tmp_path / study, run, {**_metrics(0.8), "confusion_matrix": cm,
                                              "class_names": ["a", "b"]})
        (path.parent / "history.csv").write_text("epoch,val_accuracy\n0,0.5\n1,0.7\n")
    lines = reproduce.figures([str(tmp_path / "paper"), str(tmp_path / "cpu")],
                              tmp_path / "figures")
    stem = "ckplus-i_mobilenetv2-paper_imnv2"
    assert summed == {f"paper-{stem}-cm.png": [[3, 0], [1, 2]],
                      f"cpu-{stem}-cm.png": [[1, 1], [0, 4]]}
    assert (tmp_path / "figures" / f"cpu-{stem}-curves.png").is_file()
    assert sum(f"(figures/paper-{stem}-cm.png)" in line for line in lines) == 1


def test_figure_links_name_the_split_their_curves_plot(tmp_path):
    """A study with validation curves links "validation accuracy"; a papers'-practice study
    without a validation split (test accuracy per epoch, --test-each-epoch) links "test (papers'
    practice, reporting only) accuracy", never "validation"."""
    run = "ckplus-i_mobilenetv2-paper_imnv2-seed0"
    for study, history in (("val", "epoch,val_accuracy,test_accuracy\n0,0.5,\n1,0.7,\n"),
                           ("practice", "epoch,val_accuracy,test_accuracy\n0,,0.6\n1,,0.8\n")):
        path = _write(tmp_path / study, run, {**_metrics(0.8), "confusion_matrix": [[1, 0], [0, 1]],
                                              "class_names": ["a", "b"]})
        (path.parent / "history.csv").write_text(history)
    lines = reproduce.figures([str(tmp_path / "val"), str(tmp_path / "practice")],
                              tmp_path / "figures")
    val, practice = [line for line in lines if line.startswith("| `")]
    assert "[validation accuracy per epoch](figures/val-" in val
    assert ("[test (papers' practice, reporting only) accuracy per epoch](figures/practice-"
            in practice)
    assert "validation" not in practice.split("|")[-2]


def test_report_of_a_study_without_runs_of_a_table_says_so_in_one_line(tmp_path):
    _write(tmp_path, "ckplus-mobilenetv2-subject_kfold-seed0", _metrics(0.8))
    text = report([str(tmp_path)])
    table5 = text.split("### Light-NTWRN, Table 5 (ablation; accuracy %)")[1]
    assert table5.strip() == "No runs of this table in these folders."
    # Table 2 keeps every row, run or not.
    assert text.count("not run") == 2 * len(TABLES["imnv2_table2"].rows) - 1
