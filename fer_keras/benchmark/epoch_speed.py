"""A real fold's epochs through `train` against the raw `train_on_batch` step, alternating.

`python -m fer_keras.benchmark --training` reports it (docs/performance.md, "Training epoch vs
raw step"): per round, one training epoch of a CK+ fold through `keras_engine.train_fold`
(checkpoint, validation and files included), then the same number of raw steps of the same
model and batch, their images/s, the ratio, and the seconds each part of the epoch took.
"""

import time
from pathlib import Path

import numpy as np

CKPLUS_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "ckplus"
FOLD_EPOCHS = 5  # the first traces and compiles; the other four are timed
# The parts of a training epoch timed separately: (module, attribute, part). Each attribute is
# wrapped for the run and restored after; whatever an epoch spends outside them is "other".
EPOCH_PARTS = (
    ("fer_keras.data", "make_tf_dataset", "tf.data pipeline built"),
    ("fer_keras.training.keras_engine", "train_step", "train steps"),
    ("fer_keras.training.fold_report", "predict", "validation predict"),
    ("fer_keras.training.finite", "check_epoch", "finite.check_epoch"),
    ("fer_keras.training.checkpoint", "save_checkpoint", "checkpoint write"),
    ("fer_keras.training.artifacts", "write_history_csv", "history.csv"),
    ("fer_keras.training.tensorboard", "write_scalars", "TensorBoard"),
)
BEST_WEIGHTS = "best-weights copy"


class _PartTimer:
    """Wraps `EPOCH_PARTS` (and the best-weights copy `Fold.end_epoch` is given) with timers that
    add up each part's seconds until `take()`."""

    def __init__(self):
        self.seconds = {}
        self._saved = []

    def timed(self, part, fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[part] = self.seconds.get(part, 0.0) + time.perf_counter() - start
        return wrapper

    def __enter__(self):
        import importlib

        from fer_keras.training.fold import Fold

        for module, attribute, part in EPOCH_PARTS:
            module = importlib.import_module(module)
            if hasattr(module, attribute):
                self._patch(module, attribute, self.timed(part, getattr(module, attribute)))
        end_epoch = Fold.end_epoch

        def timed_end_epoch(fold, row, trainer, best_weights, *args, **kwargs):
            return end_epoch(fold, row, trainer, self.timed(BEST_WEIGHTS, best_weights),
                             *args, **kwargs)

        self._patch(Fold, "end_epoch", timed_end_epoch)
        return self

    def _patch(self, owner, attribute, value):
        self._saved.append((owner, attribute, getattr(owner, attribute)))
        setattr(owner, attribute, value)

    def __exit__(self, *exc):
        for owner, attribute, value in reversed(self._saved):
            setattr(owner, attribute, value)

    def take(self):
        seconds, self.seconds = self.seconds, {}
        return seconds


def fold_config(dataset="ckplus", data_dir=None, model="i_mobilenetv2", epochs=FOLD_EPOCHS,
                output=None, **overrides):
    """The configuration `python -m fer_keras.train --dataset D --model M --fold 0 --epochs E`
    resolves to (the preset's batch, optimizer and augmentation)."""
    from fer_keras.training.config import resolve_config

    return resolve_config(dataset, model, data_dir=None if data_dir is None else str(data_dir),
                          epochs=epochs, folds=[0], output=output, **overrides)


def fold_rates(config, fold_dir, verbose=0):
    """Epoch by epoch, a fold trained through `keras_engine.train_fold` (the code behind
    `python -m fer_keras.train`: pipeline, steps, validation, `Fold.end_epoch`'s checks,
    checkpoint, history.csv and TensorBoard) and, between its epochs, the raw `train_on_batch`
    step of the same model and batch on one fixed batch for as many steps, so both see the same
    load.

    Returns:
        {"rounds": [{"epoch", "train_images_per_s", "raw_images_per_s", "ratio", "parts"}] for
        every epoch after the first (which traces), "train_examples", "batch", "ratio" (the
        median round's), "train_images_per_s" and "raw_images_per_s" (medians)}; "parts" are
        seconds per part of that training epoch (`EPOCH_PARTS`, the rest as "other").
    """
    from fer_keras.data import iterate_batches, load_dataset, make_splits
    from fer_keras.training import keras_engine, model_setup

    ds = load_dataset(config.dataset, config.data_dir, **config.dataset_options)
    split = make_splits(ds, config.protocol, seed=config.split_seed,
                        **config.protocol_options)[config.folds[0]]
    _, raw_trainer, _, steps = model_setup.compiled_trainer(config, ds, split, jit=False)
    x, y = next(iter(iterate_batches(ds, split.train[:config.batch_size], config.batch_size,
                                     training=True, channels=config.channels)))
    x, y = np.asarray(x), np.asarray(y)

    def raw_epoch():
        start = time.perf_counter()
        for _ in range(steps):
            keras_engine.train_step(raw_trainer, x, y, None)
        return steps * len(y) / (time.perf_counter() - start)

    raw_epoch()  # traces the raw step
    rounds, clock = [], {}

    def after_epoch(fold):
        seconds = time.perf_counter() - clock["start"]
        parts = timer.take()
        parts["other"] = seconds - sum(parts.values())
        if fold.epoch > 1:  # the first epoch traces and compiles
            raw = raw_epoch()
            timer.take()  # the raw steps' own seconds
            train = len(split.train) / seconds
            rounds.append({"epoch": fold.epoch, "train_images_per_s": train,
                           "raw_images_per_s": raw, "ratio": train / raw,
                           "seconds": seconds, "parts": parts})
        clock["start"] = time.perf_counter()

    with _PartTimer() as timer:
        clock["start"] = time.perf_counter()
        keras_engine.train_fold(config, ds, split, fold_dir, verbose, after_epoch=after_epoch)
    return {"dataset": config.dataset, "model": config.model, "train_examples": len(split.train),
            "batch": config.batch_size, "rounds": rounds,
            **{key: float(np.median([r[key] for r in rounds]))
               for key in ("ratio", "train_images_per_s", "raw_images_per_s")}}


def fold_section(data_dir=CKPLUS_DIR, tiny=False, epochs=FOLD_EPOCHS):
    """`fold_rates` of I-MobileNetV2 on CK+ fold 0 (its preset: batch 20, flip) in a temporary
    run folder, or a note when `data_dir` is missing; `tiny`: a small synthetic fold of a tiny
    model instead (tests/test_epoch_speed.py)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        if tiny:
            # the tiny run of tests/test_train_e2e.py
            config = fold_config("synthetic", None, epochs=epochs, output=tmp,
                                 model_kwargs=dict(alpha=0.35, scale_top_stage=True),
                                 dataset_options=dict(num_examples=280, image_size=32))
        elif not Path(data_dir).exists():
            return {"note": f"no CK+ folder at {data_dir}: the real fold was not timed"}
        else:
            config = fold_config("ckplus", data_dir, epochs=epochs, output=tmp)
        return fold_rates(config, Path(tmp) / "fold_0")


def format_fold_markdown(fold):
    """The fold table: per timed epoch, train and raw images/s, their ratio and the seconds of
    each part of the training epoch."""
    if "note" in fold:
        return fold["note"]
    parts = [p for _, _, p in EPOCH_PARTS] + [BEST_WEIGHTS, "other"]
    lines = [f"Training epoch vs raw step: {fold['model']} on a {fold['dataset']} fold "
             f"({fold['train_examples']} training images, batch {fold['batch']}) through "
             "`keras_engine.train_fold`, each epoch followed by the raw `train_on_batch` step "
             f"for as many steps; median ratio {fold['ratio']:.2f} (train "
             f"{fold['train_images_per_s']:.1f}, raw {fold['raw_images_per_s']:.1f} images/s).",
             "", "| epoch | train images/s | raw images/s | train / raw | epoch s | "
             + " | ".join(parts) + " |", "|" + "---:|" * (5 + len(parts))]
    for r in fold["rounds"]:
        lines.append(f"| {r['epoch']} | {r['train_images_per_s']:.1f} | "
                     f"{r['raw_images_per_s']:.1f} | {r['ratio']:.2f} | {r['seconds']:.2f} | "
                     + " | ".join(f"{r['parts'].get(p, 0.0):.2f}" for p in parts) + " |")
    return "\n".join(lines)
