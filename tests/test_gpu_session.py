"""`scripts/gpu_session.sh`, the one prepared call for a lent GPU, run end to end on CPU: the dry
run. Tiny packs, tiny models, one epoch and one fold per training, paper_lntwrn's expansion to
300 images, the Table 5 step as `--dry-run`, so the first GPU loan is not spent on a crash in
the script.

Run under KERAS_BACKEND=jax (it skips otherwise, and where JAX is not installed); TensorFlow is
not needed. Slow: ten XLA compilations (three benchmark rows, seven trainings). With the papers'
expansion sizes (3,408 JAFFE, 1,500 CK+ images) the test took 11.5 min beside the campaign
(the script 681 s), with 300 it took 7.4 min (434 s; the FER2013 training in the background,
293 s, is then most of it).
"""

import json
import os
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

import pytest

from backends import require_backend

keras = require_backend("jax")

from data_fixtures import face, make_ckplus, make_fer_csv, make_jaffe  # noqa: E402
from fer_keras.data import load_dataset, save_packed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_session.sh"
STUDY = "paper_budget"
TRAININGS = (  # the script's train steps, in order
    "fer2013-i_mobilenetv2-official-seed0",
    "ckplus-light_ntwrn-paper_lntwrn-none-seed0", "ckplus-light_ntwrn-paper_lntwrn-seed0",
    "ckplus-light_ntwrn-subject_kfold-seed0",
    "jaffe-light_ntwrn-paper_lntwrn-none-seed0", "jaffe-light_ntwrn-paper_lntwrn-seed0",
    "jaffe-light_ntwrn-loso-seed0")
# the selected-on-validation, leakage-free runs whose best fold's model comes back
KEPT = ("fer2013-i_mobilenetv2-official-seed0", "ckplus-light_ntwrn-subject_kfold-seed0",
        "jaffe-light_ntwrn-loso-seed0")
DRY_RUN = {  # scripts/gpu_session.sh's header
    "GPU_SESSION_MARGIN": "5",
    "GPU_SESSION_BENCH": json.dumps({"steps": 2, "repeats": 1, "num_models": 2}),
    "GPU_SESSION_BENCH_SECONDS": "600",  # three cold compiles on a busy CPU
    "GPU_SESSION_MODEL_KWARGS": json.dumps({
        "i_mobilenetv2": {"alpha": 0.35, "scale_top_stage": True},
        "light_ntwrn": {"widths": [8, 8, 8], "depths": [1, 1, 1], "stem_filters": 8,
                        "scam_reduction": 2, "shuffle_groups": 2}}),
    "GPU_SESSION_TRAIN_ARGS": "--epochs 1 --batch-size 32 --fold 0",
    "GPU_SESSION_REPRODUCE_ARGS": "--dry-run",
    "GPU_SESSION_EXPAND": "300",  # paper_lntwrn's expansion, not the papers' 1,500 and 3,408
}
BUDGET_S = 1500  # the script's TRAIN_SECONDS: an upper bound; the work decides the wall time
MAX_FILES, MAX_BYTES = 8, 16 * 2**20


def _make_packs(root):
    fer_rows = [(i % 7, face(100 + i), usage) for i, usage in
                enumerate(["Training"] * 56 + ["PublicTest"] * 14 + ["PrivateTest"] * 14)]
    raw = {"ckplus": make_ckplus(root / "raw" / "ckplus"),
           "jaffe": make_jaffe(root / "raw" / "jaffe"),
           "fer2013": make_fer_csv(root / "raw" / "fer2013" / "fer2013.csv", fer_rows).parent}
    for name, folder in raw.items():
        save_packed(load_dataset(name, folder), root / "packs" / f"{name}.npz.xz")
    return root / "packs"


def _files(folder):
    """{relative path: modification time} of every file under `folder`."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns
            for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else {}


def _campaign_outputs():
    """The run folders (relative to studies/) that the background campaign may be writing."""
    queue = ROOT / "studies" / "campaign.toml"
    if not queue.is_file():
        return ()
    runs = tomllib.loads(queue.read_text()).get("run", [])
    return tuple(str(Path(r["output"]).relative_to("studies")) + "/" for r in runs
                 if r.get("output", "").startswith("studies/"))


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """Runs the script once; returns (completed process, $OUT, the dry run's studies root,
    the repository's studies/ before, seconds)."""
    tmp = tmp_path_factory.mktemp("gpu_session")
    (tmp / "wheels").mkdir()
    cache = Path(os.environ.get("FER_KERAS_CACHE") or tmp / "cache")
    env = dict(os.environ, **DRY_RUN, OUT=str(tmp / "out"), KERAS_BACKEND="jax",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               GPU_SESSION_WHEELS=str(tmp / "wheels"), GPU_SESSION_PACKS=str(_make_packs(tmp)),
               GPU_SESSION_STUDIES=str(tmp / "studies"), FER_KERAS_CACHE=str(cache),
               FER_KERAS_JAX_CACHE=str(cache / "jax-gpu-session"))
    before = _files(ROOT / "studies")
    start = time.monotonic()
    done = subprocess.run(["bash", str(SCRIPT), str(BUDGET_S)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=2000)
    return done, tmp / "out", tmp / "studies", before, time.monotonic() - start


@pytest.mark.timeout(2400)
def test_every_step_runs(session):
    done, out, studies, _, seconds = session
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    assert (out / "session.log").is_file()
    for name in TRAININGS:
        assert f"{STUDY}/{name}: exit 0 after" in log, (name, log[-4000:])
        assert (studies / STUDY / name / "fold_0" / "metrics.json").is_file(), name
        metrics = json.loads((studies / STUDY / name / "fold_0" / "metrics.json").read_text())
        if "paper_lntwrn" in name:  # the expansion target reached the protocol
            notes = " ".join(metrics["protocol_notes"])
            assert f"to {DRY_RUN['GPU_SESSION_EXPAND']} images" in notes, (name, notes)
            assert (metrics["selection"] == "last_epoch") == ("-none-" in name), name
    assert "no time left" not in log
    assert "# to run" in log  # the Table 5 step planned its folds (--dry-run)
    print(f"dry run: {seconds:.0f} s")


@pytest.mark.timeout(2400)
def test_benchmark_rows(session):
    out = session[1]
    rows = json.loads((out / "benchmark.json").read_text())
    assert [(r["model"], r["num_models"]) for r in rows] == [
        ("i_mobilenetv2", 1), ("i_mobilenetv2", 2), ("light_ntwrn", 1)]
    assert all(r["images_per_s"] > 0 and r["steps"] == 2 for r in rows), rows


@pytest.mark.timeout(2400)
def test_what_comes_back(session):
    out = session[1]
    files = sorted(p for p in out.iterdir())
    assert len(files) <= MAX_FILES and all(p.is_file() for p in files), files
    assert all(p.stat().st_size < MAX_BYTES for p in files), files
    kept = {p.name for p in files if p.suffix == ".keras"}
    assert kept == {f"{STUDY}__{name}__fold_0.keras" for name in KEPT}
    with tarfile.open(out / "study.tgz") as tar:
        names = tar.getnames()
    for wanted in ("metrics.json", "history.csv", "config.json"):
        assert any(n.endswith("/" + wanted) for n in names), wanted
    assert all(f"{n}/".startswith(f"studies/{STUDY}/") for n in names), names[:5]
    assert not [n for n in names if n.endswith((".keras", ".npz")) or "/logs/" in n]


@pytest.mark.timeout(2400)
def test_nothing_written_to_the_repository_studies(session):
    _, _, studies, before, _ = session
    ours = _files(studies)
    assert ours, "the dry run wrote nothing under its studies root"
    after = _files(ROOT / "studies")
    changed = {p for p, t in after.items() if before.get(p) != t}
    campaign = _campaign_outputs()
    written = sorted(p for p in changed & set(ours) if not p.startswith(campaign))
    assert not written, written
