"""Presets, TrainConfig validation and the command line's error handling (no training)."""

import json
import subprocess
import sys

import pytest

from fer_keras.presets import PRESETS, get_preset, presets_table
from fer_keras.training.config import TrainConfig, resolve_config


def test_paper_presets():
    ln = get_preset("light_ntwrn", "fer2013").values  # Light-NTWRN Table 4
    assert (ln["optimizer"], ln["momentum"], ln["learning_rate"], ln["lr_decay_factor"],
            ln["lr_decay_epochs"], ln["epochs"], ln["batch_size"], ln["augment"]) == (
        "sgd", 0.9, 0.01, 0.5, 50, 300, 30, "erasing")
    assert get_preset("light_ntwrn", "ckplus").values["batch_size"] == 20
    assert get_preset("wrn_scam", "jaffe").values["batch_size"] == 40  # the family's preset
    im = get_preset("i_mobilenetv2", "fer2013").values
    assert (im["epochs"], im["batch_size"], im["weight_decay"], im["augment"]) == (
        350, 32, 5e-4, "flip")
    ck = get_preset("mobilenetv2_075", "ckplus").values
    assert (ck["epochs"], ck["batch_size"]) == (150, 20)
    assert {d for _, d in PRESETS} == {"fer2013", "ckplus", "jaffe", "imagefolder", "synthetic"}
    assert "light_ntwrn/fer2013" in presets_table()


def test_resolve_config_overrides_and_validation():
    config = resolve_config("ckplus", "light_ntwrn", epochs=3, data_dir="x")
    assert config.epochs == 3 and config.batch_size == 20 and "Table 4" in config.preset
    assert "epochs" in config.overridden
    assert TrainConfig.from_dict(config.to_dict()).run_key() == config.run_key()
    with pytest.raises(ValueError, match="unknown model 'nope'|Unknown model 'nope'"):
        resolve_config("synthetic", "nope")
    with pytest.raises(ValueError, match="unknown TrainConfig fields: bogus"):
        resolve_config("synthetic", "i_mobilenetv2", bogus=1)
    for bad in (dict(epochs=0), dict(momentum=1.5), dict(augment="zoom"),
                dict(class_weight="inverse"), dict(folds=[-1]), dict(jit_compile="yes")):
        with pytest.raises(ValueError):
            resolve_config("synthetic", "i_mobilenetv2", **bad)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "fer_keras.train", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_help_shows_presets():
    out = _cli("--help")
    assert out.returncode == 0
    assert "light_ntwrn/ckplus" in out.stdout and "--class-weight" in out.stdout


@pytest.mark.parametrize("args, message", [
    (("--model", "nope"), "nope"),
    (("--dataset", "ckplus", "--data-dir", "/nonexistent/ckplus"), "not found"),
    (("--dataset", "ckplus"), "needs --data-dir"),
    (("--fold", "7", "--epochs", "1", "--model-kwargs", '{"alpha": 0.35}'), "fold 7"),
])
def test_cli_errors_are_one_line(tmp_path, args, message):
    out = _cli(*args, "--output", str(tmp_path / "run"), "--quiet")
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


def test_git_revision_is_taken_once_and_only_the_package_makes_it_dirty(monkeypatch):
    """metrics.json names the code a run started with: a commit made while it trains, or the
    study files it writes (tracked, hence modified), do not change or dirty the revision."""
    from fer_keras.training import artifacts

    calls = []

    def fake_run(args, **kwargs):
        calls.append(args)
        out = "abc123\n" if "rev-parse" in args else ""
        return subprocess.CompletedProcess(args, 0, stdout=out, stderr="")

    monkeypatch.setattr(artifacts.subprocess, "run", fake_run)
    artifacts.git_revision.cache_clear()
    try:
        assert artifacts.git_revision() == "abc123"
        assert artifacts.git_revision() == "abc123" and len(calls) == 2  # cached
        status = calls[1]
        assert status[:3] == ["git", "--no-optional-locks", "status"]  # never writes the index
        assert status[status.index("--") + 1:] == [
            "fer_keras", "setup.cfg", "pyproject.toml"]
    finally:
        artifacts.git_revision.cache_clear()


def test_every_field_is_a_flag_with_its_metadata():
    """The parser is generated from TrainConfig: a field with metadata is a flag, with no code."""
    import dataclasses

    from fer_keras.train import build_parser

    actions = {}
    for a in build_parser()._actions:
        actions.setdefault(a.dest, a)
    for f in dataclasses.fields(TrainConfig):
        if f.metadata.get("cli", True):
            assert f.name in actions and actions[f.name].help.startswith(f.metadata["help"])
    assert actions["optimizer"].choices == ("sgd", "adam")
    assert "--lr" in actions["learning_rate"].option_strings
    args = build_parser().parse_args(["--fold", "1", "--fold", "3", "--lr", "0.5",
                                      "--jit-compile", "off", "--model-kwargs", '{"alpha": 1}',
                                      "--test-each-epoch"])
    assert (args.folds, args.learning_rate, args.jit_compile, args.model_kwargs,
            args.test_each_epoch) == ([1, 3], 0.5, False, {"alpha": 1}, True)
    assert build_parser().parse_args(["--all-folds"]).folds is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--fold", "1", "--all-folds"])


def test_config_file_runs_a_saved_configuration_and_flags_override_it(tmp_path):
    from fer_keras.train import build_parser, config_from_args
    from fer_keras.training.config import load_config, save_config

    saved = resolve_config("ckplus", "light_ntwrn", data_dir="x", epochs=3, output="runs/a")
    path = save_config(saved, tmp_path / "config.json")
    assert load_config(path).to_dict() == saved.to_dict()
    again = config_from_args(build_parser().parse_args(["--config", str(path), "--lr", "0.5"]))
    assert again.learning_rate == 0.5 and again.batch_size == 20 and again.dataset == "ckplus"
    assert again.overridden == ("data_dir", "epochs", "output", "learning_rate")
    assert again.preset == saved.preset and again.run_key() != saved.run_key()
    with pytest.raises(ValueError, match="unknown TrainConfig fields: bogus"):
        load_config(path, bogus=1)
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="expected a JSON object"):
        load_config(tmp_path / "bad.json")


def test_overridden_is_declared_saved_and_not_part_of_the_run_key():
    config = resolve_config("synthetic", "i_mobilenetv2", epochs=3)
    assert config.overridden == ("epochs",) and config.to_dict()["overridden"] == ["epochs"]
    again = TrainConfig.from_dict(config.to_dict())
    assert again.overridden == ("epochs",) and "overridden" not in json.loads(again.run_key())
    lines = {line.split()[0]: line for line in config.describe().splitlines()[1:]}
    assert lines["epochs"].split()[1] == "*" and lines["batch_size"].split()[1] != "*"
    assert "overridden" not in lines


@pytest.mark.parametrize("model, kwargs, message", [
    ("i_mobilenetv2", {"alpah": 0.5}, "unknown option 'alpah' for model 'i_mobilenetv2'; "
                                      "accepted: alpha"),
    ("light_ntwrn", {"width": [8]}, "'width' for model 'light_ntwrn'; accepted: widths"),
    ("i_mobilenetv2", {"input_shape": [8, 8, 3]}, "'input_shape'"),
])
def test_unknown_model_kwargs_are_refused_by_name(model, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        resolve_config("synthetic", model, model_kwargs=kwargs)


def test_cli_misspelt_model_kwargs_stop_before_a_run_folder(tmp_path):
    out = _cli("--model-kwargs", '{"alpah": 0.5}', "--output", str(tmp_path / "run"), "--quiet")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "unknown option 'alpah'" in out.stderr and not (tmp_path / "run").exists()


def test_fer_keras_train_is_the_module_whatever_the_import_order():
    code = ("import fer_keras, types; a = fer_keras.train; import fer_keras.train; "
            "b = fer_keras.train; f = fer_keras.train_model; "
            "from fer_keras.training import train; "
            "assert isinstance(a, types.ModuleType) and a is b and f is train; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


@pytest.mark.parametrize("field,value", [("learning_rate", float("inf")),
                                         ("learning_rate", float("nan")),
                                         ("weight_decay", float("nan")),
                                         ("weight_decay", float("inf"))])
def test_rates_must_be_finite(field, value):
    with pytest.raises(ValueError, match=f"{field} must be a finite number"):
        resolve_config("synthetic", "i_mobilenetv2", **{field: value})


def test_every_boolean_field_is_checked():
    with pytest.raises(ValueError, match="accept_data_change must be True or False, got 'yes'"):
        resolve_config("synthetic", "i_mobilenetv2", accept_data_change="yes")


def test_the_configuration_is_resolved_once_and_a_saved_one_reruns_without_the_preset(
        tmp_path, monkeypatch):
    """What training derives from the preset (the scaled rate's reference batch, the default
    folder's suffix) is recorded by resolve_config; a config.json then needs no preset."""
    import fer_keras.presets
    from fer_keras.training import distribution, loop
    from fer_keras.training.config import load_config, save_config

    trial = resolve_config("ckplus", "i_mobilenetv2", batch_size=80, scale_lr=True, epochs=2)
    preset = get_preset("i_mobilenetv2", "ckplus").values
    assert (trial.preset_epochs, trial.reference_batch_size) == (preset["epochs"],
                                                                  preset["batch_size"])
    path = save_config(trial, tmp_path / "config.json")

    def no_preset(*args, **kwargs):
        raise AssertionError("the preset was consulted after resolve_config")

    monkeypatch.setattr(fer_keras.presets, "get_preset", no_preset)
    again = load_config(path)
    assert distribution.scaled_learning_rate(again) == pytest.approx(
        again.learning_rate * 80 / preset["batch_size"])
    assert loop.default_output(again).name.endswith("-seed0-epochs2")
    assert again.run_key() == trial.run_key()


def test_scale_lr_needs_the_reference_batch_and_it_counts_only_with_scale_lr():
    with pytest.raises(ValueError, match="scale_lr needs reference_batch_size.*got None"):
        TrainConfig(scale_lr=True).validate()
    plain = resolve_config("ckplus", "i_mobilenetv2")
    assert plain.reference_batch_size is None
    assert "reference_batch_size" not in json.loads(plain.run_key())  # old run keys unchanged
    scaled = resolve_config("ckplus", "i_mobilenetv2", scale_lr=True)
    assert json.loads(scaled.run_key())["reference_batch_size"] == 20


def test_what_may_change_on_resume_is_declared_once_by_the_fields():
    from fer_keras.training import recover, resume_rules
    from fer_keras.training.config import BOOKKEEPING, RECOVER_FREE, RESUME_FREE

    assert resume_rules.BOOKKEEPING == RESUME_FREE and recover._BOOKKEEPING == RECOVER_FREE
    assert {"epochs", "init", "test_each_epoch"} <= set(BOOKKEEPING) - set(RESUME_FREE)
    assert {"output", "time_limit", "engine", "preset", "preset_epochs"} <= set(RESUME_FREE)
    assert {"data_dir", "preset"} <= set(RECOVER_FREE) and "data_dir" not in RESUME_FREE
