"""One writer per run folder (per fold), one configuration per run folder, results that mean "complete",
and the messages for a bad `--output`, a truncated checkpoint and leftover temporaries
(issue 21; `fer_keras.training.run_lock`, `fer_keras.training.resume_rules`).

The training runs use the one-convolution model of test_train_time_limit, so each costs seconds.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from backends import require_backend

keras = require_backend("tensorflow", "the training tests run on the TensorFlow backend")

from data_fixtures import isolated_cache  # noqa: E402,F401
from test_train_time_limit import DATA, tiny  # noqa: E402,F401
from fer_keras.train import main as train_main  # noqa: E402
from fer_keras.training import keras_engine, loop, run_lock  # noqa: E402
from fer_keras.training.config import resolve_config  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:The structure of `inputs`:UserWarning")


def _config(out, **overrides):
    return resolve_config("synthetic", "i_mobilenetv2", output=str(out),
                          **{**DATA, "epochs": 2, **overrides})


def _listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _hold(out, folds):
    """A process that claims `folds` of the run folder `out` (as a training process does) and
    sleeps; returns it once the claim is held."""
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from fer_keras.training.run_lock import RunFolder
            with RunFolder({str(out)!r}, {folds!r}, lambda busy: None):
                print("held", flush=True)
                time.sleep(120)
            """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_process_on_a_busy_fold_stops_at_once_naming_folder_and_pid(tmp_path):
    out = tmp_path / "run"
    holder = _hold(out, [0])
    try:
        before = _listing(out)
        with pytest.raises(run_lock.RunFolderBusy) as err:
            loop.train(_config(out), verbose=0)  # every fold, fold 0 included
        assert str(out) in str(err.value) and f"fold_0 (pid {holder.pid})" in str(err.value)
        assert _listing(out) == before  # nothing written: no config.json, no fold
        with run_lock.RunFolder(out, [1], lambda busy: None):  # other folds stay free
            pass
    finally:
        holder.kill()
        holder.wait()
    # a killed holder leaves no stale lock
    with run_lock.RunFolder(out, [0], lambda busy: None):
        assert run_lock.fold_lock_path(out, 0).read_text().strip() == str(os.getpid())


def test_another_configuration_is_refused_while_the_first_has_no_checkpoint_yet(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps(_config(out).to_dict()))
    holder = _hold(out, [0])
    try:
        with pytest.raises(ValueError, match=f"pid {holder.pid} is training fold 0") as err:
            loop.train(_config(out, folds=[1], learning_rate=0.5), verbose=0)
        assert "learning_rate (config.json 0.01, now 0.5)" in str(err.value)
    finally:
        holder.kill()
        holder.wait()
    assert json.loads((out / "config.json").read_text())["learning_rate"] == 0.01


def test_the_command_line_reports_a_busy_folder_with_exit_code_2(tmp_path, capsys):
    out = tmp_path / "run"
    holder = _hold(out, [0])
    try:
        code = train_main(["--dataset", "synthetic", "--output", str(out), "--quiet"])
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert code == 2 and "in use by another train process" in err and str(holder.pid) in err
    assert "Traceback" not in err


def test_output_naming_a_file_says_so(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("keep me\n")
    code = train_main(["--dataset", "synthetic", "--output", str(target), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "is a file, not a run folder" in err and str(target) in err
    assert target.read_text() == "keep me\n"


def test_a_run_folder_is_one_configuration_and_extend_continues_it(tmp_path, tiny):
    out = tmp_path / "run"
    first = loop.train(_config(out), verbose=0).folds[0]
    assert first["epochs_trained"] == 2 and "resume_changes" not in first
    fold = out / "fold_0"
    saved = (fold / "metrics.json").read_text()

    for overrides, expected in (
            (dict(epochs=1), "epochs (config.json 2, now 1)"),
            (dict(epochs=3), "pass --extend"),
            (dict(learning_rate=0.5), "learning_rate (config.json"),
            (dict(augment="none", seed=3), "augment (config.json 'flip', now 'none'); seed")):
        with pytest.raises(ValueError, match="another configuration") as err:
            loop.train(_config(out, **overrides), verbose=0)
        assert expected in str(err.value), str(err.value)
        assert (fold / "metrics.json").read_text() == saved  # nothing touched
    assert json.loads((out / "config.json").read_text())["epochs"] == 2

    extended = loop.train(_config(out, epochs=3, extend=True), verbose=0).folds[0]
    assert extended["epochs_trained"] == extended["epochs_configured"] == 3
    assert extended["resume_changes"] == [{"field": "epochs", "from": 2, "to": 3,
                                           "after_epoch": 2, "reason": "--extend"}]
    assert (fold / "history.csv").read_text().count("\n") == 4
    assert json.loads((out / "config.json").read_text())["epochs"] == 3
    # the same command again: finished, nothing retrained
    again = loop.train(_config(out, epochs=3, extend=True), verbose=0).folds[0]
    assert again["epochs_trained"] == 3


def test_results_are_removed_the_moment_a_run_resumes_training(tmp_path, tiny, monkeypatch):
    out = tmp_path / "run"
    loop.train(_config(out, folds=[0], protocol="holdout"), verbose=0)
    (out / "summary.json").write_text("{}")  # as a multi-fold run would have left it
    fold = out / "fold_0"
    assert (fold / "metrics.json").exists()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(keras_engine, "_run_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        loop.train(_config(out, folds=[0], protocol="holdout", epochs=4, extend=True),
                   verbose=0)
    assert not (fold / "metrics.json").exists()  # the fold is no longer complete
    assert not (out / "summary.json").exists()
    assert (fold / "checkpoint.npz").exists() and (fold / "model.keras").exists()


def test_a_short_trial_gets_its_own_default_folder():
    full = resolve_config("ckplus", "i_mobilenetv2")
    trial = resolve_config("ckplus", "i_mobilenetv2", epochs=2)
    assert loop.default_output(full).name == "ckplus-i_mobilenetv2-subject_kfold-seed0"
    assert loop.default_output(trial).name == "ckplus-i_mobilenetv2-subject_kfold-seed0-epochs2"
    with pytest.raises(ValueError, match="--extend continues an existing run"):
        loop.train(resolve_config("synthetic", "i_mobilenetv2", epochs=20, extend=True))


def test_truncated_checkpoint_points_at_recover_from(tmp_path, tiny, capsys):
    out = tmp_path / "run"
    loop.train(_config(out, epochs=1), verbose=0)
    ckpt = out / "fold_0" / "checkpoint.npz"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    args = ["--dataset", "synthetic", "--output", str(out), "--epochs", "2", "--extend",
            "--quiet", "--dataset-options", json.dumps(DATA["dataset_options"]),
            "--batch-size", "32"]
    assert train_main(args) == 2
    err = capsys.readouterr().err
    assert "corrupt checkpoint" in err and "--recover-from" in err and str(ckpt) in err
    assert "Traceback" not in err
    assert ckpt.stat().st_size == 1000  # left for the user to decide


def test_leftover_temporaries_are_removed_on_the_next_run(tmp_path, tiny):
    out = tmp_path / "run"
    loop.train(_config(out), verbose=0)
    fold = out / "fold_0"
    (fold / ".checkpoint.fer_keras-tmp-99999.npz").write_bytes(b"half")
    (fold / ".saved_model.fer_keras-tmp-99999").mkdir()
    (fold / ".saved_model.fer_keras-tmp-99999" / "saved_model.pb").write_bytes(b"half")
    (out / ".config.fer_keras-tmp-99999.json").write_text("{")
    loop.train(_config(out), verbose=0)  # finished: nothing retrained, temporaries gone
    assert not [p.name for p in fold.iterdir() if p.name.startswith(".")]
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [
        ".fer_keras-run", ".fold_0.lock", run_lock.LOCK_NAME]


def test_a_folder_of_the_users_files_is_refused_and_left_untouched(tmp_path, tiny):
    out = tmp_path / "mine"
    out.mkdir()
    files = {"config.json": '{"my": "settings"}', "summary.md": "my notes",
             ".notes.tmp-2024.txt": "looks like a temporary, is not"}
    for name, text in files.items():
        (out / name).write_text(text)
    with pytest.raises(ValueError, match="not a fer_keras run folder: it holds "
                                         r"\.notes\.tmp-2024\.txt"):
        loop.train(_config(out), verbose=0)
    assert sorted(p.name for p in out.iterdir()) == sorted(files)  # nothing written or removed
    assert all((out / n).read_text() == t for n, t in files.items())
    (out / ".notes.tmp-2024.txt").unlink()  # a config.json that is not ours is refused too
    with pytest.raises(ValueError, match=r"config.json \(not a training configuration\)"):
        loop.train(_config(out), verbose=0)


def test_a_user_file_named_like_a_temporary_survives_in_a_run_folder(tmp_path, tiny):
    out = tmp_path / "run"
    loop.train(_config(out), verbose=0)
    (out / "fold_0" / ".notes.tmp-2024.txt").write_text("mine")
    loop.train(_config(out), verbose=0)  # the marker makes it ours; only tagged names are cleaned
    assert (out / "fold_0" / ".notes.tmp-2024.txt").read_text() == "mine"


def test_an_older_run_folder_without_the_marker_is_still_a_run_folder(tmp_path, tiny):
    out = tmp_path / "run"
    loop.train(_config(out), verbose=0)
    (out / run_lock.MARKER).unlink()
    run_lock.check_run_folder(out)  # only train's own files: accepted
    loop.train(_config(out), verbose=0)
    assert (out / run_lock.MARKER).is_file()
