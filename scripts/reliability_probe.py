"""Fault and hostile-input probe of the command-line tools: every bad input must be refused in
one clear line, never a traceback, a hang or a silent success.

    python scripts/reliability_probe.py                  # every family (about 10 minutes here)
    python scripts/reliability_probe.py --only models    # one family: models, inputs, options,
                                                         # data, export, controls
    python scripts/reliability_probe.py --keep           # keep the temporary folder of fixtures

The probe builds its own fixtures in a temporary folder (a tiny i_mobilenetv2 saved as a training
run's fold folder, a drawn face the Haar cascade finds, broken copies of models, images and a
video, folders of user files), then runs each case as a child process
`python -m fer_keras.<module> ...` with a timeout, from inside that folder, and classifies it:

    ok         exit status 0 and the expected result, for the control cases where success is
               the right answer;
    clear      non-zero exit status, no "Traceback" on stderr, and a line starting with
               "error:" (or argparse's "prog: error: ..." usage line);
    traceback  "Traceback" on stderr;
    silent     exit status 0 where a refusal was expected, or any other wrong outcome (a
               non-zero exit without an error line, a failed control, a refusal that still
               touched the user's files);
    hang       the child ran past its timeout and was killed.

"ok" and "clear" count as handled. It prints one row per case (family, case, outcome, exit
status, seconds, the first error line cut to 120 characters), then the command and stderr tail
of each case that was not handled, then a summary line. Exit status 1 when any case is
"traceback", "silent" or "hang", else 0.
"""

import argparse
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Optional

CLASS_NAMES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
HANDLED = ("ok", "clear")
DEFAULT_TIMEOUT = 90
ERROR_LINE = re.compile(r"^(?:error:|\S.*: error: )")
TINY_KWARGS = '{"alpha": 0.35, "scale_top_stage": true}'
# keeps train small if a case that should be refused is not: one epoch of 32 grey images
TRAIN_TINY = ["--dataset", "synthetic", "--epochs", "1", "--batch-size", "8",
              "--dataset-options", '{"num_examples": 32}', "--model-kwargs", TINY_KWARGS,
              "--channels", "1"]
# keeps export small if a case that should be refused is not
EXPORT_TINY = ["--formats", "float32", "--val-limit", "8", "--calibration-size", "8"]


@dataclass
class Case:
    """One child run: `python -m fer_keras.<module> *args`, and the right answer.

    expect: "clear" (a refusal) or "ok" (success). check: called with the Result after the
    run; returns None, or a problem that makes the outcome "silent" (a control's output is
    wrong, or a refusal touched the user's files).
    """
    family: str
    name: str
    module: str
    args: list
    expect: str = "clear"
    check: Optional[Callable] = None
    timeout: float = DEFAULT_TIMEOUT

    @property
    def command(self):
        return [sys.executable, "-m", f"fer_keras.{self.module}", *map(str, self.args)]


@dataclass
class Result:
    case: Case
    returncode: Optional[int]
    stdout: str
    stderr: str
    seconds: float
    outcome: str = ""
    detail: str = ""
    problem: Optional[str] = None
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# fixtures


# The tests' own drawn face (the Haar cascade detects it) and decompression-bomb PNG.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from inference_fixtures import draw_face  # noqa: E402
from test_input_safety import bomb_png  # noqa: E402


class Fixtures:
    """The probe's files under `root`, each made on first use (a family that needs no model
    never imports Keras)."""

    def __init__(self, root):
        self.root = Path(root)
        self._rng = random.Random(0)

    def path(self, *parts):
        """A fresh path under root (parents made)."""
        p = self.root.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write(self, data, *parts):
        p = self.path(*parts)
        p.write_bytes(data)
        return p

    def folder(self, *parts, files=None):
        p = self.path(*parts)
        p.mkdir(parents=True, exist_ok=True)
        for name, text in (files or {}).items():
            (p / name).write_text(text)
        return p

    def noise(self, n=4096):
        return self._rng.randbytes(n)

    @cached_property
    def fold(self):
        """run/fold_0 with model.keras and metrics.json, as training writes it."""
        import keras

        from fer_keras import create_model

        keras.utils.set_random_seed(0)
        model = create_model("i_mobilenetv2", alpha=0.35, scale_top_stage=True,
                             input_shape=(48, 48, 1))
        folder = self.folder("run", "fold_0")
        model.save(folder / "model.keras")
        (folder / "metrics.json").write_text(json.dumps(
            {"dataset": "synthetic", "protocol": "holdout", "fold": 0, "split_seed": 0,
             "class_names": CLASS_NAMES}))
        return folder

    @cached_property
    def model_bytes(self):
        return (self.fold / "model.keras").read_bytes()

    @cached_property
    def face_png(self):
        import cv2

        p = self.path("images", "face.png")
        cv2.imwrite(str(p), draw_face(320))
        return p

    @cached_property
    def face_jpg_bytes(self):
        import cv2

        ok, data = cv2.imencode(".jpg", draw_face(320))
        assert ok
        return data.tobytes()

    @cached_property
    def video(self):
        """A 30-frame MJPG .avi of the drawn face (whole)."""
        import cv2

        p = self.path("videos", "face.avi")
        writer = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 320))
        frame = cv2.cvtColor(draw_face(320), cv2.COLOR_GRAY2BGR)
        for _ in range(30):
            writer.write(frame)
        writer.release()
        return p

    def foreign_layer_model(self):
        """A copy of the real .keras whose config names a layer class no code defines."""
        bad = self.path("models", "foreign", "model.keras")
        with zipfile.ZipFile(self.fold / "model.keras") as src, zipfile.ZipFile(bad, "w") as out:
            for item in src.infolist():
                data = src.read(item.filename)
                if item.filename == "config.json":
                    text = json.dumps(json.loads(data))
                    if '"fer_keras>SqueezeExcite"' not in text:
                        raise RuntimeError("the fixture model has no SqueezeExcite layer")
                    data = text.replace('"SqueezeExcite"', '"TheirLayer"').replace(
                        '"fer_keras>SqueezeExcite"', '"their_lab>TheirLayer"')
                out.writestr(item, data)
        return bad


# ---------------------------------------------------------------------------------------------
# checks (return None or the problem)


def files_untouched(folder, expected):
    """A check: `folder` holds exactly `expected` ({name: text}), unchanged."""
    folder = Path(folder)

    def check(result):
        names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else None
        if names != sorted(expected):
            return f"{folder} now holds {names}, was {sorted(expected)}"
        for name, text in expected.items():
            if (folder / name).read_text() != text:
                return f"{folder / name} was changed"
        return None
    return check


def file_unchanged(path, text):
    def check(result):
        if not Path(path).is_file() or Path(path).read_text() != text:
            return f"{path} was changed or removed"
        return None
    return check


def nothing_at(path):
    def check(result):
        return f"{path} was written" if Path(path).exists() else None
    return check


def predicted_a_face(result):
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    if not rows:
        return "no JSON record on stdout (no face predicted)"
    if rows[0].get("label") not in CLASS_NAMES:
        return f"label {rows[0].get('label')!r} is not one of the class names"
    return None


def printed_json(result):
    try:
        json.loads(result.stdout)
    except ValueError:
        return "stdout is not one JSON object"
    return None


# ---------------------------------------------------------------------------------------------
# families: each returns its list of Case


def family_models(fx):
    """Missing, empty, truncated, random, foreign-class and corrupt models through predict,
    evaluate and train --init."""
    good = fx.model_bytes
    models = {
        "missing path": fx.root / "absent" / "model.keras",
        "empty model.keras": fx.write(b"", "models", "empty", "model.keras"),
        "truncated .keras": fx.write(good[: len(good) // 2], "models", "truncated",
                                     "model.keras"),
        "random-bytes .keras": fx.write(fx.noise(), "models", "random", "model.keras"),
        "folder with no model": fx.folder("models", "no_model"),
        "unknown layer class": fx.foreign_layer_model(),
        "corrupt saved_model.pb": fx.write(fx.noise(), "models", "saved_model_bad",
                                           "saved_model.pb").parent,
        "corrupt .tflite": fx.write(fx.noise(), "models", "tflite_bad", "model.tflite"),
        "corrupt .onnx": fx.write(fx.noise(), "models", "onnx_bad", "model.onnx"),
    }
    fx.folder("models", "saved_model_bad", "variables")
    cases = []
    for name, path in models.items():
        cases.append(Case("models", f"predict: {name}", "predict",
                          [fx.face_png, "--model", path]))
    for name, path in models.items():
        cases.append(Case("models", f"evaluate: {name}", "evaluate",
                          ["--model", path, "--dataset", "synthetic"]))
    for name in ("truncated .keras", "unknown layer class"):
        slug = name.split()[0]
        cases.append(Case("models", f"train --init: {name}", "train",
                          [*TRAIN_TINY, "--init", models[name],
                           "--output", fx.root / "runs" / f"init_{slug}"]))
    return cases


def family_inputs(fx):
    """Hostile inputs to predict, with a good model."""
    model = ["--model", fx.fold.parent]
    fifo = fx.path("inputs", "frames.png")
    os.mkfifo(fifo)
    video = fx.video.read_bytes()
    notes = fx.folder("inputs", "annotate_target")
    target = notes / "out.txt"
    target.write_text("keep me\n")
    jpg = fx.face_jpg_bytes
    inputs = {
        "missing file": fx.root / "inputs" / "absent.jpg",
        "empty file": fx.write(b"", "inputs", "empty.jpg"),
        "truncated JPEG": fx.write(jpg[: len(jpg) // 2], "inputs", "truncated.jpg"),
        "text file named .png": fx.write(b"just some notes, not an image\n", "inputs",
                                         "notes.png"),
        "FIFO named .png": fifo,
        "folder with no images": fx.folder("inputs", "no_images", files={"readme.txt": "hi"}),
        "PNG declaring 50000x50000": fx.write(bomb_png(50000, 50000), "inputs", "bomb.png"),
        "truncated MJPG video": fx.write(video[: len(video) // 2], "inputs", "truncated.avi"),
    }
    cases = [Case("inputs", name, "predict", [path, *model]) for name, path in inputs.items()]
    cases.append(Case("inputs", "--annotate names a file", "predict",
                      [fx.face_png, *model, "--annotate", target],
                      check=file_unchanged(target, "keep me\n")))
    return cases


def family_options(fx):
    """Bad option values to predict and train."""
    # a good model and a good face: an option value that is not refused ends in exit 0
    face, model = fx.face_png, fx.fold.parent
    predict = {
        "predict --min-face 0": ["--min-face", "0"],
        "predict --every 0": ["--every", "0"],
        "predict --max-frames -1": ["--max-frames", "-1"],
        "predict --crop-scale nan": ["--crop-scale", "nan"],
        "predict --smooth 0": ["--smooth", "0"],
    }
    cases = [Case("options", name, "predict", [face, "--model", model, *flags])
             for name, flags in predict.items()]
    user = {"notes.txt": "my own notes\n"}
    user_folder = fx.folder("runs", "user_files", files=user)
    empty = fx.folder("runs", "empty_data_dir")
    train = {
        "train --lr inf": ["--lr", "inf"],
        "train --lr -1": ["--lr", "-1"],
        "train --weight-decay nan": ["--weight-decay", "nan"],
        "train --epochs 0": ["--epochs", "0"],
        "train --batch-size 0": ["--batch-size", "0"],
        "train unknown --dataset": ["--dataset", "nosuch"],
        "train unknown --dataset with --data-dir": ["--dataset", "nosuch", "--data-dir", empty],
        "train synthetic --data-dir /tmp": ["--data-dir", "/tmp"],
        "train malformed --dataset-options": ["--dataset-options", '{"num_examples": 32,'],
    }
    for name, flags in train.items():
        slug = re.sub(r"\W+", "_", name)
        cases.append(Case("options", name, "train",
                          [*TRAIN_TINY, "--output", fx.root / "runs" / slug, *flags]))
    cases.append(Case("options", "train --output a folder of user files", "train",
                      [*TRAIN_TINY, "--output", user_folder],
                      check=files_untouched(user_folder, user)))
    return cases


def family_data(fx):
    """python -m fer_keras.data on missing, empty and bad folders and pack targets."""
    blocker = fx.write(b"a file, not a folder\n", "data", "blocker")
    not_a_pack = fx.root / "data" / "out.tar"  # .npz and .npz.xz are packs; .tar is not
    garbage = fx.write(b"emotion,pixels,Usage\nnot,a,row\n\x00\x01\x02", "data", "garbage.csv")
    return [
        Case("data", "ckplus --data-dir missing", "data",
             ["--dataset", "ckplus", "--data-dir", fx.root / "data" / "absent"]),
        Case("data", "jaffe --data-dir empty folder", "data",
             ["--dataset", "jaffe", "--data-dir", fx.folder("data", "empty")]),
        Case("data", "imagefolder without --data-dir", "data", ["--dataset", "imagefolder"]),
        Case("data", "fer2013 --data-dir a garbage file", "data",
             ["--dataset", "fer2013", "--data-dir", garbage]),
        Case("data", "malformed --protocol-options", "data",
             ["--dataset", "synthetic", "--protocol-options", "{not json"]),
        Case("data", "--pack to a non-packed suffix", "data",
             ["--dataset", "synthetic", "--pack", not_a_pack], check=nothing_at(not_a_pack)),
        Case("data", "--pack under a file", "data",
             ["--dataset", "synthetic", "--pack", blocker / "out.npz.xz"],
             check=file_unchanged(blocker, "a file, not a folder\n")),
    ]


def family_export(fx):
    """python -m fer_keras.export with bad models and output folders."""
    good = fx.model_bytes
    user = {"notes.txt": "my own notes\n", "results.csv": "a,b\n1,2\n"}
    user_folder = fx.folder("exports", "user_files", files=user)
    out_file = fx.write(b"keep\n", "exports", "a_file")
    return [
        Case("export", "missing model", "export",
             [fx.root / "absent" / "model.keras", "--output", fx.root / "exports" / "e1"]),
        Case("export", "truncated .keras", "export",
             [fx.write(good[: len(good) // 2], "exports", "truncated.keras"),
              "--output", fx.root / "exports" / "e2"]),
        Case("export", "unknown --formats", "export",
             [fx.fold, "--output", fx.root / "exports" / "e3", "--formats", "float32,gif"]),
        Case("export", "--output a folder of user files", "export",
             [fx.fold, "--output", user_folder, *EXPORT_TINY],
             check=files_untouched(user_folder, user), timeout=180),
        Case("export", "--output names a file", "export",
             [fx.fold, "--output", out_file, *EXPORT_TINY],
             check=file_unchanged(out_file, "keep\n"), timeout=180),
    ]


def family_controls(fx):
    """Good inputs, where success is the right answer: they show the fixtures work, so that a
    refusal above is about the bad input and not a broken fixture."""
    return [
        Case("controls", "predict a drawn face", "predict",
             [fx.face_png, "--model", fx.fold.parent], expect="ok", check=predicted_a_face),
        Case("controls", "evaluate the fold on synthetic", "evaluate",
             ["--model", fx.fold, "--dataset", "synthetic", "--json"], expect="ok",
             check=printed_json),
        Case("controls", "data synthetic --json", "data", ["--dataset", "synthetic", "--json"],
             expect="ok", check=printed_json),
    ]


FAMILIES = {"models": family_models, "inputs": family_inputs, "options": family_options,
            "data": family_data, "export": family_export, "controls": family_controls}


# ---------------------------------------------------------------------------------------------
# running and classifying


def run_case(case, cwd):
    start = time.monotonic()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(case.command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace", start_new_session=True)
    try:
        out, err = proc.communicate(timeout=case.timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the child's own process group only
        out, err = proc.communicate()
        code = None
    return Result(case, code, out, err, time.monotonic() - start)


def first_error_line(stderr):
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if ERROR_LINE.match(line):
            return line
    return lines[-1] if lines else ""


def classify(result):
    """Sets result.outcome, .detail and .problem (see the module docstring)."""
    case, err = result.case, result.stderr
    result.detail = first_error_line(err)
    has_error_line = any(ERROR_LINE.match(line.strip()) for line in err.splitlines())
    result.problem = case.check(result) if case.check else None
    if result.returncode is None:
        result.outcome = "hang"
        result.detail = f"killed after {case.timeout:.0f} s; " + result.detail
    elif "Traceback" in err:
        result.outcome = "traceback"
    elif case.expect == "ok":
        if result.returncode == 0 and not result.problem:
            result.outcome = "ok"
        else:
            result.outcome = "silent"
            result.problem = result.problem or f"expected success, exit {result.returncode}"
    elif result.returncode == 0:
        result.outcome = "silent"
        result.problem = result.problem or "exit 0 where a refusal was expected"
    elif not has_error_line:
        result.outcome = "silent"
        result.problem = result.problem or f"exit {result.returncode} without an error: line"
    elif result.problem:
        result.outcome = "silent"
    else:
        result.outcome = "clear"
    if result.problem and result.outcome == "silent":
        result.detail = f"[{result.problem}] {result.detail}"
    return result


def row(family, name, outcome, code, secs, detail):
    detail = detail if len(detail) <= 120 else detail[:117] + "..."
    return f"{family:<9} {name:<42} {outcome:<9} {code:>4} {secs:>5} {detail}"


def display(command, root):
    """The command as a shell line, the temporary folder shortened to $PROBE."""
    text = shlex.join(["python", *command[1:]])
    return text.replace(str(root), "$PROBE")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=sorted(FAMILIES), action="append", metavar="FAMILY",
                   help=f"run only this family (repeatable): {', '.join(FAMILIES)}")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = p.parse_args(argv)

    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None

    root = Path(tempfile.mkdtemp(prefix="fer_probe_"))
    fx = Fixtures(root)
    results = []
    try:
        print(f"fixtures in {root}", file=sys.stderr, flush=True)
        cases = [c for name in (args.only or FAMILIES) for c in FAMILIES[name](fx)]
        print(row("family", "case", "outcome", "exit", "secs", "first error line"))
        print("-" * 140, flush=True)
        bar = tqdm(cases, file=sys.stderr, unit="case", dynamic_ncols=True) if tqdm else cases
        for case in bar:
            if tqdm:
                bar.set_description(f"{case.family}: {case.name}"[:40])
            result = classify(run_case(case, root))
            results.append(result)
            line = row(case.family, case.name, result.outcome,
                       "-" if result.returncode is None else result.returncode,
                       f"{result.seconds:.1f}", result.detail)
            if tqdm:
                tqdm.write(line, file=sys.stdout)
                sys.stdout.flush()
            else:
                print(line, flush=True)
        if tqdm:
            bar.close()
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)

    rest = [r for r in results if r.outcome not in HANDLED]
    for r in rest:
        print(f"\n== {r.case.family}: {r.case.name} -> {r.outcome}"
              + (f" ({r.problem})" if r.problem else ""))
        print(f"$ {display(r.case.command, root)}")
        print(f"exit status: {'killed (timeout)' if r.returncode is None else r.returncode}")
        tail = [line for line in r.stderr.splitlines() if line.strip()][-12:]
        print("stderr tail:\n" + ("\n".join("    " + line for line in tail) or "    (empty)"))
    handled = sum(r.outcome in HANDLED for r in results)
    counts = {k: sum(r.outcome == k for r in results)
              for k in ("ok", "clear", "traceback", "silent", "hang")}
    listed = "; ".join(f"{r.case.family}: {r.case.name} ({r.outcome})" for r in rest) or "none"
    print(f"\nsummary: {len(results)} cases tried, {handled} handled clearly "
          f"({counts['ok']} ok + {counts['clear']} clear); "
          f"{counts['traceback']} traceback, {counts['silent']} silent, {counts['hang']} hang; "
          f"the rest: {listed}")
    return 1 if rest else 0


if __name__ == "__main__":
    sys.exit(main())
