"""`python -m fer_keras.reproduce campaign`: the queue, the fold commands, carrying a fold over
sessions, publishing only a better model, and one real campaign of a tiny synthetic run."""

import datetime
import json
import shutil
import sys
import time
from pathlib import Path

import pytest

from fer_keras.reproduce import campaign

TINY = ("--dataset synthetic --dataset-options '{\"num_examples\": 70, \"image_size\": 32}' "
        "--model i_mobilenetv2 --model-kwargs '{\"alpha\": 0.35, \"scale_top_stage\": true}' "
        "--batch-size 32")
CARRY = campaign.CARRY


def _queue(tmp_path, text):
    path = tmp_path / "campaign.toml"
    path.write_text(text)
    return path


def test_the_committed_queue_reads_and_names_real_runs():
    entries = campaign.read_queue(Path(__file__).parents[1] / "studies" / "campaign.toml")
    assert entries and len({e.output for e in entries}) == len(entries)
    for entry in entries:
        config = entry.config()  # every entry parses with train's own command line
        assert config.output == entry.output


def test_queue_errors_name_the_entry(tmp_path):
    with pytest.raises(ValueError, match="run 1: missing output"):
        campaign.read_queue(_queue(tmp_path, '[[run]]\nname = "a"\nargs = ""\n'))
    with pytest.raises(ValueError, match="run 1: give the run folder as `output`"):
        campaign.read_queue(_queue(tmp_path, '[[run]]\nname = "a"\noutput = "x"\n'
                                   'args = "--output y"\n'))
    with pytest.raises(ValueError, match="unknown keys colour"):
        campaign.read_queue(_queue(tmp_path, '[[run]]\nname = "a"\noutput = "x"\nargs = ""\n'
                                   'colour = 1\n'))
    with pytest.raises(ValueError, match="campaign.toml"):
        campaign.read_queue(_queue(tmp_path, "[[run]\n"))


def test_deadline_is_today_or_tomorrow():
    now = datetime.datetime(2026, 12, 6, 10, 0)
    assert campaign.deadline_from("11:30", now) == datetime.datetime(2026, 12, 6, 11, 30).timestamp()
    assert campaign.deadline_from("09:00", now) == datetime.datetime(2026, 12, 7, 9, 0).timestamp()
    with pytest.raises(ValueError, match="HH:MM, got '7pm'"):
        campaign.deadline_from("7pm", now)


def test_a_carried_fold_is_recovered_without_its_init(tmp_path):
    entry = campaign.Entry("e", str(tmp_path / "run"), ["--dataset", "synthetic", "--init",
                                                          "old/model.keras", "--epochs", "9"])
    fold = tmp_path / "run" / "fold_0"
    fold.mkdir(parents=True)
    command = campaign.fold_command(entry, fold, 600, python="py")
    assert command[:5] == ["nice", "-n", "19", "py", "-m"]
    assert "--init" in command and "--recover-from" not in command
    assert command[command.index("--time-limit") + 1] == "600"
    (fold / campaign.CARRY).write_bytes(b"x")
    command = campaign.fold_command(entry, fold, 600, python="py")
    assert "--init" not in command and "old/model.keras" not in command
    assert command[command.index("--recover-from") + 1] == str(fold / campaign.CARRY)
    for name in ("carry-state.npz", "checkpoint.npz"):  # `train` resumes from either itself
        (fold / CARRY).write_bytes(b"x")
        (fold / name).write_bytes(b"x")
        assert "--recover-from" not in campaign.fold_command(entry, fold, 600, python="py")
        (fold / name).unlink()


def test_the_carry_is_the_checkpoint_without_momentum_and_goes_when_finished(tmp_path):
    """(tests/test_train_carried.py resumes a real run from it.)"""
    import numpy as np

    from fer_keras.training.checkpoint import CARRIED, CARRIED_BEST

    (tmp_path / CARRY).write_bytes(b"an older carry")
    (tmp_path / "model.keras").write_bytes(b"best")
    campaign.carry_over(tmp_path, finished=False)  # no checkpoint: nothing to carry yet
    assert (tmp_path / CARRY).exists() and not (tmp_path / CARRIED).exists()
    np.savez(tmp_path / "checkpoint.npz", **{
        "state": np.frombuffer(b"{}", np.uint8), "model/00000": np.ones(3),
        "optimizer/00000": np.array(7), "optimizer/00001": np.ones(3), "best/00000": np.zeros(3)})
    campaign.carry_over(tmp_path, finished=False)
    with np.load(tmp_path / CARRIED) as carried:
        assert sorted(carried.files) == ["best_digest", "carried", "model/00000",
                                         "optimizer/00000", "state"]
    with np.load(tmp_path / CARRIED_BEST) as best:
        assert sorted(best.files) == ["best/00000", "digest"]
    assert not (tmp_path / CARRY).exists()  # replaced by the state
    campaign.carry_over(tmp_path, finished=True)
    assert not (tmp_path / CARRIED).exists() and not (tmp_path / CARRIED_BEST).exists()


def test_stop_asks_the_running_training_to_end_its_epoch(tmp_path, monkeypatch):
    import argparse
    import signal

    sent = []
    monkeypatch.setattr(campaign, "signal_running", lambda sig: sent.append(sig) or 123)
    args = argparse.Namespace(pause=False, resume=False, stop=True)
    assert campaign.main(args) == 0
    assert sent == [signal.SIGCONT, signal.SIGTERM]


def _metrics(accuracy, dataset="fer2013", protocol="official"):
    return {"dataset": dataset, "protocol": protocol, "split": "val", "accuracy": accuracy,
            "validation": {"accuracy": accuracy}}


def test_publishes_only_a_better_model_of_the_same_task(tmp_path, monkeypatch):
    published = []
    monkeypatch.setattr("fer_keras.reproduce.cards.publish",
                        lambda fold, name, models_dir: published.append((str(fold), name)))
    fold, models = tmp_path / "fold_0", tmp_path / "models"
    fold.mkdir()
    (models / "m").mkdir(parents=True)
    (models / "m" / "metrics.json").write_text(json.dumps(_metrics(0.55)))
    entry = campaign.Entry("e", str(tmp_path), [], publish="m")
    logs = []
    for accuracy, expected in ((0.55, False), (0.50, False), (0.56, True)):
        (fold / "metrics.json").write_text(json.dumps(_metrics(accuracy)))
        assert campaign.maybe_publish(entry, fold, models, log=logs.append) is expected
    assert published == [(str(fold), "m")]
    assert any("0.5600 > 0.5500" in line for line in logs)
    (fold / "metrics.json").write_text(json.dumps(_metrics(0.9, dataset="ckplus")))
    assert not campaign.maybe_publish(entry, fold, models, log=logs.append)
    assert "fer2013/official model, this run ckplus/official" in logs[-1]


def test_publishing_rewrites_the_published_tables_beside_the_models(tmp_path):
    from fer_keras.reproduce.published import markers

    (tmp_path / "models" / "m").mkdir(parents=True)
    metrics = {**_metrics(0.6123), "model": "i_mobilenetv2", "fold": 0, "config": {},
               "class_names": ["happy", "sad"]}
    (tmp_path / "models" / "m" / "metrics.json").write_text(json.dumps(metrics))
    (tmp_path / "README.md").write_text("{}\nstale\n{}\n".format(*markers("models")))
    logs = []
    assert campaign.refresh_tables(tmp_path / "models", logs.append) == [tmp_path / "README.md"]
    assert "| `m` | 61.23 % (PublicTest" in (tmp_path / "README.md").read_text()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "deployment.md").write_text("no markers\n")
    assert campaign.refresh_tables(tmp_path / "models", logs.append) == []
    assert "not rewritten" in logs[-1] and "deployment.md has no" in logs[-1]


def test_a_fold_that_cannot_finish_an_epoch_is_not_started(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    entry = campaign.Entry("e", "run", TINY.replace("'", "").split()[:2] + ["--epochs", "2"],
                           epoch_seconds=100)
    monkeypatch.setattr(campaign, "fold_dirs", lambda entry, config=None: [Path("run/fold_0")])
    logs = []
    result = campaign.run_campaign([entry], time.time() + 250, log=logs.append)
    assert result["trained"] == [] and "needs about 100 s an epoch" in logs[-1]


def test_an_interrupted_fold_is_not_a_failure(tmp_path, monkeypatch):
    """A training run stopped by SIGINT (the deadline's interrupt, or a user's) exits 130: the
    campaign logs it as interrupted and stops, and does not report a failure (exit status 0)."""
    monkeypatch.chdir(tmp_path)
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 130\n")
    fake.chmod(0o755)
    entry = campaign.Entry("e", "run", TINY.replace("'", "").split()[:2] + ["--epochs", "2"],
                           epoch_seconds=1)
    monkeypatch.setattr(campaign, "fold_dirs", lambda entry, config=None: [Path("run/fold_0")])
    logs = []
    result = campaign.run_campaign([entry], time.time() + 600, log=logs.append,
                                   python=str(fake), poll_s=0.05)
    assert result["failed"] == [] and result["interrupted"] == ["run/fold_0"], logs
    assert any(line.startswith("interrupted (exit 130): run/fold_0") for line in logs), logs
    assert logs[-1].startswith("stopped: e [run/fold_0] at 0/2 epochs")


@pytest.mark.slow
def test_a_campaign_trains_publishes_and_reports(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow")
    monkeypatch.chdir(tmp_path)
    queue = _queue(tmp_path, f'[[run]]\nname = "tiny"\noutput = "studies/tiny"\n'
                             f'args = """{TINY} --epochs 2"""\npublish = "tiny_model"\n'
                             f'epoch_seconds = 30\n')
    entries = campaign.read_queue(queue)
    assert "0/2 epochs, ~0.0 h left  tiny" in campaign.status_lines(entries)[0]
    logs = []
    result = campaign.run_campaign(entries, time.time() + 900, log=logs.append,
                                   python=sys.executable)
    assert result["failed"] == [], (tmp_path / "studies/tiny/campaign.log").read_text()[-3000:]
    assert result["finished"] == ["studies/tiny/fold_0"]
    assert result["published"] == ["tiny_model"]
    assert (tmp_path / "saved_models/tiny_model/model.keras").is_file()
    assert not (tmp_path / "studies/tiny/fold_0" / campaign.CARRY).exists()
    assert "done  tiny" in campaign.status_lines(entries)[0]
    assert logs[-1] == "the queue is done"
    assert not (tmp_path / campaign.STATE).exists()
    shutil.rmtree(tmp_path / "studies")


@pytest.mark.slow
def test_stop_ends_a_real_campaign_after_an_epoch_with_metrics_and_carry(tmp_path):
    """`campaign --stop` on a running campaign (real processes and signals): the training run
    finishes its epoch, writes metrics.json as stopped on request, the campaign carries the fold
    and ends without a failure."""
    pytest.importorskip("tensorflow")
    import os
    import subprocess

    from fer_keras.training.checkpoint import CARRIED

    root = Path(__file__).parents[1]
    _queue(tmp_path, f'[[run]]\nname = "tiny"\noutput = "studies/tiny"\n'
                     f'args = """{TINY} --epochs 50"""\nepoch_seconds = 5\n')
    command = [sys.executable, "-m", "fer_keras.reproduce", "campaign", "--queue",
               "campaign.toml"]
    env = {**os.environ, "PYTHONPATH": str(root)}
    runner = subprocess.Popen(command + ["--until", time.strftime(
        "%H:%M", time.localtime(time.time() + 3 * 3600))], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    history = tmp_path / "studies/tiny/fold_0/history.csv"
    deadline = time.time() + 600
    while not (history.is_file() and len(history.read_text().splitlines()) > 2):
        assert runner.poll() is None and time.time() < deadline, runner.communicate()[0][-3000:]
        time.sleep(1)
    stop = subprocess.run(command + ["--stop"], cwd=tmp_path, env=env, capture_output=True,
                          text=True)
    assert "asked to stop after its current epoch" in stop.stdout, stop.stdout + stop.stderr
    out = runner.communicate(timeout=600)[0]
    assert runner.returncode == 0, out[-3000:]
    fold = tmp_path / "studies/tiny/fold_0"
    metrics = json.loads((fold / "metrics.json").read_text())
    assert 2 <= metrics["epochs_trained"] < 50, out[-3000:]
    assert any(n.startswith("stopped on request (SIGTERM)") for n in metrics["notes"])
    assert (fold / CARRIED).is_file() and f"at {metrics['epochs_trained']}/50 epochs" in out


def test_the_card_names_the_recipe_that_made_the_model():
    from fer_keras.reproduce.cards import _recipe
    from fer_keras.training.config import resolve_config

    config = resolve_config("fer2013", "i_mobilenetv2", lr_decay_epochs=0, epochs=50).to_dict()
    m = {"model": "i_mobilenetv2", "dataset": "fer2013", "epochs_trained": 50, "config": config}
    # 50 constant epochs are the preset's first 50 (its decay starts after epoch 80)
    assert _recipe(m).startswith("the paper's recipe")
    m["epochs_trained"] = 90
    assert _recipe(m).startswith("product recipe, not the paper's row: learning rate constant")
    m["config"] = {**config, "init": "saved_models/x", "lr_schedule": "cosine", "epochs": 16}
    assert "fine-tuned from `saved_models/x`, learning rate cosine from 0.01 to 0 over 16" in (
        _recipe(m))
    m["epochs_trained"] = 50  # the paper's rates, but not its augmentation or its loss
    m["config"] = {**config, "augment": "flip_affine", "label_smoothing": 0.1}
    assert _recipe(m) == ("product recipe, not the paper's row: learning rate constant 0.01, "
                          "augmentation `flip_affine` (the paper's: `flip`), label smoothing 0.1")


def test_the_epoch_estimate_is_the_slowest_recent_epoch(tmp_path):
    assert campaign.epoch_seconds(tmp_path, 300.0) == 300.0
    (tmp_path / "history.csv").write_text("epoch,val_accuracy,time_s\n0,0.1,10\n1,0.2,400\n"
                                          "2,0.3,250\n3,0.3,260\n4,0.3,240\n")
    assert campaign.epoch_seconds(tmp_path, 300.0) == 260.0


def test_hours_left_use_the_runs_median_epoch_then_the_queues_estimate(tmp_path):
    from fer_keras.reproduce import campaign_progress as progress

    fold = tmp_path / "fold_0"
    assert progress.hours_left([], 0, 300, 600.0) == 50.0  # not started: the queue's 600 s
    fold.mkdir()
    times = [900] + [100] * 4 + [400] + [200] * 5  # the last ten: median 200 s
    (fold / "history.csv").write_text("epoch,val_accuracy,time_s\n" + "".join(
        f"{i},0.5,{t}\n" for i, t in enumerate(times, 1)))
    rows = progress.history_rows(fold)
    assert progress.hours_left(rows, 11, 47, 600.0) == pytest.approx(36 * 200 / 3600)
    assert progress.hours_left(rows, 11, 11, 600.0) == 0
    entry = campaign.Entry("tiny", str(tmp_path), ["--dataset", "synthetic", "--epochs", "47"],
                           epoch_seconds=600.0)
    lines = campaign.status_lines([entry])
    assert "11/47 epochs, ~2.0 h left  tiny" in lines[0] and "<- next" in lines[0]
    assert lines[-1].startswith("about 2 training hours left in the queue")
    assert "| tiny | fold_0 | 11 / 47 | 0.8 | 2.0 | 50.00 (1) | in progress |" in (
        campaign.report_section([entry]))


def test_the_not_started_folds_of_one_run_are_one_line_and_one_row(tmp_path):
    fold = tmp_path / "fold_0"
    fold.mkdir()
    (fold / "history.csv").write_text("epoch,val_accuracy,time_s\n1,0.5,360\n")
    args = ["--dataset", "synthetic", "--epochs", "11"] + ["--fold", "0", "--fold", "1",
                                                           "--fold", "2", "--fold", "3"]
    entry = campaign.Entry("tiny", str(tmp_path), args, epoch_seconds=600.0)
    lines = campaign.status_lines([entry])
    assert len(lines) == 3  # fold 0 in progress, folds 1-3 waiting, the total
    assert "1/11 epochs, ~1.0 h left  tiny [" in lines[0] and "fold_0]" in lines[0]
    assert "0/11 epochs x 3, ~5.5 h left  tiny [" in lines[1] and "fold_1-fold_3]" in lines[1]
    assert lines[-1].startswith("about 6 training hours left")
    section = campaign.report_section([entry])
    assert "| tiny | fold_0 | 1 / 11 | 0.1 | 1.0 | 50.00 (1) | in progress |" in section
    assert "| tiny | fold_1-fold_3 (3 folds) | 0 / 11 each | 0.0 | 5.5 | - | waiting |" in section


def test_a_fold_without_validation_reports_its_peak_test_accuracy():
    from fer_keras.reproduce.campaign_progress import best_accuracy

    rows = [{"epoch": str(e), "val_accuracy": "nan", "test_accuracy": str(a)}
            for e, a in ((1, 0.9), (2, 0.9867), (3, 0.95))]
    assert best_accuracy(rows) == "peak test 98.67 (2)"
    rows[0]["val_accuracy"], rows[2]["val_accuracy"] = "0.5", "0.75"
    assert best_accuracy(rows) == "75.00 (3)"  # validation, where there is any, selects
    assert best_accuracy([]) == "-"


def test_a_failed_fold_leaves_the_time_to_the_next_one(tmp_path, monkeypatch):
    """A crash (here `train` exiting 1 for the first entry) is reported and the next entry
    trains; the campaign exits with status 1 at the end, and the failed fold stays unfinished."""
    monkeypatch.chdir(tmp_path)
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\ncase "$*" in *broken*) exit 1;; esac\nexit 0\n')
    fake.chmod(0o755)
    args = TINY.replace("'", "").split()[:2] + ["--epochs", "2"]
    entries = [campaign.Entry("a", "broken", args, epoch_seconds=1),
               campaign.Entry("b", "fine", args, epoch_seconds=1)]
    monkeypatch.setattr(campaign, "fold_dirs",
                        lambda entry, config=None: [Path(entry.output) / "fold_0"])
    logs = []
    result = campaign.run_campaign(entries, time.time() + 600, log=logs.append,
                                   python=str(fake), poll_s=0.05)
    assert result["failed"] == ["broken/fold_0"] and result["trained"] == [
        "broken/fold_0", "fine/fold_0"], logs
    assert any(line.startswith("going on with the next fold; broken/fold_0") for line in logs)
    assert logs[-1].startswith("stopped: b [fine/fold_0] at 0/2 epochs"), logs
