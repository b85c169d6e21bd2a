"""`python -m fer_keras.data`: JSON summary, readable table, clear errors without tracebacks."""

import json
import os
import subprocess
import sys

import pytest

from data_fixtures import isolated_cache, make_ckplus, make_fer_folders, save, face, write_bad  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, cache):
    env = dict(os.environ, FER_KERAS_CACHE=str(cache), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "fer_keras.data", *map(str, args)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def test_json_summary_ckplus(tmp_path, isolated_cache):
    root = make_ckplus(tmp_path / "ck", num_subjects=12)
    out = run("--dataset", "ckplus", "--data-dir", root, "--json", cache=isolated_cache)
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    assert s["num_examples"] == 72 and s["num_subjects"] == 12
    assert s["class_names"][1] == "contempt" and sum(s["class_counts"].values()) == 72
    assert len(s["folds"]) == 10
    for f in s["folds"]:
        assert set(f) >= {"train", "val", "test", "subject_overlap", "duplicate_overlap"}
        assert f["subject_overlap"] == 0 and f["train"] + f["val"] + f["test"] == 72
    assert sum(f["test"] for f in s["folds"]) == 72


def test_table_and_synthetic(isolated_cache):
    out = run("--dataset", "synthetic", cache=isolated_cache)
    assert out.returncode == 0, out.stderr
    assert "protocol     holdout" in out.stdout and "subj.ovl" in out.stdout
    out = run("--dataset", "synthetic", "--json", cache=isolated_cache)
    s = json.loads(out.stdout)
    assert s["num_examples"] == 700 and s["num_subjects"] == 20


def test_paper_protocol_warns_on_stderr(tmp_path, isolated_cache):
    root = make_ckplus(tmp_path / "ck", num_subjects=14, seqs_per_subject=3)
    out = run("--dataset", "ckplus", "--data-dir", root, "--protocol", "paper_lntwrn", "--json",
              cache=isolated_cache)
    assert out.returncode == 0, out.stderr
    assert "warning: paper_lntwrn leaks" in out.stderr
    s = json.loads(out.stdout)
    assert s["expanded_num_examples"] == 1500 and s["folds"][0]["test"] == 450


@pytest.mark.parametrize("setup, message", [
    ("missing", "FER2013 folder not found"),
    ("bad_image", "not an image"),
    ("bad_name", "does not parse"),
    ("bad_class", "unknown class folder 'joy'"),
])
def test_errors_are_clear(tmp_path, isolated_cache, setup, message):
    root = tmp_path / "fer"
    if setup != "missing":
        make_fer_folders(root, per_class=1, test_usages=("PublicTest",))
    bad = {"bad_image": lambda: write_bad(root / "train" / "sad" / "Training_900.png", "text"),
           "bad_name": lambda: save(root / "train" / "sad" / "x.png", face(1)),
           "bad_class": lambda: save(root / "train" / "joy" / "Training_901.png", face(1)),
           "missing": lambda: None}[setup]()
    out = run("--dataset", "fer2013", "--data-dir", root, "--json", cache=isolated_cache)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("error: ") and message in out.stderr
    assert "Traceback" not in out.stderr
    if bad is not None:
        named = bad.parent if setup == "bad_class" else bad  # a bad folder is named, not its files
        assert str(named) in out.stderr
    if setup in ("bad_image", "bad_name"):
        out = run("--dataset", "fer2013", "--data-dir", root, "--json", "--skip-bad",
                  cache=isolated_cache)
        assert out.returncode == 0, out.stderr
        s = json.loads(out.stdout)
        assert len(s["skipped_files"]) == 1 and message in s["skipped_files"][0][1]


def test_converted_files_listed(tmp_path, isolated_cache):
    root = make_fer_folders(tmp_path / "fer", per_class=1, test_usages=("PublicTest",))
    save(root / "train" / "sad" / "Training_700.png", face(1, 60))
    out = run("--dataset", "fer2013", "--data-dir", root, "--json", cache=isolated_cache)
    s = json.loads(out.stdout)
    assert s["converted_files"] == [["train/sad/Training_700.png", "size 60x60->48x48"]]


def test_dataset_options_reach_the_loader_as_with_train(isolated_cache):
    out = run("--dataset", "synthetic", "--dataset-options", '{"num_examples": 140}', "--json",
              cache=isolated_cache)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["num_examples"] == 140
    out = run("--dataset", "synthetic", "--dataset-options", '{"num_exampels": 140}',
              cache=isolated_cache)
    assert out.returncode == 2 and "num_exampels" in out.stderr
    out = run("--dataset", "synthetic", "--dataset-options", "[1]", cache=isolated_cache)
    assert out.returncode == 2 and "must be a JSON object" in out.stderr
