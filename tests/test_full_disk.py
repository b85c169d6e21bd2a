"""A full disk in every command that writes outside `train`: one error line, no traceback, and
no half-written file under a final name (docs/reliability.md, "Files").

The disk is filled for real, not mocked: each command runs in a child process whose file size
limit (`RLIMIT_FSIZE`, with SIGXFSZ ignored) makes every write past a few kilobytes fail in the
kernel with EFBIG, as a full disk fails with ENOSPC. That reaches OpenCV's and matplotlib's
native writers too, which no Python-level mock can. A control run without the limit shows that
each command writes the file when it can.
"""

import json
import resource
import signal
import subprocess
import sys

import cv2
import pytest

from conftest import ROOT
from inference_fixtures import draw_face, tiny_model, write_fold

LIMIT = 2048  # bytes: every artifact below is larger


def _fill_disk():  # in the child, before exec
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, resource.getrlimit(
        resource.RLIMIT_FSIZE)[1]))


def run(module, *args, full):
    proc = subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True,
                          text=True, timeout=300, preexec_fn=_fill_disk if full else None)
    return proc.returncode, proc.stdout, proc.stderr


def assert_one_clear_line(code, err, name):
    assert code != 0, err[-2000:]
    assert "Traceback" not in err, err[-3000:]
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and name in lines[0], err[-2000:]


def only_final_files(folder):
    """The names in `folder`, failing on any temporary left behind."""
    names = sorted(p.name for p in folder.iterdir())
    assert not [n for n in names if "fer_keras-tmp" in n or n.endswith(".tmp")], names
    return names


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("full_disk")
    model = tiny_model()
    for fold in (0, 1):
        write_fold(root / "run" / f"fold_{fold}", model)
    return root / "run"


def test_data_pack_on_a_full_disk_leaves_no_file(tmp_path):
    out = tmp_path / "packs"
    out.mkdir()
    code, _, err = run("fer_keras.data", "--dataset", "synthetic", "--pack", out / "s.npz",
                       full=True)
    assert_one_clear_line(code, err, "s.npz")
    assert only_final_files(out) == []
    code, _, err = run("fer_keras.data", "--dataset", "synthetic", "--pack", out / "s.npz",
                       full=False)
    assert code == 0, err[-2000:]
    assert only_final_files(out) == ["s.npz"]


@pytest.mark.slow
def test_an_annotated_video_on_a_full_disk_leaves_no_file(run_folder, tmp_path):
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (320, 320))
    for _ in range(6):
        writer.write(cv2.cvtColor(draw_face(320), cv2.COLOR_GRAY2BGR))
    writer.release()
    out = tmp_path / "annotated"
    code, stdout, err = run("fer_keras.predict", video, "--model", run_folder / "fold_0",
                            "--annotate", out, full=True)
    assert_one_clear_line(code, err, "clip.mp4")
    assert "annotated video was not written" in err
    assert len({json.loads(line)["frame"] for line in stdout.splitlines()}) == 6  # records whole
    assert only_final_files(out) == []
    code, _, err = run("fer_keras.predict", video, "--model", run_folder / "fold_0",
                       "--annotate", out, full=False)
    assert code == 0, err[-2000:]
    assert only_final_files(out) == ["clip.mp4"]
    cap = cv2.VideoCapture(str(out / "clip.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    cap.release()


@pytest.mark.slow
def test_an_evaluate_plot_on_a_full_disk_leaves_no_file(run_folder, tmp_path):
    """Also `--plot` for a run folder: the folds' confusion matrices summed in one PNG."""
    out = tmp_path / "plots"
    out.mkdir()
    code, _, err = run("fer_keras.evaluate", "--model", run_folder, "--plot", out / "cm.png",
                       full=True)
    assert_one_clear_line(code, err, "cm.png")
    assert only_final_files(out) == []
    code, stdout, err = run("fer_keras.evaluate", "--model", run_folder, "--plot",
                            out / "cm.png", full=False)
    assert code == 0, err[-2000:]
    assert "the 2 folds summed" in stdout
    assert "2 folds on synthetic" in stdout and "scored on its test split" in stdout  # which
    assert only_final_files(out) == ["cm.png"]
    assert cv2.imread(str(out / "cm.png")) is not None


@pytest.mark.slow
def test_train_on_a_full_disk_stops_in_one_line_and_resumes(tmp_path):
    """The first checkpoint cannot be written: one line, nothing half-written, and the same
    command on a disk with room trains the run to the end."""
    args = ["--dataset", "synthetic", "--model", "wrn", "--dataset-options",
            '{"num_examples": 64, "image_size": 32}', "--model-kwargs",
            '{"widths": [8, 8, 8], "depths": [1, 1, 1], "stem_filters": 8}', "--augment",
            "none", "--batch-size", "16", "--epochs", "1", "--output", tmp_path / "run",
            "--quiet"]
    code, _, err = run("fer_keras.train", *args, full=True)
    assert_one_clear_line(code, err, "could not write")
    assert "run the same command again to resume" in err
    # nothing: the TensorBoard folder is opened after the first checkpoint (Fold.end_epoch)
    assert only_final_files(tmp_path / "run" / "fold_0") == []
    assert not (ROOT / ".git" / "index.lock").exists()  # the commit lookup wrote nothing there
    code, _, err = run("fer_keras.train", *args, full=False)
    assert code == 0, err[-2000:]
    assert (tmp_path / "run" / "fold_0" / "metrics.json").is_file()
