"""The training campaign: a committed queue of long runs, worked through in the background.

    python -m fer_keras.reproduce campaign --until 07:30      # train until 07:30, then stop
    python -m fer_keras.reproduce campaign --status           # what is done, what is next
    python -m fer_keras.reproduce campaign --pause            # SIGSTOP the training (benchmarks)
    python -m fer_keras.reproduce campaign --continue         # SIGCONT it
    python -m fer_keras.reproduce campaign --stop             # stop after the current epoch

The queue (`studies/campaign.toml`, in order) lists ordinary `python -m fer_keras.train` runs,
each with its run folder. The campaign takes the first unfinished fold, trains it at the lowest
priority (`nice -n 19`) with a `--time-limit` that ends its last epoch before `--until`, and goes
on to the next until the time is spent; a run stopped by the time limit resumes from its
checkpoint (written after every epoch) when the campaign reaches it again.

A session's files do not outlive the session (only committed ones do, and the 46 MB
checkpoints are never committed), so when the campaign stops with a fold unfinished it writes
the fold's checkpoint without its momentum buffers to `carry-state.npz` and its best weights to
`carry-best.npz` (`checkpoint.write_carried`, 15 MB each for I-MobileNetV2, the second rewritten
only when the selected epoch changed): the files, committed, from which the next session resumes
the fold after its last epoch, with the same selected epoch and best weights (momentum restarts
at zero; docs/training.md, "Run folder"). A finished fold's carry is removed.
Folds carried before it existed hold `carry.keras`, their best model, and continue from that
(`train --recover-from`: the epochs after the best one are trained again, which kept a fold
whose validation accuracy stopped rising from ever passing its best epoch by more than a
session's epochs). An entry with `publish = "NAME"` replaces `saved_models/NAME` whenever its
selection-split accuracy beats the published model's on the same split (`cards.publish`).

docs/reproduction.md, "The campaign", lists the queue, the CPU-hours each run took and an
estimate of those it still needs (`campaign_progress`).
"""

import dataclasses
import datetime
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from fer_keras.reproduce.campaign_progress import (
    CARRY, epoch_seconds, fold_dirs, fold_progress, report_section, status_lines,
)

QUEUE = Path("studies/campaign.toml")
# A training process's exit status after SIGINT: 130 from `train`'s own handler, -2 if killed.
INTERRUPTED = (130, -signal.SIGINT)
STATE = Path("studies/.campaign.json")  # the running campaign's pids (git-ignored)
# Seconds a `train` process needs besides its epochs (start, data loading, final artifacts).
OVERHEAD_S = 180.0


@dataclasses.dataclass
class Entry:
    """One queued run: `args` are `python -m fer_keras.train` flags without `--output`."""

    name: str
    output: str
    args: list
    publish: str = None
    epoch_seconds: float = 300.0  # a first estimate, replaced by the run's own history

    def config(self):
        from fer_keras.training.cli import build_parser, config_from_args

        return config_from_args(build_parser().parse_args(self.args + ["--output", self.output]))


def read_queue(path=QUEUE):
    """The queue's entries in order.

    Raises:
        ValueError: unreadable TOML or an entry without `name`, `output` or `args`, named.
    """
    import tomllib

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ValueError(f"campaign queue {path}: {err}") from None
    entries = []
    for i, item in enumerate(data.get("run", [])):
        missing = [k for k in ("name", "output", "args") if k not in item]
        unknown = sorted(set(item) - {f.name for f in dataclasses.fields(Entry)})
        if missing or unknown:
            raise ValueError(f"campaign queue {path}, run {i + 1}: "
                             + (f"missing {', '.join(missing)}" if missing else
                                f"unknown keys {', '.join(unknown)}"))
        args = shlex.split(item["args"]) if isinstance(item["args"], str) else list(item["args"])
        if "--output" in args:
            raise ValueError(f"campaign queue {path}, run {i + 1}: give the run folder as "
                             "`output`, not in `args`")
        entries.append(Entry(**{**item, "args": args}))
    return entries


def fold_command(entry, fold_dir, time_limit, python=sys.executable):
    """The niced `train` command of one fold; `--recover-from carry.keras` when the fold has an
    old-style carry and no checkpoint (`train` itself resumes from `carry-state.npz`)."""
    from fer_keras.training.checkpoint import CARRIED, FILENAME

    args = list(entry.args)
    carry = Path(fold_dir) / CARRY
    if carry.is_file() and not any((Path(fold_dir) / n).is_file() for n in (FILENAME, CARRIED)):
        args = _without(args, "--init") + ["--recover-from", str(carry)]
    fold = fold_dir.name.split("_", 1)[1]
    return (["nice", "-n", "19", python, "-m", "fer_keras.train", *args, "--output",
             entry.output, "--fold", fold, "--time-limit", f"{time_limit:.0f}", "--quiet"])


def _without(args, flag):
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a == flag:
            skip = True
        elif not a.startswith(flag + "="):
            out.append(a)
    return out


def deadline_from(until, now=None):
    """The epoch time of `until` (HH:MM today, or tomorrow when it has passed)."""
    now = now or datetime.datetime.now()
    try:
        hour, minute = (int(p) for p in until.split(":"))
        target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    except ValueError:
        raise ValueError(f"--until must be HH:MM, got {until!r}") from None
    if target <= now:
        target += datetime.timedelta(days=1)
    return target.timestamp()


def carry_over(fold_dir, finished):
    """Keeps `carry-state.npz` (the fold's checkpoint without momentum) and `carry-best.npz`
    (its best weights) while the fold is unfinished, replacing an older `carry.keras`; removes
    them when it is finished."""
    from fer_keras.training.checkpoint import CARRIED, CARRIED_BEST, FILENAME, write_carried

    fold_dir = Path(fold_dir)
    if finished:
        for name in (CARRY, CARRIED, CARRIED_BEST):
            (fold_dir / name).unlink(missing_ok=True)
    elif (fold_dir / FILENAME).is_file():
        write_carried(fold_dir / FILENAME, fold_dir / CARRIED)
        (fold_dir / CARRY).unlink(missing_ok=True)


def selection_accuracy(metrics):
    """(split name, accuracy) on the split the run selected its epoch on."""
    validation = metrics.get("validation") or {}
    if "accuracy" in validation:
        return "validation", float(validation["accuracy"])
    return metrics.get("split", "test"), float(metrics["accuracy"])


def maybe_publish(entry, fold_dir, models_dir="saved_models", log=print):
    """Publishes the fold as `entry.publish` when it beats the published model on the same
    dataset, protocol and selection split; returns True when it did."""
    from fer_keras.reproduce.cards import publish

    if not entry.publish or not (Path(fold_dir) / "metrics.json").is_file():
        return False
    new = json.loads((Path(fold_dir) / "metrics.json").read_text())
    target = Path(models_dir) / entry.publish / "metrics.json"
    if target.is_file():
        old = json.loads(target.read_text())
        same = all(old.get(k) == new.get(k) for k in ("dataset", "protocol"))
        if not same:
            log(f"not published: {entry.publish} is a {old.get('dataset')}/{old.get('protocol')} "
                f"model, this run {new.get('dataset')}/{new.get('protocol')}")
            return False
        (split, acc), (_, old_acc) = selection_accuracy(new), selection_accuracy(old)
        if acc <= old_acc:
            log(f"not published: {split} accuracy {acc:.4f} <= the published {old_acc:.4f}")
            return False
        log(f"publishing {fold_dir} as {entry.publish}: {split} accuracy {acc:.4f} > {old_acc:.4f}")
    publish(fold_dir, entry.publish, models_dir)
    package_copy(entry, Path(models_dir) / entry.publish, log)
    refresh_tables(models_dir, log)
    return True


def refresh_tables(models_dir, log=print):
    """Rewrites the published models' tables of the README and docs/deployment.md (beside
    `models_dir`) from the published metrics; a page without its markers is logged, not fatal."""
    from fer_keras.reproduce.published import refresh

    root = Path(models_dir).resolve().parent
    try:
        pages = refresh(root / "README.md", root / "docs" / "deployment.md", models_dir)
    except ValueError as error:
        log(f"published models' tables not rewritten: {error}")
        return []
    log("published models' tables rewritten: " + ", ".join(str(page) for page in pages))
    return pages


def package_copy(entry, published, log=print):
    """Refreshes the package's float16 copy of a published model when the package carries one
    (`fer_keras/pretrained/NAME`, written by scripts/package_pretrained.py, which also measures
    its agreement with the published model)."""
    from fer_keras.pretrained import PACKAGE_DIR

    script = Path(__file__).resolve().parents[2] / "scripts" / "package_pretrained.py"
    if not (PACKAGE_DIR / published.name).is_dir() or not script.is_file():
        return False
    data_dir = entry.config().data_dir
    done = subprocess.run([sys.executable, str(script), str(published), "--data-dir",
                           str(data_dir)], capture_output=True, text=True)
    log(f"package copy of {published.name}: "
        + ("refreshed" if done.returncode == 0 else f"FAILED: {done.stderr[-500:]}"))
    return done.returncode == 0


def _write_state(**values):
    STATE.parent.mkdir(parents=True, exist_ok=True)
    STATE.write_text(json.dumps(values))


def signal_running(sig):
    """Sends `sig` to the running campaign's training process group; returns its pid or None."""
    if not STATE.is_file():
        return None
    pgid = json.loads(STATE.read_text()).get("pgid")
    if not pgid:
        return None
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return None
    return pgid


def run_campaign(entries, deadline, log=print, python=sys.executable, poll_s=5.0):
    """Trains the queue's unfinished folds in order until `deadline` (epoch seconds).

    Returns {"trained": [fold dirs that ran], "finished": [...], "published": [...],
    "failed": [...], "interrupted": [...]} (interrupted: stopped by SIGINT, from the deadline or a
    user, not a failure; the fold resumes from its last checkpoint). A fold whose next epoch
    would not end before the deadline is not started, and the campaign stops there (later
    entries wait for the next session, in order). A fold that fails (a crash, a bad argument)
    does not end the campaign: the next fold gets the time left, and the failed one is tried
    again the next time the campaign runs.
    """
    result = {"trained": [], "finished": [], "published": [], "failed": [], "interrupted": []}
    for entry in entries:
        config = entry.config()
        for fold_dir in fold_dirs(entry, config):
            done, total = fold_progress(fold_dir, config.epochs)
            if done >= total:
                carry_over(fold_dir, finished=True)
                continue
            per_epoch = epoch_seconds(fold_dir, entry.epoch_seconds)
            limit = deadline - time.time() - per_epoch - OVERHEAD_S
            if limit < per_epoch:
                log(f"stopping: {entry.name} [{fold_dir}] needs about {per_epoch:.0f} s an "
                    f"epoch and {deadline - time.time():.0f} s are left")
                return result
            command = fold_command(entry, fold_dir, limit, python)
            log(f"training {entry.name} [{fold_dir}], {done}/{total} epochs done, time limit "
                f"{limit:.0f} s\n  {shlex.join(command)}")
            fold_dir.mkdir(parents=True, exist_ok=True)
            with open(Path(entry.output) / "campaign.log", "a") as out:
                proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                        start_new_session=True)
                _write_state(pid=proc.pid, pgid=os.getpgid(proc.pid), fold=str(fold_dir),
                             until=deadline)
                code = _wait(proc, deadline, poll_s, log)
            STATE.unlink(missing_ok=True)
            result["trained"].append(str(fold_dir))
            done, total = fold_progress(fold_dir, config.epochs)
            if code in INTERRUPTED:
                result["interrupted"].append(str(fold_dir))
                log(f"interrupted (exit {code}): {fold_dir} resumes from its last checkpoint")
            elif code != 0:
                result["failed"].append(str(fold_dir))
                log(f"FAILED (exit {code}): {fold_dir}; see {entry.output}/campaign.log")
            carry_over(fold_dir, finished=done >= total)
            if maybe_publish(entry, fold_dir, log=log):
                result["published"].append(entry.publish)
            if done >= total:
                result["finished"].append(str(fold_dir))
                log(f"finished: {entry.name} [{fold_dir}] ({done} epochs)")
            elif code == 0 or code in INTERRUPTED:  # its time limit, the deadline or a user
                log(f"stopped: {entry.name} [{fold_dir}] at {done}/{total} epochs")
                return result
            else:  # a crash: the next fold gets the time left; this one is retried next session
                log(f"going on with the next fold; {fold_dir} is retried when the campaign "
                    f"runs again ({done}/{total} epochs)")
    log("the queue is done" if not result["failed"] else
        f"the queue's end reached, {len(result['failed'])} fold(s) failed")
    return result


def _wait(proc, deadline, poll_s, log):
    """Waits for `proc`; past the deadline (the time limit overran) it is interrupted, then
    killed (a killed run resumes from its last checkpoint)."""
    while proc.poll() is None:
        if time.time() > deadline:
            log("deadline reached with the run still training: interrupting it")
            os.killpg(proc.pid, signal.SIGCONT)
            os.killpg(proc.pid, signal.SIGINT)
            try:
                return proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                return proc.wait()
        time.sleep(poll_s)
    return proc.returncode


def main(args):
    """`python -m fer_keras.reproduce campaign` (see the module docstring)."""
    if args.pause or args.resume or args.stop:
        if args.stop:  # a paused run must run to finish its epoch
            signal_running(signal.SIGCONT)
        sig, done = ((signal.SIGTERM, "asked to stop after its current epoch") if args.stop else
                     (signal.SIGSTOP, "paused") if args.pause else (signal.SIGCONT, "continued"))
        pgid = signal_running(sig)
        print(f"{done}: process group {pgid}" if pgid else "no campaign is training")
        return 0
    entries = read_queue(args.queue)
    if args.status or not args.until:
        print("\n".join(status_lines(entries)))
        if not args.until:
            return 0
    result = run_campaign(entries, deadline_from(args.until))
    print(json.dumps({k: len(v) for k, v in result.items()}))
    return 1 if result["failed"] else 0


__all__ = ["CARRY", "Entry", "QUEUE", "carry_over", "report_section", "deadline_from",
           "fold_command", "maybe_publish", "read_queue", "run_campaign", "selection_accuracy",
           "status_lines"]
