"""Presets, TrainConfig validation and the command line's error handling (no training)."""

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
        assert status[:2] == ["git", "status"] and status[status.index("--") + 1:] == [
            "fer_keras", "setup.cfg", "pyproject.toml"]
    finally:
        artifacts.git_revision.cache_clear()
